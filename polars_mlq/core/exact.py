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

How: ``x = high + low``, where ``high`` is ``x`` rounded to a multiple of 2**-40 (adding and
subtracting ``1.5 * 2**12`` rounds it there) and ``low = x - high`` (exact) is rounded to a
multiple of 2**-80 the same way. A column of at most 2**13 such values sums exactly in float64
whatever the order, since every partial sum is a multiple of the grid below 2**53 grid units.
Block sums are then added as integers.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: A fixed-point unit is 2**-UNIT_BITS.
UNIT_BITS = 80
_HALF = 40
#: ``x + _ROUND_HIGH - _ROUND_HIGH`` rounds x in [0, 2] to a multiple of 2**-40.
_ROUND_HIGH = 1.5 * 2.0**12
#: ``y + _ROUND_LOW - _ROUND_LOW`` rounds y in [-2**-40, 2**-40] to a multiple of 2**-80.
_ROUND_LOW = 1.5 * 2.0**-28
#: Rows per block: 2**13 values on the grid sum to less than 2**53 grid units, exactly.
_MAX_ROWS = 1 << 13
#: Entries per block: small enough to stay in cache, large enough to keep calls few.
_BLOCK_ENTRIES = 1 << 17
#: Blocks whose int64 sums are added before they are moved to Python integers (no overflow).
_FLUSH = 256


def _split(x: np.ndarray, high: np.ndarray) -> None:
    """In place: ``high`` becomes x on the 2**-40 grid, ``x`` the rest on the 2**-80 grid."""
    np.add(x, _ROUND_HIGH, out=high)
    high -= _ROUND_HIGH
    x -= high
    x += _ROUND_LOW
    x -= _ROUND_LOW


class _Totals:
    """Per-segment running sums in units of 2**-80: int64 between flushes, Python ints after."""

    def __init__(self, size: int) -> None:
        self.high = np.zeros(size, dtype=np.int64)
        self.low = np.zeros(size, dtype=np.int64)
        self.totals = [0] * size
        self._pending = 0

    def add(self, high_sums: np.ndarray, low_sums: np.ndarray) -> None:
        self.high += (high_sums * 2.0**_HALF).astype(np.int64)
        self.low += (low_sums * 2.0**UNIT_BITS).astype(np.int64)
        self._pending += 1
        if self._pending == _FLUSH:
            self.flush()

    def flush(self) -> list[int]:
        self.totals = [
            t + (h << _HALF) + lo for t, h, lo in zip(self.totals, self.high.tolist(), self.low.tolist(), strict=True)
        ]
        self.high[:] = 0
        self.low[:] = 0
        self._pending = 0
        return self.totals


def column_sums(values: np.ndarray, *, complement: bool = False) -> list[int]:
    """Return, per column of an (n, K) array of values in [0, 1], the exact sum of its fixed-point values.

    With ``complement``, the sums are of ``1 - values`` (computed in their dtype). The sums are
    Python integers.
    """
    n, k = values.shape
    totals = _Totals(k)
    rows = max(1, min(_MAX_ROWS, _BLOCK_ENTRIES // max(k, 1)))
    work = np.empty((min(rows, n), k))
    high = np.empty_like(work)
    one = values.dtype.type(1)
    for start in range(0, n, rows):
        block = values[start : start + rows]
        x, h = work[: block.shape[0]], high[: block.shape[0]]
        if complement and values.dtype == np.float64:
            np.subtract(one, block, out=x)
        elif complement:
            x[...] = np.subtract(one, block)  # 1 - p in pred_probs' dtype, as cleanlab computes it
        else:
            x[...] = block
        _split(x, h)
        # column sums (einsum: faster than add.reduce on short rows; the order does not matter,
        # every partial sum is exact)
        totals.add(np.einsum("ij->j", h), np.einsum("ij->j", x))
    return totals.flush()


#: ``x + c - c`` rounds x in [0, 2] to a multiple of 2**-26, y in [-2**-27, 2**-27] to one of
#: 2**-53, and z in [-2**-54, 2**-54] to one of 2**-80: three limbs whose sums stay exact in
#: float64 for up to 2**26 values each.
_ROUND_3 = (1.5 * 2.0**26, 0.75, 1.5 * 2.0**-28)
_LIMB_BITS = (26, 53, 80)
_MAX_SEGMENT_VALUES = 1 << 26


def segment_sums(values: np.ndarray, segment: np.ndarray, num_segments: int) -> list[int]:
    """Return the exact fixed-point sums of ``values`` per segment id in ``range(num_segments)``.

    The sums (in units of 2**-80, as Python integers) are those of the 1-D ``values`` whose
    ``segment`` is that id. Each value is cut into three limbs on the grids 2**-26, 2**-53 and
    2**-80 (the last rounded, as ``column_sums`` rounds it), and each limb is summed with one
    ``np.bincount``: exact, since at most 2**26 values are summed at a time.
    """
    totals = [0] * num_segments
    for start in range(0, values.size, _MAX_SEGMENT_VALUES):
        rest = values[start : start + _MAX_SEGMENT_VALUES].astype(np.float64)
        ids = segment[start : start + _MAX_SEGMENT_VALUES]
        for constant, bits in zip(_ROUND_3, _LIMB_BITS, strict=True):
            limb = (rest + constant) - constant if bits < UNIT_BITS else rest
            if bits < UNIT_BITS:
                rest = rest - limb
            else:
                limb = (limb + constant) - constant
            sums = np.bincount(ids, weights=limb, minlength=num_segments) * 2.0**bits
            totals = [t + (int(v) << (UNIT_BITS - bits)) for t, v in zip(totals, sums.tolist(), strict=True)]
    return totals


def mean(total: int, count: int) -> float:
    """Return the mean of ``count`` values whose fixed-point sum is ``total``.

    The mean is correctly rounded to float64 (NaN when ``count`` is 0).
    """
    if count == 0:
        return float("nan")
    return float(Fraction(total, count << UNIT_BITS))
