"""Label quality of sparse predictions in a frame: ``pred_probs`` and ``pred_classes`` list columns.

``sparse_scoring_expr`` scores batch by batch (elementwise, so a LazyFrame streams); with
``adjust_pred_probs`` and no ``thresholds=``, ``sparse_thresholds`` first reads the frame once
(streamed for a LazyFrame) for the confident thresholds: partial sums per batch, merged.

Row scores are Float64; per-class scores (options without an aggregator) a list of (class, score)
for the classes a row lists or is labelled with (``PER_CLASS_DTYPE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import numpy as np
import polars as pl

from polars_mlq.core import ThresholdPartial, engine
from polars_mlq.core.frames import SparseInput
from polars_mlq.input import Frame, IntoExpr, IntoProbs, LabelSpec, ScoringOptions, Where, to_expr
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.input.sparse_columns import check_num_classes, read_sparse_columns
from polars_mlq.scoring import Thresholds, as_thresholds
from polars_mlq.scoring.memory import release_freed_memory
from polars_mlq.scoring.per_class import Adjustment
from polars_mlq.scoring.sparse.scores import explicit_rows, sparse_row_scores
from polars_mlq.typing import ThresholdsLike

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

#: The per-class scores of sparse predictions: a list of (class, score) a row, for the classes it
#: lists or is labelled with (ascending); every other class c scores the constant of an
#: unlabelled entry at fill_value (``ExplicitRows.constants``).
PER_CLASS_DTYPE = pl.List(pl.Struct({"class": pl.Int64, "score": pl.Float64}))


@dataclass(frozen=True)
class SparseScoring:
    """How sparse predictions are read and scored: the options, K, the fill value, labels, thresholds."""

    options: ScoringOptions
    num_classes: int
    fill_value: float
    spec: LabelSpec
    thresholds: Thresholds | None
    name: str

    @property
    def dtype(self) -> pl.DataType:
        """The output's dtype: Float64, or the per-class list."""
        return PER_CLASS_DTYPE if self.options.aggregator is None else pl.Float64()


def _scores_udf(series: Sequence[pl.Series], *, scoring: SparseScoring) -> pl.Series:
    # a fourth input, when given, holds each row's number in the user's frame (errors name it)
    first = int(series[3][0]) if len(series) > 3 and len(series[3]) else 0
    batch, kept = read_sparse_columns(
        series[0],
        series[1],
        series[2],
        num_classes=scoring.num_classes,
        fill_value=scoring.fill_value,
        spec=scoring.spec,
        where=Where(first_row=first),
    )
    thresholds = scoring.thresholds
    if scoring.options.adjust_pred_probs and thresholds is None:  # from the column itself (seen whole)
        thresholds = ThresholdPartial.of_sparse(batch).finalize().for_scoring()
    if scoring.options.aggregator is None:
        return _per_class(batch, kept, len(series[0]), replace(scoring, thresholds=thresholds))
    values = np.full(len(series[0]), np.nan)
    values[kept] = sparse_row_scores(batch, scoring.options, thresholds)
    del batch
    release_freed_memory()  # the batch's temporaries: otherwise a stream's peak grows (scoring.memory)
    result = pl.Series(scoring.name, values)
    if kept.size < values.size:  # rows with a null input score null
        missing = np.ones(values.size, dtype=bool)
        missing[kept] = False
        result = result.set(pl.Series(missing), None)
    return result


def _per_class(batch: SparseBatch, kept: np.ndarray, n: int, scoring: SparseScoring) -> pl.Series:
    options, thresholds, name = scoring.options, scoring.thresholds, scoring.name
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
    labels: pl.Expr, pred_probs: pl.Expr, pred_classes: pl.Expr, scoring: SparseScoring, row_numbers: str | None = None
) -> pl.Expr:
    """Return the label-quality expression of sparse predictions (null where an input is null).

    ``row_numbers``: a column of each row's number in the user's frame, for error messages. With
    ``adjust_pred_probs`` and no thresholds the expression sees the whole column at once and
    takes the thresholds of its rows (it does not stream).
    """
    inputs = [labels, pred_probs, pred_classes] + ([pl.col(row_numbers)] if row_numbers else [])
    elementwise = not (scoring.options.adjust_pred_probs and scoring.thresholds is None)
    udf = partial(_scores_udf, scoring=scoring)
    return pl.map_batches(inputs, udf, return_dtype=scoring.dtype, is_elementwise=elementwise).alias(scoring.name)


def with_sparse_scores(
    frame: FrameT, labels: pl.Expr, pred_probs: pl.Expr, pred_classes: pl.Expr, scoring: SparseScoring
) -> FrameT:
    """Return the frame with its sparse label-quality column; a LazyFrame stays lazy (and streams).

    With ``adjust_pred_probs`` and no thresholds, a LazyFrame is read once first for them; a
    DataFrame's columns are read once and give them.
    """
    if scoring.thresholds is not None and scoring.thresholds.num_classes != scoring.num_classes:
        msg = f"thresholds have {scoring.thresholds.num_classes} classes but num_classes is {scoring.num_classes}"
        raise ValueError(msg)
    if isinstance(frame, pl.DataFrame):  # the columns at hand: read once, scored whole (thresholds of these rows)
        data = frame.select(labels, pred_probs, pred_classes)
        return frame.with_columns(_scores_udf(data.get_columns(), scoring=scoring))
    if scoring.options.adjust_pred_probs and scoring.thresholds is None:
        fitted = sparse_thresholds(frame, labels, pred_probs, pred_classes, scoring)
        scoring = replace(scoring, thresholds=fitted)
    expr = sparse_scoring_expr(labels, pred_probs, pred_classes, scoring, row_numbers=_ROW_NUMBER)
    return frame.with_row_index(_ROW_NUMBER).with_columns(expr).drop(_ROW_NUMBER)


#: The temporary column of row numbers on a LazyFrame (dropped before the frame is returned).
_ROW_NUMBER = "__polars_mlq_sparse_row__"


def sparse_thresholds(
    frame: Frame, labels: pl.Expr, pred_probs: pl.Expr, pred_classes: pl.Expr, scoring: SparseScoring
) -> Thresholds:
    """Return the confident thresholds of every row of the frame (a LazyFrame is streamed, batch by batch)."""
    given = SparseInput(labels, pred_probs, pred_classes, scoring.num_classes, scoring.fill_value, scoring.spec)
    return engine.thresholds_of(given.source(frame), scoring.num_classes).for_scoring()


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
    fitted = None if thresholds is None else as_thresholds(thresholds)
    k = check_num_classes(num_classes, spec.class_names)
    scoring = SparseScoring(options, k, fill_value, spec, fitted, name)
    exprs = (to_expr(labels, "labels"), to_expr(pred_probs, "pred_probs"), to_expr(pred_classes, "pred_classes"))
    return with_sparse_scores(frame, *exprs, scoring)
