"""The ``.mlq`` namespaces on ``pl.DataFrame`` and ``pl.LazyFrame``: thin, they build expressions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from polars_mlq._frames import IntoExpr, check_inputs, frame_thresholds, resolve_num_classes, to_expr
from polars_mlq._options import Method, parse_options
from polars_mlq.expressions import ThresholdsLike, scoring_expr


def _scored(
    frame: pl.DataFrame | pl.LazyFrame,
    labels: IntoExpr,
    pred_probs: IntoExpr,
    *,
    method: Method,
    adjust_pred_probs: bool,
    aggregator_kwargs: Mapping[str, Any] | None,
    thresholds: ThresholdsLike | None,
    per_class: bool,
    name: str,
) -> Any:
    options = parse_options(method, adjust_pred_probs, aggregator_kwargs, per_class=per_class)
    labels_expr, probs_expr = to_expr(labels, "labels"), to_expr(pred_probs, "pred_probs")
    check_inputs(frame, labels_expr, probs_expr)
    num_classes = resolve_num_classes(frame, probs_expr)
    eager = isinstance(frame, pl.DataFrame)
    if per_class and num_classes is None:  # no non-null row: the width is unknowable, use 1
        num_classes = 1 if thresholds is None else None
    if options.adjust_pred_probs and thresholds is None and not eager:
        # Pass 1 streams the query for the thresholds; pass 2 (the returned plan) scores batch by batch.
        thresholds = frame_thresholds(frame, labels_expr, probs_expr, num_classes)
    expr = scoring_expr(
        labels_expr,
        probs_expr,
        options,
        thresholds=thresholds,
        num_classes=num_classes,
        whole_column=eager,
        name=name,
    )
    return frame.with_columns(expr)


@pl.api.register_dataframe_namespace("mlq")
class MlqFrame:
    """``df.mlq``: label-quality scores for a multi-label DataFrame."""

    def __init__(self, df: pl.DataFrame) -> None:
        self._df = df

    def label_quality(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoExpr = "pred_probs",
        *,
        method: Method = "self_confidence",
        adjust_pred_probs: bool = False,
        aggregator_kwargs: Mapping[str, Any] | None = None,
        thresholds: ThresholdsLike | None = None,
        name: str = "label_quality",
    ) -> pl.DataFrame:
        """Append a Float64 label-quality column; see :func:`polars_mlq.label_quality`.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> df.mlq.label_quality()["label_quality"].round(6).to_list()
        [0.9, 0.5]
        """
        return _scored(
            self._df,
            labels,
            pred_probs,
            method=method,
            adjust_pred_probs=adjust_pred_probs,
            aggregator_kwargs=aggregator_kwargs,
            thresholds=thresholds,
            per_class=False,
            name=name,
        )

    def label_quality_per_class(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoExpr = "pred_probs",
        *,
        method: Method = "self_confidence",
        adjust_pred_probs: bool = False,
        thresholds: ThresholdsLike | None = None,
        name: str = "label_quality_per_class",
    ) -> pl.DataFrame:
        """Append an ``Array(Float64, K)`` column of per-class scores.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> df.mlq.label_quality_per_class()["label_quality_per_class"].dtype
        Array(Float64, shape=(3,))
        """
        return _scored(
            self._df,
            labels,
            pred_probs,
            method=method,
            adjust_pred_probs=adjust_pred_probs,
            aggregator_kwargs=None,
            thresholds=thresholds,
            per_class=True,
            name=name,
        )


@pl.api.register_lazyframe_namespace("mlq")
class MlqLazyFrame:
    """``lf.mlq``: the same methods as ``df.mlq``, returning a LazyFrame that streams.

    With ``adjust_pred_probs=True`` and no ``thresholds=``, building the query runs one streaming
    pass over it for the thresholds; the returned plan then scores batch by batch.
    """

    def __init__(self, lf: pl.LazyFrame) -> None:
        self._lf = lf

    def label_quality(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoExpr = "pred_probs",
        *,
        method: Method = "self_confidence",
        adjust_pred_probs: bool = False,
        aggregator_kwargs: Mapping[str, Any] | None = None,
        thresholds: ThresholdsLike | None = None,
        name: str = "label_quality",
    ) -> pl.LazyFrame:
        """Append a Float64 label-quality column lazily; see :func:`polars_mlq.label_quality`.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> lf = pl.LazyFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> lf.mlq.label_quality().collect()["label_quality"].round(6).to_list()
        [0.9, 0.5]
        """
        return _scored(
            self._lf,
            labels,
            pred_probs,
            method=method,
            adjust_pred_probs=adjust_pred_probs,
            aggregator_kwargs=aggregator_kwargs,
            thresholds=thresholds,
            per_class=False,
            name=name,
        )

    def label_quality_per_class(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoExpr = "pred_probs",
        *,
        method: Method = "self_confidence",
        adjust_pred_probs: bool = False,
        thresholds: ThresholdsLike | None = None,
        name: str = "label_quality_per_class",
    ) -> pl.LazyFrame:
        """Append an ``Array(Float64, K)`` column of per-class scores lazily.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> lf = pl.LazyFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> lf.mlq.label_quality_per_class().collect_schema()["label_quality_per_class"]
        Array(Float64, shape=(3,))
        """
        return _scored(
            self._lf,
            labels,
            pred_probs,
            method=method,
            adjust_pred_probs=adjust_pred_probs,
            aggregator_kwargs=None,
            thresholds=thresholds,
            per_class=True,
            name=name,
        )
