"""cleanlab's ``low_memory=True`` filter (``core.low_memory``) on sparse (top-k) rows.

A class's entries are its explicit ones (listed, or labelled: ``SparseChunk.entries``) and its
implicit ones, unlabelled with p = fill_value. For the three steps of the batched filter:

1. the thresholds of each batch of ``BATCH_ROWS`` row numbers are those of its densified rows, from
   per-class sums over the explicit entries the batch holds (``_BatchSums``);
2. an implicit entry is an issue only where the model would call the class present at p = fill;
3. no implicit entry is flagged (the agreement filter drops it: fill_value is below about one
   half, ``check_fill``), but each takes a place in its class's ranking. They all score one value
   c (the ranking method's score of an unlabelled p = fill), so they lie in one run at c, in row
   order, with the explicit entries that score exactly c. Class k's m-th smallest (score, row)
   is the m-th smallest explicit pair while m is at most the B explicit pairs below c, and the
   (m - I)-th smallest explicit pair when m is beyond the run (I implicit entries). Within the
   run only the explicit survivors that score exactly c need the cutoff's row: one more pass
   counts, for each, the run's rows up to its own (every scored row up to it, less the explicit
   entries of its class that do not score c), and the cutoff keeps those within the first
   m - B. Every partial is O(K) counts, at most m pairs a class, or one count per such survivor.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from polars_mlq.core import exact, fixed
from polars_mlq.core.binary import SLACK
from polars_mlq.core.chunk import map_chunks
from polars_mlq.core.low_memory import BATCH_ROWS, LowMemoryRule, running_thresholds
from polars_mlq.core.select import GroupedSmallest, grouped_nth, within
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ThresholdPartial, fill_unit, sparse_groups
from polars_mlq.input import sorted_unique
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.scoring import EMPTY_GROUP, FLOOR
from polars_mlq.scoring.sparse.scores import entry_scores


@dataclass(frozen=True)
class _BatchSums:
    """Step 1 of some rows of one batch: per class they list or are labelled with, its explicit sums.

    ``counts[i]`` are the explicit unlabelled entries of class ``classes[i]`` and its labelled
    ones; ``sums[i]`` the exact sums (``fixed`` limbs) of 1 - p over the former and p over the
    latter. Every other entry is unlabelled at fill, so ``groups`` adds it in closed form: a
    partial holds O(classes touched), not O(K), per batch.
    """

    rows: int
    classes: np.ndarray  # (u,) int64, ascending
    counts: np.ndarray  # (u, 2) int64
    sums: np.ndarray  # (u, 2, 3) int64

    @classmethod
    def of(cls, batch: SparseBatch) -> _BatchSums:
        """Return the sums of a sparse batch's explicit entries."""
        present_classes, present_values, absent_classes, absent_values = sparse_groups(batch)
        classes = sorted_unique(np.concatenate([present_classes, absent_classes]))
        at_present, at_absent = np.searchsorted(classes, present_classes), np.searchsorted(classes, absent_classes)
        u = classes.size
        counts = np.stack([np.bincount(at_absent, minlength=u), np.bincount(at_present, minlength=u)], axis=1)
        sums = np.stack(
            [
                exact.segment_limbs(absent_values, at_absent, u),
                exact.segment_limbs(present_values, at_present, u),
            ],
            axis=1,
        )
        return cls(batch.n_rows, classes, counts.astype(np.int64), fixed.normalized(sums))

    def __add__(self, other: _BatchSums) -> _BatchSums:
        classes = sorted_unique(np.concatenate([self.classes, other.classes]))
        counts = np.zeros((classes.size, 2), dtype=np.int64)
        sums = np.zeros((classes.size, 2, 3), dtype=np.int64)
        for part in (self, other):
            at = np.searchsorted(classes, part.classes)
            counts[at] += part.counts
            sums[at] += part.sums
        return _BatchSums(self.rows + other.rows, classes, counts, fixed.normalized(sums))

    def groups(self, num_classes: int, fill_unit: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the batch's (K, 2) group sizes and means, as its densified rows' ``ThresholdPartial`` gives them.

        The classes the batch touches are summed exactly (every entry not explicit adds 1 - fill
        to the absent group); any other class has every row in its absent group, at 1 - fill, so
        its mean is that value exactly, and its empty present group's mean is 2.
        """
        explicit = self.counts.sum(axis=1)
        sums = self.sums.copy()
        sums[:, 0] += fixed.times(fill_unit, self.rows - explicit)
        touched = ThresholdPartial(self.classes.size, self.rows, self.counts[:, 1], fixed.normalized(sums), dtype)
        final = touched.finalize()
        counts = np.zeros((num_classes, 2), dtype=np.int64)
        counts[:, 0] = self.rows
        counts[self.classes] = final.counts
        means = np.empty((num_classes, 2))
        means[:, 0] = max(fill_unit / 2.0**exact.UNIT_BITS, FLOOR)  # an exact binary fraction
        means[:, 1] = EMPTY_GROUP
        means[self.classes] = final.means
        return counts, means


@dataclass(frozen=True)
class SparseBatchedThresholds:
    """Step 1's partial of sparse chunks: per batch of ``BATCH_ROWS`` row numbers, its ``_BatchSums``."""

    num_classes: int
    fill_unit: int  # 1 - fill in units of 2**-80 (0 before any row)
    dtype: str | None
    batches: tuple[tuple[int, _BatchSums], ...]  # (batch number, sums), ascending

    @classmethod
    def of(cls, chunk: SparseChunk) -> SparseBatchedThresholds:
        """Return the partial of one chunk (its rows may span several batches)."""
        k, batch = chunk.num_classes, chunk.batch
        if chunk.n == 0:
            return cls(k, 0, None, ())
        ids = chunk.rows // BATCH_ROWS
        starts = np.concatenate([[0], np.flatnonzero(np.diff(ids)) + 1, [chunk.n]]).tolist()
        parts = tuple((int(ids[lo]), _BatchSums.of(batch.row_slice(lo, hi))) for lo, hi in itertools.pairwise(starts))
        return cls(k, fill_unit(batch), batch.probs.dtype.name, parts)

    def __add__(self, other: SparseBatchedThresholds) -> SparseBatchedThresholds:
        merged: dict[int, _BatchSums] = {}
        for number, part in (*self.batches, *other.batches):
            merged[number] = merged[number] + part if number in merged else part
        return SparseBatchedThresholds(
            self.num_classes,
            self.fill_unit or other.fill_unit,
            self.dtype or other.dtype,
            tuple(sorted(merged.items(), key=lambda item: item[0])),
        )

    def finalize(self) -> np.ndarray:
        """Return the (K, 2) thresholds [absent, present], as cleanlab's running mean gives them."""
        k, dtype = self.num_classes, self.dtype or "float64"
        return running_thresholds(k, (part.groups(k, self.fill_unit, dtype) for _, part in self.batches))


def issue_counts(chunk: SparseChunk, thresholds: np.ndarray) -> np.ndarray:
    """Return step 2's (K,) int64 counts of a sparse chunk, as ``low_memory.issue_counts`` counts dense rows."""
    k = chunk.num_classes
    counts = np.zeros(k, dtype=np.int64)
    for entries in chunk.entries:
        p = entries.p
        q = np.subtract(p.dtype.type(1), p)
        present_wins = p > q  # the more likely binary label; a tie goes to "absent"
        cuts = thresholds[entries.cls]
        confident = np.where(present_wins, p >= cuts[:, 1] - SLACK, q >= cuts[:, 0] - SLACK)
        counts += np.bincount(entries.cls[confident & (present_wins != (entries.label == 1))], minlength=k)
    fill = chunk.batch.fill
    if fill > np.subtract(fill.dtype.type(1), fill):  # the implicit entries' guess: present
        counts += np.where(fill >= thresholds[:, 1] - SLACK, chunk.implicit_counts(), 0)
    return counts


@dataclass(frozen=True)
class _Explicit:
    """A chunk's explicit entries: class, row number, ranking score, and whether the model disagrees."""

    cls: np.ndarray
    rows: np.ndarray  # row numbers in the user's data
    local: np.ndarray  # rows within the chunk
    scores: np.ndarray
    disagree: np.ndarray  # the agreement filter keeps them (step 3)


def _explicit(chunk: SparseChunk, method: str) -> _Explicit:
    parts = []
    for entries, scores in zip(chunk.entries, chunk.scores_by(method), strict=True):
        p = entries.p
        q = np.subtract(p.dtype.type(1), p)
        disagree = p + SLACK <= q if entries.label == 1 else p > q + SLACK
        parts.append((entries.cls, entries.rows, scores, disagree))
    cls, local, scores, disagree = (np.concatenate(column) for column in zip(*parts, strict=True))
    return _Explicit(cls, chunk.rows[local], local, scores, disagree)


def _run_value(chunk: SparseChunk, method: str) -> float:
    """Return c: the ranking method's score of an implicit entry (unlabelled, p = fill)."""
    return float(entry_scores(np.array([chunk.batch.fill]), np.zeros(1, dtype=bool), method)[0])


@dataclass(frozen=True)
class RankPartial:
    """Step 3's partial: per class the explicit pairs below, at and after c, and the run's survivors."""

    value: float  # c (NaN for no rows)
    smallest: GroupedSmallest  # per class at most nums[k] smallest explicit (score, row) pairs
    below: np.ndarray  # (K,) explicit entries scoring below c
    at: np.ndarray  # (K,) explicit entries scoring c
    implicit: np.ndarray  # (K,)
    tied_classes: np.ndarray  # the explicit survivors that score c
    tied_rows: np.ndarray

    @classmethod
    def empty(cls, nums: np.ndarray) -> RankPartial:
        """Return the partial of no rows."""
        zeros, none = np.zeros(nums.size, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return cls(math.nan, GroupedSmallest.empty(nums), zeros, zeros, zeros, none, none)

    @classmethod
    def of(cls, chunk: SparseChunk, *, method: str, nums: np.ndarray) -> RankPartial:
        """Return the partial of one chunk."""
        k = chunk.num_classes
        if chunk.n == 0:
            return cls.empty(nums)
        value = _run_value(chunk, method)
        e = _explicit(chunk, method)
        tied = (e.scores == value) & e.disagree
        return cls(
            value,
            GroupedSmallest.of(nums, e.cls, e.scores, e.rows),
            np.bincount(e.cls[e.scores < value], minlength=k),
            np.bincount(e.cls[e.scores == value], minlength=k),
            chunk.implicit_counts(),
            e.cls[tied],
            e.rows[tied],
        )

    def __add__(self, other: RankPartial) -> RankPartial:
        return RankPartial(
            self.value if math.isnan(other.value) else other.value,
            self.smallest + other.smallest,
            self.below + other.below,
            self.at + other.at,
            self.implicit + other.implicit,
            np.concatenate([self.tied_classes, other.tied_classes]),
            np.concatenate([self.tied_rows, other.tied_rows]),
        )


def _run_places(chunk: SparseChunk, method: str, value: float, classes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return, for each (class, row) asked, the chunk's rows up to it that lie in the class's run at c."""
    places = np.searchsorted(chunk.rows, rows, side="right").astype(np.int64)  # every scored row up to it
    if chunk.n == 0 or not classes.size:
        return places
    e = _explicit(chunk, method)
    out = e.scores != value  # explicit entries outside the run
    base = int(chunk.rows[0]) - 1
    span = int(chunk.rows[-1]) - base + 1
    if chunk.num_classes * span >= 1 << 62:  # keys (class, row) would not fit one int64: class by class
        for c in np.unique(classes):
            ask = classes == c
            places[ask] -= np.searchsorted(np.sort(e.rows[out & (e.cls == c)]), rows[ask], side="right")
        return places
    order = np.lexsort((e.rows[out], e.cls[out]))
    keys = e.cls[out][order] * span + (e.rows[out][order] - base)
    asked = classes * span + (np.clip(rows, base, base + span - 1) - base)
    places -= np.searchsorted(keys, asked, side="right") - np.searchsorted(keys, classes * span, side="left")
    return places


def low_memory_rule(source: Callable[[], Iterable[SparseChunk]], num_classes: int, method: str | None) -> LowMemoryRule:
    """Run the batched filter's passes over a source of sparse chunks (``core.low_memory`` for dense ones)."""
    k = num_classes
    empty = SparseBatchedThresholds(k, 0, None, ())
    batched = functools.reduce(operator.add, map_chunks(source, SparseBatchedThresholds.of), empty)
    thresholds = batched.finalize()
    counts = map_chunks(source, functools.partial(issue_counts, thresholds=thresholds))
    nums = sum(counts, np.zeros(k, dtype=np.int64))
    score_by = method or "self_confidence"
    step = functools.partial(RankPartial.of, method=score_by, nums=nums)
    ranks = functools.reduce(operator.add, map_chunks(source, step), RankPartial.empty(nums))
    b, run = ranks.below, ranks.at + ranks.implicit
    in_run = (nums > b) & (nums <= b + run)
    picked = np.where(nums <= b, nums, nums - ranks.implicit)  # the explicit pair that is the cutoff
    values, cut_rows = grouped_nth(ranks.smallest.classes, ranks.smallest.values, ranks.smallest.rows, picked)
    values[in_run], cut_rows[in_run] = ranks.value, -1  # the run's survivors: none unless placed below
    asked = in_run[ranks.tied_classes]
    if asked.any():
        classes, rows = ranks.tied_classes[asked], ranks.tied_rows[asked]
        place = functools.partial(_run_places, method=score_by, value=ranks.value, classes=classes, rows=rows)
        places = sum(map_chunks(source, place), np.zeros(rows.size, dtype=np.int64))
        kept = places <= (nums - b)[classes]  # within the first m - B of the run
        np.maximum.at(cut_rows, classes[kept], rows[kept])
    return LowMemoryRule(score_by, values, cut_rows)


def sparse_flags(rule: LowMemoryRule, chunk: SparseChunk) -> tuple[np.ndarray, np.ndarray]:
    """Return the flagged entries of a sparse chunk: (chunk-local rows, classes), explicit entries only."""
    e = _explicit(chunk, rule.method)
    hit = within(e.scores, e.rows, rule.values[e.cls], rule.rows[e.cls]) & e.disagree
    return e.local[hit], e.cls[hit]
