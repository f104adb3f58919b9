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

from fractions import Fraction

import numpy as np

from polars_mlq.scoring import run_ranges, scratch

#: A fixed-point unit is 2**-UNIT_BITS.
UNIT_BITS = 80
#: Entries per block of ``complement_sums``: small enough to stay in cache, large enough to keep calls few.
_BLOCK_ENTRIES = 1 << 17


#: Rows side by side in ``complement_sums``' int64 lanes (up to this many, and up to 4096 values).
_WIDE_ROWS = 64


def _wide_rows(k: int) -> int:
    return max(1, min(_WIDE_ROWS, 4096 // max(k, 1)))


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
#: Values added in one int64 lane: 1023 integers of at most 2**53 * (1 + 1e-6) stay below 2**63.
_LANE_VALUES = 1023
_LOW_32 = (1 << 32) - 1


def complement_sums(
    values: np.ndarray, *, exclude: np.ndarray | None = None, classes: np.ndarray | None = None
) -> tuple[list[int], list[int]]:
    """Return exact column sums of ``1 - values`` (as computed in their dtype), in units of 2**-80.

    ``exclude`` (ascending flat indices ``row * K + column``) leaves those entries out; with
    ``classes`` (a segment id per excluded entry) the values left out are summed too, per id, as
    each block is read (no array of them): the second list (empty without ``classes``).

    ``1 - p`` is a multiple of 2**-53 for every float64 (and float32) p in [-1/2, 2]: when
    p <= 1/2 the result is at least 1/2 and is rounded to its last place, 2**-53 or coarser; when
    p > 1/2 it is exact (Sterbenz) and p itself is a multiple of 2**-53. So ``2**53 (1 - p)`` is an
    integer, and it is what ``2**53 - 2**53 p`` gives in float64 (scaling by 2**53 is exact and
    commutes with the rounding). Each block is read once into that integer (two passes in place,
    in the scoring kernel's block buffer) and summed in int64 lanes of at most 1023 values,
    ``wide`` rows side by side.
    """
    n, k = values.shape
    wide = _wide_rows(k)
    # the scoring kernel's block (at most an eighth of the batch), and whole lanes of wide rows
    rows = max(1, min(_BLOCK_ENTRIES // max(k, 1), -(-n // 8), wide * _LANE_VALUES))
    if rows > wide:
        rows -= rows % wide
    one = values.dtype.type(1)
    parts: list[list[int]] = []
    excluded: list[list[int]] = []

    def fill(first: int, last: int) -> None:
        taken = SegmentSums(k) if classes is not None else None
        buffer = scratch("scores", (min(rows, last - first), k), np.float64)
        integers = buffer.view(np.int64)
        high = np.zeros(k, dtype=np.int64)  # sums of the lanes' bits above 32, and below
        low = np.zeros(k, dtype=np.int64)
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
            if exclude is not None:
                lo, hi = np.searchsorted(exclude, [start * k, (start + m) * k])
                inside = exclude[lo:hi] - start * k
                if taken is not None and classes is not None:
                    taken.add(block.reshape(-1)[inside], classes[lo:hi])
                xi.reshape(-1)[inside] = 0
            whole = m - m % wide
            lanes = np.add.reduce(xi[:whole].reshape(-1, wide * k), axis=0).reshape(wide, k)
            if whole < m:
                lanes = np.concatenate([lanes, xi[whole:]])
            high += (lanes >> 32).sum(axis=0)
            low += (lanes & _LOW_32).sum(axis=0)
        parts.append([(h << 32) + lo for h, lo in zip(high.tolist(), low.tolist(), strict=True)])
        if taken is not None:
            excluded.append(taken.totals)

    run_ranges(n, k, fill)
    totals = [sum(column) for column in zip(*parts, strict=True)] if parts else [0] * k
    left_out = [sum(column) for column in zip(*excluded, strict=True)] if excluded else []
    if classes is not None and not excluded:
        left_out = [0] * k
    return [total << (UNIT_BITS - 53) for total in totals], left_out


#: ``x + c - c`` rounds x in [0, 2] to a multiple of 2**-26, y in [-2**-27, 2**-27] to one of
#: 2**-53, and z in [-2**-54, 2**-54] to one of 2**-80: three limbs whose sums stay exact in
#: float64 for up to 2**26 values each.
_ROUND_3 = (1.5 * 2.0**26, 0.75, 1.5 * 2.0**-28)
_LIMB_BITS = (26, 53, 80)
#: Values per block of ``SegmentSums.add``: bounded temporaries, and far below 2**26.
_SEGMENT_BLOCK = 1 << 16


class SegmentSums:
    """Exact fixed-point sums per segment id, fed block by block (``add``), read by ``totals``.

    Each value is cut into three limbs on the grids 2**-26, 2**-53 and 2**-80 (the last rounded,
    as ``column_sums`` rounds it), and each limb of a block is summed with one ``np.bincount``:
    exact, since a block holds far fewer than 2**26 values. The block sums are integers in their
    grid's units and accumulate in int64 (no overflow before 2**25 blocks).
    """

    def __init__(self, num_segments: int) -> None:
        self.num_segments = num_segments
        self._limbs = np.zeros((len(_LIMB_BITS), num_segments), dtype=np.int64)

    def add(self, values: np.ndarray, segment: np.ndarray) -> None:
        """Add the 1-D ``values`` to the sums of their ``segment`` ids."""
        # an eighth of the values at a time, between 2**12 and 2**16: the block's few temporaries
        # stay small next to the values themselves
        step = min(_SEGMENT_BLOCK, max(1 << 12, -(-values.size // 8)))
        for start in range(0, values.size, step):
            rest = values[start : start + step].astype(np.float64)
            ids = segment[start : start + step]
            for row, (constant, bits) in enumerate(zip(_ROUND_3, _LIMB_BITS, strict=True)):
                limb = (rest + constant) - constant
                if bits < UNIT_BITS:
                    rest -= limb
                sums = np.bincount(ids, weights=limb, minlength=self.num_segments)
                self._limbs[row] += (sums * 2.0**bits).astype(np.int64)

    @property
    def totals(self) -> list[int]:
        """The sums so far, in units of 2**-80, as Python integers."""
        shifts = [UNIT_BITS - bits for bits in _LIMB_BITS]
        columns = zip(*(limb.tolist() for limb in self._limbs), strict=True)
        return [sum(v << shift for v, shift in zip(column, shifts, strict=True)) for column in columns]


def segment_sums(values: np.ndarray, segment: np.ndarray, num_segments: int) -> list[int]:
    """Return the exact fixed-point sums of ``values`` per segment id in ``range(num_segments)``.

    The sums are in units of 2**-80, as Python integers (see ``SegmentSums``).
    """
    sums = SegmentSums(num_segments)
    sums.add(values, segment)
    return sums.totals


def mean(total: int, count: int) -> float:
    """Return the mean of ``count`` values whose fixed-point sum is ``total``.

    The mean is correctly rounded to float64 (NaN when ``count`` is 0).
    """
    if count == 0:
        return float("nan")
    return float(Fraction(total, count << UNIT_BITS))
