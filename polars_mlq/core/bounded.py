"""Bounded passes: the prune cutoffs and the summary counts without keeping the candidates.

Pass 2 can keep every candidate (``polars_mlq.core.joint``): one sort after the pass gives every
prune cutoff and every summary count. For a weak model the candidates are about half the entries,
more bytes than the probabilities themselves. Where the data is streamed or lives elsewhere (a Ray
Dataset's blocks), the core instead finishes with passes whose partials are bounded:

- the prune cutoffs (``PrunePartial``): once the confident joint fixes how many entries each class
  and given label flags (``nums``), a batch keeps only that many smallest (key, row) pairs per
  class, given label and sort key, all classes at once (``GroupedSmallest``). At most
  ``sum(nums)`` pairs, whatever the split;
- the summary counts (``FlagCounts``): once the rule is fixed, a batch counts its flagged entries
  per class and given label, and its flagged rows: (K, 2) integers.

Both give exactly what the kept candidates give: the same pairs reach each cutoff, ties included.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from polars_mlq.core.binary import sort_key
from polars_mlq.core.candidates import Candidates, Unlisted, candidates, list_unlisted
from polars_mlq.core.chunk import Chunk, map_chunks
from polars_mlq.core.joint import Entries
from polars_mlq.core.rule import Cutoffs, IssueRule
from polars_mlq.core.select import NOTHING, GroupedSmallest
from polars_mlq.core.sparse_chunk import SparseChunk

#: A source of dense or sparse chunks (``engine.AnySource``).
AnySource = Callable[[], Iterable[Chunk | SparseChunk]]

#: Per given label (0, 1), per sort key, per class: how many entries the prune filter flags.
Nums = tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]


def chunk_entries(chunk: Chunk | SparseChunk) -> tuple[Entries, Entries]:
    """Return a batch's widened candidates (unlabelled, labelled), listed, with the user's row numbers."""
    if isinstance(chunk, SparseChunk):
        unlabelled_sparse, labelled_sparse = chunk.candidates
        return Entries.of(unlabelled_sparse, chunk.rows), Entries.of(labelled_sparse, chunk.rows)
    unlabelled, labelled = candidates(chunk.problems)
    if isinstance(unlabelled, Unlisted):
        unlabelled = list_unlisted(chunk.problems, unlabelled)
    return Entries.of(unlabelled, chunk.rows), Entries.of(labelled, chunk.rows)


@dataclass(frozen=True)
class PrunePartial:
    """Per given label and sort key, per class c, the ``nums[label][by][c]`` smallest (key, row) pairs seen."""

    parts: tuple[tuple[tuple[str, GroupedSmallest], ...], ...]  # [label] -> ((by, all classes), ...)

    @classmethod
    def empty(cls, nums: Nums) -> PrunePartial:
        """Return the partial of no rows."""
        return cls(
            tuple(tuple((by, GroupedSmallest.empty(num)) for by, num in per_label.items()) for per_label in nums)
        )

    @classmethod
    def of(cls, chunk: Chunk | SparseChunk, *, nums: Nums) -> PrunePartial:
        """Return the partial of one batch: per class, the smallest keys of its candidates."""
        n = chunk.n if isinstance(chunk, SparseChunk) else chunk.problems.n
        if n == 0:
            return cls.empty(nums)
        parts = []
        for label, entries in enumerate(chunk_entries(chunk)):
            p = entries.p
            per_by = []
            for by, num in nums[label].items():
                keys = sort_key(by, label, p, np.subtract(p.dtype.type(1), p))
                per_by.append((by, GroupedSmallest.of(num, entries.cls, keys, entries.rows)))
            parts.append(tuple(per_by))
        return cls(tuple(parts))

    def __add__(self, other: PrunePartial) -> PrunePartial:
        return PrunePartial(
            tuple(
                tuple((by, mine + theirs) for (by, mine), (_, theirs) in zip(ours, others, strict=True))
                for ours, others in zip(self.parts, other.parts, strict=True)
            )
        )

    @property
    def size(self) -> int:
        """How many pairs the partial holds."""
        return sum(int(kept.rows.size) for per_label in self.parts for _, kept in per_label)

    def cutoffs(self) -> tuple[Cutoffs, ...]:
        """Return per sort key the (K, 2) cutoffs: the ``nums``-th smallest pair (everything when fewer)."""
        found = []
        for index, (by, kept) in enumerate(self.parts[0]):
            k = kept.nums.size
            values = np.full((k, 2), NOTHING[0])
            rows = np.full((k, 2), NOTHING[1], dtype=np.int64)
            for label in (0, 1):
                values[:, label], rows[:, label] = self.parts[label][index][1].cutoffs()
            found.append(Cutoffs(by, values, rows))
        return tuple(found)


def prune_pass(source: AnySource, nums: Nums) -> tuple[Cutoffs, ...]:
    """Run the bounded prune pass over the source: its cutoffs, from at most ``sum(nums)`` pairs a batch."""
    merged = PrunePartial.empty(nums)
    for part in map_chunks(source, functools.partial(PrunePartial.of, nums=nums)):
        merged = merged + part
    return merged.cutoffs()


@dataclass(frozen=True)
class FlagCounts:
    """Flagged entries per class and given label ``[labelled, unlabelled]`` (K, 2), and flagged rows."""

    counts: np.ndarray  # (K, 2) int64
    rows: int

    @classmethod
    def empty(cls, num_classes: int) -> FlagCounts:
        """Return the counts of no rows."""
        return cls(np.zeros((num_classes, 2), dtype=np.int64), 0)

    @classmethod
    def of(cls, chunk: Chunk | SparseChunk, *, rule: IssueRule) -> FlagCounts:
        """Count one batch's flags under ``rule`` (every filter but the ``low_*`` ones)."""
        k = rule.num_classes
        counts = np.zeros((k, 2), dtype=np.int64)
        if (chunk.n if isinstance(chunk, SparseChunk) else chunk.problems.n) == 0:
            return cls(counts, 0)
        flagged = []
        for entries in chunk_entries(chunk):
            cand: Candidates = entries.as_candidates()
            hit = rule.entry_flags(cand, cand.rows)
            counts[:, 1 - cand.label] += np.bincount(cand.cls[hit], minlength=k)
            flagged.append(cand.rows[hit])
        return cls(counts, int(np.unique(np.concatenate(flagged)).size))

    def __add__(self, other: FlagCounts) -> FlagCounts:
        return FlagCounts(self.counts + other.counts, self.rows + other.rows)  # batches share no row


def count_pass(source: AnySource, rule: IssueRule) -> FlagCounts:
    """Run the bounded summary pass: count the flags of every batch under the final rule."""
    merged = FlagCounts.empty(rule.num_classes)
    for part in map_chunks(source, functools.partial(FlagCounts.of, rule=rule)):
        merged = merged + part
    return merged
