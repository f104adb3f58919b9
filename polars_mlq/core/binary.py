"""The K binary problems, seen through p alone: boundaries, comparisons and sort keys.

Column k of a multi-label dataset is the binary question "is class k present?", with the two-column
probability matrix ``Q = [1 - p, p]`` (``1 - p`` in the dtype of p). Every test cleanlab applies to
a row of Q is monotone in p, because ``1 - p`` rounds monotonically; so each test is equivalent to
comparing p itself with a boundary found once per class by bisection over the floats
(``largest_true``), and no (n, K) array of ``1 - p`` is needed to apply it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Slack in "p reaches its threshold" and in "the model disagrees with the label".
SLACK = 1e-6


#: The smallest positive denominator used when a count is 0.
TINY = 1e-100


#: Unit roundoff of float64.
_UNIT = 2.0**-53


#: Floats either side of a guess that ``largest_true`` bisects first.
_GUESS_WIDTH = 1 << 20


def largest_true(
    predicate: Callable[[np.ndarray], NDArray[np.bool_]],
    dtype: np.dtype[Any],
    size: int,
    guess: np.ndarray | None = None,
) -> NDArray[np.float64]:
    """Return the point x* where each of ``size`` predicates on the floats of ``dtype`` in [0, 1] turns false.

    Each predicate is true up to some x* and false above it; x* is returned as float64 (-1 if false
    at 0, 2 if true at 1). ``predicate(x)`` takes a (size,) array of ``dtype`` and returns a (size,)
    bool array. Non-negative floats are ordered like their bit patterns, so this bisects the integers.
    A ``guess`` of x* (any values: a closed form that rounding may move) starts the bisection on
    the 2**20 floats either side of it where the predicate shows x* lies there: about 21 steps
    instead of 62 for float64. Where it does not, the whole of [0, 1] is bisected; the result is
    the same either way.
    """
    itype = np.int64 if dtype == np.float64 else np.int32
    zeros = np.zeros(size, dtype=dtype)
    ones = np.ones(size, dtype=dtype)
    at0, at1 = predicate(zeros), predicate(ones)
    low = zeros.view(itype).copy()  # predicate(low) is true
    high = ones.view(itype).copy()  # predicate(high) is false
    high[~(at0 & ~at1)] = 0  # nothing to find: an empty bracket never moves
    if guess is not None:
        ends = np.clip(np.nan_to_num(np.asarray(guess, dtype=np.float64)), 0.0, 1.0).astype(dtype).view(itype)
        below = np.maximum(ends - _GUESS_WIDTH, low)
        above = np.minimum(ends + _GUESS_WIDTH, ones.view(itype))
        inside = (high > low) & predicate(below.view(dtype)) & ~predicate(above.view(dtype))
        np.copyto(low, below, where=inside)
        np.copyto(high, above, where=inside)
    step = np.empty_like(low)
    while True:
        np.subtract(high, low, out=step)
        step >>= 1
        if not step.any():
            break
        step += low  # the middle
        ok = predicate(step.view(dtype))
        np.copyto(low, step, where=ok)
        np.copyto(high, step, where=~ok)
    out: NDArray[np.float64] = low.view(dtype).astype(np.float64)
    out[~at0] = -1.0
    out[at0 & at1] = 2.0
    return out


@dataclass(frozen=True)
class Boundaries:
    """Constant boundaries on p (the same for every class) for pred_probs of one dtype.

    - ``absent_wins``: p <= it exactly when 1 - p >= p (the argmax of Q, ties to absent);
    - ``missing``: p > it exactly when an unlabelled class disagrees, p > (1 - p) + 1e-6;
    - ``extra``: p <= it exactly when a labelled class disagrees, p + 1e-6 <= 1 - p.
    """

    absent_wins: float
    missing: float
    extra: float


@functools.cache
def boundaries(dtype: np.dtype[Any]) -> Boundaries:
    """Return the constant ``Boundaries`` on p for pred_probs of ``dtype`` (computed once per dtype)."""
    one, slack = dtype.type(1), dtype.type(SLACK)
    values = [
        largest_true(lambda x: x <= np.subtract(one, x), dtype, 1)[0],
        largest_true(lambda x: x <= np.subtract(one, x) + slack, dtype, 1)[0],
        largest_true(lambda x: x + slack <= np.subtract(one, x), dtype, 1)[0],
    ]
    return Boundaries(*values)


#: Per-class comparisons view this many rows as one long row, so numpy's inner loops are long.
_WIDE_ROWS = 64


def compare_columns(
    op: np.ufunc, probs: np.ndarray, per_class: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """(n, K) bool ``op(probs, per_class)`` for a (K,) operand (one value per class), into ``out`` if given."""
    n, k = probs.shape
    if out is None:
        out = np.empty((n, k), dtype=bool)
    whole = (n // _WIDE_ROWS) * _WIDE_ROWS
    if whole and probs.flags.c_contiguous:
        width = _WIDE_ROWS * k
        op(probs[:whole].reshape(-1, width), np.tile(per_class, _WIDE_ROWS), out=out[:whole].reshape(-1, width))
        op(probs[whole:], per_class, out=out[whole:])
    else:
        op(probs, per_class, out=out)
    return out


#: Rows of ``count_columns``' wide view summed in uint16 at a time: no column sum reaches 2**16.
_UINT16_ROWS = (1 << 16) - 1


def count_columns(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per-column counts (K,) int64 of an (n, K) bool matrix.

    ``_WIDE_ROWS`` rows side by side make one long row of bytes, summed down in uint16 (a
    quarter of the time of int64 sums: 0.15 against 0.57 ns an entry at K = 20), up to
    ``_UINT16_ROWS`` long rows at a time.
    """
    n, k = mask.shape
    whole = (n // _WIDE_ROWS) * _WIDE_ROWS
    if whole and mask.flags.c_contiguous:
        wide = mask[:whole].reshape(-1, _WIDE_ROWS * k).view(np.uint8)
        head = np.zeros(_WIDE_ROWS * k, dtype=np.int64)
        for start in range(0, wide.shape[0], _UINT16_ROWS):
            head += np.add.reduce(wide[start : start + _UINT16_ROWS], axis=0, dtype=np.uint16)
        counts: NDArray[np.int64] = head.reshape(_WIDE_ROWS, k).sum(axis=0) + np.count_nonzero(mask[whole:], axis=0)
        return counts
    counts = np.count_nonzero(mask, axis=0).astype(np.int64)
    return counts


def rows_with_any(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Per row of an (n, K) bool matrix, whether any entry is true (``mask.any(axis=1)``).

    Below 256 columns a uint8 product counts each row's true entries without overflow, two to
    three times faster than ``any`` over short rows.
    """
    k = mask.shape[1]
    if 0 < k < 256 and mask.flags.c_contiguous:
        counts = mask.view(np.uint8) @ np.ones(k, dtype=np.uint8)
        out: NDArray[np.bool_] = counts > 0
        return out
    return np.asarray(mask.any(axis=1))


SORT_KEYS = ("class", "margin")


def sort_key(by: str, label: int, p: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Return what cleanlab sorts the rows of one given label by, smallest first.

    ``by="class"``: the probability of the given label; ``by="margin"``: minus (probability of the
    other - of the given).
    """
    if by == "class":
        return p if label == 1 else a
    margin: np.ndarray = -(a - p) if label == 1 else -(p - a)
    return margin


def guess_bounds(dtype: np.dtype[Any], cut0: np.ndarray, cut1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per class, the boundaries (b1, b0) of the confident guess of an entry.

    With cuts (K,) ``cut0`` [absent] and ``cut1`` [present], the confident guess of an entry is
    "present" exactly when p > b1 and "absent" exactly when p <= b0 (as ``confident_joint`` decides
    it: a value reaches its threshold when it is >= the cut; if both reach, the larger one wins,
    ties to absent).
    """
    one = dtype.type(1)

    def guesses(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.subtract(one, x)
        reach1 = x >= cut1
        reach0 = a >= cut0
        g1 = reach1 & (~reach0 | (x > a))
        return g1, reach0 & ~g1

    k = int(cut0.size)
    # roughly: "present" from max(cut1, min(1 - cut0, 1/2)) on, "absent" up to min(1 - cut0, that)
    present_from = np.maximum(cut1, np.minimum(1.0 - cut0, 0.5))
    b1 = largest_true(lambda x: ~guesses(x)[0], dtype, k, guess=present_from)
    b0 = largest_true(lambda x: guesses(x)[1], dtype, k, guess=np.minimum(1.0 - cut0, present_from))
    return b1, b0
