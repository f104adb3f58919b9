"""Reading pred_probs: a List/Array column becomes an (n, K) float array in [0, 1]."""

from __future__ import annotations

import numpy as np
import polars as pl

from polars_mlq.input.arrow import list_buffers
from polars_mlq.input.columns import (
    TOLERANCE,
    Where,
    original_row,
    row_of_flat,
)


def _as_array(s: pl.Series, width: int) -> pl.Series | None:
    """Return the List column as Array(width), or None if some row has another length (a cheap cast)."""
    dtype = s.dtype
    if width == 0 or not isinstance(dtype, pl.List):  # (read_probs calls it on List columns only)
        return None
    try:
        fixed: pl.Series = s.cast(pl.Array(dtype.inner, width))
    except pl.exceptions.ComputeError:
        return None
    return fixed


def _fixed_width_rows(s: pl.Series, width: int) -> np.ndarray | None:
    """Return an (n, width) zero-copy view of a List column whose every row has ``width`` values and no null.

    Return None otherwise (then polars reads it, and names a bad row).
    """
    buffers = list_buffers(s) if width else None
    if buffers is None:
        return None
    first, n = int(buffers.offsets[0]), len(s)
    if int(buffers.offsets[-1]) - first != n * width or not _steps_equal(buffers.offsets, width):
        return None
    return buffers.values[first : first + n * width].reshape(n, width)


#: ``_steps_equal`` reads the offsets this many at a time, its differences staying in cache.
_STEP_RUN = 1 << 16


def _steps_equal(offsets: np.ndarray, width: int, run: int = _STEP_RUN) -> bool:
    """Return whether consecutive offsets all differ by ``width``.

    ``run`` steps at a time into one small buffer: one ``np.diff`` of a million rows' offsets
    wrote 8 MB of fresh memory and took 2.3 ms here, these runs 1.4 ms.
    """
    steps = np.empty(min(run, max(offsets.size - 1, 0)), dtype=offsets.dtype)
    for start in range(0, offsets.size - 1, run):
        stop = min(start + run, offsets.size - 1)
        taken = np.subtract(offsets[start + 1 : stop + 1], offsets[start:stop], out=steps[: stop - start])
        if not (taken == width).all():
            return False
    return True


def read_probs(
    s: pl.Series, num_classes: int | None, where: Where, rows: np.ndarray | None, n_total: int, check_range: bool = True
) -> np.ndarray:
    """Return an (n, K) view of the non-null rows of ``s`` (already filtered), checked and clipped.

    The value range is checked only if ``check_range``.
    """
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
                f"column {column!r}, {where.row(original_row(rows, i), n_total)}: pred_probs "
                f"has {int(lengths[i])} values, expected {width} (one per class; rows must "
                f"all have the same width)"
            )
            raise ValueError(msg)
        flat = s.explode(empty_as_null=False, keep_nulls=False)
        if flat.null_count():
            i = row_of_flat(np.concatenate([[0], np.cumsum(lengths)]), int(flat.is_null().arg_true()[0]))
            msg = (
                f"column {column!r}, {where.row(original_row(rows, i), n_total)}: pred_probs "
                f"contains a null element {s[i].to_list()}; fill or drop it first"
            )
            raise ValueError(msg)
        probs = flat.to_numpy().reshape(n, width)
    if n and width == 0:
        msg = f"column {column!r}: pred_probs rows have width 0; there must be at least one class"
        raise ValueError(msg)
    return check_probs(probs, column, where, rows, n_total, source=s) if check_range else probs


_ONE_BITS = {
    np.dtype(np.float64): np.float64(1.0).view(np.uint64),
    np.dtype(np.float32): np.float32(1.0).view(np.uint32),
}


def all_probabilities(probs: np.ndarray) -> bool:
    """Return True if every value is in [+0.0, 1.0], with one integer reduction.

    Read as unsigned integers, exactly those floats are at most the bits of 1.0 (a set sign bit,
    NaN and inf are all larger). False says nothing: -0.0, a tolerated value or an error; look
    closer.
    """
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
        row = where.row(original_row(rows, i), n_total)
        if np.isnan(value) and source is not None and source[i].to_list()[j] is None:
            msg = f"column {column!r}, {row}: pred_probs contains a null element at class {j}; fill or drop it first"
        else:
            msg = (
                f"column {column!r}, {row}: pred_probs value {float(value)!r} at class {j} is not a "
                f"probability; values must be finite and in [0, 1]"
            )
        raise ValueError(msg)
    if low < 0 or high > 1:  # inside the tolerance: clip, never mutate the input
        probs = np.clip(probs, 0.0, 1.0)
    return probs
