"""Reading labels: lists of class indices, class names or multi-hot rows become flat indices."""

from __future__ import annotations

import numpy as np
import polars as pl

from polars_mlq.input.arrow import list_buffers
from polars_mlq.input.columns import (
    WIDE_INTEGERS,
    LabelSpec,
    Where,
    class_names_of,
    is_named,
    original_row,
    row_of_flat,
)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _lengths_and_flat(s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Return the row lengths and the concatenated values of a List column without nulls, in one query.

    One query, because each query may have to wake polars' thread pool, which can cost more than
    the work.
    """
    column = pl.col(s.name)
    both = s.to_frame().select(
        column.list.len().implode().alias("lengths"),
        column.explode(empty_as_null=False, keep_nulls=False).implode().alias("values"),
    )
    return both.get_column("lengths")[0].to_numpy().astype(np.int64, copy=False), both.get_column("values")[0]


def _flat_labels(
    s: pl.Series,
    offsets: np.ndarray,
    where: Where,
    rows: np.ndarray | None,
    n_total: int,
    flat: pl.Series | None = None,
) -> pl.Series:
    if flat is None:
        flat = s.explode(empty_as_null=False, keep_nulls=False)
    if flat.null_count():
        i = row_of_flat(offsets, int(flat.is_null().arg_true()[0]))
        msg = (
            f"column {s.name!r}, {where.row(original_row(rows, i), n_total)}: labels contain "
            f"a null element {s[i].to_list()}; fill or drop it first"
        )
        raise ValueError(msg)
    return flat


def _names_to_indices(
    s: pl.Series,
    flat: pl.Series,
    offsets: np.ndarray,
    classes: tuple[str, ...],
    where: Where,
    rows: np.ndarray | None,
    n_total: int,
) -> np.ndarray:
    names = flat.cast(pl.String)
    indices: pl.Series = names.cast(pl.Enum(list(classes)), strict=False)
    if indices.null_count():
        k = int(indices.is_null().arg_true()[0])
        i = row_of_flat(offsets, k)
        msg = (
            f"column {s.name!r}, {where.row(original_row(rows, i), n_total)}: label "
            f"{names[k]!r} is not one of the {len(classes)} classes {list(classes)[:10]}"
            f"{' ...' if len(classes) > 10 else ''}"
        )
        raise ValueError(msg)
    return indices.to_physical().to_numpy()


def _multi_hot_to_indices(
    s: pl.Series, num_classes: int, where: Where, rows: np.ndarray | None, n_total: int
) -> tuple[np.ndarray, np.ndarray]:
    n = len(s)
    if isinstance(s.dtype, pl.Array):
        width = int(s.dtype.size)
        lengths = np.full(n, width, dtype=np.int64)
    else:
        lengths = s.list.len().to_numpy().astype(np.int64, copy=False)
        width = num_classes
    bad = np.flatnonzero(lengths != num_classes)
    if bad.size:
        i = int(bad[0])
        msg = (
            f"column {s.name!r}, {where.row(original_row(rows, i), n_total)}: multi-hot labels "
            f"have {int(lengths[i])} entries, expected K = {num_classes} (the width of pred_probs)"
        )
        raise ValueError(msg)
    flat = _flat_labels(s, _offsets(lengths), where, rows, n_total).to_numpy()
    hot = flat.reshape(n, width)
    if hot.dtype != np.bool_:
        wrong = (hot != 0) & (hot != 1)
        if wrong.any():
            i, j = (int(v) for v in np.argwhere(wrong)[0])
            msg = (
                f"column {s.name!r}, {where.row(original_row(rows, i), n_total)}: multi-hot "
                f"value {hot[i, j].item()!r} at class {j}; entries must be 0 or 1"
            )
            raise ValueError(msg)
    row_of, values = np.nonzero(hot)
    return _offsets(np.bincount(row_of, minlength=n)), values.astype(np.intp, copy=False)


def _indices_by_query(
    s: pl.Series, num_classes: int, where: Where, rows: np.ndarray | None, n_total: int, spec: LabelSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Return the offsets and values of a List labels column through polars.

    This path reads what ``list_buffers`` leaves: names, inner nulls, several chunks, 128-bit
    integers.
    """
    lengths, flat = _lengths_and_flat(s)
    offsets = _offsets(lengths)
    flat = _flat_labels(s, offsets, where, rows, n_total, flat)
    if is_named(flat.dtype):
        classes = class_names_of(s.dtype, spec)
        assert classes is not None  # check_labels_dtype refused names without classes
        return offsets, _names_to_indices(s, flat, offsets, classes, where, rows, n_total)
    if flat.dtype in WIDE_INTEGERS:  # numpy has no 128-bit integers; such a label is outside [0, K)
        k = int(((flat < 0) | (flat >= num_classes)).arg_true()[0])
        i = row_of_flat(offsets, k)
        msg = (
            f"column {s.name!r}, {where.row(original_row(rows, i), n_total)}: label {flat[k]} is "
            f"not a class index; labels must be in [0, {num_classes - 1}] (K = {num_classes} is the "
            "width of pred_probs)"
        )
        raise ValueError(msg)
    return offsets, flat.to_numpy()


def read_labels(
    s: pl.Series,
    num_classes: int,
    where: Where,
    rows: np.ndarray | None,
    n_total: int,
    spec: LabelSpec = LabelSpec(),
) -> tuple[np.ndarray, np.ndarray]:
    """Return the offsets and flat class indices (intp) of the non-null rows of a labels column ``s``.

    Row i's labels are ``values[offsets[i]:offsets[i + 1]]``, each checked to be in [0, K); an
    error names the column, the row and the value.
    """
    if spec.format == "multi_hot":
        return _multi_hot_to_indices(s, num_classes, where, rows, n_total)
    column = s.name
    dtype = s.dtype  # a List: check_labels_dtype refused anything else for the "indices" format
    buffers = list_buffers(s) if isinstance(dtype, pl.List) and dtype.inner.is_integer() else None
    if buffers is not None:  # the column's own buffers: no query
        first, last = int(buffers.offsets[0]), int(buffers.offsets[-1])
        offsets = buffers.offsets
        if first or offsets.dtype != np.int64:  # a sliced column: offsets start at 0 here
            offsets = np.subtract(offsets, first, dtype=np.int64)
        values = buffers.values[first:last]
    else:
        offsets, values = _indices_by_query(s, num_classes, where, rows, n_total, spec)
    if values.size:
        low, high = values.min(), values.max()
        if low < 0 or high >= num_classes:
            k = int(np.argmax((values < 0) | (values >= num_classes)))
            i = row_of_flat(offsets, k)
            msg = (
                f"column {column!r}, {where.row(original_row(rows, i), n_total)}: label "
                f"{int(values[k])} is not a class index; labels must be in [0, {num_classes - 1}] "
                f"(K = {num_classes} is the width of pred_probs)"
            )
            raise ValueError(msg)
    return offsets, values.astype(np.intp, copy=False)


def check_class_count(classes: tuple[str, ...] | None, num_classes: int, n_rows: int, spec: LabelSpec) -> None:
    """Raise a ValueError if the class names (given, or an Enum's) are not K, the width of pred_probs."""
    if classes is not None and n_rows and len(classes) != num_classes:
        given = "class_names has" if spec.class_names is not None else "the labels' Enum has"
        msg = f"{given} {len(classes)} names but pred_probs have K = {num_classes} classes"
        raise ValueError(msg)


def sorted_unique(values: np.ndarray, upper: int | None = None) -> np.ndarray:
    """Return the distinct values of a 1-D integer array, ascending (as ``np.unique``).

    A stable sort and one comparison: label positions and row numbers arrive nearly sorted, which
    this sort exploits, while ``np.unique`` of NumPy 2.3+ hashes integers first, about 100 times
    slower on them (1.2 s against 9 ms for 1.5e6 positions). With ``upper`` (every value is in
    [0, upper)) and at least one value per 32 slots, a bitmap of the slots replaces the sort: many
    labels per row, out of order within their rows, cost a sort of millions of positions.
    """
    if upper is not None and values.size and upper <= _DENSE_SLOTS * values.size:
        seen = np.zeros(upper, dtype=bool)
        seen[values] = True
        return np.flatnonzero(seen).astype(values.dtype, copy=False)
    ordered = np.sort(values, kind="stable")
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def class_counts(classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Return ``np.bincount(classes, minlength=num_classes)`` as int64, in slices.

    numpy's bincount copies its input into a new array of 8 bytes a value first; a slice at a
    time keeps that copy small (on a machine that hands idle memory back to its host, fresh
    pages cost more than the count itself).
    """
    counts = np.zeros(num_classes, dtype=np.int64)
    for start in range(0, classes.size, _COUNT_SLICE):
        counts += np.bincount(classes[start : start + _COUNT_SLICE], minlength=num_classes)
    return counts


_COUNT_SLICE = 1 << 16

#: ``sorted_unique`` uses a bitmap when there are at most this many slots per value.
_DENSE_SLOTS = 32
