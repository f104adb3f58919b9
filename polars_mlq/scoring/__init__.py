"""The scoring layer: per-class scores, their aggregation per row, and the threshold values.

``per_class_matrix`` and ``row_scores`` score one validated batch (``polars_mlq.input.Batch``);
with ``adjust_pred_probs`` they take ``Thresholds``, which the statistics core computes
(``polars_mlq.core.batch_thresholds``) or the user supplies (``as_thresholds``).
"""

from polars_mlq.scoring.kernel import per_class_matrix, row_scores, to_series
from polars_mlq.scoring.per_class import per_class_scores
from polars_mlq.scoring.threads import run_ranges, scratch, thread_count, thread_limit
from polars_mlq.scoring.thresholds import EMPTY_GROUP, FLOOR, Thresholds, as_thresholds

__all__ = [
    "EMPTY_GROUP",
    "FLOOR",
    "Thresholds",
    "as_thresholds",
    "per_class_matrix",
    "per_class_scores",
    "row_scores",
    "run_ranges",
    "scratch",
    "thread_count",
    "thread_limit",
    "to_series",
]
