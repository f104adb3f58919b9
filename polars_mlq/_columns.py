"""Reading columns: a labels and a pred_probs Series become validated numpy arrays.

Nothing here scores. Every check names the column, the first offending row and the value,
and rows where either column is null are set aside (they score null).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np
import polars as pl

from polars_mlq._arrow import list_buffers

#: pred_probs may stray this far outside [0, 1] (rounding in a model's output); such values are clipped.
TOLERANCE = 1e-6
#: Integer dtypes numpy cannot hold (polars builds them from Python ints beyond 64 bits).
_WIDE_INTEGERS = tuple(getattr(pl, name) for name in ("Int128", "UInt128") if hasattr(pl, name))
#: Rows are processed in blocks of about this many elements (2 MiB of float64; each row is sorted
#: while it is in L1, and a block's later passes find it in L2 or L3). 2^18 measured faster than
#: 2^16 and 2^17: fewer blocks, less per-block work holding the GIL.
BLOCK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class Where:
    """Where a batch sits, for error messages: eagerly its rows are the frame's rows."""

    streamed: bool = False
    #: The row number in the user's data of the batch's first row, when known.
    first_row: int | None = None

    def row(self, index: int, n_rows: int) -> str:
        if self.first_row is not None:
            return f"row {self.first_row + index}"
        if self.streamed:
            return (
                f"row {index} of a streamed batch of {n_rows} rows (the row's position in the "
                "whole frame is not known here; run it eagerly to get it)"
            )
        return f"row {index}"


