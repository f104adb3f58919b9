"""polars-mlq: find mislabelled rows in multi-label datasets, from inside Polars.

``import polars_mlq`` registers the ``.mlq`` namespace on ``pl.DataFrame`` and ``pl.LazyFrame``.
"""

from __future__ import annotations

from polars_mlq import namespace as _namespace  # registers the .mlq namespaces
from polars_mlq.expressions import confident_thresholds, label_quality, label_quality_per_class
from polars_mlq.numpy_api import get_label_quality_scores, get_label_quality_scores_per_class

__all__ = [
    "confident_thresholds",
    "get_label_quality_scores",
    "get_label_quality_scores_per_class",
    "label_quality",
    "label_quality_per_class",
]
__version__ = "0.1.0"

del _namespace
