"""Per-class scores: one binary "is class k present?" problem per column, for a block of rows.

Each function fills ``out`` (a float64 (b, K) buffer) from ``probs`` (b, K) and the boolean label
matrix ``mask`` (b, K), with no loop over rows or classes. Without adjustment the arithmetic runs
in the dtype of ``probs`` (float32 stays float32 until it is stored), as cleanlab does.
"""

from __future__ import annotations

import numpy as np

from polars_mlq._thresholds import Thresholds

_LN2 = np.log(2.0)
_FLOOR = 1e-6  # the floor on self-confidence and on the entropy ratio in confidence_weighted_entropy


def _self_confidence(probs: np.ndarray, mask: np.ndarray, work: np.ndarray) -> None:
    """work = p where the class is labelled, 1 - p where it is not."""
    np.subtract(1, probs, out=work)
    np.copyto(work, probs, where=mask)


def _normalized_margin(probs: np.ndarray, mask: np.ndarray, work: np.ndarray) -> None:
    """work = ((q_given - q_other) + 1) / 2, evaluated literally (it can differ from q_given by an ulp)."""
    np.subtract(1, probs, out=work)
    np.subtract(probs, work, out=work)  # p - (1 - p): the margin of a labelled class
    np.negative(work, out=work, where=~mask)  # (1 - p) - p, exactly, for the others
    work += 1
    work /= 2


def _xlogx(x: np.ndarray) -> np.ndarray:
    """x * ln(x) in float64, with 0 * ln(0) = 0."""
    x = x.astype(np.float64, copy=False)
    logs = np.zeros_like(x)
    np.log(x, out=logs, where=x > 0)
    logs *= x
    return logs


def _cwe_from_entropy(entropy: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """ln(r + 1) / max(r, 1e-6), r = entropy / max(confidence, 1e-6); overwrites ``entropy``."""
    floored = np.maximum(confidence, _FLOOR)  # in the dtype of confidence, as the definition does
    np.divide(entropy, floored, out=entropy)  # r
    ratio_floor = np.maximum(entropy, _FLOOR)
    entropy += 1
    np.log(entropy, out=entropy)
    entropy /= ratio_floor
    return entropy


def cwe_scores(probs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """confidence_weighted_entropy of each element (any shape), float64.

    H is the binary entropy in bits of [1 - p, p] (1 - p in the dtype of p), the confidence q is
    the entry of the given label.
    """
    complement = np.subtract(1, probs)
    entropy = _xlogx(complement)
    entropy += _xlogx(probs)
    entropy /= -_LN2
    confidence = complement
    np.copyto(confidence, probs, where=mask)
    return _cwe_from_entropy(entropy, confidence)


#: As a function of the self-confidence q, confidence_weighted_entropy is increasing on
#: [CWE_RISING_LOW, CWE_RISING_HIGH]: there r = H(q)/q has derivative log2(1 - q)/q**2 < 0 and
#: ln(1 + r)/r falls as r grows. Outside it the score turns (the 1e-6 floor on q fixes the
#: denominator below 1e-6; near q = 1, r drops under its 1e-6 floor) and it is 0 at q = 0 and 1.
#: The true turns are at 1e-6 and about 1 - 3.8e-8; the margins keep rounding on the safe side.
CWE_RISING_LOW = 2e-6
CWE_RISING_HIGH = 1.0 - 2e-7


def _confidence_weighted_entropy(probs: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, cwe_scores(probs, mask))


def _adjusted(
    probs: np.ndarray, mask: np.ndarray, thresholds: Thresholds, method: str, out: np.ndarray
) -> None:
    """Scores on probabilities shifted by the per-class confident thresholds, in float64.

    Binary matrix [1 - p, p] minus [t_absent, t_present], plus max(t_absent, t_present), then each
    row divided by its sum.
    """
    shift = np.maximum(thresholds.absent, thresholds.present)
    present = probs.astype(np.float64)  # a copy: the input is never written
    present -= thresholds.present
    present += shift
    absent = np.subtract(1, probs, dtype=np.float64)
    absent -= thresholds.absent
    absent += shift
    total = absent + present
    present /= total
    absent /= total
    np.copyto(out, absent)
    np.copyto(out, present, where=mask)  # q_given
    if method == "normalized_margin":
        other = total  # reuse the buffer for q_other, the column that is not the given one
        np.copyto(other, present)
        np.copyto(other, absent, where=mask)
        out -= other
        out += 1
        out /= 2


def per_class_scores(
    probs: np.ndarray,
    mask: np.ndarray,
    method: str,
    thresholds: Thresholds | None,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (float64, shape of ``probs``) with the per-class scores of one row block."""
    if thresholds is not None:
        _adjusted(probs, mask, thresholds, method, out)
        return
    if method == "confidence_weighted_entropy":
        _confidence_weighted_entropy(probs, mask, out)
        return
    work = out if probs.dtype == np.float64 else np.empty(probs.shape, dtype=probs.dtype)
    if method == "self_confidence":
        _self_confidence(probs, mask, work)
    else:
        _normalized_margin(probs, mask, work)
    if work is not out:
        np.copyto(out, work)
