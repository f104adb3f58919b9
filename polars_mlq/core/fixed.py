"""Exact fixed-point numbers (units of 2**-80, as ``polars_mlq.core.exact``) for many classes at once.

``exact`` sums each class's values exactly and hands back Python integers: fine for a few
thousand classes, but a million classes cost seconds of Python per pass. Here the same numbers are
int64 limbs in base 2**40, an array of shape (..., 3) holding ``[high, middle, low]``
(value = high * 2**80 + middle * 2**40 + low), so that K sums are added, scaled by counts and
averaged in a few NumPy operations. ``normalized`` carries each limb's overflow into the next
(after it, 0 <= middle, low < 2**40), so additions of up to 2**22 normalized numbers cannot
overflow.

``means`` is correctly rounded, as ``exact.mean``: each quotient is taken in extended precision
(x86's 64-bit significand), which decides its float64 rounding unless the quotient lies within
2**-60 (relative) of a rounding boundary; those few, and every quotient where the platform's long
double is no wider than float64, are divided exactly with Python integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BITS = 40
_MASK = (1 << _BITS) - 1
_WIDE = np.finfo(np.longdouble).nmant >= 63  # an 80-bit (or wider) long double
_TOLERANCE = 2.0**-60


def normalized(limbs: np.ndarray) -> np.ndarray:
    """Return ``limbs`` (..., 3) int64 with the low and middle limbs' overflow carried up (floor division)."""
    out = limbs.astype(np.int64, copy=True)
    carry = out[..., 2] >> _BITS
    out[..., 2] &= _MASK
    out[..., 1] += carry
    carry = out[..., 1] >> _BITS
    out[..., 1] &= _MASK
    out[..., 0] += carry
    return out


def of_ints(values: Sequence[int]) -> np.ndarray:
    """Return the limbs (n, 3) of non-negative Python integers below 2**143."""
    return np.array([(v >> (2 * _BITS), (v >> _BITS) & _MASK, v & _MASK) for v in values], dtype=np.int64).reshape(
        -1, 3
    )


def to_ints(limbs: np.ndarray) -> list[int]:
    """Return the Python integers of normalized limbs (n, 3)."""
    return [(high << (2 * _BITS)) + (middle << _BITS) + low for high, middle, low in normalized(limbs).tolist()]


def of_grid_limbs(on26: np.ndarray, on53: np.ndarray, on80: np.ndarray) -> np.ndarray:
    """Return the limbs of ``on26 * 2**54 + on53 * 2**27 + on80`` (units of 2**-26, 2**-53, 2**-80; any sign)."""
    limbs = np.zeros((on26.size, 3), dtype=np.int64)
    limbs[:, 0] = on26 >> 26  # on26 = a * 2**26 + b: a * 2**80 + (b * 2**14) * 2**40
    limbs[:, 1] = (on26 & ((1 << 26) - 1)) << 14
    limbs[:, 1] += on53 >> 13  # on53 = c * 2**13 + d: c * 2**40 + d * 2**27
    limbs[:, 2] = (on53 & ((1 << 13) - 1)) << 27
    limbs[:, 2] += on80
    return normalized(limbs)


def times(value: int, counts: np.ndarray) -> np.ndarray:
    """Return the limbs (n, 3) of ``value * counts`` for a Python integer below 2**100 and counts below 2**40."""
    counts = np.asarray(counts, dtype=np.int64)
    limbs = np.zeros((counts.size, 3), dtype=np.int64)
    for piece in range(5):  # value's 20-bit pieces: each product is below 2**60
        part = counts * ((value >> (20 * piece)) & ((1 << 20) - 1))
        limb = 2 - piece // 2  # the limb of bit 20 * piece, and the shift within it
        if limb == 0:
            limbs[:, 0] += part
        elif piece % 2:  # part * 2**20 = (part mod 2**20) * 2**20 + (part >> 20) * 2**40
            limbs[:, limb] += (part & ((1 << 20) - 1)) << 20
            limbs[:, limb - 1] += part >> 20
        else:
            limbs[:, limb] += part & _MASK
            limbs[:, limb - 1] += part >> _BITS
        limbs = normalized(limbs)
    return limbs


def means(limbs: np.ndarray, counts: np.ndarray, unit_bits: int) -> np.ndarray:
    """Return the means (float64, correctly rounded) of the sums ``limbs`` (n, 3) over ``counts`` (NaN for 0).

    The sums are in units of ``2**-unit_bits``.
    """
    limbs = normalized(limbs)
    counts = np.asarray(counts, dtype=np.int64)
    out = np.full(counts.size, np.nan)
    some = np.flatnonzero(counts > 0)
    hard = some
    if _WIDE and some.size:
        ld = np.longdouble
        total = limbs[some, 0].astype(ld) * ld(2.0 ** (2 * _BITS)) + limbs[some, 1].astype(ld) * ld(2.0**_BITS)
        total += limbs[some, 2].astype(ld)
        quotient = total / (counts[some].astype(ld) * ld(2.0**unit_bits))
        rounded = quotient.astype(np.float64)
        below = (rounded.astype(ld) + np.nextafter(rounded, -np.inf).astype(ld)) / 2
        above = (rounded.astype(ld) + np.nextafter(rounded, np.inf).astype(ld)) / 2
        margin = np.minimum(quotient - below, above - quotient)
        sure = margin > np.abs(quotient) * ld(_TOLERANCE)
        out[some[sure]] = rounded[sure]
        hard = some[~sure]
    if hard.size:
        for index, total_int in zip(hard.tolist(), to_ints(limbs[hard]), strict=True):
            out[index] = total_int / (int(counts[index]) << unit_bits)
    return out
