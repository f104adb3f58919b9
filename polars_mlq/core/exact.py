"""Exact, order-independent sums of probabilities: the partial statistic behind every mean.

A float sum depends on the order of its terms, so a mean accumulated batch by batch would change
with how the rows were split. Here every value ``x`` in [0, 1] is first rounded to a fixed-point
number with 80 fractional bits (a function of ``x`` alone), and those numbers are summed exactly.
The sum of a group is therefore the same whatever the batches, their sizes or the order in which
partial sums are merged.

The rounding moves a value by at most 2**-81. Thresholds are clipped to at least 2e-6 (about
2**-19) before use, so the fixed-point mean is within 2**-81 of the exact mean: more than 60
bits below the last bit of any threshold that matters. Values of 2**-27 or more (every value
of float32 data) are multiples of 2**-80 already, and for them the sum is the exact sum.

How: a value is cut into three limbs on the grids 2**-26, 2**-53 and 2**-80 (the last one rounded,
half to even) and each limb is summed exactly in float64 (``SegmentSums``). The thresholds sum
``1 - p`` as computed in floating point, which is always a multiple of 2**-53: ``complement_sums``
turns it into an integer and sums those in int64, reading pred_probs once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polars_mlq.core import fixed
from polars_mlq.core.binary import count_columns
from polars_mlq.core.lanes import LANE_VALUES, Lanes, wide_rows
from polars_mlq.input import BLOCK_ELEMENTS
from polars_mlq.input import class_counts as class_counts_of
from polars_mlq.scoring import run_ranges, scratch

#: A fixed-point unit is 2**-UNIT_BITS.
UNIT_BITS = 80
#: Entries per block of ``complement_sums``: the scoring kernel's block (its buffer is reused).
#: Few numpy calls matter more than cache here: each call that releases the GIL may wait to take
#: it back from the other thread, and blocks of 2**19 measured 20-30% faster than 2**17 on two
#: threads (weak, base at (1e5, 100); base, many_labels, float32 at (1e6, 20)).
_BLOCK_ENTRIES = BLOCK_ELEMENTS


def column_sums(
    values: np.ndarray,
    *,
    complement: bool = False,
    exclude: np.ndarray | None = None,
) -> list[int]:
    """Return the exact fixed-point column sums of an (n, K) array of values in [0, 1].

    With ``complement`` the sums are those of ``1 - values``, computed in their dtype (as
    cleanlab computes them); ``exclude`` (ascending flat indices ``row * K + column``) leaves
    those entries out. The sums are in units of 2**-80, as Python integers. With ``complement``
    (the thresholds' sums) row ranges run on polars' threads, as the scoring kernel does; without
    it (general values, read as ``SegmentSums`` reads them) this reads the values whole.
    """
    if complement:
        return complement_sums(values, exclude=exclude)[0]
    n, k = values.shape
    flat = values.reshape(-1)
    columns = np.tile(np.arange(k, dtype=np.intp), n)
    if exclude is not None:
        keep = np.ones(flat.size, dtype=bool)
        keep[exclude] = False
        flat, columns = flat[keep], columns[keep]
    return segment_sums(flat, columns, k)


#: ``1 - p`` times 2**53 is an integer (see ``complement_sums``).
_SCALE_53 = 2.0**53
#: Below this many entries per eighth of the batch, ``complement_sums`` reads blocks of this many
#: entries from a buffer of its own (fewer numpy calls on small batches; freed before scoring).
_SMALL_BLOCK_ENTRIES = 1 << 15
#: Labelled values gathered before ``complement_sums`` adds them to their classes' sums: a
#: sixteenth of them, between 2**13 and 2**16.
_PENDING_VALUES = (1 << 13, 1 << 16)


def _block_rows(n: int, k: int, wide: int) -> int:
    """Rows per block of ``complement_sums``: whole lanes of ``wide`` rows, and few blocks."""
    eighth = -(-n // 8)  # the scoring kernel's block: at most an eighth of the batch
    entries = max(min(_BLOCK_ENTRIES, eighth * k), min(_SMALL_BLOCK_ENTRIES, n * k))
    blocks = -(-n * k // max(entries, 1))
    rows = max(1, min(-(-n // blocks), wide * LANE_VALUES))
    return -(-rows // wide) * wide if rows > wide else rows


class _Gathered:
    """Labelled values gathered block by block, a few thousand at a time: what the lanes miss.

    Blocks arrive in row order, so the values waiting are those of ``classes[first:first + count]``.
    For a value p below 1/2, ``1 - p`` is rounded: ``errors`` sums, per class, its rounding error
    ``e = fl(1 - p) - (1 - p)`` in units of 2**-80 (``complement_sums`` adds it back).
    """

    def __init__(self, classes: np.ndarray, k: int, dtype: np.dtype[Any]) -> None:
        self.classes = classes
        self.k = k
        self.errors = np.zeros(k, dtype=np.int64)  # float64 data: rounded errors, summed exactly
        self.wide_errors = SegmentSums(k)  # float32 data: errors up to 2**-25, three limbs
        self.one = dtype.type(1)
        low, high = _PENDING_VALUES
        self.buffer = np.empty(min(high, max(low, classes.size // 16)), dtype=dtype)
        self.first = self.count = 0

    def add(self, flat: np.ndarray, inside: np.ndarray, lo: int) -> None:
        size = inside.size
        if self.count + size > self.buffer.size:
            self.flush()
        if size > self.buffer.size:
            self._sum(flat[inside], self.classes[lo : lo + size])
            self.first = lo + size
            return
        if self.count == 0:
            self.first = lo
        np.take(flat, inside, out=self.buffer[self.count : self.count + size], mode="clip")
        self.count += size

    def flush(self) -> None:
        if self.count:
            self._sum(self.buffer[: self.count], self.classes[self.first : self.first + self.count])
        self.first += self.count
        self.count = 0

    def _sum(self, values: np.ndarray, classes: np.ndarray) -> None:
        below = np.flatnonzero(values < 0.5)  # flatnonzero and take: a boolean index measured 3-4x slower
        low, classes = values.take(below), classes.take(below)
        # fl(1 - p) - 1 is exact (Sterbenz), and so is adding p: e is the error of a rounded sum.
        error = np.subtract(self.one, low)
        error -= self.one
        error += low
        if error.dtype != np.float64:
            self.wide_errors.add(error, classes)
            return
        # |e| <= 2**-54: e * 2**80 rounded (half to even) is an integer of at most 2**26, and
        # float64 sums of fewer than 2**27 of them are exact.
        error *= 2.0**UNIT_BITS
        np.rint(error, out=error)
        self.errors += np.bincount(classes, weights=error, minlength=self.k).astype(np.int64)

    @property
    def error_totals(self) -> list[int]:
        """The errors summed so far, per class, in units of 2**-80."""
        return [a + b for a, b in zip(self.errors.tolist(), self.wide_errors.totals, strict=True)]


class RepeatedEntry(ValueError):
    """``complement_sums`` with ``row_offsets`` met an entry excluded twice (see there)."""


def complement_sums(
    values: np.ndarray,
    *,
    exclude: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    row_offsets: np.ndarray | None = None,
    class_counts: np.ndarray | None = None,
    counts_out: np.ndarray | None = None,
) -> tuple[list[int], list[int]]:
    """Return exact column sums of ``1 - values`` (as computed in their dtype), in units of 2**-80.

    ``exclude`` (ascending flat indices ``row * K + column``) leaves those entries out; with
    ``classes`` (the column of each excluded entry) the values left out are summed too, per
    column: the second list (empty without ``classes``). ``class_counts``, when given, is
    the count of ``classes`` per column (``np.bincount(classes, minlength=K)``). With
    ``row_offsets`` (n + 1 offsets: row r's entries are
    ``exclude[row_offsets[r]:row_offsets[r + 1]]``) the entries of a row may come in any
    order, but none twice: each block marks its entries in a boolean block and counts them per
    column, which finds a repeat (``RepeatedEntry``) and, on the threads, counts the classes
    when ``class_counts`` is not given. ``counts_out`` ((K,) int64), when given, is set to the
    counts used.

    ``1 - p`` is a multiple of 2**-53 for every float64 (and float32) p in [-1/2, 2]: when
    p <= 1/2 the result is at least 1/2 and is rounded to its last place, 2**-53 or coarser; when
    p > 1/2 it is exact (Sterbenz) and p itself is a multiple of 2**-53. So ``2**53 (1 - p)`` is an
    integer, and it is what ``2**53 - 2**53 p`` gives in float64 (scaling by 2**53 is exact and
    commutes with the rounding). Each block is read once into that integer (two passes in place,
    in a block buffer) and summed in int64 lanes of at most 1023 values, ``wide`` rows side by
    side. A block is at most an eighth of the batch (the scoring kernel's buffer, reused), except
    on small batches, which read blocks of 2**15 entries from a buffer of their own.

    The left-out values p come from the same lanes: ``p = 1 - fl(1 - p) + e``, where the
    rounding error e is 0 for p >= 1/2 (Sterbenz). So a class's sum of them is its count times 1,
    less the lanes' sum of ``fl(1 - p)`` over its left-out entries (the lanes' sum of every entry,
    one more dense pass, less that of the entries kept), plus the errors of its values below 1/2,
    which are gathered as each block is read (``_Gathered``).
    """
    n, k = values.shape
    wide = wide_rows(k)
    rows = _block_rows(n, k, wide)
    shared = rows <= -(-n // 8)
    one = values.dtype.type(1)
    parts: list[list[int]] = []
    everything: list[list[int]] = []
    gathered: list[_Gathered] = []
    counted: list[np.ndarray] = []

    def fill(first: int, last: int) -> None:
        taken = _Gathered(classes, k, values.dtype) if classes is not None else None
        shape = (min(rows, last - first), k)
        buffer = scratch("scores", shape, np.float64) if shared else np.empty(shape, dtype=np.float64)
        integers = buffer.view(np.int64)
        lanes = Lanes(wide, k)
        every = Lanes(wide, k) if taken is not None else None
        marks = np.empty(shape[0] * k, dtype=bool) if row_offsets is not None and exclude is not None else None
        for start in range(first, last, rows):
            block = values[start : min(start + rows, last)]
            m = block.shape[0]
            x, xi = buffer[:m], integers[:m]
            if values.dtype == np.float64:
                np.multiply(block, -_SCALE_53, out=x)
                np.add(x, _SCALE_53, out=xi, casting="unsafe")  # an integer: the cast is exact
            else:  # 1 - p in float32, as cleanlab computes it, then scaled exactly
                np.multiply(np.subtract(one, block), _SCALE_53, out=x)
                np.copyto(xi, x, casting="unsafe")
            if every is not None:
                every.add(xi)
            if exclude is not None:
                if row_offsets is None:
                    lo, hi = np.searchsorted(exclude, [start * k, (start + m) * k]).tolist()
                else:
                    lo, hi = int(row_offsets[start]), int(row_offsets[start + m])
                inside = exclude[lo:hi] - start * k
                if taken is not None:
                    taken.add(block.reshape(-1), inside, lo)
                if marks is not None:  # an entry excluded twice marks fewer entries than it lists
                    marked = marks[: m * k]
                    marked.fill(False)
                    marked[inside] = True
                    found = count_columns(marked.reshape(m, k))
                    if int(found.sum()) != inside.size:
                        msg = "an entry is excluded twice"
                        raise RepeatedEntry(msg)
                    counted.append(found)
                xi.reshape(-1)[inside] = 0
            lanes.add(xi)
        parts.append(lanes.totals())
        if taken is not None and every is not None:
            taken.flush()
            everything.append(every.totals())
            gathered.append(taken)

    run_ranges(n, k, fill)
    totals = _column_totals(parts, k)
    shift = UNIT_BITS - 53
    if classes is None:
        return [total << shift for total in totals], []
    labelled = [a - b for a, b in zip(_column_totals(everything, k), totals, strict=True)]  # 2**53 (1 - p)
    errors = _column_totals([g.error_totals for g in gathered], k)
    if class_counts is not None:
        counts = class_counts
    elif row_offsets is not None and exclude is not None:  # every block's entries were counted
        counts = np.zeros(k, dtype=np.int64)
        for found in counted:  # one (K,) array a block
            counts += found
    else:
        counts = class_counts_of(classes, k)
    if counts_out is not None:
        counts_out[:] = counts
    left_out = [  # p = 1 - fl(1 - p) + e, summed
        (((count << 53) - units) << shift) + error
        for count, units, error in zip(counts.tolist(), labelled, errors, strict=True)
    ]
    return [total << shift for total in totals], left_out


def _column_totals(parts: list[list[int]], k: int) -> list[int]:
    return [sum(column) for column in zip(*parts, strict=True)] if parts else [0] * k


#: ``x + c - c`` rounds x in [0, 2] to a multiple of 2**-26, y in [-2**-27, 2**-27] to one of
#: 2**-53, and z in [-2**-54, 2**-54] to one of 2**-80: three limbs whose sums stay exact in
#: float64 for up to 2**26 values each.
_ROUND_3 = (1.5 * 2.0**26, 0.75, 1.5 * 2.0**-28)
_LIMB_BITS = (26, 53, 80)
#: Values per block of ``SegmentSums.add``: bounded temporaries, and far below 2**26.
_SEGMENT_BLOCK = 1 << 16
#: Values whose limbs ``SegmentSums`` may hold in float64 before moving them to int64 (and at
#: most one block more): limbs of up to 2**26 values sum exactly.
_EXACT_FLOAT_VALUES = 1 << 25


class SegmentSums:
    """Exact fixed-point sums per segment id, fed block by block (``add``), read by ``totals``.

    Each value is cut into three limbs on the grids 2**-26, 2**-53 and 2**-80 (the last rounded,
    as ``column_sums`` rounds it), and each limb of a block is summed with one ``np.bincount``.
    A limb is a multiple of its grid of at most 2**27 grid units (values in [0, 2]), so float64
    sums of up to 2**26 limbs are exact in any order: the limbs accumulate in float64 and move to
    int64 (in their grid's units) once 2**25 values are in.
    """

    def __init__(self, num_segments: int) -> None:
        self.num_segments = num_segments
        self._limbs = np.zeros((len(_LIMB_BITS), num_segments), dtype=np.int64)
        self._floats = np.zeros((len(_LIMB_BITS), num_segments), dtype=np.float64)
        self._pending = 0  # values in ``_floats``

    def add(self, values: np.ndarray, segment: np.ndarray, *, step: int | None = None) -> None:
        """Add the 1-D ``values`` to the sums of their ``segment`` ids, ``step`` values at a time.

        By default a step is an eighth of the values, between 2**12 and 2**16: the step's few
        temporaries stay small next to the values themselves.
        """
        if step is None:
            step = min(_SEGMENT_BLOCK, max(1 << 12, -(-values.size // 8)))
        for start in range(0, values.size, step):
            if self._pending >= _EXACT_FLOAT_VALUES:
                self._to_integers()
            rest = values[start : start + step].astype(np.float64)
            ids = segment[start : start + step]
            limb = np.empty_like(rest)
            for row, constant in enumerate(_ROUND_3):
                np.add(rest, constant, out=limb)
                limb -= constant
                if row < len(_ROUND_3) - 1:
                    rest -= limb
                self._floats[row] += np.bincount(ids, weights=limb, minlength=self.num_segments)
            self._pending += rest.size

    def _to_integers(self) -> None:
        for row, bits in enumerate(_LIMB_BITS):
            self._limbs[row] += (self._floats[row] * 2.0**bits).astype(np.int64)
        self._floats[:] = 0.0
        self._pending = 0

    @property
    def limbs(self) -> np.ndarray:
        """The sums so far as ``fixed`` limbs (num_segments, 3), in units of 2**-80."""
        self._to_integers()
        return fixed.of_grid_limbs(*self._limbs)

    @property
    def totals(self) -> list[int]:
        """The sums so far, in units of 2**-80, as Python integers."""
        self._to_integers()
        shifts = [UNIT_BITS - bits for bits in _LIMB_BITS]
        columns = zip(*(limb.tolist() for limb in self._limbs), strict=True)
        return [sum(v << shift for v, shift in zip(column, shifts, strict=True)) for column in columns]


def segment_limbs(values: np.ndarray, segment: np.ndarray, num_segments: int) -> np.ndarray:
    """Return the sums of ``segment_sums`` as ``fixed`` limbs (num_segments, 3): no Python integer per segment."""
    sums = SegmentSums(num_segments)
    sums.add(values, segment)
    return sums.limbs


def segment_sums(values: np.ndarray, segment: np.ndarray, num_segments: int) -> list[int]:
    """Return the exact fixed-point sums of ``values`` per segment id in ``range(num_segments)``.

    The sums are in units of 2**-80, as Python integers (see ``SegmentSums``).
    """
    sums = SegmentSums(num_segments)
    sums.add(values, segment)
    return sums.totals


def mean(total: int, count: int) -> float:
    """Return the mean of ``count`` values whose fixed-point sum is ``total``.

    The mean is correctly rounded to float64 (NaN when ``count`` is 0): Python divides integers
    with correct rounding.
    """
    if count == 0:
        return float("nan")
    return total / (count << UNIT_BITS)
