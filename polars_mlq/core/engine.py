"""The driver every path shares: passes of "map over batches, then merge", then a rule.

A *source* is a function that, each time it is called, streams the data once as ``Chunk``s (in
any order, split in any way: a DataFrame is one chunk, a LazyFrame its streamed batches). Each pass
maps its chunks with ``chunk.map_chunks``, so a source whose rows live elsewhere (a Ray Dataset's
blocks, ``polars_mlq.ray``) runs the map there and sends back only the partial statistics. The
passes a filter needs:

- ``predicted_neq_given``: none (the rule is fixed);
- ``confident_learning``: pass 1 (thresholds);
- the prune filters: pass 1, then pass 2 (confident joint and candidates), then the cutoffs;
- the ``low_*`` filters: pass 1, pass 2 (how many rows confident learning flags), then pass 3 (the
  smallest scores, as many as that).

The summaries need pass 2 as well (their counts are read off the merged candidates).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np

from polars_mlq.core import sparse_low_memory
from polars_mlq.core.binary import sort_key
from polars_mlq.core.bounded import FlagCounts, Nums, count_pass, prune_pass
from polars_mlq.core.calibration import calibrate, prune_counts, prune_nums
from polars_mlq.core.chunk import Chunk, Source, map_chunks
from polars_mlq.core.joint import ColumnEntries, Entries, JointPartial
from polars_mlq.core.low_memory import low_memory_rule
from polars_mlq.core.options import LOW_FILTERS, PRUNE_FILTERS, IssueOptions
from polars_mlq.core.rule import Cutoffs, IssueRule, low_method
from polars_mlq.core.scores import ema, plain_scores
from polars_mlq.core.select import (
    EVERYTHING,
    NOTHING,
    GroupedSmallest,
    SmallestPartial,
    class_cutoffs,
    class_order,
    grouped_nth,
    nth_pair,
)
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ConfidentThresholds, ThresholdPartial
from polars_mlq.input import sorted_unique
from polars_mlq.scoring.sparse.scores import entry_scores

P = TypeVar("P")

#: A source of sparse batches (``SparseChunk``), or of either kind: every pass takes it where a
#: ``Source`` goes (``find(..., sparse=True)``).
SparseSource = Callable[[], Iterable[SparseChunk]]
AnySource = Callable[[], Iterable[Chunk | SparseChunk]]

#: A streamed source keeps at most this many listed candidates (about 200 MB) before switching to
#: the bounded passes: a weak model's candidates are about half the entries.
STREAM_BUDGET = 1 << 23


def merge_all(partials: Iterable[P], empty: P) -> P:
    """Merge partial statistics with ``+`` (any order gives the same result)."""
    return functools.reduce(operator.add, partials, empty)


def thresholds_of(source: AnySource, num_classes: int) -> ConfidentThresholds:
    """Run pass 1: compute the confident thresholds of every row of the source."""
    return merge_all(map_chunks(source, ThresholdPartial.of), ThresholdPartial.empty(num_classes)).finalize()


def joint_of(
    source: AnySource, thr: ConfidentThresholds, *, joint: bool = True, entries: bool = True, budget: int | None = None
) -> JointPartial:
    """Run pass 2: compute the confident joint, confident learning's counts and the candidates.

    When more than ``budget`` candidates would be listed, they are dropped (``JointPartial.dropped``)
    and the later passes find what they give with bounded partials (``polars_mlq.core.bounded``).
    """
    step = functools.partial(_joint_partial, thr=thr, joint=joint, entries=entries)
    merged = JointPartial.empty(thr)
    for part in map_chunks(source, step):
        merged = merged + part
        if budget is not None and not merged.dropped and merged.listed_size > budget:
            merged = merged.without_entries()
    return merged


def _joint_partial(chunk: Chunk | SparseChunk, *, thr: ConfidentThresholds, joint: bool, entries: bool) -> JointPartial:
    return JointPartial.of(chunk, thr, joint=joint, entries=entries)


def class_sizes(entries: Entries | ColumnEntries, k: int) -> np.ndarray:
    """Return the number of entries of each class (K,)."""
    if isinstance(entries, ColumnEntries):
        return entries.sizes
    if entries.grouped:  # classes ascending: the sizes are where each class starts
        return np.diff(np.searchsorted(entries.cls, np.arange(k + 1)))
    return np.bincount(entries.cls, minlength=k)


def _by_class(entries: Entries, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the entries of the ``wanted`` classes class by class: (K + 1) starts, p and rows."""
    k = wanted.size
    sizes = class_sizes(entries, k)
    if entries.grouped and wanted.all():
        p, rows = entries.p, entries.rows
    else:
        pick = np.flatnonzero(wanted[entries.cls])
        order = pick[class_order(entries.cls[pick], k)]
        p, rows = entries.p[order], entries.rows[order]
        sizes[~wanted] = 0
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    return starts, p, rows


