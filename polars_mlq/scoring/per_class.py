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
from typing import TYPE_CHECKING, Any

import numpy as np

from polars_mlq.scoring.threads import scratch

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


_floor_arrays: dict[np.dtype[Any], np.ndarray] = {}


def _floors(like: np.ndarray) -> np.ndarray:
    """Return an array of 1e-6 in the dtype and shape of ``like``, to take a floor with.

    numpy's maximum against an array runs its vector loop; against a scalar it took 0.45 ns an
    entry here instead of 0.27. The arrays are kept (one per dtype, grown when needed) and never
    written after they are made, so threads share them.
    """
    floors = _floor_arrays.get(like.dtype)
    if floors is None or floors.size < like.size:
        floors = np.full(max(like.size, 1 << 16), _FLOOR, dtype=like.dtype)
        floors.flags.writeable = False
        _floor_arrays[like.dtype] = floors
    return floors[: like.size].reshape(like.shape)


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


def _xlogx(x: np.ndarray, positive: bool, out: np.ndarray) -> np.ndarray:
    """Set ``out`` to x * ln(x) (both float64), with 0 * ln(0) = 0, and return it.

    ``positive``: no x is 0, so the case is skipped.
    """
    if positive:
        np.log(x, out=out, dtype=np.float64)  # a float32 x is widened first, as in the definition
    else:
        out.fill(0)
        np.log(x, out=out, where=x > 0, dtype=np.float64)
    out *= x
    return out


def cwe_of(
    entropy: np.ndarray,
    confidence: np.ndarray,
    work: np.ndarray | None = None,
    *,
    confidence_floored: bool | None = None,
    ratio_floored: bool | None = None,
) -> np.ndarray:
    """Return ln(r + 1) / max(r, 1e-6), r = entropy / max(confidence, 1e-6); overwrites ``entropy``.

    ``work`` (float64, the shape of ``entropy``) holds the floored confidence and then ln(r + 1)
    instead of new arrays. The floor on the confidence is taken in its own dtype (float32 stays
    float32, then is widened), as the definition takes it. A floor that no entry reaches is not
    taken: max(x, 1e-6) is x. That is read off a minimum (a fifth of the cost of a pass that
    writes), unless the caller knows it: ``confidence_floored`` / ``ratio_floored`` True says
    that every confidence / every ratio r is at least 1e-6 (None: look).
    """
    if confidence_floored is None:
        confidence_floored = bool(confidence.size and confidence.min() >= _FLOOR)
    if confidence_floored:
        np.divide(entropy, confidence, out=entropy)  # r
    else:
        np.divide(entropy, np.maximum(confidence, _floors(confidence), out=work), out=entropy)
    logs = np.add(entropy, 1, out=work)
    np.log(logs, out=logs)
    if ratio_floored is None:
        ratio_floored = bool(entropy.size and entropy.min() >= _FLOOR)
    if not ratio_floored:
        np.maximum(entropy, _floors(entropy), out=entropy)
    np.divide(logs, entropy, out=entropy)
    return entropy


def _entropy_bound(low: float) -> float:
    """Return a lower bound of the binary entropy (bits) of every p in [low, 1 - low], low <= 1/2.

    The entropy is concave and symmetric, so its least value there is at the ends: H(low),
    evaluated in float64 and halved, which covers any rounding of the scores' own arithmetic
    (an error of a few ulps, or 1/ln(1/p) relative where 1 - p rounds to 1).
    """
    if not low > 0:
        return 0.0
    high = 1.0 - low
    return float(-(low * np.log(low) + high * np.log(high)) / _LN2) / 2


def cwe_of_confidence(confidence: np.ndarray) -> np.ndarray:
    """Return confidence_weighted_entropy from the self-confidence q alone (float64).

    The self-confidences q must lie in [CWE_RISING_LOW, CWE_FROM_CONFIDENCE_HIGH].

    The entropy is symmetric in [1 - q, q], so this is the score whichever binary label q belongs
    to. For a labelled class (q = p), or an unlabelled one with p >= 0.5 (1 - p is exact), it is
    the score bit for bit; for an unlabelled class with p < 0.5, 1 - q may differ from p by half
    an ulp of 1, which moves the score by up to 2e-16 / (1 - q). There q > 1e-6 and the entropy
    ratio r > 1e-6, so neither floor applies and no logarithm sees 0.

    ``confidence`` may be a view of a row block's first columns: it is copied to one contiguous
    block first, for numpy loops over a strided 2-D view pay a call per row (about 25% of this
    function at 22 of 100 columns).
    """
    q = np.ascontiguousarray(confidence)
    complement = 1.0 - q
    entropy = np.log(q)
    entropy *= q
    logs = np.log(complement)
    logs *= complement
    entropy += logs
    entropy /= -_LN2
    return cwe_of(entropy, q)


