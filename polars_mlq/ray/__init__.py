"""polars-mlq on Ray Data: the ``.mlq`` namespace's functions for a ``ray.data.Dataset``.

Install with ``pip install "polars-mlq[ray]"``; ``import polars_mlq`` never imports Ray, only
``import polars_mlq.ray`` does. Each function takes the Dataset, then the same column arguments
and keywords as the namespace, and gives the same answers as the namespace on the same rows.

Dataset-level statistics (the confident thresholds that ``adjust_pred_probs`` shifts by, and
every pass of the issue finders and summaries) are partial statistics of the statistics core
(``polars_mlq.core``), computed by one Ray task per block and merged on the caller; no row is
brought to the caller. The per-row step is a ``map_batches`` that stays lazy, as Ray Data's
transforms do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import ray.data

from polars_mlq.core import IssueOptions, IssueRule, engine, parse_issue_options
from polars_mlq.expressions import label_spec
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat, Method, parse_options
from polars_mlq.input.sparse_columns import check_num_classes
from polars_mlq.issues import frames as _issue_frames
from polars_mlq.issues.frames import IssueCounts
from polars_mlq.ray._driver import BlockSource, num_classes_of, original_error, own_context, thresholds_pass
from polars_mlq.ray._tasks import Columns, FlagBlocks, ScoreBlocks, Sparse, class_names_tuple
from polars_mlq.scoring import Thresholds
from polars_mlq.scoring.thresholds import as_thresholds
from polars_mlq.typing import FilterBy, HealthSummary, ThresholdsLike

__all__ = [
    "common_issues",
    "confident_thresholds",
    "find_label_issues",
    "find_label_issues_per_class",
    "health_score",
    "health_summary",
    "issue_counts",
    "label_quality",
    "label_quality_per_class",
    "original_error",
    "rank_classes",
]


def _columns(
    labels: IntoExpr,
    pred_probs: IntoProbs,
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
    sparse: SparseArgs | None = None,
) -> Columns:
    label_spec(class_names, labels_format)  # checks them here, on the caller
    given = None
    if sparse is not None and sparse.pred_classes is not None:
        k = check_num_classes(sparse.num_classes, class_names)
        given = Sparse(sparse.pred_classes, k, sparse.fill_value)
    return Columns(labels, pred_probs, class_names_tuple(class_names), labels_format, given)


@dataclass(frozen=True)
class SparseArgs:
    """The sparse keywords of a call (``pred_classes=None``: dense predictions)."""

    pred_classes: IntoExpr | None
    num_classes: int | None
    fill_value: float


def _thresholds(ds: ray.data.Dataset, columns: Columns) -> Thresholds | None:
    found, _ = thresholds_pass(ds, columns)
    return None if found is None else found.for_scoring()


def confident_thresholds(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> pl.DataFrame:
    """Per-class confident thresholds of the whole Dataset, as :func:`polars_mlq.confident_thresholds` gives them.

    One Ray task per block sums its rows' probabilities exactly; the sums merge on the caller, so
    the thresholds are bit for bit those of the same rows read by Polars, however the Dataset is
    split into blocks. Sparse predictions: ``pred_classes=``, ``num_classes=``, ``fill_value=``.
    """
    sparse = SparseArgs(pred_classes, num_classes, fill_value)
    found = _thresholds(ds, _columns(labels, pred_probs, class_names, labels_format, sparse))
    if found is None:
        return Thresholds(absent=np.empty(0), present=np.empty(0)).to_frame()
    return found.to_frame()


def _scored(
    ds: ray.data.Dataset,
    labels: IntoExpr,
    pred_probs: IntoProbs,
    *,
    method: Method,
    adjust_pred_probs: bool,
    aggregator_kwargs: Mapping[str, Any] | None,
    thresholds: ThresholdsLike | None,
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
    per_class: bool,
    name: str,
    ray_remote_args: Mapping[str, Any] | None,
    sparse: SparseArgs,
) -> ray.data.Dataset:
    options = parse_options(method, adjust_pred_probs, aggregator_kwargs, per_class=per_class)  # fails here
    columns = _columns(labels, pred_probs, class_names, labels_format, sparse)
    given = None
    if adjust_pred_probs:
        given = _thresholds(ds, columns) if thresholds is None else as_thresholds(thresholds)
    # K for every block alike (a row of another width raises); 1 when no row has pred_probs
    if columns.sparse is not None:
        num_classes = columns.sparse.num_classes
    else:
        num_classes = given.num_classes if given is not None else (num_classes_of(ds, columns) or 1)
    step = ScoreBlocks(columns, options, given, num_classes, name)
    own = own_context(ds)  # the namespace's exception class, not Ray's wrapper
    return own.map_batches(step, batch_format="pyarrow", zero_copy_batch=True, **dict(ray_remote_args or {}))


def label_quality(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool = False,
    aggregator_kwargs: Mapping[str, Any] | None = None,
    thresholds: ThresholdsLike | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    name: str = "label_quality",
    ray_remote_args: Mapping[str, Any] | None = None,
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> ray.data.Dataset:
    """Append a Float64 label-quality column to every row of the Dataset (low: labels likely wrong).

    Arguments as ``df.mlq.label_quality`` (sparse predictions too: ``pred_classes=``,
    ``num_classes=``, ``fill_value=``); ``ray_remote_args`` go to ``map_batches`` (for example
    ``num_cpus``). With ``adjust_pred_probs=True`` and no ``thresholds=``, this call runs one
    pass over the Dataset for the thresholds; the scoring itself is a lazy ``map_batches``.
    """
    return _scored(
        ds,
        labels,
        pred_probs,
        method=method,
        adjust_pred_probs=adjust_pred_probs,
        aggregator_kwargs=aggregator_kwargs,
        thresholds=thresholds,
        class_names=class_names,
        labels_format=labels_format,
        per_class=False,
        name=name,
        ray_remote_args=ray_remote_args,
        sparse=SparseArgs(pred_classes, num_classes, fill_value),
    )


def label_quality_per_class(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool = False,
    thresholds: ThresholdsLike | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    name: str = "label_quality_per_class",
    ray_remote_args: Mapping[str, Any] | None = None,
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> ray.data.Dataset:
    """Append a column of K per-class scores to every row, as ``df.mlq.label_quality_per_class`` does."""
    return _scored(
        ds,
        labels,
        pred_probs,
        method=method,
        adjust_pred_probs=adjust_pred_probs,
        aggregator_kwargs=None,
        thresholds=thresholds,
        class_names=class_names,
        labels_format=labels_format,
        per_class=True,
        name=name,
        ray_remote_args=ray_remote_args,
        sparse=SparseArgs(pred_classes, num_classes, fill_value),
    )


# ---------------------------------------------------------------------------------- issues


def _flagged(
    ds: ray.data.Dataset,
    columns: Columns,
    options: IssueOptions,
    per_class: bool,
    name: str,
    ray_remote_args: Mapping[str, Any] | None,
) -> ray.data.Dataset:
    source = BlockSource.of(ds, columns)
    k = source.num_classes
    if k is None:  # no row has pred_probs: every flag is null
        k, rule = 0, IssueRule(options.filter_by, 0, nothing=True)
    else:
        rule = engine.find(source, k, options.for_classes(k), per_class=per_class).rule
    step = FlagBlocks(source.refs, source.firsts, source.columns, k, rule, per_class, name)
    numbers = ray.data.range(len(source.refs), override_num_blocks=max(len(source.refs), 1))
    own = own_context(numbers)
    return own.map_batches(step, batch_format="pyarrow", batch_size=1, **dict(ray_remote_args or {}))


def find_label_issues(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    name: str = "is_label_issue",
    ray_remote_args: Mapping[str, Any] | None = None,
) -> ray.data.Dataset:
    """Append a Boolean column: True where the row's labels look wrong, as ``df.mlq.find_label_issues``.

    The call materializes the Dataset (its blocks stay in Ray's object store) and runs the passes
    the filter needs as Ray tasks, one per block, merging their partial statistics here; the
    returned Dataset flags each block lazily. Rows tied exactly at a cutoff are flagged by their
    row number in the Dataset (blocks in order), the earliest first, as on a single frame.
    """
    options = parse_issue_options(
        None,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
    )
    columns = _columns(labels, pred_probs, class_names, labels_format)
    return _flagged(ds, columns, options, False, name, ray_remote_args)


def find_label_issues_per_class(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    name: str = "is_label_issue_per_class",
    ray_remote_args: Mapping[str, Any] | None = None,
) -> ray.data.Dataset:
    """Append K Booleans per row: True where class k's given label looks wrong (see ``find_label_issues``)."""
    options = parse_issue_options(
        None,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
    )
    columns = _columns(labels, pred_probs, class_names, labels_format)
    return _flagged(ds, columns, options, True, name, ray_remote_args)


# ---------------------------------------------------------------------------------- summaries


def issue_counts(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> IssueCounts:
    """Return the counts behind the summaries: flagged rows per class, scored rows, flagged rows (default filter)."""
    source = BlockSource.of(ds, _columns(labels, pred_probs, class_names, labels_format))
    k = source.num_classes
    if k is None:
        return IssueCounts.empty()
    return IssueCounts.of_found(engine.find(source, k, parse_issue_options(k), summary=True))


def common_issues(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> pl.DataFrame:
    """Per class, how often it is wrongly given or wrongly missing, as ``df.mlq.common_issues``."""
    return _issue_frames.common_issues(
        issue_counts(ds, labels, pred_probs, class_names=class_names, labels_format=labels_format), class_names
    )


def rank_classes(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> pl.DataFrame:
    """Rank the classes from the lowest label quality to the highest, as ``df.mlq.rank_classes``."""
    return _issue_frames.rank_classes(
        issue_counts(ds, labels, pred_probs, class_names=class_names, labels_format=labels_format), class_names
    )


def health_score(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> float:
    """Return the fraction of rows without a label issue, as ``df.mlq.health_score``."""
    return _issue_frames.health_score(
        issue_counts(ds, labels, pred_probs, class_names=class_names, labels_format=labels_format)
    )


def health_summary(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> HealthSummary:
    """Return the health score and both tables from one set of passes, as ``df.mlq.health_summary``."""
    issues = issue_counts(ds, labels, pred_probs, class_names=class_names, labels_format=labels_format)
    return _issue_frames.health_summary(issues, class_names)
