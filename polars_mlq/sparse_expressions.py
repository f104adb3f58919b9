"""Label quality of sparse predictions in a frame: ``pred_probs`` and ``pred_classes`` list columns.

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
from polars_mlq.input import Frame, LabelSpec, ScoringOptions
from polars_mlq.input.sparse_columns import read_sparse_columns
from polars_mlq.scoring import Thresholds
from polars_mlq.scoring.sparse.scores import sparse_row_scores

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
    values = np.full(len(series[0]), np.nan)
    values[kept] = sparse_row_scores(batch, options, thresholds)
    result = pl.Series(name, values)
    if kept.size < values.size:  # rows with a null input score null
        missing = np.ones(values.size, dtype=bool)
        missing[kept] = False
        result = result.set(pl.Series(missing), None)
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
    return pl.map_batches(inputs, udf, return_dtype=pl.Float64, is_elementwise=elementwise).alias(name)


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
