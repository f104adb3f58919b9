"""Per-class scores: one binary "is class k present?" problem per column, for a block of rows.

Each function fills ``out`` (shape of ``probs``) from ``probs`` (b, K), C-contiguous, and
``positions``, the flat indices ``row * K + class`` of the block's given labels. Labels are few,
so every entry is first scored as if its class were absent (one dense pass), then the labelled
entries are overwritten (a scatter over the labels only); there is no (b, K) label mask and no
loop over rows or classes. Without adjustment the arithmetic runs in the dtype of ``probs``
(float32 stays float32 until it is stored), as cleanlab does.
"""

from __future__ import annotations

import numpy as np

from polars_mlq._thresholds import Thresholds

_LN2 = np.log(2.0)
_FLOOR = 1e-6  # the floor on self-confidence and on the entropy ratio in confidence_weighted_entropy

#: As a function of the self-confidence q, confidence_weighted_entropy is increasing on
#: [CWE_RISING_LOW, CWE_RISING_HIGH]: there r = H(q)/q has derivative log2(1 - q)/q**2 < 0 and
#: ln(1 + r)/r falls as r grows. Outside it the score turns (the 1e-6 floor on q fixes the
#: denominator below 1e-6; near q = 1, r drops under its 1e-6 floor) and it is 0 at q = 0 and 1.
#: The true turns are at 1e-6 and about 1 - 3.8e-8; the margins keep rounding on the safe side.
CWE_RISING_LOW = 2e-6
CWE_RISING_HIGH = 1.0 - 2e-7


def _flat(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1)  # a view: every block here is C-contiguous


def self_confidence(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """out = p where the class is labelled, 1 - p where it is not (in the dtype of ``out``)."""
    np.subtract(1, probs, out=out)
    _flat(out)[positions] = _flat(probs)[positions]


def normalized_margin(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """out = ((q_given - q_other) + 1) / 2, evaluated literally (it can differ from q_given by an ulp)."""
    np.subtract(1, probs, out=out)  # q_given of an unlabelled class
    np.subtract(out, probs, out=out)  # (1 - p) - p
    out += 1
    out /= 2
    given = _flat(probs)[positions].astype(out.dtype, copy=False)
    _flat(out)[positions] = ((given - (1 - given)) + 1) / 2


def _xlogx(x: np.ndarray) -> np.ndarray:
    """x * ln(x) in float64, with 0 * ln(0) = 0."""
    x = x.astype(np.float64, copy=False)
    logs = np.zeros_like(x)
    np.log(x, out=logs, where=x > 0)
    logs *= x
    return logs


def cwe_of(entropy: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """ln(r + 1) / max(r, 1e-6), r = entropy / max(confidence, 1e-6); overwrites ``entropy``."""
    floored = np.maximum(confidence, _FLOOR)  # in the dtype of confidence, as the definition does
    np.divide(entropy, floored, out=entropy)  # r
    ratio_floor = np.maximum(entropy, _FLOOR)
    entropy += 1
    np.log(entropy, out=entropy)
    entropy /= ratio_floor
    return entropy


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    """Binary entropy in bits of [1 - p, p] (1 - p in the dtype of p), float64."""
    entropy = _xlogx(np.subtract(1, probs))
    entropy += _xlogx(probs)
    entropy /= -_LN2
    return entropy


def cwe_of_confidence(confidence: np.ndarray) -> np.ndarray:
    """confidence_weighted_entropy from the self-confidence q alone (float64, q strictly in (0, 1)).

    The entropy is symmetric in [1 - q, q], so this is the score whichever binary label q belongs
    to. For an unlabelled class, 1 - q may differ from the original p by half an ulp of 1; inside
    [CWE_RISING_LOW, CWE_RISING_HIGH] that moves the score by less than 1e-15.
    """
    return cwe_of(entropy_bits(confidence), confidence)


def confidence_weighted_entropy(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """The score of every entry from its own p: binary entropy over the self-confidence."""
    confidence = np.empty(probs.shape, dtype=probs.dtype)
    self_confidence(probs, positions, confidence)
    np.copyto(out, cwe_of(entropy_bits(probs), confidence))


def adjusted(
    probs: np.ndarray, positions: np.ndarray, thresholds: Thresholds, method: str, out: np.ndarray
) -> None:
    """Scores on probabilities shifted by the per-class confident thresholds, in float64.

    Binary matrix [1 - p, p] minus [t_absent, t_present], plus max(t_absent, t_present), then each
    row divided by its sum. ``out`` (float64) gets the unlabelled formula densely; the labelled
    entries are recomputed from their own p and class and scattered in.
    """
    shift = np.maximum(thresholds.absent, thresholds.present)
    absent = out
    np.subtract(1, probs, out=absent, dtype=np.float64)
    absent -= thresholds.absent
    absent += shift
    present = np.subtract(probs, thresholds.present, dtype=np.float64)
    present += shift
    if method == "normalized_margin":
        total = absent + present
        absent /= total
        present /= total
        absent -= present
        absent += 1
        absent /= 2
    else:
        present += absent  # the row sum (present itself is not needed for unlabelled entries)
        absent /= present
    classes = positions % probs.shape[1]
    p = _flat(probs)[positions].astype(np.float64)
    q1 = (p - thresholds.present[classes]) + shift[classes]
    q0 = ((1 - p) - thresholds.absent[classes]) + shift[classes]
    row_sum = q0 + q1
    q1 /= row_sum
    q0 /= row_sum
    _flat(out)[positions] = ((q1 - q0) + 1) / 2 if method == "normalized_margin" else q1


def per_class_scores(
    probs: np.ndarray,
    positions: np.ndarray,
    method: str,
    thresholds: Thresholds | None,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (shape of ``probs``) with the per-class scores of one row block.

    ``out`` may be float64 or, without thresholds and for the margin methods, the dtype of
    ``probs`` (so that a float32 block is scored and sorted in float32).
    """
    if thresholds is not None:
        adjusted(probs, positions, thresholds, method, out)
    elif method == "confidence_weighted_entropy":
        confidence_weighted_entropy(probs, positions, out)
    elif method == "self_confidence":
        _margin_in_dtype(self_confidence, probs, positions, out)
    else:
        _margin_in_dtype(normalized_margin, probs, positions, out)


def _margin_in_dtype(score, probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:  # noqa: ANN001
    if out.dtype == probs.dtype:
        score(probs, positions, out)
        return
    work = np.empty(probs.shape, dtype=probs.dtype)
    score(probs, positions, work)
    np.copyto(out, work)