def cwe_scores(
    probs: np.ndarray, positions: np.ndarray, confidence: np.ndarray, out: np.ndarray, work: np.ndarray
) -> bool:
    """Set ``out`` (float64) to the score of every entry, and ``confidence`` to its self-confidence q.

    Return False, with ``out`` left unfilled, if some p lies outside [0, 1] (NaN included): the
    minima of p and c that decide the floors decide that too, so a block read unchecked needs
    no pass of its own for its range (-0.0 passes, as the valid 0 it is).

    ``confidence`` (the dtype of ``probs``) and ``work`` (float64) are buffers of the shape of
    ``probs``. The binary entropy of the pair [1 - p, p] is -(q ln q + o ln o) / ln 2 with o the
    other of the pair, and {q, o} = {p, c} with c = 1 - p rounded in the dtype of p whichever
    of the two is labelled: an unlabelled entry has q = c, o = p and a labelled one q = p, o = c.
    The sum of two terms is commutative, so the entropy is taken densely from p and c, bit for
    bit the definition's, with nothing to correct at the labels. Only the denominator depends on
    the label: c is turned into q by writing p at the labelled entries.

    The minima of p, c and the labelled p decide the floors without a pass over q or r: q is c
    or a labelled p, and q <= 1 makes r = H / max(q, 1e-6) at least the entropy H, whose least
    value over [min p, 1 - min c] is at its ends (``_entropy_bound``).
    """
    np.subtract(1, probs, out=confidence)  # c, in the dtype of p
    low_p = float(probs.min()) if probs.size else 0.0
    low_c = float(confidence.min()) if probs.size else 0.0
    if not (low_p >= 0 and low_c >= 0):  # p < 0, or c = 1 - p < 0 exactly when p > 1; NaN fails both
        return False
    positive = low_p > 0 and low_c > 0  # p in (0, 1): no p and no c is 0 (NaN fails both)
    _xlogx(confidence, positive, out)
    out += _xlogx(probs, positive, work)
    out /= -_LN2
    given = _flat(probs)[positions]
    _flat(confidence)[positions] = given  # q
    floored = low_c >= _FLOOR and (given.size == 0 or bool(given.min() >= _FLOOR))
    ratio_floored = _entropy_bound(min(low_p, low_c)) >= _FLOOR
    cwe_of(out, confidence, work, confidence_floored=floored, ratio_floored=ratio_floored)
    return True


def entropy_of_pair(confidence: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return the score (float64) of entries with self-confidence q and other probability o, any shape.

    The operations of ``cwe_scores`` (its two terms added in either order): bit for bit its score of each entry.
    """
    positive = confidence.size > 0 and bool(confidence.min() > 0) and bool(other.min() > 0)
    work = scratch("pair_work", confidence.shape, np.float64)  # both terms' second buffer, then the floors
    out = _xlogx(confidence, positive, np.empty(confidence.shape, dtype=np.float64))
    out += _xlogx(other, positive, work)
    out /= -_LN2
    return cwe_of(out, confidence, work)


def confidence_weighted_entropy(probs: np.ndarray, positions: np.ndarray, out: np.ndarray) -> bool:
    """Set ``out`` (float64) to the score of every entry: binary entropy over the self-confidence.

    Return False, with ``out`` unfilled, if some p lies outside [0, 1] (``cwe_scores``).
    """
    confidence = scratch("cwe_confidence", probs.shape, probs.dtype)
    return cwe_scores(probs, positions, confidence, out, scratch("cwe_work", probs.shape, np.float64))


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


def adjusted(
    probs: np.ndarray, positions: np.ndarray, adjustment: Adjustment, out: np.ndarray, classes: np.ndarray | None = None
) -> None:
    """Set ``out`` to the self-confidence on probabilities shifted by the per-class confident thresholds, float64.

    Binary matrix [1 - p, p] minus [t_absent, t_present], plus max(t_absent, t_present), then
    normalised to sum 1 (see ``Adjustment``). ``out`` gets the unlabelled entries densely; the
    labelled entries are computed from their own p and class (``classes``, the positions' columns,
    when known: an integer division costs more than the rest of an entry's work) and scattered
    in. The normalised row sums to 1, so the normalized margin ((q_given - q_other) + 1) / 2 is
    q_given as well.
    """
    flat, size = _flat(probs), probs.size
    absent = _flat(out)
    np.subtract(adjustment.absent_tile[:size], flat, out=absent)  # a0, in float64 (the tile's dtype)
    absent /= adjustment.row_sum_tile[:size]
    if classes is None:
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
    classes: np.ndarray | None = None,
) -> bool | None:
    """Fill ``out`` (shape of ``probs``) with the per-class scores of one row block.

    ``out`` may be float64 or, without adjustment and for the margin methods, the dtype of
    ``probs`` (so that a float32 block is scored and sorted in float32). ``classes``, the
    positions' columns, saves the adjustment dividing them out.

    Return whether every p lies in [0, 1] where the scoring reads it off anyway
    (confidence_weighted_entropy without adjustment: False leaves ``out`` unfilled), else None.
    """
    if adjustment is not None:
        adjusted(probs, positions, adjustment, out, classes)
    elif method == "confidence_weighted_entropy":
        return confidence_weighted_entropy(probs, positions, out)
    elif method == "self_confidence":
        _margin_in_dtype(self_confidence, probs, positions, out)
    else:
        _margin_in_dtype(normalized_margin, probs, positions, out)
    return None


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
