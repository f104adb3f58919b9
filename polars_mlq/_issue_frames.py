"""Issue finding on frames: the flags and summaries of ``issues_api``, for DataFrame and LazyFrame.

Everything here works from per-class flags. Eagerly they come from the whole columns at once;
``LazyFrame`` input goes through the same function after a streaming collect of just the two
columns it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from polars_mlq import _issues, _summaries
from polars_mlq._columns import Batch, LabelSpec, read_batch
from polars_mlq._frames import Frame, check_inputs, resolve_num_classes


@dataclass(frozen=True)
class FrameIssues:
    """Per-class flags of the scored rows, with what is needed to place them and summarise them."""

    batch: Batch
    flags: np.ndarray  # (n, K) bool, scored rows only
    given: np.ndarray  # (n, K) bool
    rows: np.ndarray  # (n,) bool: the row filter (the low_* filters rank whole rows, not classes)

    def row_flags(self) -> pl.Series:
        """Boolean per input row; null where labels or pred_probs is null."""
        return _with_nulls(self.batch, pl.Series(self.rows))

    def class_flags(self) -> pl.Series:
        k = self.batch.num_classes
        return _with_nulls(self.batch, pl.Series(self.flags.reshape(-1)).reshape((self.flags.shape[0], k)))

    def counts(self) -> np.ndarray:
        return _summaries.issue_counts(self.given, self.flags)

    @property
    def num_rows(self) -> int:
        return int(self.batch.probs.shape[0])


def _with_nulls(batch: Batch, values: pl.Series) -> pl.Series:
    if batch.rows is None:
        return values
    position = np.full(batch.n_total, -1, dtype=np.int64)
    position[batch.rows] = np.arange(len(batch.rows))
    index = pl.Series(position)
    return values.gather(index.set(index < 0, None))


def frame_issues(
    frame: Frame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    spec: LabelSpec,
    options_kwargs: dict[str, object],
) -> FrameIssues:
    check_inputs(frame, labels, pred_probs, spec)
    num_classes = resolve_num_classes(frame, pred_probs)
    columns = frame.select(labels, pred_probs)
    if isinstance(columns, pl.LazyFrame):
        columns = columns.collect(engine="streaming")
    batch = read_batch(columns[:, 0], columns[:, 1], num_classes=num_classes, spec=spec)
    options = _issues.parse_issue_options(batch.num_classes, **options_kwargs)
    flags = _issues.find_issues_per_class(batch, options)
    rows = _issues.find_issues(batch, options) if options.filter_by in _issues.LOW_FILTERS else flags.any(axis=1)
    return FrameIssues(batch, flags, batch.multi_hot(0, batch.probs.shape[0]), rows)


def names(class_names: Sequence[str] | None) -> list[str] | None:
    return None if class_names is None else list(class_names)


def common_issues(issues: FrameIssues, class_names: Sequence[str] | None) -> pl.DataFrame:
    return _summaries.common_issues(issues.counts(), issues.num_rows, names(class_names))


def rank_classes(issues: FrameIssues, class_names: Sequence[str] | None) -> pl.DataFrame:
    return _summaries.class_quality(issues.counts(), issues.num_rows, names(class_names))


def health_score(issues: FrameIssues) -> float:
    return _summaries.health_score(int(np.count_nonzero(issues.rows)), issues.num_rows)
