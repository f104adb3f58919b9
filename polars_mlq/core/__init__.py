"""The statistics core: every dataset-level quantity as partial statistics that merge.

Each quantity the issue finders and summaries need is computed in the same four steps, whatever
drives them (a DataFrame is one batch, a LazyFrame its streamed batches, the NumPy functions one
batch of arrays):

1. a partial statistic of one batch (``ThresholdPartial.of``, ``JointPartial.of``,
   ``SmallestPartial.of``): small NumPy arrays, O(K) or bounded by the candidate entries;
2. a merge (``+``) that is associative and commutative, so the result does not depend on how the
   rows were split into batches or in what order the partials arrive;
3. a finalize step (``ThresholdPartial.finalize``, ``engine.prune_cutoffs``, ...);
4. an elementwise step per batch (``IssueRule.row_mask`` / ``class_mask``).

``engine.find`` runs the passes a filter needs over a *source*: a function that streams the data
once per call as ``Chunk`` objects (``Chunk.of(batch, first_row)``), or as ``SparseChunk``
objects for sparse (top-k) predictions (``core.sparse_chunk``: the same partials, from the
listed and labelled entries). Rows tied at a cutoff go to
the earliest row numbers, so every driver flags the same rows. ``low_memory_rule`` runs cleanlab's
batched filter (``low_memory=True`` of the drop-in functions) the same way.
"""

from polars_mlq.core.binary import rows_with_any
from polars_mlq.core.chunk import Chunk, Source, map_chunks, read_chunk
from polars_mlq.core.engine import (
    Found,
    find,
    joint_of,
    merge_all,
    thresholds_of,
)
from polars_mlq.core.frames import first_input_error, frame_thresholds, stream_chunks
from polars_mlq.core.joint import JointPartial
from polars_mlq.core.low_memory import BatchedThresholds, LowMemoryRule, low_memory_rule
from polars_mlq.core.options import FILTERS, LOW_FILTERS, PRUNE_FILTERS, FilterBy, IssueOptions, parse_issue_options
from polars_mlq.core.problems import Problems, problems, sub_problems
from polars_mlq.core.rule import IssueRule
from polars_mlq.core.scores import ema
from polars_mlq.core.select import SmallestPartial
from polars_mlq.core.thresholds import ConfidentThresholds, ThresholdPartial, batch_thresholds

__all__ = [
    "FILTERS",
    "LOW_FILTERS",
    "PRUNE_FILTERS",
    "BatchedThresholds",
    "Chunk",
    "ConfidentThresholds",
    "FilterBy",
    "Found",
    "IssueOptions",
    "IssueRule",
    "JointPartial",
    "LowMemoryRule",
    "Problems",
    "SmallestPartial",
    "Source",
    "ThresholdPartial",
    "batch_thresholds",
    "ema",
    "find",
    "first_input_error",
    "frame_thresholds",
    "joint_of",
    "low_memory_rule",
    "map_chunks",
    "merge_all",
    "parse_issue_options",
    "problems",
    "read_chunk",
    "rows_with_any",
    "stream_chunks",
    "sub_problems",
    "thresholds_of",
]
