"""Issue finding on frames: the flags and summaries of ``issues_api``, for DataFrame and LazyFrame.

A DataFrame is read whole and goes through ``_issues`` (cleanlab's flags exactly, ties included).
A LazyFrame is never collected: ``_lazy_issues`` streams the query for the dataset-level
statistics (two passes), and the flags are an elementwise expression appended to the query, so
``lf.mlq.find_label_issues().sink_parquet(...)`` streams too. Summaries need only counts, which
the passes give directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from polars_mlq import _issues, _lazy_issues, _summaries
from polars_mlq._columns import Batch, LabelSpec, Where, read_batch
from polars_mlq._frames import checked_num_classes


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

    def summary(self) -> IssueCounts:
        counts = _summaries.issue_counts(self.given, self.flags)
        return IssueCounts(counts, int(self.batch.probs.shape[0]), int(np.count_nonzero(self.rows)))


@dataclass(frozen=True)
class IssueCounts:
    """What the dataset summaries need: per class the flagged rows that carry it and that lack it
    (K, 2), the number of scored rows and of flagged rows."""

    counts: np.ndarray
    num_rows: int
    flagged_rows: int


def _with_nulls(batch: Batch, values: pl.Series) -> pl.Series:
    if batch.rows is None:
        return values
    position = np.full(batch.n_total, -1, dtype=np.int64)
    position[batch.rows] = np.arange(len(batch.rows))
    index = pl.Series(position)
    return values.gather(index.set(index < 0, None))


def frame_issues(
    frame: pl.DataFrame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    spec: LabelSpec,
    options_kwargs: dict[str, object],
) -> FrameIssues:
    """Flags of a DataFrame, from its whole columns."""
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    columns = frame.select(labels, pred_probs)
    batch = read_batch(columns[:, 0], columns[:, 1], num_classes=num_classes, spec=spec)
    options = _issues.parse_issue_options(batch.num_classes, **options_kwargs)
    flags = _issues.find_issues_per_class(batch, options)
    rows = _issues.find_issues(batch, options) if options.filter_by in _issues.LOW_FILTERS else flags.any(axis=1)
    return FrameIssues(batch, flags, batch.multi_hot(0, batch.probs.shape[0]), rows)


def _flags_udf(
    series: Sequence[pl.Series],
    *,
    rule: _lazy_issues.IssueRule,
    num_classes: int,
    spec: LabelSpec,
    per_class: bool,
) -> pl.Series:
    labels, pred_probs = series
    batch = read_batch(labels, pred_probs, num_classes=num_classes, where=Where(streamed=True), spec=spec)
    pb = _issues.problems(batch)
    if per_class:
        mask = rule.class_mask(pb)
        dtype = pl.Array(pl.Boolean, num_classes)
        values = pl.Series(mask.reshape(-1)).reshape(mask.shape) if pb.n else pl.Series([], dtype=dtype)
    else:
        values = pl.Series(rule.row_mask(pb), dtype=pl.Boolean)
    return _with_nulls(batch, values)


def lazy_issues_expr(
    frame: pl.LazyFrame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    spec: LabelSpec,
    options_kwargs: dict[str, object],
    *,
    per_class: bool,
    name: str,
) -> pl.Expr:
    """The flags of a LazyFrame as an elementwise expression: the streaming passes run now (how
    many depends on the filter), the flags when the query runs, batch by batch."""
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    options = _issues.parse_issue_options(num_classes or 0, **options_kwargs)
    if num_classes is None:  # no row has pred_probs: every flag is null
        dtype: pl.DataType = pl.Array(pl.Boolean, 0) if per_class else pl.Boolean()
        return pl.lit(None, dtype=dtype).alias(name)
    found = _lazy_issues.find_lazy_issues(frame, labels, pred_probs, num_classes, spec, options, per_class=per_class)
    udf = partial(_flags_udf, rule=found.rule, num_classes=num_classes, spec=spec, per_class=per_class)
    dtype = pl.Array(pl.Boolean, num_classes) if per_class else pl.Boolean()
    return pl.map_batches([labels, pred_probs], udf, return_dtype=dtype, is_elementwise=True).alias(name)


def issue_counts(frame: pl.DataFrame | pl.LazyFrame, labels: pl.Expr, pred_probs: pl.Expr, spec: LabelSpec) -> IssueCounts:
    """The counts behind the summaries (default filter); a LazyFrame is streamed, not collected."""
    if isinstance(frame, pl.DataFrame):
        return frame_issues(frame, labels, pred_probs, spec, {}).summary()
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    if num_classes is None:
        return IssueCounts(np.zeros((0, 2), dtype=np.int64), 0, 0)
    options = _issues.parse_issue_options(num_classes)
    found = _lazy_issues.find_lazy_issues(frame, labels, pred_probs, num_classes, spec, options, keep_rows=True)
    counts, flagged = found.summary()
    return IssueCounts(counts, found.num_rows, flagged)


def names(class_names: Sequence[str] | None) -> list[str] | None:
    return None if class_names is None else list(class_names)


def common_issues(issues: IssueCounts, class_names: Sequence[str] | None) -> pl.DataFrame:
    return _summaries.common_issues(issues.counts, issues.num_rows, names(class_names))


def rank_classes(issues: IssueCounts, class_names: Sequence[str] | None) -> pl.DataFrame:
    return _summaries.class_quality(issues.counts, issues.num_rows, names(class_names))


def health_score(issues: IssueCounts) -> float:
    return _summaries.health_score(issues.flagged_rows, issues.num_rows)
