"""Aggregation: one row of K per-class scores (each in [0, 1]) becomes one score.

The exponential moving average (EMA) over a row sorted from largest to smallest equals a fixed
weighted sum of the sorted row, ``sum_j alpha (1 - alpha)^(j - 1) a_(j) + (1 - alpha)^(K - 1) a_(K)``
with ``a_(1) <= a_(2) <= ...``. The weights fall geometrically, so only the m smallest scores
matter: replacing the rest by ``a_(m)`` changes the result by at most ``(1 - alpha)^m`` (scores lie
in [0, 1]). We pick m so that this is below ``EMA_TOLERANCE`` and partially sort.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from polars_mlq.input import Aggregator

EMA_TOLERANCE = 1e-15
SOFTMIN_MIN_TEMPERATURE = 1e-6


def ema_alpha(alpha: float | None, num_classes: int) -> float:
    """Return the EMA's alpha: as given, or 2 / (K + 1) when None."""
    return 2.0 / (num_classes + 1) if alpha is None else alpha


def ema_terms(alpha: float, num_classes: int) -> int:
    """Return how many of the smallest scores determine the EMA to within EMA_TOLERANCE."""
    if alpha >= 1.0:
        return 1
    if alpha <= 0.0:
        return num_classes
    needed = math.log(EMA_TOLERANCE) / math.log1p(-alpha)  # inf for a subnormal alpha
    return num_classes if needed >= num_classes else max(1, math.ceil(needed))


def ema_weights(alpha: float, terms: int) -> NDArray[np.float64]:
    """Return the weights of the ``terms`` smallest scores, smallest first.

    They sum to 1 (there are none for a batch without classes, which has no row to weigh).
    """
    weights = alpha * (1.0 - alpha) ** np.arange(terms, dtype=np.float64)
    if terms:
        weights[-1] = (1.0 - alpha) ** (terms - 1)
    return weights


def use_partition(terms: int, num_classes: int) -> bool:
    """Return whether to partition rows before sorting them.

    Measured with numpy 2.4 on AVX-512: a full row sort wins below a few hundred classes.
    """
    return num_classes >= 384 and terms * 4 <= num_classes


#: The signed integer type of each float's width. Read as such an integer, the bits of floats >= +0
#: order as the floats do (IEEE 754 puts the exponent above the mantissa), and integer sorts and
#: partitions are 5-45% faster than float ones (numpy 2.4, rows of 10 to 3000).
SORT_KEYS: dict[np.dtype[np.floating[Any]], np.dtype[np.signedinteger[Any]]] = {
    np.dtype(np.float64): np.dtype(np.int64),
    np.dtype(np.float32): np.dtype(np.int32),
}


#: From this many classes on, float64 rows are sorted as floats, not on their bits: there numpy 2.4's
#: float64 row sort measured 5-30% faster than its int64 one (AVX-512, K = 40 to 300, on uniform,
#: tied, saturated and sorted rows alike), while below it and for float32 the integer sort wins.
FLOAT_SORT_MIN_CLASSES = 40


def sorts_as_floats(dtype: np.dtype[Any], num_classes: int) -> bool:
    """Return whether ``smallest_sorted`` sorts rows of this dtype and width as floats (else on their bits)."""
    return dtype == np.float64 and num_classes >= FLOAT_SORT_MIN_CLASSES


def smallest_sorted(values: np.ndarray, terms: int) -> np.ndarray:
    """Return the ``terms`` smallest values of each row, ascending; ``values`` is reordered in place.

    Rows are ordered by their bits (``SORT_KEYS``), or as floats where that is faster
    (``sorts_as_floats``, full sorts only): both are the float order for scores >= +0, which every
    valid score is. On bits a value with the sign bit set (-0.0, a negative, -NaN) sorts before
    every other one; as floats a negative sorts first and every NaN last. Either way the range
    check reads the first and last sorted values (``_sorted_in_unit_interval``).
    """
    keys = values.view(SORT_KEYS[values.dtype])
    if use_partition(terms, values.shape[1]):
        keys.partition(terms - 1, axis=1)
        return np.sort(keys[:, :terms], axis=1).view(values.dtype)
    if sorts_as_floats(values.dtype, values.shape[1]):
        values.sort(axis=1)
    else:
        keys.sort(axis=1)
    return values[:, :terms]


def ema_of_smallest(smallest: np.ndarray, weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the EMA from each row's smallest scores, ascending, and their ``ema_weights``.

    See the module docstring.
    """
    # einsum sums each row in a fixed order, so a row's score does not depend on its batch
    # (a BLAS matrix-vector product can change the last bits with the batch's shape). The
    # weights sum to 1 only up to rounding: clip so a row of ones cannot score 1 + 2e-16.
    # float32 scores are widened inside einsum, in its buffers: the sums of the widened copy, bit
    # for bit, without writing one.
    result: NDArray[np.float64] = np.einsum("ij,j->i", smallest[:, : len(weights)], weights, dtype=np.float64)
    # einsum's sums start from +0.0, so a row of scores -0.0 (p = -0.0, a valid 0) scores +0.0.
    return np.minimum(result, 1.0, out=result)  # non-negative weights of non-negative scores


#: Above this temperature the weights exp(-s / T) of scores s in [0, 1] stay far from underflow,
#: so no per-row shift is needed (softmax is unchanged by a common factor).
_SOFTMIN_UNSHIFTED_TEMPERATURE = 1.0 / 600.0


def softmin(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    """Return the sum of scores weighted by softmax((1 - s) / T) per row; small T tends to the row minimum.

    softmax((1 - s) / T) = softmax(-s / T): the constant 1 / T cancels. ``scores`` is kept.
    """
    temperature = max(temperature, SOFTMIN_MIN_TEMPERATURE)
    weights = np.multiply(scores, -1.0 / temperature)
    if temperature < _SOFTMIN_UNSHIFTED_TEMPERATURE:  # shift so each row's smallest score weighs 1
        weights -= weights.max(axis=1, keepdims=True)
    np.exp(weights, out=weights)
    result: NDArray[np.float64] = np.einsum("ij,ij->i", scores, weights)
    result /= np.einsum("ij->i", weights)  # a row sum in a fixed order, faster than sum(axis=1)
    return np.clip(result, 0.0, 1.0, out=result)


def aggregate_callable(scores: np.ndarray, aggregator: Aggregator) -> np.ndarray:
    """Call a user aggregator on the whole (n, K) matrix and check what it returns."""
    assert aggregator.function is not None
    name = getattr(aggregator.function, "__name__", repr(aggregator.function))
    try:
        result = aggregator.function(scores, **aggregator.kwargs)
    except Exception as exc:
        msg = f"aggregator {name} raised {type(exc).__name__}: {exc}"
        raise ValueError(msg) from exc
    try:
        values = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"aggregator {name} must return one number per row; got {type(result).__name__}"
        raise TypeError(msg) from exc
    if values.shape != (scores.shape[0],):
        msg = (
            f"aggregator {name} must return an array of shape ({scores.shape[0]},), one score "
            f"per row of the (n, K) = {scores.shape} matrix it receives; got shape {values.shape}"
        )
        raise ValueError(msg)
    return values
