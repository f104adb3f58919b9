"""The ``.mlq`` namespaces on ``pl.DataFrame`` and ``pl.LazyFrame``: thin, they build expressions.

One generic class holds the methods; the two registered subclasses only fix the frame type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from polars_mlq.core import first_input_error, frame_thresholds
from polars_mlq.expressions import (
    label_spec,
    scored_series,
    scoring_expr,
)
from polars_mlq.input import (
    IntoExpr,
    IntoProbs,
    LabelsFormat,
    Method,
    checked_num_classes,
    checked_series_num_classes,
    frame_inputs,
    parse_options,
    to_expr,
    to_probs_expr,
)
from polars_mlq.issues import ROW_NUMBER
from polars_mlq.namespace_issues import FrameT, IssueMethods
from polars_mlq.sparse_expressions import sparse_frame_scores
from polars_mlq.typing import ThresholdsLike


class _Mlq(IssueMethods[FrameT]):
    def _scored(
        self,
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
    ) -> FrameT:
        frame = self._frame
        options = parse_options(method, adjust_pred_probs, aggregator_kwargs, per_class=per_class)
        spec = label_spec(class_names, labels_format)
        labels_expr, probs_expr = to_expr(labels, "labels"), to_probs_expr(pred_probs)
        if isinstance(frame, pl.DataFrame):  # the columns at hand: no query to plan or run
            labels_column, probs_column = frame_inputs(frame, labels_expr, probs_expr)
            num_classes = checked_series_num_classes(labels_column, probs_column, spec)
            if per_class and num_classes is None and thresholds is None:
                num_classes = 1  # no non-null pred_probs row: K is unknowable; every score is null
            scores = scored_series(
                labels_column,
                probs_column,
                options,
                thresholds=thresholds,
                num_classes=num_classes,
                name=name,
                spec=spec,
            )
            if name in frame.columns:  # replace the column, as with_columns does
                return frame.with_columns(scores)
            return frame.hstack([scores])  # (no query)
        num_classes = checked_num_classes(frame, labels_expr, probs_expr, spec)
        if per_class and num_classes is None and thresholds is None:
            num_classes = 1
        if options.adjust_pred_probs and thresholds is None and num_classes is not None:
            # Pass 1 streams the query for the thresholds; pass 2 (the returned plan) scores batch by batch.
            thresholds = frame_thresholds(frame, labels_expr, probs_expr, num_classes, spec)
        expr = scoring_expr(
            labels_expr,
            probs_expr,
            options,
            thresholds=thresholds,
            num_classes=num_classes,
            whole_column=False,
            name=name,
            spec=spec,
            row_numbers=ROW_NUMBER,
            earlier_error=lambda rows: first_input_error(
                frame, labels_expr, probs_expr, class_names, labels_format=labels_format, rows=rows
            ),
        )
        return frame.with_row_index(ROW_NUMBER).with_columns(expr).drop(ROW_NUMBER)

    def label_quality(
        self,
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
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> FrameT:
        """Append a Float64 label-quality column (low: labels likely wrong).

        Arguments as :func:`polars_mlq.label_quality`, plus ``name`` for the new column. Every
        other column and the row order are kept. On a LazyFrame with ``adjust_pred_probs=True``
        and no ``thresholds=``, this call runs one streaming pass for the thresholds.

        Sparse (top-k) predictions: ``pred_probs`` a list of probabilities per row for the
        classes listed in ``pred_classes`` (a list of class indices of the same length),
        ``num_classes=K``, and ``fill_value``, the probability of every class a row does not
        list. The scores are those of the densified rows, at a cost that grows with what is
        listed, not with K.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> df.mlq.label_quality()["label_quality"].round(6).to_list()
        [0.9, 0.5]
        >>> df.lazy().mlq.label_quality(name="lq").collect()["lq"].round(6).to_list()
        [0.9, 0.5]
        """
        if pred_classes is not None:
            options = parse_options(method, adjust_pred_probs, aggregator_kwargs)
            spec = label_spec(class_names, labels_format)
            return sparse_frame_scores(
                self._frame, labels, pred_probs, pred_classes, options, thresholds=thresholds,
                num_classes=num_classes, fill_value=fill_value, spec=spec, name=name,
            )  # fmt: skip
        return self._scored(
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
        )

    def label_quality_per_class(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        method: Method = "self_confidence",
        adjust_pred_probs: bool = False,
        thresholds: ThresholdsLike | None = None,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        name: str = "label_quality_per_class",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> FrameT:
        """Append an ``Array(Float64, K)`` column: how well each class's given label fits.

        With sparse predictions (``pred_classes=``, ``num_classes=``, ``fill_value=`` as for
        ``label_quality``): a ``List(Struct(class, score))`` of the classes each row lists or is
        labelled with; every other class scores as an unlabelled class at ``fill_value``.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({"labels": [[1], [0, 2]], "pred_probs": [[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]]})
        >>> df.mlq.label_quality_per_class()["label_quality_per_class"].dtype
        Array(Float64, shape=(3,))
        """
        if pred_classes is not None:
            options = parse_options(method, adjust_pred_probs, None, per_class=True)
            spec = label_spec(class_names, labels_format)
            return sparse_frame_scores(
                self._frame, labels, pred_probs, pred_classes, options, thresholds=thresholds,
                num_classes=num_classes, fill_value=fill_value, spec=spec, name=name,
            )  # fmt: skip
        return self._scored(
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
        )


@pl.api.register_dataframe_namespace("mlq")
class MlqFrame(_Mlq[pl.DataFrame]):
    """``df.mlq``: label quality for a multi-label DataFrame (the whole column at once)."""


@pl.api.register_lazyframe_namespace("mlq")
class MlqLazyFrame(_Mlq[pl.LazyFrame]):
    """``lf.mlq``: the same methods, returning a LazyFrame whose scoring streams batch by batch."""
