"""Public expressions: label-quality scores as ``pl.Expr``, and confident thresholds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from polars_mlq.core import batch_thresholds, frame_thresholds
from polars_mlq.input import (
    Frame,
    IntoExpr,
    IntoProbs,
    LabelsFormat,
    LabelSpec,
    Method,
    ScoringOptions,
    Where,
    checked_num_classes,
    parse_options,
    read_batch,
    to_expr,
    to_probs_expr,
)
from polars_mlq.input.sparse_columns import check_num_classes as check_sparse_num_classes
from polars_mlq.scoring import Thresholds, as_thresholds, per_class_matrix, row_scores, to_series
from polars_mlq.sparse_expressions import SparseScoring, sparse_scoring_expr, sparse_thresholds
from polars_mlq.typing import ThresholdsLike

#: Returns the error of the first bad row before a row number, or None (see ``scoring_expr``).
EarlierError = Callable[[int], Exception | None]


def _check_num_classes(num_classes: int | None) -> int | None:
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        msg = f"num_classes must be a positive integer; got {num_classes!r}"
        raise ValueError(msg)
    return int(num_classes)


def _score_udf(
    series: Sequence[pl.Series],
    *,
    options: ScoringOptions,
    thresholds: Thresholds | None,
    num_classes: int | None,
    streamed: bool,
    dtype: pl.DataType,
    spec: LabelSpec,
    earlier_error: EarlierError | None = None,
) -> pl.Series:
    labels, pred_probs = series[0], series[1]
    # a third input, when given, holds each row's number in the user's frame (errors name it)
    first = int(series[2][0]) if len(series) > 2 and len(series[2]) else None
    try:
        where = Where(streamed=streamed, first_row=first)
        batch = read_batch(labels, pred_probs, num_classes=num_classes, where=where, spec=spec, defer_range_check=True)
        if options.adjust_pred_probs and thresholds is None:  # from the column itself
            batch = batch.checked()
            thresholds = batch_thresholds(batch)
        if options.aggregator is None:
            values = per_class_matrix(batch, options, thresholds)
        else:
            values = row_scores(batch, options, thresholds)
    except (ValueError, TypeError):
        # Batches run in parallel: an earlier batch may hold an earlier bad row. Name the first.
        earlier = earlier_error(first) if earlier_error is not None and first else None
        if earlier is None:
            raise
        raise earlier from None
    return to_series(labels.name, batch, values, dtype)


def label_spec(class_names: Sequence[str] | None, labels_format: LabelsFormat) -> LabelSpec:
    """Return the ``LabelSpec`` of the public ``class_names`` and ``labels_format`` arguments, checked."""
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
            msg = f"class_names must be a list of strings; got {class_names!r}"
            raise TypeError(msg)
        if len(set(class_names)) != len(class_names):
            msg = "class_names must be distinct"
            raise ValueError(msg)
        class_names = tuple(class_names)
    return LabelSpec(format=labels_format, class_names=class_names)


def _scoring_udf(
    options: ScoringOptions,
    *,
    thresholds: ThresholdsLike | None,
    num_classes: int | None,
    whole_column: bool,
    spec: LabelSpec,
    earlier_error: EarlierError | None = None,
) -> tuple[partial[pl.Series], pl.DataType, bool]:
    """Return the batch function every scoring path runs, its output dtype, and whether it is elementwise.

    It is elementwise (streams batch by batch) when K is known now (``num_classes``, an Array
    width, or thresholds) and nothing dataset-level is left to compute; thresholds computed from
    the column itself, an unknown K, and callable aggregators see the whole column at once.
    """
    num_classes = _check_num_classes(num_classes)
    if thresholds is not None and not options.adjust_pred_probs:
        msg = "thresholds= is only used with adjust_pred_probs=True; pass both or neither"
        raise ValueError(msg)
    fitted = None if thresholds is None else as_thresholds(thresholds)
    if fitted is not None:
        if num_classes is not None and fitted.num_classes != num_classes:
            msg = f"thresholds have {fitted.num_classes} classes but pred_probs have {num_classes}"
            raise ValueError(msg)
        num_classes = fitted.num_classes
    # Batch by batch only when K and the thresholds are fixed now; otherwise see the whole column.
    whole_column = whole_column or num_classes is None or (options.adjust_pred_probs and fitted is None)
    if options.aggregator is not None and options.aggregator.kind == "callable":
        whole_column = True
    if options.aggregator is None:
        if num_classes is None:
            msg = (
                "label_quality_per_class needs num_classes= (or thresholds=) to know its output "
                "type Array(Float64, K); the DataFrame/LazyFrame .mlq methods find K themselves"
            )
            raise ValueError(msg)
        dtype: pl.DataType = pl.Array(pl.Float64, num_classes)
    else:
        dtype = pl.Float64()
    udf = partial(
        _score_udf,
        options=options,
        thresholds=fitted,
        num_classes=num_classes,
        streamed=not whole_column,
        dtype=dtype,
        spec=spec,
        earlier_error=earlier_error,
    )
    return udf, dtype, not whole_column


def scoring_expr(
    labels: IntoExpr,
    pred_probs: IntoProbs,
    options: ScoringOptions,
    *,
    thresholds: ThresholdsLike | None,
    num_classes: int | None,
    whole_column: bool,
    name: str,
    spec: LabelSpec,
    row_numbers: str | None = None,
    earlier_error: EarlierError | None = None,
) -> pl.Expr:
    """Return the one expression every lazy scoring path runs (see ``_scoring_udf``).

    ``row_numbers`` names a column of each row's number in the user's frame, for error messages;
    ``earlier_error(n)``, when given, returns the error of the first bad row before row n (or
    None), so that a batch meeting a bad row reports the first one of the frame.
    """
    udf, dtype, elementwise = _scoring_udf(
        options,
        thresholds=thresholds,
        num_classes=num_classes,
        whole_column=whole_column,
        spec=spec,
        earlier_error=earlier_error,
    )
    inputs = [to_expr(labels, "labels"), to_probs_expr(pred_probs)]
    if row_numbers is not None:
        inputs.append(pl.col(row_numbers))
    return pl.map_batches(inputs, udf, return_dtype=dtype, is_elementwise=elementwise).alias(name)


def scored_series(
    labels: pl.Series,
    pred_probs: pl.Series,
    options: ScoringOptions,
    *,
    thresholds: ThresholdsLike | None,
    num_classes: int | None,
    name: str,
    spec: LabelSpec,
) -> pl.Series:
    """Run the same batch function eagerly on two whole columns, without building a query."""
    udf, _, _ = _scoring_udf(options, thresholds=thresholds, num_classes=num_classes, whole_column=True, spec=spec)
    return udf([labels, pred_probs]).alias(name)


def label_quality(
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool = False,
    aggregator_kwargs: Mapping[str, Any] | None = None,
    thresholds: ThresholdsLike | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    fill_value: float = 0.0,
) -> pl.Expr:
    """Label-quality score of each row, in [0, 1]; low means the labels are likely wrong.

    Parameters
    ----------
    labels
        Column (name or expression) of ``List`` of class indices, e.g. ``[0, 2]``, or of class
        names (String/Categorical with ``class_names=``, or Enum); multi-hot rows with
        ``labels_format="multi_hot"``.
    pred_probs
        Column of ``List``/``Array`` of Float32/Float64: the model's probability for each of the K
        classes (they need not sum to 1); or several Float columns, one per class (a list of
        names or a selector such as ``cs.starts_with("p_")``).
    method
        Per-class score: ``"self_confidence"``, ``"normalized_margin"`` or
        ``"confidence_weighted_entropy"``.
    adjust_pred_probs
        Shift probabilities by each class's confident thresholds first. Without ``thresholds=``
        the expression has to see the whole column at once (it does not stream).
    aggregator_kwargs
        How per-class scores become one: ``{"method": "exponential_moving_average", "alpha": 0.8}``
        (the default; ``alpha`` None means 2 / (K + 1)), ``{"method": "softmin",
        "temperature": 0.1}``, or ``{"method": callable, **kwargs}`` (called on the (n, K) matrix).
    thresholds
        Precomputed thresholds from :func:`confident_thresholds`, to score with
        ``adjust_pred_probs=True`` batch by batch or on another dataset.
    num_classes
        K, the width every pred_probs row must have. With it (and without dataset-level work)
        the expression is elementwise and streams; without it the expression sees the whole
        column at once, so that K is the same for every row. The ``.mlq`` methods set it.
    class_names
        The K class names in pred_probs order, for labels given as names.
    labels_format
        ``"indices"`` (default) or ``"multi_hot"`` (K booleans or 0/1 integers per row).
    pred_classes, fill_value
        Sparse (top-k) predictions: ``pred_probs`` a ``List`` of the probabilities of the
        classes this ``List`` column of class indices names (the same lengths), every other
        class at ``fill_value``; ``num_classes`` is then required. See the extreme multi-label
        guide.

    Returns
    -------
    pl.Expr
        Float64, named ``label_quality``; null where labels or pred_probs is null.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_mlq as mlq
    >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
    >>> df.with_columns(mlq.label_quality())["label_quality"].round(6).to_list()
    [0.9, 0.5]
    """
    options = parse_options(method, adjust_pred_probs, aggregator_kwargs)
    if pred_classes is not None:
        k = check_sparse_num_classes(num_classes, class_names)
        fitted = None if thresholds is None else as_thresholds(thresholds)
        if fitted is not None and fitted.num_classes != k:
            msg = f"thresholds have {fitted.num_classes} classes but num_classes is {k}"
            raise ValueError(msg)
        scoring = SparseScoring(options, k, fill_value, label_spec(class_names, labels_format), fitted, "label_quality")
        exprs = (to_expr(labels, "labels"), to_expr(pred_probs, "pred_probs"), to_expr(pred_classes, "pred_classes"))
        return sparse_scoring_expr(*exprs, scoring)
    return scoring_expr(
        labels,
        pred_probs,
        options,
        thresholds=thresholds,
        num_classes=num_classes,
        whole_column=False,
        name="label_quality",
        spec=label_spec(class_names, labels_format),
    )


def label_quality_per_class(
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool = False,
    thresholds: ThresholdsLike | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> pl.Expr:
    """Per-class label-quality scores, ``Array(Float64, K)``: how well class k's given label fits.

    Same arguments as :func:`label_quality`, without an aggregator. As a bare expression it needs
    ``num_classes=`` (or ``thresholds=``) to know K; ``df.mlq.label_quality_per_class()`` finds it.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_mlq as mlq
    >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
    >>> df.select(mlq.label_quality_per_class(num_classes=3).arr.to_list().list.eval(pl.element().round(6)))
    shape: (2, 1)
    ┌─────────────────────────┐
    │ label_quality_per_class │
    │ ---                     │
    │ list[f64]               │
    ╞═════════════════════════╡
    │ [0.9, 0.9, 0.9]         │
    │ [0.4, 0.9, 0.9]         │
    └─────────────────────────┘
    """
    options = parse_options(method, adjust_pred_probs, None, per_class=True)
    return scoring_expr(
        labels,
        pred_probs,
        options,
        thresholds=thresholds,
        num_classes=num_classes,
        whole_column=False,
        name="label_quality_per_class",
        spec=label_spec(class_names, labels_format),
    )


def confident_thresholds(
    frame: Frame,
    labels: IntoExpr = "labels",
    pred_probs: IntoProbs = "pred_probs",
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    pred_classes: IntoExpr | None = None,
    num_classes: int | None = None,
    fill_value: float = 0.0,
) -> pl.DataFrame:
    """Per-class confident thresholds, for ``adjust_pred_probs=True`` with ``thresholds=``.

    ``threshold_present`` is the mean of p over rows labelled with the class, ``threshold_absent``
    the mean of 1 - p over the other rows (2.0 when no row is in the group). A LazyFrame is read
    in one streaming pass; rows where either column is null are left out. Sparse (top-k)
    predictions take ``pred_classes=``, ``num_classes=`` and ``fill_value=`` as in
    :func:`label_quality`.

    Examples
    --------
    >>> import polars as pl
    >>> import polars_mlq as mlq
    >>> df = pl.DataFrame({"labels": [[0], [1], [0, 1]], "pred_probs": [[0.8, 0.4], [0.2, 0.6], [0.6, 0.8]]})
    >>> mlq.confident_thresholds(df)
    shape: (2, 3)
    ┌───────┬──────────────────┬───────────────────┐
    │ class ┆ threshold_absent ┆ threshold_present │
    │ ---   ┆ ---              ┆ ---               │
    │ u32   ┆ f64              ┆ f64               │
    ╞═══════╪══════════════════╪═══════════════════╡
    │ 0     ┆ 0.8              ┆ 0.7               │
    │ 1     ┆ 0.6              ┆ 0.7               │
    └───────┴──────────────────┴───────────────────┘
    """
    spec = label_spec(class_names, labels_format)
    if pred_classes is not None:
        exprs = (to_expr(labels, "labels"), to_expr(pred_probs, "pred_probs"), to_expr(pred_classes, "pred_classes"))
        k = check_sparse_num_classes(num_classes, spec.class_names)
        options = parse_options("self_confidence", True, None)
        scoring = SparseScoring(options, k, fill_value, spec, None, "label_quality")
        return sparse_thresholds(frame, *exprs, scoring).to_frame()
    labels_expr, probs_expr = to_expr(labels, "labels"), to_probs_expr(pred_probs)
    num_classes = checked_num_classes(frame, labels_expr, probs_expr, spec)
    return frame_thresholds(frame, labels_expr, probs_expr, num_classes, spec).to_frame()
