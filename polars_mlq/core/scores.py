"""Row and per-class scores as the ``low_*`` filters rank them (no adjustment of pred_probs)."""

from __future__ import annotations

import numpy as np

from polars_mlq.core.options import RANK_ALPHA
from polars_mlq.core.problems import Problems
from polars_mlq.scoring import per_class_scores


def plain_scores(pb: Problems, method: str) -> np.ndarray:
    """Return the (n, K) float64 binary scores (self confidence or normalized margin) of every entry."""
    out = np.empty(pb.probs.shape, dtype=np.float64)
    per_class_scores(np.ascontiguousarray(pb.probs), pb.label_positions, method, None, out)
    return out


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
