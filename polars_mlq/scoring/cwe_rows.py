"""The ``terms`` smallest confidence_weighted_entropy scores of each row of a block, for the EMA.

An entry's score comes from its self-confidence q and the other probability o of its binary pair
(o = p where the class is not labelled, 1 - p where it is). Except for a labelled entry with
p < 1/2, q is ``1 - o`` rounded in the dtype of p: exactly for p >= 1/2 (Sterbenz), and by
definition where the class is not labelled. So the score is a function of o alone, g(o), the
same arithmetic as the full path's (``per_class.cwe_scores``) and bit for bit its result.

Along o, g rises from 0 (o = 0) to about 1 (where the entropy ratio meets its 1e-6 floor, o about
3.8e-8) and then falls while q stays above its own 1e-6 floor. So the smallest scores of a row
whose q are all at least CWE_RISING_LOW are some of its smallest o (below RISING_OTHER, the
rising side) and some of its largest: a row sorted by o needs g of its first ``terms`` ordinary
entries (only if it has a rising side) and of its last ``terms``. The labelled entries with
p < 1/2 are scored apart (in the sort they take o = -1, so they come first and are skipped).
Rows with a q below CWE_RISING_LOW (where the score turns again), and blocks too narrow for two
ends, are scored in full.

Of entries whose o are equal to the last bit, g can differ in the last bit, so at the end of a
selection an entry may trade places with one whose score differs by an ulp: that moves the
``terms``-th smallest score, whose weight in the EMA is below 1e-15 (``aggregate.ema_terms``).
"""

from __future__ import annotations

import numpy as np

from polars_mlq.input import Batch
from polars_mlq.scoring.aggregate import SORT_KEYS, smallest_sorted, use_partition
from polars_mlq.scoring.per_class import (
    CWE_RISING_HIGH,
    CWE_RISING_LOW,
    confidence_weighted_entropy,
    cwe_scores,
    entropy_of_pair,
)
from polars_mlq.scoring.threads import scratch

#: Below this o an entry may be on the rising side (the true turn is at about 3.8e-8).
RISING_OTHER = 1.0 - CWE_RISING_HIGH


def _pair_scores(other: np.ndarray) -> np.ndarray:
    """Return g(o) (float64) of other probabilities o (any shape, the dtype of p)."""
    return entropy_of_pair(np.subtract(other.dtype.type(1), other), other)


def smallest_cwe(batch: Batch, start: int, rows: np.ndarray, terms: int) -> np.ndarray:
    """Return the ``terms`` smallest scores of the block rows ``start + rows`` (float64, ascending).

    Their probabilities must lie in [0, 1] (checked by the caller).
    """
    probs, positions = block_rows(batch, start, rows)
    n, k = probs.shape
    dtype = probs.dtype
    flat_p = probs.reshape(-1)
    labelled_p = flat_p[positions]
    special = labelled_p < 0.5  # q = p exactly, but 1 - o need not be p: scored apart
    special_rows = positions[special] // k
    counts = np.bincount(special_rows, minlength=n) if special_rows.size else np.zeros(n, dtype=np.intp)
    extra = int(counts.max(initial=0))
    if 2 * terms + extra > k:  # too narrow for two ends
        return in_full(probs, positions, terms)
    other = scratch("cwe_other", probs.shape, dtype)
    np.add(probs, dtype.type(0), out=other)  # o = p where unlabelled (-0.0 becomes +0.0)
    flat_o = other.reshape(-1)
    flat_o[positions] = np.subtract(dtype.type(1), labelled_p)
    flat_o[positions[special]] = -1.0  # sorts first: the special entries are scored apart
    if np.count_nonzero(other.max(axis=1, initial=0.0, where=other < RISING_OTHER) > 0) * 2 > n:
        # most rows have a rising side (a model sure of nearly every class): two ends of 2 * terms
        # entries each, plus the sort, cost more than scoring every entry
        return in_full(probs, positions, terms)
    keys = other.view(SORT_KEYS[dtype])
    if use_partition(2 * terms + extra, k):
        keys.partition((extra + terms - 1, k - terms), axis=1)
        keys[:, : extra + terms].sort(axis=1)
    else:
        keys.sort(axis=1)
    last = other[:, k - terms :]
    turning = np.flatnonzero(last.max(axis=1) > 1.0 - CWE_RISING_LOW)  # a q below CWE_RISING_LOW: the score turns
    parts = [_pair_scores(last)]
    firsts = np.take_along_axis(other, counts[:, None], axis=1)[:, 0]  # each row's smallest ordinary o
    rising = np.flatnonzero(firsts < RISING_OTHER)
    if rising.size:
        at = counts[rising, None] + np.arange(terms)
        head = np.full((n, terms), np.inf)
        head[rising] = _pair_scores(np.take_along_axis(other[rising], at, axis=1))
        parts.append(head)
    if extra:
        p = labelled_p[special]
        within = np.arange(special_rows.size) - np.searchsorted(special_rows, special_rows)  # rows ascend
        apart = np.full((n, extra), np.inf)
        apart[special_rows, within] = entropy_of_pair(p, np.subtract(dtype.type(1), p))
        parts.append(apart)
    candidates = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    candidates.sort(axis=1)
    smallest = candidates[:, :terms]
    if turning.size:
        smallest[turning] = in_full(*block_rows(batch, start, rows[turning]), terms)
    return smallest


def block_rows(batch: Batch, start: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the probabilities and flat label positions of the block rows ``start + rows`` (ascending).

    Consecutive rows are a view; others are gathered, their positions as if those rows stood alone.
    """
    n = rows.size
    if n and int(rows[-1]) - int(rows[0]) == n - 1:
        first = start + int(rows[0])
        return batch.probs[first : first + n], batch.positions(first, first + n)
    first_label = batch.label_offsets[start + rows]
    counts = batch.label_offsets[start + rows + 1] - first_label
    row_of = np.repeat(np.arange(n), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    positions: np.ndarray = row_of * batch.num_classes + batch.label_values[first_label[row_of] + within]
    return batch.probs[start + rows], positions


def in_full(probs: np.ndarray, positions: np.ndarray, terms: int, confidence: np.ndarray | None = None) -> np.ndarray:
    """Return the ``terms`` smallest scores of each row, every entry scored from its p.

    ``confidence``, when given, holds the rows' self-confidences (in row order), not taken again.
    """
    exact = scratch("cwe_exact", probs.shape, np.float64)
    if confidence is None:
        confidence_weighted_entropy(probs, positions, exact)
    else:
        cwe_scores(probs, positions, confidence, exact, scratch("cwe_work", probs.shape, np.float64))
    smallest: np.ndarray = smallest_sorted(exact, terms).copy()
    return smallest
