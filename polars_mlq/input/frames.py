"""Frame-level input: column expressions, schema checks and K."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import polars as pl
import polars.selectors as cs

from polars_mlq.input.columns import (
    LabelSpec,
    check_labels_dtype,
    check_pred_probs_dtype,
    pred_probs_width,
)

#: A column: its name or an expression.
IntoExpr: TypeAlias = str | pl.Expr
#: pred_probs: one List/Array column, or several Float columns (names or a selector), one per class.
IntoProbs: TypeAlias = str | pl.Expr | Sequence[str]
#: A frame the namespaces accept: eager or lazy.
Frame: TypeAlias = pl.DataFrame | pl.LazyFrame


def to_expr(value: object, argument: str) -> pl.Expr:
    """Return a column name or an expression as an expression (a TypeError names ``argument``)."""
    if isinstance(value, str):
        return pl.col(value)
    if isinstance(value, pl.Expr):
        return value
    msg = f"{argument} must be a column name or a pl.Expr; got {type(value).__name__}"
    raise TypeError(msg)


def to_probs_expr(value: IntoProbs) -> pl.Expr:
    """Return one pred_probs expression; several Float columns become one Array, in the given order."""
    if isinstance(value, cs.Selector) or (
        isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, str) for v in value)
    ):
        if not isinstance(value, cs.Selector) and not value:
            msg = "pred_probs: an empty list of columns; give one column per class"
            raise ValueError(msg)
        return pl.concat_arr(value).alias("pred_probs")
    return to_expr(value, "pred_probs")


def frame_inputs(frame: pl.DataFrame, labels: pl.Expr, pred_probs: pl.Expr) -> tuple[pl.Series, pl.Series]:
    """Return the two input columns of an eager frame; plain column references are taken as they are."""

    def column(expr: pl.Expr) -> pl.Series | None:
        if expr.meta.is_column():
            name = expr.meta.output_name()
            if name in frame.columns:
                return frame.get_column(name)
        return None

    found = column(labels), column(pred_probs)
    if found[0] is not None and found[1] is not None:
        return found[0], found[1]
    data = frame.select(labels, pred_probs)
    return data.to_series(0), data.to_series(1)


def _check_dtypes(
    label_name: str, label_dtype: pl.DataType, probs_name: str, probs_dtype: pl.DataType, spec: LabelSpec
) -> None:
    check_labels_dtype(label_dtype, label_name, spec)
    check_pred_probs_dtype(probs_dtype, probs_name)


def _first_width(pred_probs: pl.Series) -> int | None:
    """Return K of a List column: the first row's length, else the first non-empty row's.

    Return 0 when every row is empty, None when there is no row with pred_probs.
    """
    first = pred_probs[0] if len(pred_probs) else None
    if first is not None and len(first):
        return len(first)
    lengths = pred_probs.list.len()
    nonempty = lengths.filter(lengths > 0)
    if len(nonempty):
        return int(nonempty[0])
    return 0 if lengths.max() == 0 else None


def checked_num_classes(
    frame: Frame, labels: pl.Expr, pred_probs: pl.Expr, spec: LabelSpec = LabelSpec()
) -> int | None:
    """Check both columns exist and have usable dtypes (one schema lookup), then find K.

    K is the Array width, else the length of the first non-empty pred_probs row (None if no row
    has pred_probs).
    """
    schema = frame.lazy().select(labels, pred_probs).collect_schema()
    (label_name, label_dtype), (probs_name, probs_dtype) = schema.items()
    _check_dtypes(label_name, label_dtype, probs_name, probs_dtype, spec)
    width = pred_probs_width(probs_dtype)
    if width is None:
        lengths = pred_probs.list.len()
        first = frame.lazy().select(lengths).head(1).collect().to_series()
        if not (len(first) and first[0]):  # null or empty first row: look further (slower)
            first = frame.lazy().select(lengths.filter(lengths > 0).first()).collect().to_series()
            if first[0] is None and frame.lazy().select(lengths.max()).collect().item() == 0:
                first = pl.Series([0])  # rows exist but all are empty
        width = None if first[0] is None else int(first[0])
    return _nonzero_width(width, probs_name)


def checked_series_num_classes(labels: pl.Series, pred_probs: pl.Series, spec: LabelSpec = LabelSpec()) -> int | None:
    """Run ``checked_num_classes`` on two Series already in hand (no query)."""
    _check_dtypes(labels.name, labels.dtype, pred_probs.name, pred_probs.dtype, spec)
    width = pred_probs_width(pred_probs.dtype)
    if width is None:
        width = _first_width(pred_probs)
    return _nonzero_width(width, pred_probs.name)


def _nonzero_width(width: int | None, probs_name: str) -> int | None:
    if width == 0:
        msg = f"column {probs_name!r}: pred_probs rows have width 0; there must be at least one class"
        raise ValueError(msg)
    return width
