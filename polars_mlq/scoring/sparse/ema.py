"""The exponential moving average of sparse rows, from their explicit entries and the sorted constants.

With a row's K scores sorted ascending, a_0 <= ... <= a_{K-1}, and beta = 1 - alpha, the EMA is

    E = sum_{r < K-1} alpha beta^r a_r + beta^{K-1} a_{K-1} = alpha sum_r beta^r a_r + beta^K a_{K-1}.

A row's scores are the K sorted constants C (a class's constant sits at its position g in that
order), less the constants of its explicit classes, plus its explicit scores. Take every constant
at rank g (a row with no explicit entry: E = alpha S(0) + beta^K C_{K-1}, with the normalized
suffix sums S(g) = sum_{g' >= g} beta^{g'-g} C_{g'}) and correct for each *event* along the
positions, in order, where d is the row's shift (ranks gained) before the event:

- an explicit score s goes in at position e (the constants below it: e = #{C < s}); it takes rank
  e + d, and every constant from e on moves up one rank:
  ``alpha beta^(e+d) (s - alpha S(e))``;
- an explicit class's constant, at position g, comes out (an event at e = g + 1): every constant
  from e on moves down one rank, and its own term goes:
  ``alpha beta^(e-1+d) (alpha S(e) - C_{e-1})``.

Each event costs O(1), and a row's events are ordered by one sort of its 2m keys, so a row costs
O(m log m) for m explicit entries, whatever K; the sums S cost O(K) once. Every exponent is a
rank (at least 0), so nothing overflows. The S are computed in blocks over which beta^L stays
above 1e-260, summed in extended precision, so they are accurate for any alpha, including the
tiny alpha = 2 / (K + 1) that ``alpha=None`` gives for a million classes.
"""

from __future__ import annotations

import math

import numpy as np

from polars_mlq.scoring.sparse.rows import (
    Bucket,
    ExplicitRows,
    buckets,
    one_constant,
    sorted_constants,
    sorted_scores,
    top_run,
)

#: A block of the suffix sums spans at most this much of -log(beta^L) (beta^L stays above 1e-260).
_SPAN = 600.0


