"""``polars_mlq.ray``'s issue finders and summaries (re-exported by ``polars_mlq.ray``).

The passes of the statistics core run as Ray tasks, one per block of the materialized Dataset;
their partial statistics (bounded: counts, and per class at most as many pairs as it flags) merge
on the caller; the flags are a lazy ``map_batches`` over the same blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import polars as pl
import ray.data

from polars_mlq.core import IssueOptions, IssueRule, engine, parse_issue_options
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat
from polars_mlq.issues import frames as _issue_frames
from polars_mlq.issues.frames import IssueCounts
from polars_mlq.ray._args import SparseArgs, columns_of
from polars_mlq.ray._driver import BlockSource, own_context
from polars_mlq.ray._tasks import Columns, FlagBlocks
from polars_mlq.typing import FilterBy, HealthSummary


class _Keywords(TypedDict):
    class_names: Sequence[str] | None
    labels_format: LabelsFormat
    pred_classes: IntoExpr | None
    num_classes: int | None
    fill_value: float


def _keywords(
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
    pred_classes: IntoExpr | None,
    num_classes: int | None,
    fill_value: float,
) -> _Keywords:
    """Return the keywords of ``issue_counts`` that the summaries pass on."""
    return {
        "class_names": class_names,
        "labels_format": labels_format,
        "pred_classes": pred_classes,
        "num_classes": num_classes,
        "fill_value": fill_value,
    }


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
        sparse = columns.sparse is not None
        rule = engine.find(source, k, options.for_classes(k), per_class=per_class, sparse=sparse).rule
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
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> ray.data.Dataset:
    """Append a Boolean column: True where the row's labels look wrong, as ``df.mlq.find_label_issues``.

    The call materializes the Dataset (its blocks stay in Ray's object store) and runs the passes
    the filter needs as Ray tasks, one per block, merging their partial statistics here; the
    returned Dataset flags each block lazily. Rows tied exactly at a cutoff are flagged by their
    row number in the Dataset (blocks in order), the earliest first, as on a single frame.
    Sparse predictions: ``pred_classes=``, ``num_classes=``, ``fill_value=`` as for the namespace.
    """
    options = parse_issue_options(
        None,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
    )
    sparse = SparseArgs(pred_classes, num_classes, fill_value)
    columns = columns_of(labels, pred_probs, class_names, labels_format, sparse)
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
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> ray.data.Dataset:
    """Append K Booleans per row: True where class k's given label looks wrong (see ``find_label_issues``).

    With sparse predictions, each row's flagged classes (a list), as the namespace gives them.
    """
    options = parse_issue_options(
        None,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
    )
    sparse = SparseArgs(pred_classes, num_classes, fill_value)
    columns = columns_of(labels, pred_probs, class_names, labels_format, sparse)
    return _flagged(ds, columns, options, True, name, ray_remote_args)


# ---------------------------------------------------------------------------------- summaries


def issue_counts(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> IssueCounts:
    """Return the counts behind the summaries: flagged rows per class, scored rows, flagged rows (default filter).

    Every summary below takes sparse predictions (``pred_classes=``, ``num_classes=``,
    ``fill_value=``) as this function does.
    """
    sparse = SparseArgs(pred_classes, num_classes, fill_value)
    source = BlockSource.of(ds, columns_of(labels, pred_probs, class_names, labels_format, sparse))
    k = source.num_classes
    if k is None:
        return IssueCounts.empty()
    given = sparse.pred_classes is not None
    return IssueCounts.of_found(engine.find(source, k, parse_issue_options(k), summary=True, sparse=given))


def common_issues(
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
    """Per class, how often it is wrongly given or wrongly missing, as ``df.mlq.common_issues``."""
    return _issue_frames.common_issues(
        issue_counts(
            ds,
            labels,
            pred_probs,
            **_keywords(class_names, labels_format, pred_classes, num_classes, fill_value),
        ),
        class_names,
    )


def rank_classes(
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
    """Rank the classes from the lowest label quality to the highest, as ``df.mlq.rank_classes``."""
    return _issue_frames.rank_classes(
        issue_counts(
            ds,
            labels,
            pred_probs,
            **_keywords(class_names, labels_format, pred_classes, num_classes, fill_value),
        ),
        class_names,
    )


def health_score(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> float:
    """Return the fraction of rows without a label issue, as ``df.mlq.health_score``."""
    return _issue_frames.health_score(
        issue_counts(
            ds,
            labels,
            pred_probs,
            **_keywords(class_names, labels_format, pred_classes, num_classes, fill_value),
        )
    )


def health_summary(
    ds: ray.data.Dataset,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> HealthSummary:
    """Return the health score and both tables from one set of passes, as ``df.mlq.health_summary``."""
    issues = issue_counts(
        ds,
        labels,
        pred_probs,
        **_keywords(class_names, labels_format, pred_classes, num_classes, fill_value),
    )
    return _issue_frames.health_summary(issues, class_names)