def _column_cutoffs(
    entries: ColumnEntries, inside: dict[str, np.ndarray], nums: Mapping[str, np.ndarray], out: dict[str, Cutoffs]
) -> None:
    """Set, per sort key, the cutoffs (label 0) of the ``inside`` classes: the ``nums[by][c]``-th smallest (key, row).

    Read from the batch class by class: the unlabelled entries with p above the candidates' bound
    (every entry whose key can reach a cutoff: see ``polars_mlq.core.candidates``). The classes are
    copied out a cache line's width at a time (8 float64 columns, 16 float32), so each row is read
    once and the copy holds 64 bytes per row.
    """
    pb, numbers = entries.chunk.problems, entries.chunk.rows
    k = pb.num_classes
    lower = pb.dtype.type(entries.unlisted.lower)
    one = pb.dtype.type(1)
    by_class = class_order(pb.lab_cls, k)  # the labelled rows of each class, ascending
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(pb.counts[:, 1], out=starts[1:])
    labelled_rows = pb.rows_of(by_class)
    wanted = functools.reduce(operator.or_, inside.values())
    width = max(64 // pb.dtype.itemsize, 1)
    group, columns = -1, np.empty((0, 0), dtype=pb.dtype)
    for c in np.flatnonzero(wanted).tolist():
        if c // width != group:  # (width, n): these classes' columns, each in one piece
            group = c // width
            columns = np.ascontiguousarray(pb.probs[:, group * width : (group + 1) * width].T)
        column = columns[c - group * width]
        keep = column > lower
        keep[labelled_rows[starts[c] : starts[c + 1]]] = False
        local = np.flatnonzero(keep)
        p = column[local]
        for by, cut in out.items():
            if inside[by][c]:
                keys = sort_key(by, 0, p, np.subtract(one, p)).astype(np.float64, copy=False)
                cut.values[c, 0], cut.rows[c, 0] = nth_pair(keys, numbers[local], int(nums[by][c]))


def flag_nums(found: JointPartial, thr: ConfidentThresholds, options: IssueOptions) -> Nums:
    """Return, per given label and sort key of the prune filter, how many entries each class flags."""
    calibrated = options.confident_joint
    if calibrated is None:
        calibrated = calibrate(found.confident_joint(), thr.counts)
    pcounts = prune_counts(calibrated, thr.counts, options)
    return prune_nums(thr.counts[:, 0], pcounts, options, 0), prune_nums(thr.counts[:, 1], pcounts, options, 1)


def prune_cutoffs(found: JointPartial, thr: ConfidentThresholds, options: IssueOptions) -> tuple[Cutoffs, ...]:
    """Return, per sort key of the prune filter, class and given label, the last (key, row) flagged."""
    nums = flag_nums(found, thr, options)
    k = thr.num_classes
    keys_by = list(nums[0])
    values = {by: np.full((k, 2), NOTHING[0]) for by in keys_by}
    rows = {by: np.full((k, 2), NOTHING[1], dtype=np.int64) for by in keys_by}
    for label, entries in enumerate(found.entries):
        size = class_sizes(entries, k)
        inside = {}
        for by in keys_by:
            num = nums[label][by]
            every = (num > 0) & (num > size)
            values[by][every, label], rows[by][every, label] = EVERYTHING
            inside[by] = (num > 0) & (num <= size)
        wanted = functools.reduce(operator.or_, inside.values())
        if not wanted.any():
            continue
        if isinstance(entries, ColumnEntries):
            cuts = {by: Cutoffs(by, values[by], rows[by]) for by in keys_by}
            _column_cutoffs(entries, inside, nums[label], cuts)
            continue
        starts, p, row = _by_class(entries, wanted)
        for by in keys_by:
            num = nums[label][by]
            if np.count_nonzero(inside[by]) > _LOOP_CLASSES:
                _grouped_cutoffs(by, label, (starts, p, row), (inside[by], num), (values[by], rows[by]))
                continue
            for c in np.flatnonzero(inside[by]).tolist():
                lo, hi = starts[c], starts[c + 1]
                keys = sort_key(by, label, p[lo:hi], np.subtract(p.dtype.type(1), p[lo:hi])).astype(
                    np.float64, copy=False
                )
                values[by][c, label], rows[by][c, label] = nth_pair(keys, row[starts[c] : starts[c + 1]], int(num[c]))
    return tuple(Cutoffs(by, values[by], rows[by]) for by in keys_by)


#: Above this many classes with a cutoff to find, one sort of every entry finds them all, instead
#: of a partition per class (whose per-call cost dominates for many small classes).
_LOOP_CLASSES = 256


def _grouped_cutoffs(
    by: str,
    label: int,
    grouped: tuple[np.ndarray, np.ndarray, np.ndarray],
    wanted: tuple[np.ndarray, np.ndarray],
    out: tuple[np.ndarray, np.ndarray],
) -> None:
    """Set ``out[c, label]`` to the ``num[c]``-th smallest (key, row) of class c, for every ``inside`` class.

    ``grouped`` holds the entries class by class ((K + 1) starts, p, rows); ``grouped_nth`` sorts
    them once.
    """
    starts, p, row = grouped
    inside, num = wanted
    k = inside.size
    cls = np.repeat(np.arange(k), np.diff(starts))
    pick = inside[cls]
    p, row, cls = p[pick], row[pick], cls[pick]
    keys = sort_key(by, label, p, np.subtract(p.dtype.type(1), p))
    values, rows = grouped_nth(cls, keys, row, np.where(inside, num, 0))
    out[0][inside, label], out[1][inside, label] = values[inside], rows[inside]


def _class_smallest(chunk: Chunk | SparseChunk, *, method: str, nums: np.ndarray) -> GroupedSmallest:
    """Per class, the ``nums`` smallest (score, row) pairs among a sparse chunk's candidates."""
    assert isinstance(chunk, SparseChunk)
    merged = GroupedSmallest.empty(nums)
    for cand in chunk.candidates:
        scores = entry_scores(cand.p, np.full(cand.p.size, cand.label == 1), method)
        merged = merged + GroupedSmallest.of(nums, cand.cls, scores, chunk.rows[cand.rows])
    return merged


def sparse_class_cutoffs(found: JointPartial, method: str, nums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the ``nums[c]``-th smallest (score, row) among the candidates kept by pass 2 (sparse input).

    Each class's ``nums[c]`` (confident learning's count) smallest scores are below one half, so
    they are all candidates' (``SparseChunk``): the other entries of a sparse batch never reach them.
    """
    kept = [entries.listed() for entries in found.entries]
    scores = [entry_scores(e.p, np.full(e.p.size, e.label == 1), method) for e in kept]
    classes = np.concatenate([e.cls for e in kept]).astype(np.int64)
    rows = np.concatenate([e.rows for e in kept])
    return grouped_nth(classes, np.concatenate(scores), rows, nums)


def _smallest_rows(chunk: Chunk | SparseChunk, *, m: int) -> SmallestPartial:
    if isinstance(chunk, SparseChunk):
        return SmallestPartial.of(chunk.ranks, chunk.rows, m)
    return SmallestPartial.of(ema(plain_scores(chunk.problems, "self_confidence")), chunk.rows, m)


def low_cutoffs(
    source: AnySource,
    found: JointPartial,
    filter_by: str,
    *,
    per_class: bool,
    sparse: bool = False,
    listed: bool = False,
) -> IssueRule:
    """Run pass 3 of the ``low_*`` filters: find the scores of the rows (or entries) to flag.

    Per class on ``sparse`` input, the cutoffs come from the candidates pass 2 kept (``listed``: no
    pass), or else from a pass over each chunk's candidates, bounded by the counts.
    """
    k = int(found.cl_classes.size)
    if per_class and sparse and listed:
        cutoffs = sparse_class_cutoffs(found, low_method(filter_by), found.cl_classes)
        return IssueRule(filter_by, k, class_cutoffs=cutoffs)
    if per_class and sparse:
        step = functools.partial(_class_smallest, method=low_method(filter_by), nums=found.cl_classes)
        merged = merge_all(map_chunks(source, step), GroupedSmallest.empty(found.cl_classes))
        return IssueRule(filter_by, k, class_cutoffs=merged.cutoffs())
    if not per_class:
        m = found.cl_rows
        kept = merge_all(map_chunks(source, functools.partial(_smallest_rows, m=m)), SmallestPartial.empty(m))
        return IssueRule(filter_by, k, row_cutoff=kept.cutoff())
    cuts = class_cutoffs(cast(Source, source), low_method(filter_by), found.cl_classes.tolist())
    return IssueRule(filter_by, k, class_cutoffs=cuts)


@dataclass(frozen=True, eq=False)
class Found:
    """The rule of a filter, and the merged statistics it came from."""

    rule: IssueRule
    num_rows: int
    thresholds: ConfidentThresholds | None
    joint: JointPartial | None
    counts: FlagCounts | None = None  # the summary counts, when found by a bounded pass

    def summary(self) -> tuple[np.ndarray, int]:
        """Return the (K, 2) counts of flagged entries per class, and the number of flagged rows.

        The counts are [flagged and labelled, flagged and unlabelled] per class (every filter but
        the ``low_*`` ones; needs ``joint`` with its candidates, or ``counts``).
        """
        if self.counts is not None:
            return self.counts.counts, self.counts.rows
        k = self.rule.num_classes
        counts = np.zeros((k, 2), dtype=np.int64)
        if self.joint is None or self.num_rows == 0:
            return counts, 0
        rows = []
        for entries in self.joint.entries:
            cand = entries.listed().as_candidates()
            hit = self.rule.entry_flags(cand, cand.rows)
            counts[:, 1 - cand.label] += np.bincount(cand.cls[hit], minlength=k)
            rows.append(cand.rows[hit])
        return counts, int(sorted_unique(np.concatenate(rows)).size)

    def flagged_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (row numbers, classes) of every flagged entry, from the merged candidates.

        Not for the ``low_*`` filters; needs ``joint`` with its candidates.
        """
        assert self.joint is not None
        assert not self.joint.dropped
        rows, cls = [], []
        for entries in self.joint.entries:
            cand = entries.listed().as_candidates()
            hit = self.rule.entry_flags(cand, cand.rows)
            rows.append(cand.rows[hit])
            cls.append(cand.cls[hit])
        return np.concatenate(rows), np.concatenate(cls)


def find(
    source: AnySource,
    num_classes: int,
    options: IssueOptions,
    *,
    per_class: bool = False,
    summary: bool = False,
    budget: int | None = None,
    sparse: bool = False,
) -> Found:
    """Run the passes ``options.filter_by`` needs over ``source``.

    ``per_class`` selects the per-class rule of the ``low_*`` filters, ``summary`` finds the
    counts of ``Found.summary``. The candidates are kept in this process (one sort then gives
    every cutoff and count) unless more than ``budget`` of them would be listed, or the source's
    rows live elsewhere (``map_chunks``): then bounded passes find the same (``bounded``).
    """
    filter_by, k = options.filter_by, num_classes
    dense = cast(Source, source)  # for the passes of dense chunks only, never run for a sparse source
    if options.low_memory:
        if sparse:
            low = sparse_low_memory.low_memory_rule(cast(SparseSource, source), k, options.rank_by)
        else:
            low = low_memory_rule(dense, k, options.rank_by)
        return Found(IssueRule(filter_by, k, low_memory=low), -1, None, None)
    if filter_by == "predicted_neq_given" and not summary:
        return Found(IssueRule(filter_by, k), -1, None, None)
    thr = thresholds_of(source, k)
    if thr.num_rows == 0:
        return Found(IssueRule(filter_by, k, nothing=True), 0, thr, None)
    prune = filter_by in PRUNE_FILTERS
    if not (prune or summary or filter_by in LOW_FILTERS):
        return Found(IssueRule(filter_by, k, thresholds=thr), thr.num_rows, thr, None)
    keep = (prune or summary or (sparse and per_class)) and not hasattr(source, "map_chunks")
    budget = None if sparse else budget
    joint = joint_of(source, thr, joint=prune and options.confident_joint is None, entries=keep, budget=budget)
    bounded = ((prune or summary) and not keep) or joint.dropped
    if prune and bounded:
        rule = IssueRule(filter_by, k, cutoffs=prune_pass(dense, flag_nums(joint, thr, options)))
    elif prune:
        rule = IssueRule(filter_by, k, cutoffs=prune_cutoffs(joint, thr, options))
    elif filter_by in LOW_FILTERS:
        rule = low_cutoffs(source, joint, filter_by, per_class=per_class, sparse=sparse, listed=keep)
    else:
        rule = IssueRule(filter_by, k, thresholds=thr)
    counts = count_pass(dense, rule) if summary and bounded else None
    return Found(rule, thr.num_rows, thr, joint, counts)