@dataclass(frozen=True)
class Batch:
    """Validated arrays for the rows that get a score.

    ``probs`` is (n, K) float32 or float64 with values in [0, 1]; the labels of row i are
    ``label_values[label_offsets[i]:label_offsets[i + 1]]``, each in [0, K). ``rows`` maps the
    n scored rows back to the ``n_total`` rows of the input (None when every row is scored).
    """

    probs: np.ndarray
    label_offsets: np.ndarray
    label_values: np.ndarray
    rows: np.ndarray | None
    n_total: int
    #: Set when the range of ``probs`` is not checked yet (``read_batch(defer_range_check=True)``):
    #: the scoring kernel checks each block as it reads it and calls ``checked()`` if one fails.
    pending: PendingCheck | None = None

    def checked(self) -> Batch:
        """This batch with its probabilities range-checked (an error names the first bad row)."""
        if self.pending is None:
            return self
        return replace(self, probs=self.pending.check(self.probs), pending=None)

    @property
    def num_classes(self) -> int:
        return int(self.probs.shape[1])

    @property
    def block_rows(self) -> int:
        """Rows per block: about BLOCK_ELEMENTS entries, and at most an eighth of the batch, so
        that a block's temporaries stay well below the size of ``probs`` for small batches too."""
        n = self.probs.shape[0]
        return max(1, min(BLOCK_ELEMENTS // max(self.num_classes, 1), -(-n // 8)))

    def blocks(self) -> Iterator[tuple[int, int]]:
        """(start, stop) of consecutive row blocks covering every scored row."""
        n = self.probs.shape[0]
        step = self.block_rows
        for start in range(0, n, step):
            yield start, min(start + step, n)

    @cached_property
    def label_positions(self) -> np.ndarray:
        """Flat index ``row * K + class`` into ``probs`` of every given label, in row order."""
        counts = np.diff(self.label_offsets)
        positions = np.repeat(np.arange(len(counts), dtype=np.intp) * self.num_classes, counts)
        positions += self.label_values
        return positions

    def positions(self, start: int, stop: int) -> np.ndarray:
        """Flat indices of the labels of rows start..stop, within that row block of ``probs``."""
        lo, hi = self.label_offsets[start], self.label_offsets[stop]
        return self.label_positions[lo:hi] - start * self.num_classes

    def scatter(self, values: np.ndarray, fill: object) -> np.ndarray:
        """Per-row ``values`` of the scored rows placed among all ``n_total`` input rows, ``fill``
        at the others (the array itself when every row is scored)."""
        if self.rows is None:
            return values
        full = np.full((self.n_total, *values.shape[1:]), fill, dtype=values.dtype)
        full[self.rows] = values
        return full

    def input_rows(self, indices: np.ndarray) -> np.ndarray:
        """Indices of scored rows as indices of input rows (int64)."""
        indices = indices.astype(np.int64, copy=False)
        return indices if self.rows is None else self.rows[indices].astype(np.int64)

    def with_nulls(self, values: pl.Series) -> pl.Series:
        """A Series of the scored rows' values as one of all input rows, null at the others."""
        if self.rows is None:
            return values
        position = np.full(self.n_total, -1, dtype=np.int64)
        position[self.rows] = np.arange(len(self.rows))
        index = pl.Series(position)
        return values.gather(index.set(index < 0, None))

    def multi_hot(self, start: int, stop: int) -> np.ndarray:
        """The (stop - start, K) boolean label matrix of rows start..stop."""
        offsets = self.label_offsets[start : stop + 1]
        values = self.label_values[offsets[0] : offsets[-1]]
        mask = np.zeros((stop - start, self.num_classes), dtype=bool)
        row_of_value = np.repeat(np.arange(stop - start), np.diff(offsets))
        mask[row_of_value, values] = True
        return mask


@dataclass(frozen=True)
class PendingCheck:
    """What ``check_probs`` needs to name a bad value later."""

    column: str
    where: Where
    rows: np.ndarray | None
    n_total: int
    source: pl.Series | None

    def check(self, probs: np.ndarray) -> np.ndarray:
        return check_probs(probs, self.column, self.where, self.rows, self.n_total, source=self.source)


def _row_of_flat(offsets: np.ndarray, flat_index: int) -> int:
    return int(np.searchsorted(offsets, flat_index, side="right") - 1)


def _original_row(rows: np.ndarray | None, index: int) -> int:
    return index if rows is None else int(rows[index])


LabelsFormat = Literal["indices", "multi_hot"]


@dataclass(frozen=True)
class LabelSpec:
    """How a labels column is read.

    ``"indices"``: a List of class indices (integers), or of class names (String, Categorical,
    Enum) looked up in ``class_names`` (an Enum's own categories when not given).
    ``"multi_hot"``: a List/Array of K booleans or 0/1 integers per row. Never guessed.
    """

    format: LabelsFormat = "indices"
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.format not in ("indices", "multi_hot"):
            msg = f"labels_format must be 'indices' or 'multi_hot'; got {self.format!r}"
            raise ValueError(msg)


def _is_named(inner: pl.DataType) -> bool:
    return inner == pl.String or isinstance(inner, (pl.Categorical, pl.Enum))


def check_labels_dtype(dtype: pl.DataType, column: str, spec: LabelSpec = LabelSpec()) -> None:
    if spec.format == "multi_hot":
        if isinstance(dtype, (pl.List, pl.Array)) and (dtype.inner == pl.Boolean or dtype.inner.is_integer()):
            return
        msg = (
            f"column {column!r}: multi-hot labels must be a List or Array of Boolean or 0/1 "
            f"integers (one per class); got dtype {dtype}"
        )
        raise TypeError(msg)
    if isinstance(dtype, pl.List) and dtype.inner.is_integer():
        return
    if isinstance(dtype, pl.List) and _is_named(dtype.inner):
        if spec.class_names is None and not isinstance(dtype.inner, pl.Enum):
            msg = (
                f"column {column!r}: labels are class names ({dtype}); pass class_names=[...] "
                "to give the class order (the i-th name is the i-th pred_probs entry), or use an Enum"
            )
            raise TypeError(msg)
        return
    hint = " (for multi-hot rows pass labels_format='multi_hot')" if isinstance(dtype, pl.Array) else ""
    msg = (
        f"column {column!r}: labels must be a List of class indices (e.g. [0, 2]) or class "
        f"names; got dtype {dtype}{hint}"
    )
    raise TypeError(msg)


def class_names_of(dtype: pl.DataType, spec: LabelSpec) -> tuple[str, ...] | None:
    """The class names: given, or an Enum's categories."""
    if spec.class_names is not None:
        return spec.class_names
    inner = getattr(dtype, "inner", None)
    if isinstance(inner, pl.Enum):
        return tuple(inner.categories.to_list())
    return None


def check_pred_probs_dtype(dtype: pl.DataType, column: str) -> None:
    if not (isinstance(dtype, (pl.List, pl.Array)) and dtype.inner in (pl.Float32, pl.Float64)):
        msg = (
            f"column {column!r}: pred_probs must be a List or Array of Float32/Float64 "
            f"(one probability per class); got dtype {dtype}"
        )
        raise TypeError(msg)


def pred_probs_width(dtype: pl.DataType) -> int | None:
    """K when the dtype fixes it (Array), else None."""
    return int(dtype.size) if isinstance(dtype, pl.Array) else None


def _as_array(s: pl.Series, width: int) -> pl.Series | None:
    """The List column as Array(width), or None if some row has another length (a cheap cast)."""
    if width == 0:
        return None
    try:
        return s.cast(pl.Array(s.dtype.inner, width))
    except pl.exceptions.ComputeError:
        return None


def _fixed_width_rows(s: pl.Series, width: int) -> np.ndarray | None:
    """(n, width) zero-copy view of a List column whose every row has ``width`` values and no
    null; None otherwise (then polars reads it, and names a bad row)."""
    buffers = list_buffers(s) if width else None
    if buffers is None:
        return None
    first, n = int(buffers.offsets[0]), len(s)
    if int(buffers.offsets[-1]) - first != n * width or not (np.diff(buffers.offsets) == width).all():
        return None
    return buffers.values[first : first + n * width].reshape(n, width)


def _read_probs(
    s: pl.Series, num_classes: int | None, where: Where, rows: np.ndarray | None, n_total: int, check_range: bool = True
) -> np.ndarray:
    """(n, K) view of the non-null rows of ``s`` (already filtered), checked and clipped (the
    value range only if ``check_range``)."""
    column = s.name
    n = len(s)
    if isinstance(s.dtype, pl.Array):
        width = int(s.dtype.size)
        if num_classes is not None and width != num_classes:
            msg = f"column {column!r}: pred_probs have {width} classes, expected {num_classes}"
            raise ValueError(msg)
        probs = s.to_numpy().reshape(n, width)
    elif num_classes is not None and (fixed_rows := _fixed_width_rows(s, num_classes)) is not None:
        width = num_classes
        probs = fixed_rows  # the column's own buffer, no query
    elif num_classes is not None and (fixed := _as_array(s, num_classes)) is not None:
        width = num_classes
        probs = fixed.to_numpy().reshape(n, width)  # zero-copy; an inner null is NaN, refused below
    else:  # K unknown, or some row has another width: find it (and name the row)
        lengths = s.list.len().to_numpy()
        nonempty = np.flatnonzero(lengths)  # K: the first non-empty row's width (an empty row is ragged)
        width = num_classes if num_classes is not None else (int(lengths[nonempty[0]]) if nonempty.size else 0)
        bad = np.flatnonzero(lengths != width)
        if bad.size:
            i = int(bad[0])
            msg = (
                f"column {column!r}, {where.row(_original_row(rows, i), n_total)}: pred_probs "
                f"has {int(lengths[i])} values, expected {width} (one per class; rows must "
                f"all have the same width)"
            )
            raise ValueError(msg)
        flat = s.explode(empty_as_null=False, keep_nulls=False)
        if flat.null_count():
            i = _row_of_flat(np.concatenate([[0], np.cumsum(lengths)]), int(flat.is_null().arg_true()[0]))
            msg = (
                f"column {column!r}, {where.row(_original_row(rows, i), n_total)}: pred_probs "
                f"contains a null element {s[i].to_list()}; fill or drop it first"
            )
            raise ValueError(msg)
        probs = flat.to_numpy().reshape(n, width)
    if n and width == 0:
        msg = f"column {column!r}: pred_probs rows have width 0; there must be at least one class"
        raise ValueError(msg)
    return check_probs(probs, column, where, rows, n_total, source=s) if check_range else probs


_ONE_BITS = {np.dtype(np.float64): np.float64(1.0).view(np.uint64), np.dtype(np.float32): np.float32(1.0).view(np.uint32)}


def all_probabilities(probs: np.ndarray) -> bool:
    """True if every value is in [+0.0, 1.0], with one integer reduction: read as unsigned
    integers, exactly those floats are at most the bits of 1.0 (a set sign bit, NaN and inf are
    all larger). False says nothing: -0.0, a tolerated value or an error; look closer."""
    one = _ONE_BITS[probs.dtype]
    return bool(probs.view(one.dtype).max() <= one) if probs.flags.c_contiguous else False


def check_probs(
    probs: np.ndarray,
    column: str,
    where: Where,
    rows: np.ndarray | None,
    n_total: int,
    source: pl.Series | None = None,
) -> np.ndarray:
    """Refuse NaN, inf and values outside [0, 1] (beyond TOLERANCE); clip within it."""
    if probs.size == 0 or all_probabilities(probs):
        return probs
    low, high = probs.min(), probs.max()  # NaN propagates and fails both tests below
    if not (low >= -TOLERANCE and high <= 1 + TOLERANCE):
        ok = (probs >= -TOLERANCE) & (probs <= 1 + TOLERANCE)
        i = int(np.argmin(ok.all(axis=1)))
        j = int(np.argmin(ok[i]))
        value = probs[i, j]
        row = where.row(_original_row(rows, i), n_total)
        if np.isnan(value) and source is not None and source[i].to_list()[j] is None:
            msg = (
                f"column {column!r}, {row}: pred_probs contains a null element at class {j}; "
                "fill or drop it first"
            )
        else:
            msg = (
                f"column {column!r}, {row}: pred_probs value {float(value)!r} at class {j} is not a "
                f"probability; values must be finite and in [0, 1]"
            )
        raise ValueError(msg)
    if low < 0 or high > 1:  # inside the tolerance: clip, never mutate the input
        probs = np.clip(probs, 0.0, 1.0)
    return probs


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _lengths_and_flat(s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Row lengths and the concatenated values of a List column without nulls, in one query
    (each query may have to wake polars' thread pool, which can cost more than the work)."""
    column = pl.col(s.name)
    both = s.to_frame().select(
        column.list.len().implode().alias("lengths"),
        column.explode(empty_as_null=False, keep_nulls=False).implode().alias("values"),
    )
    return both.get_column("lengths")[0].to_numpy().astype(np.int64, copy=False), both.get_column("values")[0]


def _flat_labels(
    s: pl.Series, offsets: np.ndarray, where: Where, rows: np.ndarray | None, n_total: int, flat: pl.Series | None = None
) -> pl.Series:
    if flat is None:
        flat = s.explode(empty_as_null=False, keep_nulls=False)
    if flat.null_count():
        i = _row_of_flat(offsets, int(flat.is_null().arg_true()[0]))
        msg = (
            f"column {s.name!r}, {where.row(_original_row(rows, i), n_total)}: labels contain "
            f"a null element {s[i].to_list()}; fill or drop it first"
        )
        raise ValueError(msg)
    return flat


def _names_to_indices(
    s: pl.Series, flat: pl.Series, offsets: np.ndarray, classes: tuple[str, ...], where: Where, rows: np.ndarray | None, n_total: int
) -> np.ndarray:
    names = flat.cast(pl.String)
    indices = names.cast(pl.Enum(list(classes)), strict=False)
    if indices.null_count():
        k = int(indices.is_null().arg_true()[0])
        i = _row_of_flat(offsets, k)
        msg = (
            f"column {s.name!r}, {where.row(_original_row(rows, i), n_total)}: label "
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
            f"column {s.name!r}, {where.row(_original_row(rows, i), n_total)}: multi-hot labels "
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
                f"column {s.name!r}, {where.row(_original_row(rows, i), n_total)}: multi-hot "
                f"value {hot[i, j].item()!r} at class {j}; entries must be 0 or 1"
            )
            raise ValueError(msg)
    row_of, values = np.nonzero(hot)
    return _offsets(np.bincount(row_of, minlength=n)), values.astype(np.intp, copy=False)


def _indices_by_query(
    s: pl.Series, num_classes: int, where: Where, rows: np.ndarray | None, n_total: int, spec: LabelSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of a List labels column through polars: names, inner nulls, several
    chunks, 128-bit integers (what ``list_buffers`` leaves)."""
    lengths, flat = _lengths_and_flat(s)
    offsets = _offsets(lengths)
    flat = _flat_labels(s, offsets, where, rows, n_total, flat)
    if _is_named(flat.dtype):
        classes = class_names_of(s.dtype, spec)
        assert classes is not None  # check_labels_dtype refused names without classes
        return offsets, _names_to_indices(s, flat, offsets, classes, where, rows, n_total)
    if flat.dtype in _WIDE_INTEGERS:  # numpy has no 128-bit integers; such a label is outside [0, K)
        k = int(((flat < 0) | (flat >= num_classes)).arg_true()[0])
        i = _row_of_flat(offsets, k)
        msg = (
            f"column {s.name!r}, {where.row(_original_row(rows, i), n_total)}: label {flat[k]} is "
            f"not a class index; labels must be in [0, {num_classes - 1}] (K = {num_classes} is the "
            "width of pred_probs)"
        )
        raise ValueError(msg)
    return offsets, flat.to_numpy()


def _read_labels(
    s: pl.Series,
    num_classes: int,
    where: Where,
    rows: np.ndarray | None,
    n_total: int,
    spec: LabelSpec = LabelSpec(),
) -> tuple[np.ndarray, np.ndarray]:
    if spec.format == "multi_hot":
        return _multi_hot_to_indices(s, num_classes, where, rows, n_total)
    column = s.name
    buffers = list_buffers(s) if s.dtype.inner.is_integer() else None
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
            i = _row_of_flat(offsets, k)
            msg = (
                f"column {column!r}, {where.row(_original_row(rows, i), n_total)}: label "
                f"{int(values[k])} is not a class index; labels must be in [0, {num_classes - 1}] "
                f"(K = {num_classes} is the width of pred_probs)"
            )
            raise ValueError(msg)
    return offsets, values.astype(np.intp, copy=False)


def check_class_count(classes: tuple[str, ...] | None, num_classes: int, n_rows: int, spec: LabelSpec) -> None:
    if classes is not None and n_rows and len(classes) != num_classes:
        given = "class_names has" if spec.class_names is not None else "the labels' Enum has"
        msg = f"{given} {len(classes)} names but pred_probs have K = {num_classes} classes"
        raise ValueError(msg)


def read_batch(
    labels: pl.Series,
    pred_probs: pl.Series,
    *,
    num_classes: int | None = None,
    where: Where = Where(),
    spec: LabelSpec = LabelSpec(),
    defer_range_check: bool = False,
) -> Batch:
    """Validate one batch of the two columns and return its arrays.

    With ``defer_range_check`` the probabilities' range is left to the consumer (``Batch.pending``),
    which saves a pass over memory when the scoring kernel checks each block it reads anyway.
    """
    check_labels_dtype(labels.dtype, labels.name, spec)
    check_pred_probs_dtype(pred_probs.dtype, pred_probs.name)
    n_total = len(labels)
    if len(pred_probs) != n_total:
        msg = f"labels ({n_total} rows) and pred_probs ({len(pred_probs)} rows) differ in length"
        raise ValueError(msg)
    rows = None
    if labels.null_count() or pred_probs.null_count():
        keep = labels.is_not_null() & pred_probs.is_not_null()
        rows = np.flatnonzero(keep.to_numpy())
        labels, pred_probs = labels.filter(keep), pred_probs.filter(keep)
    if num_classes is None:
        num_classes = pred_probs_width(pred_probs.dtype)
    probs = _read_probs(pred_probs, num_classes, where, rows, n_total, check_range=not defer_range_check)
    check_class_count(class_names_of(labels.dtype, spec), probs.shape[1], len(labels), spec)
    offsets, values = _read_labels(labels, probs.shape[1], where, rows, n_total, spec)
    pending = PendingCheck(pred_probs.name, where, rows, n_total, pred_probs) if defer_range_check else None
    return Batch(probs, offsets, values, rows, n_total, pending)


def read_arrays(labels: pl.Series, probs: np.ndarray, spec: LabelSpec = LabelSpec()) -> Batch:
    """Validate labels given as a Series and pred_probs given as a 2-D numpy array."""
    check_labels_dtype(labels.dtype, labels.name, spec)
    if not isinstance(probs, np.ndarray) or probs.ndim != 2:
        shape = getattr(probs, "shape", None)
        msg = f"pred_probs must be a 2-D numpy array (n_rows, n_classes); got {type(probs).__name__} with shape {shape}"
        raise ValueError(msg) if isinstance(probs, np.ndarray) else TypeError(msg)
    if probs.dtype not in (np.float32, np.float64):
        msg = f"pred_probs must be float32 or float64 probabilities; got dtype {probs.dtype}"
        raise TypeError(msg)
    n_total = len(labels)
    if probs.shape[0] != n_total:
        msg = f"labels ({n_total} rows) and pred_probs ({probs.shape[0]} rows) differ in length"
        raise ValueError(msg)
    if n_total and probs.shape[1] == 0:
        msg = "pred_probs has width 0; there must be at least one class"
        raise ValueError(msg)
    rows = None
    if labels.null_count():
        keep = labels.is_not_null()
        rows = np.flatnonzero(keep.to_numpy())
        labels, probs = labels.filter(keep), probs[rows]
    probs = np.ascontiguousarray(check_probs(probs, "pred_probs", Where(), rows, n_total))  # the kernels index it flat
    check_class_count(class_names_of(labels.dtype, spec), probs.shape[1], len(labels), spec)
    offsets, values = _read_labels(labels, probs.shape[1], Where(), rows, n_total, spec)
    return Batch(probs, offsets, values, rows, n_total)
