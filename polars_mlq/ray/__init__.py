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
from typing import Any

import numpy as np
import polars as pl
import ray.data

from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat, Method, parse_options
from polars_mlq.ray._args import SparseArgs, columns_of
from polars_mlq.ray._driver import num_classes_of, original_error, own_context, thresholds_pass
from polars_mlq.ray._tasks import Columns, ScoreBlocks
from polars_mlq.ray.issues import (
    common_issues,
    find_label_issues,
    find_label_issues_per_class,
    health_score,
    health_summary,
    issue_counts,
    rank_classes,
)
from polars_mlq.scoring import Thresholds
from polars_mlq.scoring.thresholds import as_thresholds
from polars_mlq.typing import ThresholdsLike

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
    found = _thresholds(ds, columns_of(labels, pred_probs, class_names, labels_format, sparse))
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
    columns = columns_of(labels, pred_probs, class_names, labels_format, sparse)
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
