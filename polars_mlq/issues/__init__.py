"""The issues layer: label-issue flags and dataset summaries, on arrays and on frames.

``arrays`` runs the statistics core (``polars_mlq.core``) over arrays in hand and ranks the flagged
rows as the cleanlab-signature functions return them; ``frames`` drives it over a DataFrame (one
batch) or a LazyFrame (streamed batches, flags appended lazily); ``summaries`` turns per-class
counts into cleanlab's tables.
"""

from polars_mlq.issues.arrays import find_issues, find_issues_per_class, ranked_per_class
from polars_mlq.issues.frames import (
    ROW_NUMBER,
    IssueCounts,
    common_issues,
    frame_issues,
    health_score,
    issue_counts,
    lazy_flags,
    rank_classes,
)
from polars_mlq.issues.summaries import class_quality

__all__ = [
    "ROW_NUMBER",
    "IssueCounts",
    "class_quality",
    "common_issues",
    "find_issues",
    "find_issues_per_class",
    "frame_issues",
    "health_score",
    "issue_counts",
    "lazy_flags",
    "rank_classes",
    "ranked_per_class",
]
