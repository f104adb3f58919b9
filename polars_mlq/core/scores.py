"""Row and per-class scores as the issue finders rank them (cleanlab's own operations, near-ties included)."""

from __future__ import annotations

from typing import Any

import numpy as np

from polars_mlq.core.options import RANK_ALPHA
from polars_mlq.core.problems import Problems
from polars_mlq.scoring import per_class_scores


def plain_scores(pb: Problems, method: str) -> np.ndarray:
    """Return the (n, K) float64 binary scores (self confidence or normalized margin) of every entry."""
    out = np.empty(pb.probs.shape, dtype=np.float64)
    filled = per_class_scores(np.ascontiguousarray(pb.probs), pb.label_positions, method, None, out)
    assert filled is not False  # the rows' range was checked when they were read
    return out


def adjusted_binary(p: np.ndarray, given: np.ndarray, t: np.ndarray, dtype: np.dtype[Any], method: str) -> np.ndarray:
    """Return the ranking score of entries on adjusted probabilities, as cleanlab's ranking computes it.

    ``p`` (pred_probs' dtype) and ``given`` (the entries' labels) have one shape, and ``t``
    (float64 ``[t_absent, t_present]`` in its last axis) broadcasts against them: per column of
    a dense block, or per entry of sparse rows. Computed in ``dtype`` (the thresholds' dtype:
    pred_probs' own, or float64 for a class with an empty group), each binary pair shifted by its
    thresholds and divided by its own sum, then ``q_given`` (self_confidence) or
    ``((q_given - q_other) + 1) / 2`` (normalized_margin): the same operations on the same
    values give the same bits on every path.
    """
    t = t.astype(dtype)
    shift = np.maximum(t[..., 0], t[..., 1])
    q0 = np.subtract(p.dtype.type(1), p).astype(dtype) - t[..., 0]
    q1 = p.astype(dtype) - t[..., 1]
    q0 += shift
    q1 += shift
    total = q0 + q1
    q0 /= total
    q1 /= total
    mine: np.ndarray = np.where(given, q1, q0)
    if method == "normalized_margin":
        mine = ((mine - np.where(given, q0, q1)) + 1) / 2
    return mine


def ema(scores: np.ndarray, alpha: float = RANK_ALPHA) -> np.ndarray:
    """Return the exponential moving average of each row, from its largest score down to its smallest.

    The operations run in the same order as cleanlab's (so near-ties sort alike).
    """
    ordered = np.sort(scores, axis=1)
    n, k = ordered.shape
    if k == 0:
        return np.zeros(n)
    result: np.ndarray = ordered[:, k - 1].copy()
    rest = 1.0 - alpha
    for j in range(k - 2, -1, -1):
        result = alpha * ordered[:, j] + rest * result
    return result
