"""Label quality of sparse predictions in a frame: ``pred_probs`` and ``pred_classes`` list columns.

Row scores are Float64; per-class scores (options without an aggregator) a list of (class, score)
for the classes a row lists or is labelled with (``PER_CLASS_DTYPE``).

``sparse_scoring_expr`` scores batch by batch (elementwise, so a LazyFrame streams); with
``adjust_pred_probs`` and no ``thresholds=``, ``sparse_thresholds`` first reads the frame once
(streamed for a LazyFrame) for the confident thresholds: partial sums per batch, merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TypeVar

import numpy as np
import polars as pl

from polars_mlq.core import ThresholdPartial
from polars_mlq.input import Frame, IntoExpr, IntoProbs, LabelSpec, ScoringOptions, to_expr
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.input.sparse_columns import check_num_classes, read_sparse_columns
from polars_mlq.scoring import Thresholds, as_thresholds
from polars_mlq.scoring.per_class import Adjustment
from polars_mlq.scoring.sparse.scores import explicit_rows, sparse_row_scores
from polars_mlq.typing import ThresholdsLike

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _scores_udf(
    series: Sequence[pl.Series],
    *,
    options: ScoringOptions,
    thresholds: Thresholds | None,
    num_classes: int,
    fill_value: float,
    spec: LabelSpec,
    name: str,
) -> pl.Series:
    # a fourth input, when given, holds each row's number in the user's frame (errors name it)
    first = int(series[3][0]) if len(series) > 3 and len(series[3]) else 0
    batch, kept = read_sparse_columns(
        series[0], series[1], series[2], num_classes=num_classes, fill_value=fill_value, spec=spec, first_row=first
    )
    if options.adjust_pred_probs and thresholds is None:  # from the column itself (seen whole)
        thresholds = ThresholdPartial.of_sparse(batch).finalize().for_scoring()
    if options.aggregator is None:
        return _per_class(batch, kept, len(series[0]), options, thresholds, name)
    values = np.full(len(series[0]), np.nan)
    values[kept] = sparse_row_scores(batch, options, thresholds)
    result = pl.Series(name, values)
    if kept.size < values.size:  # rows with a null input score null
        missing = np.ones(values.size, dtype=bool)
        missing[kept] = False
        result = result.set(pl.Series(missing), None)
    return result


#: The per-class scores of sparse predictions: a list of (class, score) a row, for the classes it
#: lists or is labelled with (ascending); every other class c scores the constant of an
#: unlabelled entry at fill_value (``ExplicitRows.constants``).
PER_CLASS_DTYPE = pl.List(pl.Struct({"class": pl.Int64, "score": pl.Float64}))


def _per_class(
    batch: SparseBatch, kept: np.ndarray, n: int, options: ScoringOptions, thresholds: Thresholds | None, name: str
) -> pl.Series:
    adjustment = Adjustment.of(thresholds, 1) if options.adjust_pred_probs and thresholds is not None else None
    explicit = explicit_rows(batch, options.method, adjustment)
    rows = kept[np.repeat(np.arange(kept.size), np.diff(explicit.indptr))]
    order = np.lexsort((explicit.classes, rows))  # by row, then class
    flat = pl.DataFrame({"row": rows[order], "class": explicit.classes[order], "score": explicit.scores[order]})
    lists = flat.group_by("row", maintain_order=True).agg(pl.struct("class", "score").alias(name))
    every = pl.DataFrame({"row": np.arange(n, dtype=np.int64)})
    joined = every.join(lists, on="row", how="left", maintain_order="left")
    scored = np.zeros(n, dtype=bool)
    scored[kept] = True  # a scored row with no listed or labelled class: an empty list, not null
    empty = pl.lit([], dtype=PER_CLASS_DTYPE)
    filled = joined.select(pl.when(pl.Series(scored) & pl.col(name).is_null()).then(empty).otherwise(pl.col(name)))
    result: pl.Series = filled.to_series().cast(PER_CLASS_DTYPE).alias(name)
    return result


def sparse_scoring_expr(
    labels: pl.Expr,
    pred_probs: pl.Expr,
    pred_classes: pl.Expr,
    options: ScoringOptions,
    *,
    num_classes: int,
    fill_value: float,
    spec: LabelSpec,
    thresholds: Thresholds | None,
    name: str,
    row_numbers: str | None = None,
) -> pl.Expr:
    """Return the Float64 label-quality expression of sparse predictions (null where an input is null).

    ``row_numbers``: a column of each row's number in the user's frame, for error messages. With
    ``adjust_pred_probs`` and no ``thresholds`` the expression sees the whole column at once and
    takes the thresholds of its rows (it does not stream).
    """
    udf = partial(
        _scores_udf,
        options=options,
        thresholds=thresholds,
        num_classes=num_classes,
        fill_value=fill_value,
        spec=spec,
        name=name,
    )
    inputs = [labels, pred_probs, pred_classes] + ([pl.col(row_numbers)] if row_numbers else [])
    elementwise = not (options.adjust_pred_probs and thresholds is None)  # else: thresholds of the whole column
    dtype = PER_CLASS_DTYPE if options.aggregator is None else pl.Float64()
    return pl.map_batches(inputs, udf, return_dtype=dtype, is_elementwise=elementwise).alias(name)


def with_sparse_scores(
    frame: FrameT,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    pred_classes: pl.Expr,
    options: ScoringOptions,
    *,
    num_classes: int,
    fill_value: float,
    spec: LabelSpec,
    thresholds: Thresholds | None,
    name: str,
) -> FrameT:
    """Return the frame with its sparse label-quality column; a LazyFrame stays lazy (and streams).

    With ``adjust_pred_probs`` and no ``thresholds``, the frame is read once first for them.
    """
    if thresholds is not None and thresholds.num_classes != num_classes:
        msg = f"thresholds have {thresholds.num_classes} classes but num_classes is {num_classes}"
        raise ValueError(msg)
    if options.adjust_pred_probs and thresholds is None:
        thresholds = sparse_thresholds(
            frame, labels, pred_probs, pred_classes, num_classes=num_classes, fill_value=fill_value, spec=spec
        )
    if isinstance(frame, pl.DataFrame):  # the columns at hand: score them whole, no query
        data = frame.select(labels, pred_probs, pred_classes)
        scores = _scores_udf(
            data.get_columns(),
            options=options,
            thresholds=thresholds,
            num_classes=num_classes,
            fill_value=fill_value,
            spec=spec,
            name=name,
        )
        return frame.with_columns(scores)
    expr = sparse_scoring_expr(
        labels,
        pred_probs,
        pred_classes,
        options,
        num_classes=num_classes,
        fill_value=fill_value,
        spec=spec,
        thresholds=thresholds,
        name=name,
        row_numbers=_ROW_NUMBER,
    )
    return frame.with_row_index(_ROW_NUMBER).with_columns(expr).drop(_ROW_NUMBER)


#: The temporary column of row numbers on a LazyFrame (dropped before the frame is returned).
_ROW_NUMBER = "__polars_mlq_sparse_row__"


def sparse_thresholds(
    frame: Frame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    pred_classes: pl.Expr,
    *,
    num_classes: int,
    fill_value: float,
    spec: LabelSpec,
) -> Thresholds:
    """Return the confident thresholds of every row of the frame (a LazyFrame is streamed, batch by batch)."""
    query = frame.lazy().select(labels, pred_probs, pred_classes)
    merged = ThresholdPartial.empty(num_classes)
    first = 0
    for data in query.collect_batches(maintain_order=True):
        batch, _ = read_sparse_columns(
            data[:, 0],
            data[:, 1],
            data[:, 2],
            num_classes=num_classes,
            fill_value=fill_value,
            spec=spec,
            first_row=first,
        )
        merged = merged + ThresholdPartial.of_sparse(batch)
        first += data.height
    return merged.finalize().for_scoring()


def sparse_frame_scores(
    frame: FrameT,
    labels: IntoExpr,
    pred_probs: IntoProbs,
    pred_classes: IntoExpr,
    options: ScoringOptions,
    *,
    thresholds: ThresholdsLike | None,
    num_classes: object,
    fill_value: float,
    spec: LabelSpec,
    name: str,
) -> FrameT:
    """Run the ``.mlq`` methods' sparse path: check the arguments, then ``with_sparse_scores``."""
    return with_sparse_scores(
        frame,
        to_expr(labels, "labels"),
        to_expr(pred_probs, "pred_probs"),
        to_expr(pred_classes, "pred_classes"),
        options,
        num_classes=check_num_classes(num_classes),
        fill_value=fill_value,
        spec=spec,
        thresholds=None if thresholds is None else as_thresholds(thresholds),
        name=name,
    )
