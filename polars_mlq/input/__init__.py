"""The input layer: options, and the two columns read into validated arrays.

Everything above it (scoring, the statistics core, issues, the faces) imports from here: what a
labels column and a pred_probs column may be (``LabelSpec``, dtype checks), how a batch of them
becomes arrays (``read_batch``, ``Batch``), where a row sits for error messages (``Where``), and the
scoring options (``parse_options``).
"""

from polars_mlq.input.arrow import list_buffers
from polars_mlq.input.batch import BLOCK_ELEMENTS, Batch, batch_of_arrays, read_arrays, read_batch
from polars_mlq.input.columns import TOLERANCE, LabelsFormat, LabelSpec, Origin, Where
from polars_mlq.input.frames import (
    Frame,
    IntoExpr,
    IntoProbs,
    checked_num_classes,
    checked_series_num_classes,
    frame_inputs,
    to_expr,
    to_probs_expr,
)
from polars_mlq.input.labels import class_counts, sorted_unique
from polars_mlq.input.options import (
    AGGREGATORS,
    DEFAULT_AGGREGATOR,
    Aggregator,
    Method,
    ScoringOptions,
    parse_adjust,
    parse_method,
    parse_options,
)
from polars_mlq.input.probs import all_probabilities

__all__ = [
    "AGGREGATORS",
    "BLOCK_ELEMENTS",
    "DEFAULT_AGGREGATOR",
    "TOLERANCE",
    "Aggregator",
    "Batch",
    "Frame",
    "IntoExpr",
    "IntoProbs",
    "LabelSpec",
    "LabelsFormat",
    "Method",
    "Origin",
    "ScoringOptions",
    "Where",
    "all_probabilities",
    "batch_of_arrays",
    "checked_num_classes",
    "checked_series_num_classes",
    "class_counts",
    "frame_inputs",
    "list_buffers",
    "parse_adjust",
    "parse_method",
    "parse_options",
    "read_arrays",
    "read_batch",
    "sorted_unique",
    "to_expr",
    "to_probs_expr",
]
