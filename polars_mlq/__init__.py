"""polars-mlq: find mislabelled rows in multi-label datasets, from inside Polars.

``import polars_mlq`` registers the ``.mlq`` namespace on ``pl.DataFrame`` and ``pl.LazyFrame``.
"""

from __future__ import annotations

from polars_mlq import namespace as _namespace  # registers the .mlq namespaces
from polars_mlq.compat import (
    common_multilabel_issues,
    find_label_issues,
    find_multilabel_issues_per_class,
    get_label_quality_scores,
    get_label_quality_scores_per_class,
    multilabel_health_summary,
    overall_multilabel_health_score,
    rank_classes_by_multilabel_quality,
)
from polars_mlq.expressions import (
    confident_thresholds,
    label_quality,
    label_quality_per_class,
)

__all__ = [
    "common_multilabel_issues",
    "confident_thresholds",
    "find_label_issues",
    "find_multilabel_issues_per_class",
    "get_label_quality_scores",
    "get_label_quality_scores_per_class",
    "label_quality",
    "label_quality_per_class",
    "multilabel_health_summary",
    "overall_multilabel_health_score",
    "rank_classes_by_multilabel_quality",
]
__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

del _namespace
