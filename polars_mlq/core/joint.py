"""Pass 2: the confident joint, confident learning's flags, and the entries a cutoff is chosen from.

With the thresholds of pass 1 fixed, a batch contributes

- ``joint`` (K, 2, 2): rows counted by ``[given label, confident guess]`` (an entry's guess is
  "present" when p > b1 and "absent" when p <= b0, per class);
- the rows and per-class entries that confident learning flags (the ``low_*`` filters flag as
  many rows as it does);
- ``entries``: the candidates of both given labels with their row numbers, from which the prune
  filters' cutoffs are chosen (see ``polars_mlq.core.candidates``).

Counts merge by addition and entries by concatenation (they are sorted when used), so the merged
partial is the same for any split of the rows and any order of merging.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from polars_mlq.core.binary import compare_columns, count_columns, rows_with_any
from polars_mlq.core.bounds import all_pass, confident_tests, dense_flags
from polars_mlq.core.candidates import Candidates, Unlisted, candidates, list_unlisted
from polars_mlq.core.chunk import Chunk
from polars_mlq.core.problems import Problems
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ConfidentThresholds

#: Above one labelled entry in this many, pass 2 counts the labelled entries with (n, K) masks.
_DENSE_LABELS = 16


@dataclass(frozen=True)
class Entries:
    """Entries (row, class) of one given label with their probability.

    Their order does not matter; ``grouped`` says they come class by class (see ``Candidates``).
    """

    label: int
    rows: np.ndarray  # int64, row numbers in the user's data
    cls: np.ndarray  # integers (int32 or int64)
    p: np.ndarray  # pred_probs' dtype
    grouped: bool = False

    @classmethod
    def of(cls, cand: Candidates, rows: np.ndarray) -> Entries:
        """Return the entries of ``cand``, with its batch-local rows mapped through ``rows`` to row numbers."""
        if rows.size and int(rows[-1]) - int(rows[0]) == rows.size - 1:  # consecutive row numbers
            mapped = cand.rows + rows[0] if rows[0] else cand.rows
        else:
            mapped = rows[cand.rows]
        return cls(cand.label, mapped, cand.cls, cand.p, cand.grouped)

    def __add__(self, other: Entries) -> Entries:
        return Entries(
            self.label,
            np.concatenate([self.rows, other.rows]),
            np.concatenate([self.cls, other.cls]),
            np.concatenate([self.p, other.p]),
        )

    def as_candidates(self) -> Candidates:
        """Return the entries as ``Candidates``, in their stored order."""
        return Candidates(self.label, self.rows, self.cls, self.p, self.grouped)

    def listed(self) -> Entries:
        """Return the entries, listed (they are)."""
        return self

    @property
    def empty(self) -> bool:
        """Whether there is no entry."""
        return not self.rows.size


@dataclass(frozen=True, eq=False)
class ColumnEntries:
    """The many unlabelled candidates of one batch, not listed: read from the batch's columns.

    A prune cutoff reads them class by class from ``chunk`` itself; they are listed (``listed``)
    only when merged with another batch's entries or counted entry by entry.
    """

    chunk: Chunk
    unlisted: Unlisted
    label: int = 0

    def listed(self) -> Entries:
        """Return the entries, listed class by class."""
        return Entries.of(list_unlisted(self.chunk.problems, self.unlisted), self.chunk.rows)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle (to send to another process) as the listed entries: the batch stays where it is."""
        listed = self.listed()
        return Entries, tuple(getattr(listed, field.name) for field in fields(Entries))

    @property
    def empty(self) -> bool:
        """Whether there is no entry (never: they are many)."""
        return False

    @property
    def sizes(self) -> np.ndarray:
        """The number of entries of each class (K,)."""
        return self.unlisted.sizes


#: The unlabelled entries of pass 2: listed, or left in their batch.
Unlabelled = Entries | ColumnEntries


def _merge(a: Unlabelled, b: Unlabelled) -> Unlabelled:
    """Merge two partials' entries (of one given label); merging with nothing keeps them, and their order."""
    if a.empty or b.empty:
        return b if a.empty else a
    return a.listed() + b.listed()


def _empty_entries(label: int, dtype: np.dtype[Any]) -> Entries:
    empty = np.zeros(0, dtype=np.int64)
    return Entries(label, empty, empty, np.zeros(0, dtype=dtype))


