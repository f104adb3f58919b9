"""Exact, order-independent sums of probabilities: the partial statistic behind every mean.

A float sum depends on the order of its terms, so a mean accumulated batch by batch would change
with how the rows were split. Here every value ``x`` in [0, 1] is first written as a fixed-point
number with 80 fractional bits, truncated (``floor(x * 2**80)``, a function of ``x`` alone), and
those integers are summed exactly. The sum of a group is therefore the same whatever the batches,
their sizes or the order in which partial sums are merged.

The truncation drops at most 2**-80 per value. Thresholds are clipped to at least 2e-6 (about
2**-19) before use, so the fixed-point mean of n values is within n * 2**-80 / n = 2**-80 of the
exact mean: more than 60 bits below the last bit of any threshold that matters.

Per block of at most ``_BLOCK_ROWS`` rows, the two 40-bit halves of the fixed-point values are
integers below 2**40 stored exactly in float64, and their column sums stay below 2**53, so
``np.add.reduce`` sums them exactly in any order. Block sums are added as Python integers.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: Bits in each of the two halves of a fixed-point value.
_HALF = 40
_SCALE = float(2**_HALF)
#: Rows per block: 2**13 values below 2**40 sum to less than 2**53, exactly in float64.
_BLOCK_ROWS = 1 << 13
#: A fixed-point unit is 2**-80.
UNIT_BITS = 2 * _HALF


def _halves(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The high and low 40-bit halves of ``floor(values * 2**80)``, as exact float64 integers."""
    scaled = values.astype(np.float64) * _SCALE  # exact: a power-of-two scaling
    high = np.floor(scaled)
    scaled -= high  # the fraction, exact
    scaled *= _SCALE
    return high, np.floor(scaled, out=scaled)


def column_sums(values: np.ndarray) -> list[int]:
    """Per column of an (n, K) array of values in [0, 1], the exact sum of its fixed-point values
    (in units of 2**-80), as Python integers."""
    n, k = values.shape
    totals = [0] * k
    for start in range(0, n, _BLOCK_ROWS):
        high, low = _halves(values[start : start + _BLOCK_ROWS])
        sums_high = np.add.reduce(high, axis=0).tolist()
        sums_low = np.add.reduce(low, axis=0).tolist()
        totals = [t + (int(h) << _HALF) + int(lo) for t, h, lo in zip(totals, sums_high, sums_low, strict=True)]
    return totals


def segment_sums(values: np.ndarray, segment: np.ndarray, num_segments: int) -> list[int]:
    """Per segment id in ``range(num_segments)``, the exact fixed-point sum of the 1-D ``values``
    whose ``segment`` is that id (in units of 2**-80), as Python integers."""
    totals = [0] * num_segments
    for start in range(0, values.size, _BLOCK_ROWS):
        high, low = _halves(values[start : start + _BLOCK_ROWS])
        ids = segment[start : start + _BLOCK_ROWS]
        sums_high = np.bincount(ids, weights=high, minlength=num_segments).tolist()
        sums_low = np.bincount(ids, weights=low, minlength=num_segments).tolist()
        totals = [t + (int(h) << _HALF) + int(lo) for t, h, lo in zip(totals, sums_high, sums_low, strict=True)]
    return totals


def mean(total: int, count: int) -> float:
    """The mean of ``count`` values whose fixed-point sum is ``total``, correctly rounded to
    float64 (NaN when ``count`` is 0)."""
    if count == 0:
        return float("nan")
    return float(Fraction(total, count << UNIT_BITS))
