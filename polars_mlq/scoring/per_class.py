"""Per-class scores: one binary "is class k present?" problem per column, for a block of rows.

Each function fills ``out`` (shape of ``probs``) from ``probs`` (b, K), C-contiguous, and
``positions``, the flat indices ``row * K + class`` of the block's given labels. Labels are few,
so every entry is first scored as if its class were absent (one dense pass), then the labelled
entries are overwritten (a scatter over the labels only); there is no (b, K) label mask and no
loop over rows or classes. Without adjustment the arithmetic runs in the dtype of ``probs``
(float32 stays float32 until it is stored), as cleanlab does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from polars_mlq.scoring.thresholds import Thresholds

_LN2 = np.log(2.0)
_FLOOR = 1e-6  # the floor on self-confidence and on the entropy ratio in confidence_weighted_entropy

#: As a function of the self-confidence q, confidence_weighted_entropy is increasing on
#: [CWE_RISING_LOW, CWE_RISING_HIGH]: there r = H(q)/q has derivative log2(1 - q)/q**2 < 0 and
#: ln(1 + r)/r falls as r grows. Outside it the score turns (the 1e-6 floor on q fixes the
#: denominator below 1e-6; near q = 1, r drops under its 1e-6 floor) and it is 0 at q = 0 and 1.
#: The true turns are at 1e-6 and about 1 - 3.8e-8; the margins keep rounding on the safe side.
CWE_RISING_LOW = 2e-6
CWE_RISING_HIGH = 1.0 - 2e-7
#: Up to this self-confidence the score computed from q alone (``cwe_of_confidence``) is within
#: about 2e-16 / (1 - q) of the score computed from the entry's own p: at most 2e-13 here.
#: (cleanlab takes log(r + 1) of a small ratio r, so an ulp of 1 + r is an error of 2e-16 / r.)
CWE_FROM_CONFIDENCE_HIGH = 1.0 - 1e-3


def _flat(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1)  # a view: every block here is C-contiguous


def self_confidence(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """Set ``out`` to p where the class is labelled, 1 - p where it is not (in the dtype of ``probs``)."""
    np.subtract(1, probs, out=out)
    _flat(out)[positions] = _flat(probs)[positions]


def normalized_margin(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """Set ``out`` to ((q_given - q_other) + 1) / 2, evaluated literally (it can differ from q_given by an ulp)."""
    np.subtract(1, probs, out=out)  # q_given of an unlabelled class
    np.subtract(out, probs, out=out)  # (1 - p) - p
    out += 1
    out /= 2
    given = _flat(probs)[positions].astype(out.dtype, copy=False)
    _flat(out)[positions] = ((given - (1 - given)) + 1) / 2


def _xlogx(x: np.ndarray, positive: bool, out: np.ndarray | None = None) -> np.ndarray:
    """Return x * ln(x) in float64, with 0 * ln(0) = 0 (``positive``: no x is 0, skip that case).

    The result goes into ``out`` (float64, not ``x``) when given.
    """
    x = x.astype(np.float64, copy=False)
    if out is None:
        out = np.empty_like(x)
    if positive:
        np.log(x, out=out)
    else:
        out.fill(0)
        np.log(x, out=out, where=x > 0)
    out *= x
    return out


def cwe_of(entropy: np.ndarray, confidence: np.ndarray, work: np.ndarray | None = None) -> np.ndarray:
    """Return ln(r + 1) / max(r, 1e-6), r = entropy / max(confidence, 1e-6); overwrites ``entropy``.

    ``work`` (float64, the shape of ``entropy``; float64 ``confidence`` only) holds both floors
    instead of two new arrays.
    """
    floored = np.maximum(confidence, _FLOOR, out=work)  # in the dtype of confidence, as the definition does
    np.divide(entropy, floored, out=entropy)  # r
    ratio_floor = np.maximum(entropy, _FLOOR, out=work)
    entropy += 1
    np.log(entropy, out=entropy)
    entropy /= ratio_floor
    return entropy


def entropy_bits(probs: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None) -> np.ndarray:
    """Return the binary entropy in bits of [1 - p, p] (1 - p in the dtype of p), float64.

    For float64 ``probs``, ``out`` and ``work`` (float64, the shape of ``probs``; ``work`` is
    overwritten) replace the three arrays it would allocate.
    """
    positive = probs.size > 0 and probs.min() > 0 and probs.max() < 1
    complement = np.subtract(1, probs, out=work)
    entropy = _xlogx(complement, positive, out)
    entropy += _xlogx(probs, positive, work)  # complement is no longer needed
    entropy /= -_LN2
    return entropy


def cwe_of_confidence(confidence: np.ndarray) -> np.ndarray:
    """Return confidence_weighted_entropy from the self-confidence q alone (float64).

    The self-confidences q must lie in [CWE_RISING_LOW, CWE_FROM_CONFIDENCE_HIGH].

    The entropy is symmetric in [1 - q, q], so this is the score whichever binary label q belongs
    to. For a labelled class (q = p), or an unlabelled one with p >= 0.5 (1 - p is exact), it is
    the score bit for bit; for an unlabelled class with p < 0.5, 1 - q may differ from p by half
    an ulp of 1, which moves the score by up to 2e-16 / (1 - q). There q > 1e-6 and the entropy
    ratio r > 1e-6, so neither floor applies and no logarithm sees 0.
    """
    q = confidence
    complement = 1.0 - q
    entropy = np.log(q)
    entropy *= q
    logs = np.log(complement)
    logs *= complement
    entropy += logs
    entropy /= -_LN2
    return cwe_of(entropy, q)


def confidence_weighted_entropy(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """Set ``out`` to the score of every entry from its own p: binary entropy over the self-confidence."""
    confidence = np.empty(probs.shape, dtype=probs.dtype)
    self_confidence(probs, positions, confidence)
    if probs.dtype == np.float64 and out.dtype == np.float64:  # in out and one more block buffer
        work = np.empty_like(out)
        cwe_of(entropy_bits(probs, out, work), confidence, work)
    else:  # float32: each step in the dtype the definition gives it
        np.copyto(out, cwe_of(entropy_bits(probs), confidence))


@dataclass(frozen=True)
class Adjustment:
    """Confident thresholds turned into per-class constants, laid out for row blocks.

    For class k with thresholds t0 (absent), t1 (present) and M = max(t0, t1), the shifted
    binary row is a0 = (1 - p) - t0 + M, a1 = p - t1 + M, whose sum D = 1 - t0 - t1 + 2M does not
    depend on p. So the normalised entries are (c0 - p) / D and (p + c1) / D with c0 = 1 - t0 + M
    and c1 = M - t1: two flat array operations. (cleanlab divides by each row's own rounded sum;
    the two differ by a few ulps, far below 1e-12.) The (K,) constants are tiled over ``rows``
    rows so that every step is a flat operation: broadcasting a (K,) vector over short rows pays
    numpy's inner-loop overhead on every row.
    """

    absent_offset: np.ndarray  # (K,) c0
    present_offset: np.ndarray  # (K,) c1
    row_sum: np.ndarray  # (K,) D
    absent_tile: np.ndarray  # (rows * K,) c0 tiled
    row_sum_tile: np.ndarray  # (rows * K,) D tiled

    @classmethod
    def of(cls, thresholds: Thresholds, rows: int) -> Adjustment:
        """Return the constants of ``thresholds``, tiled over ``rows`` rows."""
        t0, t1 = thresholds.absent, thresholds.present
        shift = np.maximum(t0, t1)
        c0 = (1 - t0) + shift
        c1 = shift - t1
        total = c0 + c1  # (1 - p - t0 + M) + (p - t1 + M)
        return cls(c0, c1, total, np.tile(c0, rows), np.tile(total, rows))


def adjusted(probs: np.ndarray, positions: np.ndarray, adjustment: Adjustment, out: np.ndarray) -> None:
    """Set ``out`` to the self-confidence on probabilities shifted by the per-class confident thresholds, float64.

    Binary matrix [1 - p, p] minus [t_absent, t_present], plus max(t_absent, t_present), then
    normalised to sum 1 (see ``Adjustment``). ``out`` gets the unlabelled entries densely; the
    labelled entries are computed from their own p and class and scattered in. The normalised
    row sums to 1, so the normalized margin ((q_given - q_other) + 1) / 2 is q_given as well.
    """
    flat, size = _flat(probs), probs.size
    absent = _flat(out)
    np.subtract(adjustment.absent_tile[:size], flat, out=absent)  # a0, in float64 (the tile's dtype)
    absent /= adjustment.row_sum_tile[:size]
    classes = positions % probs.shape[1]
    present = flat[positions] + adjustment.present_offset[classes]  # a1, in float64
    present /= adjustment.row_sum[classes]
    absent[positions] = present


def per_class_scores(
    probs: np.ndarray,
    positions: np.ndarray,
    method: str,
    adjustment: Adjustment | None,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (shape of ``probs``) with the per-class scores of one row block.

    ``out`` may be float64 or, without adjustment and for the margin methods, the dtype of
    ``probs`` (so that a float32 block is scored and sorted in float32).
    """
    if adjustment is not None:
        adjusted(probs, positions, adjustment, out)
    elif method == "confidence_weighted_entropy":
        confidence_weighted_entropy(probs, positions, out)
    elif method == "self_confidence":
        _margin_in_dtype(self_confidence, probs, positions, out)
    else:
        _margin_in_dtype(normalized_margin, probs, positions, out)


def _margin_in_dtype(
    score: Callable[[np.ndarray, np.ndarray, np.ndarray], None],
    probs: np.ndarray,
    positions: np.ndarray,
    out: np.ndarray,
) -> None:
    if out.dtype == probs.dtype:
        score(probs, positions, out)
        return
    work = np.empty(probs.shape, dtype=probs.dtype)
    score(probs, positions, work)
    np.copyto(out, work)
