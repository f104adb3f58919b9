"""Issue finding on frames: the flags and summaries of ``issues_api``, for DataFrame and LazyFrame.

A DataFrame is read whole and is the one chunk the statistics core is run over (``_issues``).
A LazyFrame is never collected: the statistics core (``polars_mlq.core``) streams the query for the
dataset-level statistics (one to three passes), and the flags are an elementwise function appended
to the query with each row's number, so ``lf.mlq.find_label_issues().sink_parquet(...)`` streams
too. Summaries need only counts, which the passes give directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from polars_mlq.core import (
    LOW_FILTERS,
    Chunk,
    IssueOptions,
    IssueRule,
    engine,
    parse_issue_options,
    problems,
    rows_with_any,
    stream_chunks,
)
from polars_mlq.input import Batch, LabelSpec, Where, checked_num_classes, read_batch
from polars_mlq.issues import summaries as _summaries
from polars_mlq.issues.arrays import find_issues, find_issues_per_class

if TYPE_CHECKING:
    from polars_mlq.typing import HealthSummary


@dataclass(frozen=True)
class FrameIssues:
    """Per-class flags of the scored rows, with what is needed to place them and summarise them."""

    batch: Batch
    flags: np.ndarray  # (n, K) bool, scored rows only
    rows: np.ndarray  # (n,) bool: the row filter (the low_* filters rank whole rows, not classes)

    def row_flags(self) -> pl.Series:
        """Boolean per input row; null where labels or pred_probs is null."""
        return self.batch.with_nulls(pl.Series(self.rows))

    def class_flags(self) -> pl.Series:
        """Return an Array(Boolean, K) per input row; null where labels or pred_probs is null."""
        k = self.batch.num_classes
        return self.batch.with_nulls(pl.Series(self.flags.reshape(-1)).reshape((self.flags.shape[0], k)))

    def summary(self) -> IssueCounts:
        """Return the counts behind the summaries."""
        given = self.batch.multi_hot(0, self.batch.probs.shape[0])  # (n, K) bool, built for summaries only
        counts = _summaries.issue_counts(given, self.flags)
        return IssueCounts(counts, int(self.batch.probs.shape[0]), int(np.count_nonzero(self.rows)))


@dataclass(frozen=True)
class IssueCounts:
    """What the dataset summaries need: flagged rows per class, scored rows and flagged rows.

    ``counts`` (K, 2) holds per class the flagged rows that carry it and that lack it; then come
    the number of scored rows and of flagged rows.
    """

    counts: np.ndarray
    num_rows: int
    flagged_rows: int

    @classmethod
    def empty(cls) -> IssueCounts:
        """Return the counts of no scored row."""
        return cls(np.zeros((0, 2), dtype=np.int64), 0, 0)

    @classmethod
    def of_found(cls, found: engine.Found) -> IssueCounts:
        """Return the counts of the statistics core's passes (run with ``summary=True``)."""
        counts, flagged = found.summary()
        return cls(counts, found.num_rows, flagged)


def frame_issues(
    frame: pl.DataFrame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    spec: LabelSpec,
    options: IssueOptions,
) -> FrameIssues:
    """Compute the flags of a DataFrame, from its whole columns."""
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    columns = frame.select(labels, pred_probs)
    batch = read_batch(columns[:, 0], columns[:, 1], num_classes=num_classes, spec=spec)
    options = options.for_classes(batch.num_classes)
    flags = find_issues_per_class(batch, options)
    rows = find_issues(batch, options) if options.filter_by in LOW_FILTERS else rows_with_any(flags)
    return FrameIssues(batch, flags, rows)


#: The temporary column that carries each row's number through a lazy query.
ROW_NUMBER = "__polars_mlq_row__"


