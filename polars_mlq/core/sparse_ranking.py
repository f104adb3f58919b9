"""The ranking of flagged sparse rows by their adjusted scores, bit for bit as on the densified rows.

cleanlab ranks flagged rows by the EMA of each row's K binary scores (``core.scores.ema``): sorted
ascending, a_0 <= ... <= a_{K-1}, the state starts at a_{K-1} and steps
``s = alpha * a_j + (1 - alpha) * s`` down to a_0. With ``adjust_pred_probs`` a class's implicit
entries (unlabelled, p = fill) score a constant of their own class, so a sparse row's sorted
scores are its explicit scores among K distinct constants, and stepping each row K times would
cost O(N K).

Each rounded step is a non-decreasing function of s, and a state is a rounded weighted mean of the
values stepped so far. So the state before the last ``tail`` steps lies between a_tail and a_{K-1}:
stepping the tail from both ends bounds the result from below and above, and where the two runs
end equal that is the result, bit for bit. After ``tail`` steps the two runs differ by about
0.2**tail of their gap before rounding, so they nearly always meet; a row where they do not is
stepped again with a tail four times longer, up to K (every step). A row costs O(tail + m log m)
for its m explicit entries, whatever K: the ``tail + 1`` smallest scores come from its explicit
scores and the ``tail + 1 + m`` smallest constants, less its own classes' constants.
"""

from __future__ import annotations

import numpy as np

from polars_mlq.core.options import LOW_FILTERS, RANK_ALPHA
from polars_mlq.core.scores import adjusted_binary
from polars_mlq.core.thresholds import ConfidentThresholds, ThresholdPartial
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.scoring.sparse.rows import ExplicitRows, buckets, sorted_constants, top_run
from polars_mlq.scoring.sparse.scores import explicit_entries

#: Steps of the EMA taken from both ends of the state's range (``sandwiched_ema``), at first.
TAIL = 32


def adjusted_ranking_scores(batch: SparseBatch, rows: np.ndarray, method: str, filter_by: str) -> np.ndarray:
    """Return the ranking scores (EMA, alpha 0.8, adjusted binary scores) of ``rows`` of the batch.

    As the dense ranking takes them: with a ``low_*`` filter the thresholds are those of the
    ranked rows alone (cleanlab scores the chosen rows as a dataset of their own), otherwise those
    of every row.
    """
    chosen = batch.take_rows(rows)
    thresholds = ThresholdPartial.of_sparse(chosen if filter_by in LOW_FILTERS else batch).finalize()
    return sandwiched_ema(adjusted_rows(chosen, thresholds, method), RANK_ALPHA)


def adjusted_rows(batch: SparseBatch, thresholds: ConfidentThresholds, method: str) -> ExplicitRows:
    """Return the explicit entries' adjusted ranking scores and every class's constant (p = fill, unlabelled)."""
    indptr, classes, p, labelled = explicit_entries(batch)
    k = batch.num_classes
    scores = np.empty(p.size, dtype=np.float64)
    constants = np.empty(k, dtype=np.float64)
    fill = np.full(k, batch.fill, dtype=batch.probs.dtype)
    for wide in (False, True):
        dtype = np.dtype(np.float64) if wide else batch.probs.dtype
        at = np.flatnonzero(thresholds.wide[classes] == wide)
        scores[at] = adjusted_binary(p[at], labelled[at], thresholds.values[classes[at]], dtype, method)
        cols = np.flatnonzero(thresholds.wide == wide)
        unlabelled = np.zeros(cols.size, dtype=bool)
        constants[cols] = adjusted_binary(fill[cols], unlabelled, thresholds.values[cols], dtype, method)
    return ExplicitRows(indptr, classes, scores, constants)


def sandwiched_ema(explicit: ExplicitRows, alpha: float, tail: int = TAIL) -> np.ndarray:
    """Return each row's ``core.scores.ema`` of its K scores (explicit, else its class's constant)."""
    k = explicit.num_classes
    out = np.empty(explicit.n_rows, dtype=np.float64)
    if k == 0:
        out.fill(0.0)
        return out
    ordered, position = sorted_constants(explicit.constants)
    for bucket in buckets(explicit):
        rows, scores, valid = bucket.rows, bucket.scores, bucket.valid
        ranks = np.where(valid, position[np.maximum(bucket.classes, 0)], -1)
        steps = tail
        pending = np.arange(rows.size)
        while pending.size:
            values, settled = _tail_ema(ordered, scores[pending], ranks[pending], valid[pending], steps, alpha)
            out[rows[pending[settled]]] = values[settled]
            pending = pending[~settled]
            steps = max(4 * steps, 1)
    return out


def _tail_ema(
    ordered: np.ndarray, scores: np.ndarray, ranks: np.ndarray, valid: np.ndarray, steps: int, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (EMA, settled) of rows with explicit ``scores`` (ascending, +inf padding) at constant ``ranks``.

    The row's smallest ``steps + 1`` scores are stepped from both ends of the state's range; where
    ``steps + 1`` reaches K every score is stepped and the result is exact.
    """
    k = ordered.size
    b, width = scores.shape
    length = min(k, steps + 1 + width)  # the steps + 1 smallest constants a row keeps lie in there
    candidates = np.tile(ordered[:length], (b, 1))
    own = valid & (ranks < length)
    candidates[np.nonzero(own)[0], ranks[own]] = np.inf  # a row's own classes score explicitly
    row = np.concatenate([candidates, scores], axis=1)
    row.sort(axis=1)
    rest = 1.0 - alpha
    if k <= steps + 1:  # every score is among the k smallest: step them all
        state = row[:, k - 1].copy()
        for j in range(k - 2, -1, -1):
            state = alpha * row[:, j] + rest * state
        return state, np.ones(b, dtype=bool)
    counts = np.count_nonzero(valid, axis=1)
    largest_explicit = np.where(counts > 0, scores[np.arange(b), np.maximum(counts - 1, 0)], -np.inf)
    run = top_run(ranks, valid, k - 1)  # the top constants that are the row's own classes
    largest_constant = np.where(run < k, ordered[np.maximum(k - 1 - run, 0)], -np.inf)
    high = np.maximum(largest_explicit, largest_constant)  # a_{K-1}
    low = row[:, steps].copy()  # a_steps
    for j in range(steps - 1, -1, -1):
        low = alpha * row[:, j] + rest * low
        high = alpha * row[:, j] + rest * high
    return low, low == high
