"""The cleanlab-signature face: cleanlab's multi-label functions, on NumPy arrays and lists.

Same names, arguments and results as ``cleanlab.multilabel_classification`` (rank, filter and
dataset), with Polars DataFrames where cleanlab returns pandas ones.
"""

from polars_mlq.compat.dataset import (
    common_multilabel_issues,
    multilabel_health_summary,
    overall_multilabel_health_score,
    rank_classes_by_multilabel_quality,
)
from polars_mlq.compat.filter import find_label_issues, find_multilabel_issues_per_class
from polars_mlq.compat.scores import get_label_quality_scores, get_label_quality_scores_per_class

__all__ = [
    "common_multilabel_issues",
    "find_label_issues",
    "find_multilabel_issues_per_class",
    "get_label_quality_scores",
    "get_label_quality_scores_per_class",
    "multilabel_health_summary",
    "overall_multilabel_health_score",
    "rank_classes_by_multilabel_quality",
]
