"""Frame-level plumbing: input expressions, schema checks, K, and the streaming threshold pass."""

from __future__ import annotations

from typing import Union

import polars as pl

from polars_mlq._columns import (
    Where,
    check_labels_dtype,
    check_pred_probs_dtype,
    pred_probs_width,
    read_batch,
)
from polars_mlq._thresholds import Thresholds, ThresholdStats, batch_thresholds

IntoExpr = Union[str, pl.Expr]
Frame = Union[pl.DataFrame, pl.LazyFrame]


def to_expr(value: IntoExpr, argument: str) -> pl.Expr:
    if isinstance(value, str):
        return pl.col(value)
    if isinstance(value, pl.Expr):
        return value
    msg = f"{argument} must be a column name or a pl.Expr; got {type(value).__name__}"
    raise TypeError(msg)


def check_inputs(frame: Frame, labels: pl.Expr, pred_probs: pl.Expr) -> pl.DataType:
    """Check both columns exist and have usable dtypes; return the pred_probs dtype."""
    schema = frame.lazy().select(labels, pred_probs).collect_schema()
    (label_name, label_dtype), (probs_name, probs_dtype) = schema.items()
    check_labels_dtype(label_dtype, label_name)
    check_pred_probs_dtype(probs_dtype, probs_name)
    return probs_dtype


def resolve_num_classes(frame: Frame, pred_probs: pl.Expr) -> int | None:
    """K: the Array width, else the length of the first non-null pred_probs row (None if none)."""
    dtype = check_pred_probs_dtype_of(frame, pred_probs)
    width = pred_probs_width(dtype)
    if width is not None:
        return width
    lengths = pred_probs.list.len()
    first = frame.lazy().select(lengths).head(1).collect().to_series()
    if len(first) and first[0] is not None:
        return int(first[0])
    found = frame.lazy().select(lengths.drop_nulls().first()).collect().to_series()
    return None if found[0] is None else int(found[0])


def check_pred_probs_dtype_of(frame: Frame, pred_probs: pl.Expr) -> pl.DataType:
    name, dtype = next(iter(frame.lazy().select(pred_probs).collect_schema().items()))
    check_pred_probs_dtype(dtype, name)
    return dtype


def frame_thresholds(frame: Frame, labels: pl.Expr, pred_probs: pl.Expr, num_classes: int | None) -> Thresholds:
    """Confident thresholds over every row of the frame; a LazyFrame is streamed batch by batch."""
    columns = frame.lazy().select(labels, pred_probs)
    if isinstance(frame, pl.DataFrame):
        data = frame.select(labels, pred_probs)
        return batch_thresholds(read_batch(data[:, 0], data[:, 1], num_classes=num_classes))
    if num_classes is None:
        msg = "cannot compute thresholds: pred_probs has no non-null row"
        raise ValueError(msg)
    stats = ThresholdStats(num_classes)
    for chunk in columns.collect_batches():
        stats.add(read_batch(chunk[:, 0], chunk[:, 1], num_classes=num_classes, where=Where(streamed=True)))
    return stats.thresholds()