def normalized_suffix(values: np.ndarray, beta: float) -> np.ndarray:
    """Return S with S[g] = sum_{g' >= g} beta^(g' - g) values[g'] for g in [0, K], S[K] = 0."""
    k = values.size
    out = np.zeros(k + 1)
    if k == 0:
        return out
    if beta == 0.0:
        out[:k] = values
        return out
    length = k if beta >= 1.0 else max(1, min(k, int(_SPAN / -math.log(beta))))
    blocks = -(-k // length)
    padded = np.zeros(blocks * length)
    padded[:k] = values
    weights = np.power(beta, np.arange(length, dtype=np.float64))  # beta^i >= 1e-260
    terms = (padded.reshape(blocks, length) * weights).astype(np.longdouble)
    local = np.cumsum(terms[:, ::-1], axis=1)[:, ::-1] / weights  # within a block, normalized
    carry = np.power(beta, np.arange(length, 0, -1, dtype=np.float64))  # beta^(L - i)
    start = np.longdouble(0.0)
    result = np.empty((blocks, length), dtype=np.longdouble)
    for b in range(blocks - 1, -1, -1):  # one step a block (K / L of them), from the last
        result[b] = local[b] + carry * start
        start = result[b, 0]
    out[:k] = result.reshape(-1)[:k]
    return out


def sparse_ema(explicit: ExplicitRows, alpha: float) -> np.ndarray:
    """Return each row's EMA (``alpha`` in [0, 1]) over its K per-class scores, from its explicit entries."""
    k = explicit.num_classes
    n = explicit.n_rows
    out = np.empty(n)
    if k == 0 or n == 0:
        return out[:n] * 0
    beta = 1 - alpha
    if one_constant(explicit.constants):
        return _one_constant_ema(explicit, alpha, out)
    sorted_c, position = sorted_constants(explicit.constants)
    suffix = normalized_suffix(sorted_c, beta)
    # beta^rank: between events a row holds the K constants and the scores inserted so far, less
    # the constants removed so far, so ranks run up to K - 1 + m for m explicit entries
    widest = int(np.diff(explicit.indptr).max(initial=0))
    powers = np.power(beta, np.arange(k + 2 * widest + 1, dtype=np.float64))
    last_weight = beta**k
    base = alpha * suffix[0]
    for bucket in buckets(explicit):
        out[bucket.rows] = base + _events(bucket, sorted_c, position, suffix, powers, alpha)
        out[bucket.rows] += last_weight * _row_max(bucket, sorted_c, position)
    return out


def _one_constant_ema(explicit: ExplicitRows, alpha: float, out: np.ndarray) -> np.ndarray:
    """Return the EMA when every class's constant is one value v (no adjustment): a closed form per row.

    With a row's m explicit scores sorted, the a of them below v take ranks 0..a-1, the R = K - m
    copies of v ranks a..a+R-1 (their weights sum to v beta^a (1 - beta^R)), and the others ranks
    from a + R on: ``E = alpha sum_j beta^j s_j (times beta^R from j = a on) + v beta^a (1 - beta^R)
    + beta^K max``.
    """
    k = explicit.num_classes
    beta = 1 - alpha
    v = float(explicit.constants[0])
    for rows, scores, counts in sorted_scores(explicit):
        width = scores.shape[1]
        steps = np.arange(width)[None, :]
        below = np.count_nonzero(scores < v, axis=1)  # padding (+inf) is not below
        largest = np.where(counts > 0, scores[np.arange(rows.size), np.maximum(counts - 1, 0)], -np.inf)
        np.putmask(scores, steps >= counts[:, None], 0.0)  # padding weighs nothing
        run = k - counts
        beyond = np.power(beta, run)  # beta^R
        factor = np.where(steps < below[:, None], 1.0, beyond[:, None])
        factor *= alpha * np.power(beta, steps)
        factor *= scores
        largest = np.where(run > 0, np.maximum(largest, v), largest)
        out[rows] = factor.sum(axis=1) + v * np.power(beta, below) * (1 - beyond) + beta**k * largest
    return out


def _events(
    bucket: Bucket,
    sorted_c: np.ndarray,
    position: np.ndarray,
    suffix: np.ndarray,
    powers: np.ndarray,
    alpha: float,
) -> np.ndarray:
    """Sum, per row of the bucket, the corrections of its events (see the module's docstring)."""
    k = sorted_c.size
    width = bucket.width
    valid = bucket.valid
    steps = np.arange(width, dtype=np.int64)[None, :]
    inserted = np.searchsorted(sorted_c, bucket.scores, side="left")  # in [0, K]
    removed = np.where(valid, position[np.maximum(bucket.classes, 0)] + 1, 0)  # in [1, K]
    # keys: (event position, kind, entry): removals (kind 0) before insertions (kind 1) at one
    # position; insertions in score order; padding after every real event
    pad = (k + 1) * 2 * width
    keys = np.concatenate(
        [
            np.where(valid, (removed * 2) * width + steps, pad + steps),
            np.where(valid, (inserted * 2 + 1) * width + steps, pad + width + steps),
        ],
        axis=1,
    )
    keys.sort(axis=1)
    at = keys // (2 * width)
    kind = (keys // width) % 2
    entry = keys % width
    real = at <= k
    delta = np.where(real, 2 * kind - 1, 0)
    before = np.cumsum(delta, axis=1) - delta  # the shift d before each event
    at = np.minimum(at, k)
    s = np.where(real & (kind == 1), np.take_along_axis(bucket.scores, entry, axis=1), 0.0)
    ins_rank = np.where(real, at + before, 0)
    rem_rank = np.where(real, at - 1 + before, 0)
    suffix_at = suffix[at]
    ins = alpha * powers[ins_rank] * (s - alpha * suffix_at)
    rem = alpha * powers[rem_rank] * (alpha * suffix_at - sorted_c[np.maximum(at - 1, 0)])
    terms = np.where(real, np.where(kind == 1, ins, rem), 0.0)
    total: np.ndarray = terms.sum(axis=1)
    return total


def _row_max(bucket: Bucket, sorted_c: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Return each row's largest score: its largest explicit score, or its largest remaining constant."""
    k = sorted_c.size
    valid = bucket.valid
    counts = bucket.counts
    explicit_max = np.where(
        counts > 0, np.take_along_axis(bucket.scores, np.maximum(counts - 1, 0)[:, None], axis=1)[:, 0], -np.inf
    )
    excluded = np.where(valid, position[np.maximum(bucket.classes, 0)], -1)
    top = k - 1 - top_run(excluded, valid, k - 1)
    constant_max = np.where(top >= 0, sorted_c[np.maximum(top, 0)], -np.inf)
    result: np.ndarray = np.maximum(explicit_max, constant_max)
    return result
