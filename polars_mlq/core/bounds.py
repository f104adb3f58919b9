"""Flags as bounds on p: the tests of every filter but the ``low_*`` ones, per class constants.

For a given label, every test a filter applies to an entry is monotone in its probability p
(``polars_mlq.core.binary``): disagreeing with the label, the confident guess, and a prune filter's
sort key, which is non-increasing in p for unlabelled entries and non-decreasing for labelled ones
(``1 - p`` and differences round monotonically). A prune cutoff (v, r) flags the entries whose
(key, row) is at most (v, r): those whose key is below v, and those whose key equals v in rows up
to r. With the key monotone, both sets are intervals of p, found once per class by bisection over
the floats, so that a flag is

- for an unlabelled entry: ``p > hi``, or ``lo < p <= hi`` and ``row <= r``;
- for a labelled entry: ``p <= lo``, or ``lo < p <= hi`` and ``row <= r``,

with per-class ``lo <= hi`` and ``r``. (lo, hi] holds the p whose key equals v; it is empty for
tests without ties (``lo == hi``). A batch's flags are then a comparison of its (n, K) probabilities
with K constants, no sort key computed, and the same test applies to listed entries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from polars_mlq.core.binary import boundaries, compare_columns, largest_true, sort_key
from polars_mlq.core.problems import Problems


def _compared(
    key: Callable[[np.ndarray], np.ndarray],
    compare: Callable[[np.ndarray, np.ndarray], NDArray[np.bool_]],
    values: np.ndarray,
    x: np.ndarray,
) -> NDArray[np.bool_]:
    return compare(key(x), values)


@dataclass(frozen=True)
class LabelBounds:
    """One test of the entries of one given label, as bounds on p (see the module docstring)."""

    label: int
    lo: np.ndarray  # (K,) float64, values of pred_probs' dtype (or -1 / 2)
    hi: np.ndarray  # (K,) float64
    row: np.ndarray  # (K,) int64: the last row flagged within (lo, hi]

    @classmethod
    def plain(cls, label: int, bound: np.ndarray) -> LabelBounds:
        """Return the test without ties: p > bound (unlabelled) or p <= bound (labelled)."""
        bound = np.asarray(bound, dtype=np.float64)
        return cls(label, bound, bound, np.full(bound.shape, -1, dtype=np.int64))

    @classmethod
    def of_cutoff(cls, by: str, label: int, values: np.ndarray, rows: np.ndarray, dtype: np.dtype[Any]) -> LabelBounds:
        """Return the test "(key, row) <= (values[c], rows[c])" for sort key ``by``, per class c."""
        one = dtype.type(1)
        v = np.asarray(values, dtype=np.float64)

        def key(x: np.ndarray) -> np.ndarray:
            return sort_key(by, label, x, np.subtract(one, x))

        finite = np.isfinite(v)
        parts = [np.flatnonzero(finite), np.flatnonzero(~finite)]  # cutoffs of nothing or everything: no bisection

        # where the key crosses v, roughly: key 1 - p, 1 - 2p (label 0), p, 2p - 1 (label 1)
        crossing = {("class", 0): 1.0 - v, ("margin", 0): (1.0 - v) / 2, ("class", 1): v, ("margin", 1): (v + 1.0) / 2}
        guess = crossing.get((by, label))

        def solve(compare: Callable[[np.ndarray, np.ndarray], NDArray[np.bool_]]) -> NDArray[np.float64]:
            out = np.empty(v.size, dtype=np.float64)
            for index in parts:
                if index.size:
                    test = functools.partial(_compared, key, compare, v[index])
                    out[index] = largest_true(test, dtype, index.size, None if guess is None else guess[index])
            return out

        if label == 0:  # key non-increasing in p
            hi, lo = solve(np.greater_equal), solve(np.greater)
        else:  # key non-decreasing in p
            lo, hi = solve(np.less), solve(np.less_equal)
        return cls(label, lo, hi, np.asarray(rows, dtype=np.int64))

    def restricted(self, bound: np.ndarray) -> LabelBounds:
        """Return this test and ``plain(label, bound)`` together, as one test."""
        if self.label == 0:  # and p > bound
            hi = np.maximum(self.hi, bound)
            lo = np.minimum(np.maximum(self.lo, bound), hi)
        else:  # and p <= bound
            lo = np.minimum(self.lo, bound)
            hi = np.maximum(np.minimum(self.hi, bound), lo)
        return LabelBounds(self.label, lo, hi, self.row)

    def _bands(self) -> NDArray[np.bool_]:
        """Per class, whether (lo, hi] can flag anything."""
        return (self.lo < self.hi) & (self.row >= 0)

    def entries(self, p: np.ndarray, cls: np.ndarray, rows: np.ndarray) -> NDArray[np.bool_]:
        """Return which entries (probability, class, row number) pass the test."""
        lo, hi = self.lo[cls], self.hi[cls]
        sure: NDArray[np.bool_] = p > hi if self.label == 0 else p <= lo
        if self._bands().any():
            sure |= (p > lo) & (p <= hi) & (rows <= self.row[cls])
        return sure

    def dense(self, probs: np.ndarray, rows: np.ndarray) -> NDArray[np.bool_]:
        """Return the (n, K) test of every entry of a batch as unlabelled (label 0 only).

        ``rows`` are the batch's row numbers (ascending); labelled entries are the caller's to
        overwrite. An entry in row ``rows[i] <= r`` passes at p > lo, a later one at p > hi: the
        batch splits into runs of rows with one bound per class, a comparison each.
        """
        assert self.label == 0
        n, k = probs.shape
        dtype = probs.dtype.type
        bands = self._bands()
        if not bands.any():
            return compare_columns(np.greater, probs, self.hi.astype(dtype))
        lo = np.where(bands, self.lo, self.hi).astype(dtype)
        hi = self.hi.astype(dtype)
        split = np.where(bands, np.searchsorted(rows, self.row, side="right"), 0)  # rows[:split] use lo
        edges = np.unique(np.concatenate([[0, n], split[(split > 0) & (split < n)]]))
        mask = np.empty((n, k), dtype=bool)
        if edges.size - 1 <= _MAX_RUNS:
            for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
                compare_columns(np.greater, probs[a:b], np.where(split > a, lo, hi), out=mask[a:b])
            return mask
        compare_columns(np.greater, probs, hi, out=mask)
        band = compare_columns(np.greater, probs, lo)
        band &= ~mask
        flat = np.flatnonzero(band)
        local, cls = np.divmod(flat, k)
        mask.reshape(-1)[flat[local < split[cls]]] = True
        return mask


#: ``LabelBounds.dense`` compares run by run up to this many runs of rows (one per class at most).
_MAX_RUNS = 256


#: Per given label (unlabelled, labelled), the tests an entry must all pass to be flagged.
BoundTests = tuple[tuple[LabelBounds, ...], tuple[LabelBounds, ...]]


def confident_tests(guesses: tuple[np.ndarray, np.ndarray], dtype: np.dtype[Any]) -> BoundTests:
    """Return confident learning's tests: the model disagrees and its confident guess is the other label.

    ``guesses`` are the per-class bounds (b1, b0) of ``ConfidentThresholds.guesses``.
    """
    agree = boundaries(dtype)
    b1, b0 = guesses
    return (LabelBounds.plain(0, np.maximum(b1, agree.missing)),), (LabelBounds.plain(1, np.minimum(b0, agree.extra)),)


def all_pass(tests: tuple[LabelBounds, ...], p: np.ndarray, cls: np.ndarray, rows: np.ndarray) -> NDArray[np.bool_]:
    """Return which entries pass every test (all of one given label)."""
    out = np.ones(p.shape, dtype=bool)
    for test in tests:
        out &= test.entries(p, cls, rows)
    return out


def dense_flags(tests: BoundTests, pb: Problems, rows: np.ndarray) -> NDArray[np.bool_]:
    """Return the (n, K) flags of a batch: ``tests[label]`` must all pass for an entry of that label.

    ``rows`` (n,) are the batch's row numbers.
    """
    unlabelled, labelled = tests
    mask = unlabelled[0].dense(pb.probs, rows)
    for test in unlabelled[1:]:
        mask &= test.dense(pb.probs, rows)
    cap = labelled[0].hi.max(initial=-1.0)  # a labelled entry can pass only at p <= hi of its first test
    flat = mask.reshape(-1)
    flat[pb.label_positions] = False
    can = np.flatnonzero(pb.lab_p <= cap)
    passed = all_pass(labelled, pb.lab_p[can], pb.lab_cls[can], rows[pb.rows_of(can)])
    flat[pb.label_positions[can[passed]]] = True
    return mask
