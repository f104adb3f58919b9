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

Where most rows of a block have a rising side (a model sure of nearly every class), the ends'
selection (``_ends``) scores ``terms`` entries at the low end but only END_TERMS at the high one,
and proves each row's result with a margin between its last kept score and the two entries that
bound the rest: rows it cannot prove are scored in full, so these rows' scores are the full
path's bit for bit.

Of entries whose o are equal to the last bit, g can differ in the last bit, so at the end of a
selection an entry may trade places with one whose score differs by an ulp: that moves the
``terms``-th smallest score, whose weight in the EMA is below 1e-15 (``aggregate.ema_terms``).
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np

from polars_mlq.input import Batch, all_probabilities, sorted_unique
from polars_mlq.scoring.aggregate import SORT_KEYS, smallest_sorted, sorts_as_floats, use_partition
from polars_mlq.scoring.per_class import (
    CWE_RISING_HIGH,
    CWE_RISING_LOW,
    confidence_weighted_entropy,
    entropy_of_pair,
)
from polars_mlq.scoring.threads import scratch

#: Below this o an entry may be on the rising side (the true turn is at about 3.8e-8).
RISING_OTHER = 1.0 - CWE_RISING_HIGH
#: How many of a row's largest o the ends' selection scores (``_ends``).
END_TERMS = 4
#: How far below both boundary scores the ends' selection needs its last kept score (``_ends``).
ENDS_MARGIN = 2e-9
SAMPLE_ROWS = 32  # the rows ``mostly_rising`` looks at


def _pair_scores(other: np.ndarray) -> np.ndarray:
    """Return g(o) (float64) of other probabilities o (any shape, the dtype of p)."""
    return entropy_of_pair(np.subtract(other.dtype.type(1), other), other)


@overload
def smallest_cwe(
    batch: Batch, start: int, rows: np.ndarray, terms: int, check: Literal[False] = False
) -> np.ndarray: ...
@overload
def smallest_cwe(batch: Batch, start: int, rows: np.ndarray, terms: int, check: bool) -> np.ndarray | None: ...
def smallest_cwe(batch: Batch, start: int, rows: np.ndarray, terms: int, check: bool = False) -> np.ndarray | None:
    """Return the ``terms`` smallest scores of the block rows ``start + rows`` (float64, ascending).

    Their probabilities must lie in [0, 1]: checked by the caller, or with ``check`` here: None
    if some p lies outside [0, 1] (NaN included). The selection reads that off its own sort
    (``_selection_in_unit_interval``); the ends' selection and rows scored in full take the whole
    block's check first (``all_probabilities``, which says None for a -0.0 too: the full check
    then accepts it as the 0 it is).
    """
    probs, positions = block_rows(batch, start, rows)
    n, k = probs.shape
    dtype = probs.dtype
    flat_p = probs.reshape(-1)
    labelled_p = flat_p[positions]
    # q = p exactly, but 1 - o need not be p: scored apart, each entry once (a label may repeat)
    special_at = positions[labelled_p < 0.5]
    if special_at.size:
        special_at = sorted_unique(special_at, probs.size)
    special_p = flat_p[special_at]
    special_rows = special_at // k
    counts = np.bincount(special_rows, minlength=n) if special_rows.size else np.zeros(n, dtype=np.intp)
    extra = int(counts.max(initial=0))
    edge = extra + terms  # the head's boundary in the ends' selection (``_ends``)
    fits = edge + min(END_TERMS, terms) + 2 <= k
    narrow = 2 * terms + extra > k  # too narrow for two ends of ``terms`` entries

    def refused() -> bool:  # the whole block's check, for the paths that do not read it off the sort
        return check and not all_probabilities(probs)

    if narrow and not (fits and mostly_rising(probs)):
        return None if refused() else in_full(probs, positions, terms)
    other = scratch("cwe_other", probs.shape, dtype)
    np.add(probs, dtype.type(0), out=other)  # o = p where unlabelled (-0.0 becomes +0.0)
    flat_o = other.reshape(-1)
    flat_o[positions] = np.subtract(dtype.type(1), labelled_p)
    flat_o[special_at] = -1.0  # sorts first: the special entries are scored apart
    keys = other.view(SORT_KEYS[dtype])
    sorted_rows = not use_partition(2 * terms + extra, k)
    if not sorted_rows:
        by_ends = fits and mostly_rising(probs)  # a model sure of nearly every class: the ends' selection
        keys.partition((edge, k - min(END_TERMS, terms) - 1) if by_ends else (extra + terms - 1, k - terms), axis=1)
        if by_ends:
            return None if refused() else _ends(batch, start, rows, other, special_p, edge, terms)
        keys[:, : extra + terms].sort(axis=1)
        firsts = np.take_along_axis(other, counts[:, None], axis=1)[:, 0]  # each row's smallest ordinary o
    else:
        (other if sorts_as_floats(dtype, k) else keys).sort(axis=1)  # the same order: o is -1 or in [+0, 1]
        firsts = np.take_along_axis(other, counts[:, None], axis=1)[:, 0]
        if fits and np.count_nonzero(firsts < RISING_OTHER) * 2 > n:
            return None if refused() else _ends(batch, start, rows, other, special_p, edge, terms)
        if narrow:
            return None if refused() else in_full(probs, positions, terms)
    last = np.ascontiguousarray(other[:, k - terms :])  # (scored below: contiguous loops, as in cwe_of_confidence)
    # A row's largest o is its last sorted one; partitioned, the largest of its last columns. (A
    # row maximum over a short axis costs 2.7 ns an entry and keeps the GIL: a column loop.)
    largest = last[:, -1] if sorted_rows else _row_maximum(last)
    if check and not _selection_in_unit_interval(firsts, largest, special_p):
        return None
    turning = np.flatnonzero(largest > 1.0 - CWE_RISING_LOW)  # a q below CWE_RISING_LOW: the score turns
    parts = [_pair_scores(last)]
    rising = np.flatnonzero(firsts < RISING_OTHER)
    if rising.size:
        at = counts[rising, None] + np.arange(terms)
        head = np.full((n, terms), np.inf)
        head[rising] = _pair_scores(np.take_along_axis(other[rising], at, axis=1))
        parts.append(head)
    if extra:
        p = special_p
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


