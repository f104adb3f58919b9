"""Dataset-level summaries of the per-class issue flags, as polars DataFrames.

Everything is derived from one (n, K) flag matrix (``find_issues_per_class`` with the default
filter), split by whether the flagged row carries the class:

- flagged and labelled k: class k is "in the given label, not in the suggested label";
- flagged and not labelled k: class k is "in the suggested label, not in the given label".

Rates are divided by n, the number of rows (not by the rows of the class). Row orders follow
cleanlab's, which sorts with numpy's quicksort; we call the same numpy sort on the same values so
rows with equal rates come out in the same order on the same machine.
"""

from __future__ import annotations

import numpy as np
import polars as pl

COMMON_COLUMNS = ("Class Index", "In Given Label", "In Suggested Label", "Num Examples", "Issue Probability")
QUALITY_COLUMNS = (
    "Class Index",
    "Label Issues",
    "Inverse Label Issues",
    "Label Noise",
    "Inverse Label Noise",
    "Label Quality Score",
)


def issue_counts(given: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """(K, 2) int64: per class, flagged rows that carry it and flagged rows that lack it."""
    labelled = np.count_nonzero(flags & given, axis=0)
    unlabelled = np.count_nonzero(flags & ~given, axis=0)
    return np.stack([labelled, unlabelled], axis=1).astype(np.int64)


def _check_rows(num_rows: int) -> None:
    if num_rows == 0:
        msg = "no rows with labels: issue rates are undefined for an empty dataset"
        raise ValueError(msg)


def _descending(values: np.ndarray) -> np.ndarray:
    """Order of a descending sort as pandas does it with numpy's quicksort (ties reversed)."""
    index = np.arange(values.size)
    return index[::-1][np.argsort(values[::-1], kind="quicksort")][::-1]


def _with_names(frame: pl.DataFrame, names: list[str] | None) -> pl.DataFrame:
    if names is None:
        return frame
    column = pl.Series("Class Name", [names[k] for k in frame["Class Index"].to_list()], strict=False)
    return frame.insert_column(0, column)


def common_issues(counts: np.ndarray, num_rows: int, names: list[str] | None) -> pl.DataFrame:
    """Two rows per class (labelled-but-flagged, then unlabelled-but-flagged), most frequent first."""
    _check_rows(num_rows)
    k = counts.shape[0]
    cls = np.repeat(np.arange(k, dtype=np.int64), 2)
    in_given = np.tile(np.array([True, False]), k)
    num = counts.reshape(-1)
    rate = num / num_rows
    order = _descending(rate)
    frame = pl.DataFrame(
        {
            "Class Index": pl.Series(cls[order], dtype=pl.Int64),
            "In Given Label": pl.Series(in_given[order], dtype=pl.Boolean),
            "In Suggested Label": pl.Series(~in_given[order], dtype=pl.Boolean),
            "Num Examples": pl.Series(num[order], dtype=pl.Int64),
            "Issue Probability": pl.Series(rate[order], dtype=pl.Float64),
        }
    )
    return _with_names(frame, names)


def class_quality(counts: np.ndarray, num_rows: int, names: list[str] | None) -> pl.DataFrame:
    """One row per class, lowest label quality (1 - labelled-but-flagged rate) first."""
    _check_rows(num_rows)
    k = counts.shape[0]
    # cleanlab lists the classes as they first appear in the sorted common-issues table, then
    # sorts by quality; the first order decides how ties come out of the second sort
    first_seen = np.repeat(np.arange(k), 2)[_descending(counts.reshape(-1) / num_rows)]
    _, where = np.unique(first_seen, return_index=True)
    classes = first_seen[np.sort(where)]
    noise = counts[classes, 0] / num_rows
    inverse = counts[classes, 1] / num_rows
    quality = 1 - noise
    order = np.argsort(quality, kind="quicksort")
    frame = pl.DataFrame(
        {
            "Class Index": pl.Series(classes[order], dtype=pl.Int64),
            "Label Issues": pl.Series(counts[classes, 0][order], dtype=pl.Int64),
            "Inverse Label Issues": pl.Series(counts[classes, 1][order], dtype=pl.Int64),
            "Label Noise": pl.Series(noise[order], dtype=pl.Float64),
            "Inverse Label Noise": pl.Series(inverse[order], dtype=pl.Float64),
            "Label Quality Score": pl.Series(quality[order], dtype=pl.Float64),
        }
    )
    return _with_names(frame, names)


def health_score(flagged_rows: int, num_rows: int) -> float:
    """1 - (rows with at least one flagged class) / n."""
    _check_rows(num_rows)
    return float(1.0 - flagged_rows / num_rows)