def _no_entries(dtype: np.dtype[Any]) -> tuple[Entries, Entries]:
    return _empty_entries(0, dtype), _empty_entries(1, dtype)


#: Entries per row block of ``_guess_counts``: its masks stay small instead of (n, K).
_BLOCK_ENTRIES = 1 << 18


def _guess_counts(pb: Problems, b1: np.ndarray, b0: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return per class the entries guessed present (p > b1) and absent (p <= b0), then the labelled ones of each.

    Row block by row block, so the masks are a block's (two (n, K) masks of a large batch are
    pages that must be fresh, which on some machines cost more than the comparisons).
    """
    n, k = pb.probs.shape
    guess1, guess0 = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    dense = pb.lab_p.size * _DENSE_LABELS >= pb.probs.size  # many labels: masks beat gathers
    step = max(1, _BLOCK_ENTRIES // max(k, 1))
    present, absent = (np.empty((min(step, n), k), dtype=bool) for _ in range(2))
    given = np.empty((min(step, n), k), dtype=bool) if dense else present[:0]
    lab1, lab0 = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    for a in range(0, n, step):
        b = min(a + step, n)
        p1 = compare_columns(np.greater, pb.probs[a:b], b1, out=present[: b - a])
        p0 = compare_columns(np.less_equal, pb.probs[a:b], b0, out=absent[: b - a])
        guess1 += count_columns(p1)
        guess0 += count_columns(p0)
        if dense:  # the block's multi-hot labels, from its label positions
            labelled = pb.given_rows(a, b, given[: b - a])
            lab1 += count_columns(np.logical_and(p1, labelled, out=p1))
            lab0 += count_columns(np.logical_and(p0, labelled, out=p0))
    if not dense:
        lab1 = np.bincount(pb.lab_cls[pb.lab_p > b1[pb.lab_cls]], minlength=k)
        lab0 = np.bincount(pb.lab_cls[pb.lab_p <= b0[pb.lab_cls]], minlength=k)
    return guess1, guess0, lab1, lab0


@dataclass(frozen=True)
class JointPartial:
    """Pass 2 of one batch, or of several merged with ``+``."""

    joint: np.ndarray  # (K, 2, 2) int64, without the floor of 1 on the diagonal
    cl_rows: int  # rows with at least one entry confident learning flags
    cl_classes: np.ndarray  # (K,) int64 entries confident learning flags per class
    entries: tuple[Unlabelled, Entries]  # (unlabelled, labelled), widened candidates
    dropped: bool = False  # the candidates were too many to keep: ``entries`` is empty

    @classmethod
    def empty(cls, thr: ConfidentThresholds) -> JointPartial:
        """Return the partial of no rows."""
        k = thr.num_classes
        return cls(np.zeros((k, 2, 2), dtype=np.int64), 0, np.zeros(k, dtype=np.int64), _no_entries(thr.dtype))

    @classmethod
    def of(
        cls, chunk: Chunk | SparseChunk, thr: ConfidentThresholds, *, joint: bool = True, entries: bool = True
    ) -> JointPartial:
        """Return the partial of one batch.

        ``joint=False`` skips counting the joint (it is supplied), ``entries=False`` skips keeping
        the candidates (only the prune filters and the summaries need them).
        """
        if isinstance(chunk, SparseChunk):
            return cls._of_sparse(chunk, thr, joint=joint, entries=entries)
        pb = chunk.problems
        k = pb.num_classes
        if pb.n == 0:
            return cls.empty(thr)
        counts = np.zeros((k, 2, 2), dtype=np.int64)
        if joint:
            guess1, guess0, lab1, lab0 = _guess_counts(pb, *(b.astype(pb.dtype) for b in thr.guesses))
            counts[:, 0, 0] = guess0 - lab0
            counts[:, 0, 1] = guess1 - lab1
            counts[:, 1, 0] = lab0
            counts[:, 1, 1] = lab1
        tests = confident_tests(thr.guesses, pb.dtype)
        pair = candidates(pb) if entries else None
        if pair is None or isinstance(pair[0], Unlisted):  # many candidates (or none kept): test every entry
            cl = dense_flags(tests, pb, chunk.rows)
            cl_classes = count_columns(cl)
            cl_rows = int(np.count_nonzero(rows_with_any(cl)))
        else:  # few: every entry confident learning flags is a candidate
            cl_classes = np.zeros(k, dtype=np.int64)
            flagged = np.zeros(pb.n, dtype=bool)
            for cand in (pair[0], pair[1]):
                assert isinstance(cand, Candidates)
                hit = all_pass(tests[cand.label], cand.p, cand.cls, cand.rows)  # no ties: rows unused
                cl_classes += np.bincount(cand.cls[hit], minlength=k)
                flagged[cand.rows[hit]] = True
            cl_rows = int(np.count_nonzero(flagged))
        if pair is None:
            return cls(counts, cl_rows, cl_classes, _no_entries(pb.dtype))
        unlabelled = pair[0]
        first = (
            ColumnEntries(chunk, unlabelled) if isinstance(unlabelled, Unlisted) else Entries.of(unlabelled, chunk.rows)
        )
        return cls(counts, cl_rows, cl_classes, (first, Entries.of(pair[1], chunk.rows)))

    @classmethod
    def _of_sparse(cls, chunk: SparseChunk, thr: ConfidentThresholds, *, joint: bool, entries: bool) -> JointPartial:
        """Return the partial of a sparse batch: explicit entries one by one, implicit ones per class.

        Every implicit entry of class k (unlabelled, p = fill) gets the one guess fill gets there;
        the candidates, and so confident learning's flags, are explicit entries (``SparseChunk``).
        """
        k = chunk.num_classes
        if chunk.n == 0:
            return cls.empty(thr)
        counts = np.zeros((k, 2, 2), dtype=np.int64)
        pair = chunk.candidates
        if joint:
            b1, b0 = (b.astype(chunk.dtype) for b in thr.guesses)
            for cand in chunk.entries:
                counts[:, cand.label, 1] = np.bincount(cand.cls[cand.p > b1[cand.cls]], minlength=k)
                counts[:, cand.label, 0] = np.bincount(cand.cls[cand.p <= b0[cand.cls]], minlength=k)
            implicit, fill = chunk.implicit_counts(), chunk.dtype.type(chunk.batch.fill)
            counts[:, 0, 1] += np.where(fill > b1, implicit, 0)
            counts[:, 0, 0] += np.where(fill <= b0, implicit, 0)
        tests = confident_tests(thr.guesses, chunk.dtype)
        cl_classes = np.zeros(k, dtype=np.int64)
        flagged = np.zeros(chunk.n, dtype=bool)
        for cand in pair:
            hit = all_pass(tests[cand.label], cand.p, cand.cls, cand.rows)  # no ties: rows unused
            cl_classes += np.bincount(cand.cls[hit], minlength=k)
            flagged[cand.rows[hit]] = True
        kept = (Entries.of(pair[0], chunk.rows), Entries.of(pair[1], chunk.rows)) if entries else None
        return cls(counts, int(np.count_nonzero(flagged)), cl_classes, kept or _no_entries(chunk.dtype))

    def __add__(self, other: JointPartial) -> JointPartial:
        counts = (self.joint + other.joint, self.cl_rows + other.cl_rows, self.cl_classes + other.cl_classes)
        if self.dropped or other.dropped:
            return JointPartial(*counts, _no_entries(self.entries[1].p.dtype), dropped=True)
        entries = (_merge(self.entries[0], other.entries[0]), _merge(self.entries[1], other.entries[1]).listed())
        return JointPartial(*counts, entries)

    @property
    def listed_size(self) -> int:
        """How many candidates are listed (those left in their batch, ``ColumnEntries``, are not counted)."""
        return sum(int(e.rows.size) for e in self.entries if isinstance(e, Entries))

    def without_entries(self) -> JointPartial:
        """Return the counts alone, marked ``dropped``: the candidates are found by bounded passes instead."""
        return JointPartial(self.joint, self.cl_rows, self.cl_classes, _no_entries(self.entries[1].p.dtype), True)

    def confident_joint(self) -> np.ndarray:
        """Return the (K, 2, 2) int64 counts ``[given label, confident guess]``, diagonal at least 1 (as cleanlab)."""
        joint: np.ndarray = self.joint.copy()
        joint[:, [0, 1], [0, 1]] = np.maximum(joint[:, [0, 1], [0, 1]], 1)
        return joint
