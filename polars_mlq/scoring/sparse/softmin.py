"""The softmin of sparse rows, from their explicit entries and the sorted constants.

Softmin is sum_k s_k u_k / sum_k u_k with u_k = exp(-(s_k - m) / T), m the row's smallest score
(cleanlab's softmax of (1 - s) / T, shifted by its largest value: the same weights). A row's
scores are the constants of the classes it does not make explicit, and its explicit scores. The
constants left form runs of the sorted constants C between the positions taken out, and a run
[a, b) sums, with the normalized suffix sums A(g) = sum_{g' >= g} exp(-(C_{g'} - C_g) / T) and
B(g) = sum_{g' >= g} C_{g'} exp(-(C_{g'} - C_g) / T), as

    sum_{[a, b)} u = exp(-(C_a - m) / T) (A(a) - exp(-(C_b - C_a) / T) A(b))

(B likewise). The run's first term is the largest, so nothing is lost to cancellation beyond what
the sums themselves hold. A and B are computed once, in blocks over which the constants span at
most 600 T, summed in extended precision; a row then costs O(m log m) for its m explicit entries.
"""

from __future__ import annotations

import numpy as np

from polars_mlq.scoring.sparse.rows import (
    Bucket,
    ExplicitRows,
    bottom_run,
    buckets,
    one_constant,
    sorted_constants,
    sorted_scores,
)

#: A block of the suffix sums spans at most this many temperatures (exp(-600) does not underflow).
_SPAN = 600.0


def normalized_sums(sorted_c: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Return A and B (see the module's docstring) for g in [0, K], with A[K] = B[K] = 0."""
    k = sorted_c.size
    a_sums, b_sums = np.zeros(k + 1), np.zeros(k + 1)
    starts = [0]
    while starts[-1] < k:  # blocks of constants within 600 T of their first (at most ~1/(600 T) + 1)
        first = starts[-1]
        starts.append(max(first + 1, int(np.searchsorted(sorted_c, sorted_c[first] + _SPAN * temperature, "right"))))
    next_a = next_b = np.longdouble(0.0)
    next_c = 0.0
    for lo, hi in zip(starts[-2::-1], starts[:0:-1], strict=True):  # from the last block
        c = sorted_c[lo:hi]
        weights = np.exp(-(c - c[0]) / temperature)  # in [exp(-600), 1]
        carry = np.exp(-(next_c - c) / temperature) if hi < k else np.zeros(hi - lo)
        local_a = np.cumsum(weights[::-1].astype(np.longdouble))[::-1] / weights
        local_b = np.cumsum((c * weights)[::-1].astype(np.longdouble))[::-1] / weights
        block_a = local_a + carry * next_a
        block_b = local_b + carry * next_b
        a_sums[lo:hi], b_sums[lo:hi] = block_a, block_b
        next_a, next_b, next_c = block_a[0], block_b[0], float(c[0])
    return a_sums, b_sums


def sparse_softmin(explicit: ExplicitRows, temperature: float) -> np.ndarray:
    """Return each row's softmin (temperature clamped to at least 1e-6, as cleanlab does) over its K scores."""
    t = max(float(temperature), 1e-6)
    k, n = explicit.num_classes, explicit.n_rows
    out = np.empty(n)
    if k == 0 or n == 0:
        return out[:n] * 0
    if one_constant(explicit.constants):
        return _one_constant_softmin(explicit, t, out)
    sorted_c, position = sorted_constants(explicit.constants)
    a_sums, b_sums = normalized_sums(sorted_c, t)
    for bucket in buckets(explicit):
        out[bucket.rows] = _rows(bucket, sorted_c, position, a_sums, b_sums, t)
    return out


def _one_constant_softmin(explicit: ExplicitRows, t: float, out: np.ndarray) -> np.ndarray:
    """Return the softmin when every class's constant is one value v: its R = K - m copies weigh R u(v)."""
    k = explicit.num_classes
    v = float(explicit.constants[0])
    for rows, scores, counts in sorted_scores(explicit):
        width = scores.shape[1]
        valid = np.arange(width)[None, :] < counts[:, None]
        run = (k - counts).astype(np.float64)
        smallest = np.where(counts > 0, scores[:, 0], np.inf)
        m = np.where(run > 0, np.minimum(smallest, v), smallest)
        s = np.where(valid, scores, 0.0)
        u = np.where(valid, np.exp(np.minimum(-(s - m[:, None]) / t, 0.0)), 0.0)
        u_run = run * np.exp(np.minimum(-(v - m) / t, 0.0))
        out[rows] = ((s * u).sum(axis=1) + v * u_run) / (u.sum(axis=1) + u_run)
    return out


def _rows(
    bucket: Bucket, sorted_c: np.ndarray, position: np.ndarray, a_sums: np.ndarray, b_sums: np.ndarray, t: float
) -> np.ndarray:
    k = sorted_c.size
    valid = bucket.valid
    excluded = np.where(valid, position[np.maximum(bucket.classes, 0)], k)
    excluded.sort(axis=1)  # ascending, padding (K) last
    lowest = bottom_run(np.where(valid, position[np.maximum(bucket.classes, 0)], -1), valid)
    constant_min = np.where(lowest < k, sorted_c[np.minimum(lowest, k - 1)], np.inf)
    explicit_min = np.where(valid[:, 0], bucket.scores[:, 0], np.inf)
    m = np.minimum(constant_min, explicit_min)[:, None]
    # runs of constants: [0, e_0), [e_0 + 1, e_1), ..., [e_last + 1, K)
    starts = np.minimum(np.concatenate([np.zeros((excluded.shape[0], 1), dtype=np.int64), excluded + 1], axis=1), k)
    stops = np.concatenate([excluded, np.full((excluded.shape[0], 1), k, dtype=np.int64)], axis=1)
    nonempty = stops > starts
    c_start = sorted_c[np.minimum(starts, k - 1)]
    c_stop = np.where(stops < k, sorted_c[np.minimum(stops, k - 1)], c_start)
    scale = np.exp(np.minimum(-(c_start - m) / t, 0.0))
    tail = np.exp(np.minimum(-(c_stop - c_start) / t, 0.0))
    run_a = np.where(nonempty, scale * (a_sums[starts] - tail * a_sums[stops]), 0.0)
    run_b = np.where(nonempty, scale * (b_sums[starts] - tail * b_sums[stops]), 0.0)
    s = np.where(valid, bucket.scores, 0.0)
    u = np.where(valid, np.exp(np.minimum(-(s - m) / t, 0.0)), 0.0)
    total: np.ndarray = (run_b.sum(axis=1) + (s * u).sum(axis=1)) / (run_a.sum(axis=1) + u.sum(axis=1))
    return total