def _ends(
    batch: Batch, start: int, rows: np.ndarray, other: np.ndarray, special_p: np.ndarray, head: int, terms: int
) -> np.ndarray:
    """Return the ``terms`` smallest scores of rows most of which have a rising side, exactly.

    ``other`` holds the rows' o, the special entries as -1, with the ``head + 1`` smallest in
    its first columns (the largest of them at ``head``) and the ``END_TERMS + 1`` largest (at
    most ``terms + 1``) in its last, the smallest of them first: sorted or partitioned so.
    ``special_p`` holds the special entries' p, in row order. Scored are those two ends: ``head``
    covers a row's specials and ``terms`` of its smallest o, but the tail only ``END_TERMS`` of
    its largest, for a model sure of its classes has few entries on the falling side with scores
    below its rising side's.

    The entries not scored lie between the two boundary entries in o, where g rises then falls,
    so the true g of each is at least the smaller true g of the two. A computed g is within 3e-10
    of the true g of its o: 1 + r rounds by up to 1.1e-16 and the ratio floor divides that by
    1e-6, and the rounding of q = 1 - o moves the entropy by up to 8e-17 (the same 1.6e-10 after
    the floor); every other step is a relative error of a few ulps. So where a row's
    ``terms``-th smallest scored entry lies ENDS_MARGIN below both boundaries, no entry left out
    can come before it, ties and ulps included: the result is the full path's, bit for bit. The
    other rows (a long falling side, ties at a boundary, a q below CWE_RISING_LOW) are scored in
    full.
    """
    k = other.shape[1]
    tail = min(END_TERMS, terms)
    o = np.concatenate((other[:, : head + 1], other[:, k - tail - 1 :]), axis=1)
    apart = o < 0
    o[apart] = 0.5  # a placeholder: the special entries are scored from their own p
    scores = _pair_scores(o)
    if special_p.size:  # apart's entries run in row order, as ``special_p`` does
        scores[apart] = entropy_of_pair(special_p, np.subtract(special_p.dtype.type(1), special_p))
    bound = np.minimum(scores[:, head], scores[:, head + 1])
    bound -= ENDS_MARGIN
    turning = _row_maximum(o[:, head + 1 :]) > 1.0 - CWE_RISING_LOW  # a q below CWE_RISING_LOW: g turns again
    scores.sort(axis=1)
    smallest = scores[:, :terms]
    redo = np.flatnonzero(turning | ~(smallest[:, -1] < bound))
    if redo.size:
        smallest[redo] = in_full(*block_rows(batch, start, rows[redo]), terms)
    return smallest


def _selection_in_unit_interval(firsts: np.ndarray, largest: np.ndarray, special_p: np.ndarray) -> bool:
    """Return whether every p of a block lies in [0, 1], read off its rows' sorted o.

    o is p (an unlabelled entry, -0.0 made +0.0), 1 - p (a labelled p >= 1/2: exact, and below 0
    exactly when p > 1) or the marker -1 (a labelled p < 1/2, kept in ``special_p``). A NaN p
    gives a NaN o either way. Sorted, on bits or as floats, a row's values below +0 (negatives,
    -inf, and on bits -NaN) come before every other value, the markers among them, so its value
    after its markers (``firsts``) is below +0, or NaN, exactly when one of its other o is; a
    value above 1 (+inf, and NaN wherever a float sort puts it) is its largest. Each test fails
    on NaN. The markers' own p are checked from ``special_p`` (their p < 1/2; a negative fails).
    """
    if firsts.size and not (firsts.min() >= 0 and largest.max() <= 1):
        return False
    return bool(special_p.size == 0 or special_p.min() >= 0)


def _row_maximum(values: np.ndarray) -> np.ndarray:
    """Return the maximum of each row of a few columns (NaN propagates), column by column."""
    largest: np.ndarray = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        np.maximum(largest, values[:, column], out=largest)
    return largest


def mostly_rising(probs: np.ndarray) -> bool:
    """Return whether most of a block's first rows seem to have a rising side (an o below RISING_OTHER).

    Such blocks (a model sure of nearly every class) go to the ends' selection (``_ends``). The
    guess reads p as o, which it is for every class not labelled (most of them): a guess of
    speed only, for every path gives the same scores.
    """
    sample = probs[:SAMPLE_ROWS]
    return bool(np.count_nonzero((sample < RISING_OTHER).any(axis=1)) * 2 > sample.shape[0])


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


def in_full(probs: np.ndarray, positions: np.ndarray, terms: int) -> np.ndarray:
    """Return the ``terms`` smallest scores of each row, every entry scored from its p."""
    exact = scratch("cwe_exact", probs.shape, np.float64)
    in_range = confidence_weighted_entropy(probs, positions, exact)
    assert in_range  # every caller checked these rows' range first
    smallest: np.ndarray = smallest_sorted(exact, terms).copy()
    return smallest