def _flags_udf(
    series: Sequence[pl.Series],
    *,
    rule: IssueRule,
    num_classes: int,
    spec: LabelSpec,
    per_class: bool,
) -> pl.Series:
    labels, pred_probs, numbers = series
    row_numbers = numbers.to_numpy().astype(np.int64)
    first = int(row_numbers[0]) if row_numbers.size else 0
    batch = read_batch(labels, pred_probs, num_classes=num_classes, where=Where(first_row=first), spec=spec)
    local = np.arange(batch.probs.shape[0]) if batch.rows is None else batch.rows
    chunk = Chunk(problems(batch), row_numbers[local])
    if per_class:
        mask = rule.class_mask(chunk)
        dtype = pl.Array(pl.Boolean, num_classes)
        values = pl.Series(mask.reshape(-1)).reshape(mask.shape) if mask.shape[0] else pl.Series([], dtype=dtype)
    else:
        values = pl.Series(rule.row_mask(chunk), dtype=pl.Boolean)
    return batch.with_nulls(values)


def lazy_flags(
    frame: pl.LazyFrame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    spec: LabelSpec,
    options: IssueOptions,
    *,
    per_class: bool,
    name: str,
) -> pl.LazyFrame:
    """Return the LazyFrame with its flags appended as a column.

    The streaming passes run now (how many depends on the filter), the flags when the query runs,
    batch by batch.
    """
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    if num_classes is None:  # no row has pred_probs: every flag is null
        dtype: pl.DataType = pl.Array(pl.Boolean, 0) if per_class else pl.Boolean()
        return frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    options = options.for_classes(num_classes)
    source = stream_chunks(frame, labels, pred_probs, num_classes, spec)
    found = engine.find(source, num_classes, options, per_class=per_class, budget=engine.STREAM_BUDGET)
    udf = partial(_flags_udf, rule=found.rule, num_classes=num_classes, spec=spec, per_class=per_class)
    dtype = pl.Array(pl.Boolean, num_classes) if per_class else pl.Boolean()
    numbered = frame.with_row_index(ROW_NUMBER)
    flags = pl.map_batches([labels, pred_probs, pl.col(ROW_NUMBER)], udf, return_dtype=dtype, is_elementwise=True)
    return numbered.with_columns(flags.alias(name)).drop(ROW_NUMBER)


def issue_counts(
    frame: pl.DataFrame | pl.LazyFrame, labels: pl.Expr, pred_probs: pl.Expr, spec: LabelSpec
) -> IssueCounts:
    """Compute the counts behind the summaries (default filter); a LazyFrame is streamed, not collected."""
    if isinstance(frame, pl.DataFrame):
        return frame_issues(frame, labels, pred_probs, spec, IssueOptions()).summary()
    num_classes = checked_num_classes(frame, labels, pred_probs, spec)
    if num_classes is None:
        return IssueCounts.empty()
    options = parse_issue_options(num_classes)
    source = stream_chunks(frame, labels, pred_probs, num_classes, spec)
    return IssueCounts.of_found(engine.find(source, num_classes, options, summary=True, budget=engine.STREAM_BUDGET))


def names(class_names: Sequence[str] | None) -> list[str] | None:
    """Return the class names as a list (None stays None)."""
    return None if class_names is None else list(class_names)


def common_issues(issues: IssueCounts, class_names: Sequence[str] | None) -> pl.DataFrame:
    """Return the common-issues table of the counts (see ``summaries.common_issues``)."""
    return _summaries.common_issues(issues.counts, issues.num_rows, names(class_names))


def rank_classes(issues: IssueCounts, class_names: Sequence[str] | None) -> pl.DataFrame:
    """Return the classes ranked by label quality (see ``summaries.class_quality``)."""
    return _summaries.class_quality(issues.counts, issues.num_rows, names(class_names))


def health_score(issues: IssueCounts) -> float:
    """Return the fraction of scored rows without a label issue (see ``summaries.health_score``)."""
    return _summaries.health_score(issues.flagged_rows, issues.num_rows)


def health_summary(issues: IssueCounts, class_names: Sequence[str] | None) -> HealthSummary:
    """Return the health score and both tables of the counts (the keys of cleanlab's health summary)."""
    return {
        "overall_multilabel_health_score": health_score(issues),
        "classes_by_multilabel_quality": rank_classes(issues, class_names),
        "common_multilabel_issues": common_issues(issues, class_names),
    }
