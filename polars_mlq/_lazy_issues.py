"""Issue finding on a LazyFrame: dataset-level statistics from streaming passes, flags per row.

The eager code (``_issues``) holds the whole (n, K) matrix. Here the query is streamed batch by
batch (``collect_batches``, in row order) and only per-class statistics and a few entries are
kept; the flags are then an elementwise function of a row and a handful of per-class constants
(``IssueRule``), so they can be appended to the query lazily and stream.

Pass 1 (``_Statistics``): per class, the sizes of its two groups (rows without / with the class),
float64 sums of their values, and the *candidates*: the entries where the model disagrees with the
given label, with their row and probability. Every filter but the ``low_*`` ones only flags
candidates (the agreement filter of cleanlab), and they are few.

Pass 2 (``_run``, with ``GroupMeans``, ``_JointCounter`` and ``_Smallest``):

- the thresholds exactly as ``np.mean`` computes them on the whole column: ``PairwiseSum``
  replays numpy's pairwise summation over the streamed values (its tree depends only on the length,
  which pass 1 counted; older numpy sums blocks of ``np.getbufsize()`` values in turn, which is
  detected and replayed too);
- at the same time, from the float64 sums of pass 1 and rigorous bounds on the rounding errors
  (``_mean_bounds``), an interval for every threshold. Every test of a probability against the
  thresholds is monotone in p, so the confident joint counts every entry the intervals decide, and
  keeps the few entries (a band of width about 1e-5 p for float32 data, far less for float64)
  that only the exact thresholds decide;
- for the ``low_*`` filters, the smallest scores, as many as confident learning can flag at most
  (the candidates that the interval thresholds do not rule out).

Then the exact thresholds decide the band, and give the confident joint, calibration and prune
counts exactly as eagerly (the same functions on the same (K, 2, 2) counts); the m-th smallest key
of each class and given label (among its candidates) becomes a cutoff. An exact threshold outside
its interval would mean the bounds are wrong; then a third pass counts again with the exact
thresholds (``_run`` with zero-width bands), so the result never depends on the bounds.

Passes: ``predicted_neq_given`` needs none (its flags are a per-row rule); every other filter,
and the summaries (counted from the candidates, no pass over the flags), need two.

Memory: the candidates (a class index and a probability each, plus a row index for the summaries
and the row-level ``low_*`` filters), the band, the ``low_*`` scores kept, and the summation
buffers (at most ``_NODE_BUDGET`` values in all, for K up to 4096); never a column.

Ties. Eagerly, "the m smallest" follows ``np.argsort``, which picks an arbitrary subset of entries
with the same key at the cut. Here an entry is flagged when its key is at most the cutoff: all
entries tied with the m-th one are flagged (at least m).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from polars_mlq import _issues
from polars_mlq._columns import LabelSpec, Where, read_batch
from polars_mlq._issues import Candidates, IssueOptions, Problems
from polars_mlq.core.binary import guess_bounds

_U64 = 2.0**-53
_U32 = 2.0**-24
#: Values buffered per group while a node of numpy's summation tree fills, summed over all groups.
_NODE_BUDGET = 1 << 20
#: Rows are read in slices of at most about this many values.
_BATCH_ELEMENTS = 1 << 22
#: numpy sums a node of up to 128 values itself (8 accumulators); larger nodes split in two.
_LEAF = 128


def stream_problems(
    frame: pl.LazyFrame, labels: pl.Expr, pred_probs: pl.Expr, num_classes: int, spec: LabelSpec
) -> Iterator[Problems]:
    """One streaming pass over the query: the K binary problems of each batch, in row order.

    Polars hands over a Parquet row group, or an in-memory frame whole, at a time; slices of at
    most ``_BATCH_ELEMENTS`` values (zero-copy) keep the per-batch temporaries small.
    """
    columns = frame.select(labels, pred_probs)
    step = max(1024, _BATCH_ELEMENTS // max(num_classes, 1))
    for chunk in columns.collect_batches(maintain_order=True):
        for start in range(0, chunk.height, step):
            part = chunk.slice(start, step)
            batch = read_batch(part[:, 0], part[:, 1], num_classes=num_classes, where=Where(streamed=True), spec=spec)
            if batch.probs.shape[0]:
                yield _issues.problems(batch)


# --------------------------------------------------------------------------- exact means


class _Tree:
    """numpy's pairwise sum of a run of known length, fed piece by piece.

    A node of n > 128 values is the sum of its first ``n2 = n // 2 - (n // 2) % 8`` values and of
    the rest; smaller nodes are summed by an unrolled loop. The tree depends only on n, so the
    nodes of at most ``node`` values are summed by numpy itself as soon as they are complete
    (buffered when they straddle two pieces), and the larger ones are combined on a stack, in the
    same order.
    """

    def __init__(self, length: int, dtype: np.dtype[Any], node: int, buffer: np.ndarray) -> None:
        self.dtype = dtype
        self._node = node
        self._buffer = buffer
        self._stack: list[list[Any]] = []  # [left length, length, left sum or None]
        self._filled = 0
        self.total: Any = None
        self._want = self._descend(length)

    def _descend(self, n: int) -> int:
        """Push the nodes above the leftmost small node of a node of n values; its length."""
        while n > self._node:
            half = n // 2
            half -= half % 8
            self._stack.append([half, n, None])
            n = half
        return n

    def _complete(self, value: Any) -> None:
        while self._stack:
            top = self._stack[-1]
            if top[2] is None:  # the left child is done: go on with the right one
                top[2] = value
                self._want = self._descend(top[1] - top[0])
                return
            value = top[2] + value  # numpy scalars: the addition stays in the dtype
            self._stack.pop()
        self.total = value
        self._want = 0

    def feed(self, values: np.ndarray) -> int:
        """Take values from the start of ``values`` until the run is complete; how many."""
        start, size = 0, values.shape[0]
        while start < size and self.total is None:
            take = min(size - start, self._want - self._filled)
            if self._filled == 0 and take == self._want:  # a whole node in this piece
                self._complete(np.add.reduce(values[start : start + take]))
            else:
                self._buffer[self._filled : self._filled + take] = values[start : start + take]
                self._filled += take
                if self._filled == self._want:
                    self._filled = 0
                    self._complete(np.add.reduce(self._buffer[: self._want]))
            start += take
        return start


def _blocked_sum(x: np.ndarray, block: int) -> Any:
    total = x.dtype.type(0)
    for start in range(0, x.size, block):
        total = total + np.add.reduce(x[start : start + block])
    return total


@functools.cache
def numpy_reduce_block(bufsize: int) -> int | None:
    """How ``np.add.reduce`` sums a long contiguous float array with this numpy: one pairwise tree
    over the whole array (None; numpy 2.4 does), or a pairwise tree per block of ``bufsize``
    values, the blocks added in turn (``bufsize``; numpy 2.0 does)."""
    rng = np.random.default_rng(0)
    for _ in range(8):
        length = 3 * bufsize + 1001
        x = rng.random(length) * rng.choice([1.0, 1e-3, 1e5], length)
        whole = PairwiseSum(length, x.dtype, block=None, node=max(min(bufsize, 1 << 13), _LEAF))
        whole.feed(x)
        expected = np.add.reduce(x)
        is_whole, is_blocked = whole.total == expected, _blocked_sum(x, bufsize) == expected
        if is_whole != is_blocked:
            return None if is_whole else bufsize
    return None


class PairwiseSum:
    """``np.add.reduce`` of a sequence of known length, fed piece by piece, bit for bit.

    numpy sums a contiguous float array pairwise (``_Tree``), in one tree (numpy 2.4) or one
    tree per block of ``np.getbufsize()`` values whose sums are added in turn (numpy 2.0);
    ``block`` (detected by default) says which. Either way the reduction starts from 0.
    """

    def __init__(self, length: int, dtype: np.dtype[Any], *, block: int | None | str = "detect", node: int = 1 << 13) -> None:
        if node < _LEAF:
            msg = f"node must be at least {_LEAF}"
            raise ValueError(msg)
        if block == "detect":
            bufsize = int(np.getbufsize())
            block = numpy_reduce_block(bufsize)
        self.length = int(length)
        self.dtype = np.dtype(dtype)
        self._block = self.length if block is None else int(block)
        self._node = min(node, self._block) if self.length else node
        self._buffer = np.empty(min(self._node, self.length), dtype=self.dtype)
        self._left = self.length  # values not yet fed
        self.total: Any = self.dtype.type(0)
        self._tree = self._next_tree()

    def _next_tree(self) -> _Tree | None:
        if self._left == 0:
            return None
        size = min(self._block, self._left)
        self._left -= size
        return _Tree(size, self.dtype, self._node, self._buffer)

    @property
    def done(self) -> bool:
        return self._tree is None

    def feed(self, values: np.ndarray) -> None:
        """The next values of the sequence (1-D, of the dtype), in order."""
        start, size = 0, values.shape[0]
        while start < size:
            if self._tree is None:
                msg = "more values than the announced length"
                raise ValueError(msg)
            start += self._tree.feed(values[start:])
            if self._tree.total is not None:
                self.total = self.total + self._tree.total
                self._tree = self._next_tree()

    def mean(self) -> float:
        """``np.mean`` of the sequence as a float64 (NaN if empty); every value must have been fed."""
        if not self.done:
            msg = f"only part of the {self.length} announced values were fed"
            raise RuntimeError(msg)
        if self.length == 0:
            return math.nan
        # numpy's _mean: the sum divided by an intp count, cast back to the dtype
        return float(self.total.dtype.type(self.total / np.intp(self.length)))


class GroupMeans:
    """Per class, ``np.mean`` of its absent group (1 - p over rows without it) and of its present
    group (p over rows with it), in row order: exactly ``BinaryThresholds``' means."""

    def __init__(self, n_absent: np.ndarray, n_present: np.ndarray, dtype: np.dtype[Any]) -> None:
        k = int(n_absent.size)
        node = int(min(max(_NODE_BUDGET // max(2 * k, 1), _LEAF), 1 << 13))
        self._absent = [PairwiseSum(int(n), dtype, node=node) for n in n_absent.tolist()]
        self._present = [PairwiseSum(int(n), dtype, node=node) for n in n_present.tolist()]

    def add(self, pb: Problems) -> None:
        absent = pb.complement(pb.probs.T[~pb.given.T])  # class-major: column by column
        starts = np.zeros(pb.num_classes + 1, dtype=np.int64)
        np.cumsum(pb.counts[:, 0], out=starts[1:])
        for k in np.flatnonzero(pb.counts[:, 0]).tolist():
            self._absent[k].feed(absent[starts[k] : starts[k + 1]])
        for k in np.flatnonzero(pb.counts[:, 1]).tolist():
            self._present[k].feed(pb.lab_p[pb.lab_starts[k] : pb.lab_starts[k + 1]])

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean absent, mean present), float64 (K,), NaN for an empty group."""
        return (
            np.array([s.mean() for s in self._absent], dtype=np.float64),
            np.array([s.mean() for s in self._present], dtype=np.float64),
        )


def _outward(x: np.ndarray, dtype: np.dtype[Any], down: bool) -> np.ndarray:
    """x rounded to a value of ``dtype`` below (``down``) or above it, as float64."""
    y = x.astype(dtype)
    if down:
        y = np.where(y > x, np.nextafter(y, dtype.type(-np.inf)), y)
    else:
        y = np.where(y < x, np.nextafter(y, dtype.type(np.inf)), y)
    return y.astype(np.float64)


def _mean_bounds(
    dtype: np.dtype[Any], total: np.ndarray, count: np.ndarray, terms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (low, high) on ``np.mean`` of groups of ``count`` non-negative values of ``dtype``
    whose exact sum our float64 ``total`` approximates (each value went through at most ``terms``
    additions). NaN for an empty group.

    A sum of non-negative values where each went through at most h additions errs by at most
    h u / (1 - h u) times the sum. numpy's pairwise sum: at most 25 additions in a node of 128
    values (15 in an accumulator, 3 combining them, 7 for the rest) and one per level of the tree
    above it; then the division, in float64, and the cast to the dtype. We take twice that.
    """
    u = _U32 if dtype == np.float32 else _U64
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.ceil(np.log2(count.astype(np.float64) + 1.0))
        h = 40.0 + 2.0 * depth
        rel = h * u / (1.0 - h * u) + u + 32.0 * _U64
        ours = 2.0 * terms * _U64 * total
        low = np.maximum(total - ours, 0.0) / count * (1.0 - rel)
        high = (total + ours) / count * (1.0 + rel)
    empty = count == 0
    low[empty] = np.nan
    high[empty] = np.nan
    return _outward(low, dtype, down=True), _outward(high, dtype, down=False)




# --------------------------------------------------------------------------- pass 1


@dataclass
class StoredCandidates:
    """The candidates of one given label over the whole query, sorted by class."""

    label: int
    rows: np.ndarray  # int64 index among the scored rows (empty if not kept)
    cls: np.ndarray  # int32
    p: np.ndarray  # pred_probs' dtype

    def as_candidates(self, num_classes: int) -> Candidates:
        a = np.subtract(self.p.dtype.type(1), self.p)
        starts = np.zeros(num_classes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.cls, minlength=num_classes), out=starts[1:])
        return Candidates(self.label, self.rows, self.cls, self.p, a, starts)


class _Statistics:
    """Pass 1: group sizes, float64 group sums, and (if asked) the candidates."""

    def __init__(self, num_classes: int, *, sums: bool, candidates: bool, rows: bool) -> None:
        self.num_classes = num_classes
        self.n = 0
        self.dtype: np.dtype[Any] | None = None
        self.n_present = np.zeros(num_classes, dtype=np.int64)
        self.sum_present = np.zeros(num_classes)
        self.sum_absent = np.zeros(num_classes)
        self.terms = 0  # at most this many additions went into any value of the float64 sums
        self._sums, self._candidates, self._rows = sums, candidates, rows
        self._parts: tuple[list[tuple[np.ndarray, ...]], list[tuple[np.ndarray, ...]]] = ([], [])

    def add(self, pb: Problems) -> None:
        if self.dtype is None:
            self.dtype = pb.dtype
        self.n_present += pb.counts[:, 1]
        if self._sums:
            k = self.num_classes
            self.sum_present += np.bincount(pb.lab_cls, weights=pb.lab_p.astype(np.float64), minlength=k)
            step = max(1, (1 << 15) // max(k, 1))
            for start in range(0, pb.n, step):
                work = pb.complement(pb.probs[start : start + step]).astype(np.float64)  # exact widening
                work[pb.given[start : start + step]] = 0.0
                self.sum_absent += work.sum(axis=0)
                self.terms += 1
            self.terms += pb.n + 1
        if self._candidates:
            for label, cand in enumerate(_issues.candidates(pb)):
                rows = cand.rows + self.n if self._rows else np.zeros(0, dtype=np.int64)
                self._parts[label].append((rows, cand.cls.astype(np.int32), cand.p))
        self.n += pb.n

    @property
    def counts(self) -> np.ndarray:
        """(K, 2) int64: rows without / with each class."""
        return np.stack([self.n - self.n_present, self.n_present], axis=1)

    def stored(self) -> tuple[StoredCandidates, StoredCandidates]:
        out = []
        for label, parts in enumerate(self._parts):
            assert self.dtype is not None
            rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
            cls = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int32)
            p = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=self.dtype)
            order = np.argsort(cls, kind="stable")
            out.append(StoredCandidates(label, rows[order] if rows.size else rows, cls[order], p[order]))
        self._parts = ([], [])
        return out[0], out[1]

    def threshold_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Cuts (K, 2) just below and just above the exact ones (from the float64 sums)."""
        assert self.dtype is not None
        counts = self.counts
        low0, high0 = _mean_bounds(self.dtype, self.sum_absent, counts[:, 0], self.terms)
        low1, high1 = _mean_bounds(self.dtype, self.sum_present, counts[:, 1], self.terms)
        _, cut_low, _ = _issues.finish_thresholds(self.dtype, low0, low1)
        _, cut_high, _ = _issues.finish_thresholds(self.dtype, high0, high1)
        return cut_low, cut_high


# --------------------------------------------------------------------------- pass 2


@dataclass(frozen=True)
class _Boundaries:
    """Guess boundaries: ``b1`` (guess present when p > b1) and ``b0`` (guess absent when p <= b0),
    each as an interval: ``wide`` the largest set, ``narrow`` the smallest one."""

    b1_wide: np.ndarray
    b1_narrow: np.ndarray
    b0_wide: np.ndarray
    b0_narrow: np.ndarray

    @classmethod
    def between(cls, dtype: np.dtype[Any], cut_low: np.ndarray, cut_high: np.ndarray) -> _Boundaries:
        # "present" is most likely with a low present cut and a high absent cut, and vice versa
        b1_wide, b0_narrow = guess_bounds(dtype, cut_high[:, 0], cut_low[:, 1])
        b1_narrow, b0_wide = guess_bounds(dtype, cut_low[:, 0], cut_high[:, 1])
        return cls(b1_wide, b1_narrow, b0_wide, b0_narrow)

    @classmethod
    def exact(cls, b1: np.ndarray, b0: np.ndarray) -> _Boundaries:
        return cls(b1, b1, b0, b0)

    def contains(self, b1: np.ndarray, b0: np.ndarray) -> bool:
        return bool(np.all((self.b1_wide <= b1) & (b1 <= self.b1_narrow) & (self.b0_narrow <= b0) & (b0 <= self.b0_wide)))


class _JointCounter:
    """The confident joint of every class, with the guess boundaries known within intervals: sure
    guesses are counted, the entries between the bounds are kept until the exact bounds are known."""

    def __init__(self, bounds: _Boundaries) -> None:
        self.bounds = bounds
        k = bounds.b1_wide.size
        self.sure = np.zeros((k, 2, 2), dtype=np.int64)  # [class, given label, guess]
        self.band: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # (guess, cls, given, p)

    def _count(self, pb: Problems, guess: int, sure: np.ndarray, maybe: np.ndarray) -> None:
        # guess 1: p > sure (certain), sure >= p > maybe (undecided); guess 0: p <= sure, maybe >= p > sure
        op = np.greater if guess == 1 else np.less_equal
        inside = _issues._columnwise(op, pb.probs, sure)
        n_all = _issues._count(inside)
        labelled = np.bincount(pb.lab_cls[op(pb.lab_p, sure[pb.lab_cls])], minlength=pb.num_classes)
        self.sure[:, 1, guess] += labelled
        self.sure[:, 0, guess] += n_all - labelled
        if np.array_equal(sure, maybe):
            return
        if guess == 1:
            outer = _issues._columnwise(np.greater, pb.probs, maybe)
            band = outer & ~inside
        else:
            outer = _issues._columnwise(np.less_equal, pb.probs, maybe)
            band = outer & ~inside
        if band.any():
            rows, cls = np.nonzero(band)
            self.band.append((guess, cls, pb.given[rows, cls], pb.probs[rows, cls]))

    def add(self, pb: Problems) -> None:
        self._count(pb, 1, self.bounds.b1_narrow, self.bounds.b1_wide)
        self._count(pb, 0, self.bounds.b0_narrow, self.bounds.b0_wide)

    def joint(self, b1: np.ndarray, b0: np.ndarray) -> np.ndarray:
        """(K, 2, 2) int64 [given label][guess], diagonal at least 1, as ``_issues.confident_joint``."""
        joint = self.sure.copy()
        k = joint.shape[0]
        for guess, cls, given, p in self.band:
            hit = p > b1[cls] if guess == 1 else p <= b0[cls]
            index = cls[hit] * 2 + given[hit]
            joint[:, :, guess] += np.bincount(index, minlength=2 * k).reshape(k, 2)
        joint[:, [0, 1], [0, 1]] = np.maximum(joint[:, [0, 1], [0, 1]], 1)
        return joint


class _Smallest:
    """The ``size`` smallest values seen (with repeats), to find the j-th smallest for j <= size."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.values = np.zeros(0)
        self._largest = np.inf

    def add(self, values: np.ndarray) -> None:
        if self.size == 0 or values.size == 0:
            return
        if self.values.size >= self.size:
            values = values[values < self._largest]
            if values.size == 0:
                return
        merged = np.concatenate([self.values, values])
        if merged.size > self.size:
            merged = np.partition(merged, self.size - 1)[: self.size]
        self.values = merged
        if merged.size >= self.size:
            self._largest = float(merged.max())

    def nth(self, j: int) -> float:
        """The j-th smallest value (1-based); -inf for j = 0 (nothing is that small)."""
        if j <= 0:
            return -math.inf
        if j > self.values.size:
            msg = f"asked for the {j}-th smallest of {self.values.size} kept values"
            raise RuntimeError(msg)
        return float(np.partition(self.values, j - 1)[j - 1])


@dataclass
class _LowSelection:
    """The smallest scores of the ``low_*`` filters: of whole rows (EMA of self confidence) or per
    class (binary scores of ``method``)."""

    per_class: bool
    method: str
    keep: list[_Smallest] = field(default_factory=list)

    def add(self, pb: Problems) -> None:
        if not self.per_class:
            if self.keep[0].size:
                self.keep[0].add(_issues.row_scores(pb, "self_confidence", False))
            return
        scores = _issues.binary_scores(pb, self.method, False)
        for k, kept in enumerate(self.keep):
            if kept.size:
                kept.add(scores[:, k])


def _run(problems: Iterator[Problems], consumers: Sequence[Any]) -> None:
    for pb in problems:
        for consumer in consumers:
            consumer.add(pb)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class IssueRule:
    """What the flags of a row depend on beyond the row: fixed before any flag is computed.

    - ``confident_learning``: an unlabelled candidate is flagged when p > b1, a labelled one when
      p <= b0 (its confident guess is the other label);
    - prune filters: a candidate is flagged when its key (``_issues._key``) is at most the cutoff of
      its class and given label, for each key the filter uses;
    - ``low_*``: a row (or, per class, an entry) is flagged when its score is at most the cutoff.
    """

    filter_by: str
    num_classes: int
    b1: np.ndarray | None = None
    b0: np.ndarray | None = None
    cutoffs: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (K, 2), by given label
    row_cutoff: float = -math.inf
    class_cutoffs: np.ndarray | None = None
    nothing: bool = False  # no row was scored

    def entry_flags(self, cand: Candidates) -> np.ndarray:
        """Which candidates are flagged (every filter but the ``low_*`` ones)."""
        if self.nothing:
            return np.zeros(cand.cls.size, dtype=bool)
        if self.filter_by == "predicted_neq_given":
            return np.ones(cand.cls.size, dtype=bool)
        if self.filter_by == "confident_learning":
            assert self.b1 is not None and self.b0 is not None
            return cand.p > self.b1[cand.cls] if cand.label == 0 else cand.p <= self.b0[cand.cls]
        keep = np.ones(cand.cls.size, dtype=bool)
        for by, cutoff in self.cutoffs.items():
            keep &= cand.keys(by) <= cutoff[cand.cls, cand.label]
        return keep

    def class_mask(self, pb: Problems) -> np.ndarray:
        """(n, K) bool flags of a batch."""
        mask = np.zeros(pb.probs.shape, dtype=bool)
        if self.nothing or pb.n == 0:
            return mask
        if self.filter_by in _issues.LOW_FILTERS:
            assert self.class_cutoffs is not None
            method = "self_confidence" if self.filter_by == "low_self_confidence" else "normalized_margin"
            return _issues.binary_scores(pb, method, False) <= self.class_cutoffs
        for cand in _issues.candidates(pb):
            hit = self.entry_flags(cand)
            mask[cand.rows[hit], cand.cls[hit]] = True
        return mask

    def row_mask(self, pb: Problems) -> np.ndarray:
        """(n,) bool flags of a batch's rows."""
        if self.nothing or pb.n == 0:
            return np.zeros(pb.n, dtype=bool)
        if self.filter_by in _issues.LOW_FILTERS:
            return _issues.row_scores(pb, "self_confidence", False) <= self.row_cutoff
        return self.class_mask(pb).any(axis=1)


def _cutoffs(stored: tuple[StoredCandidates, StoredCandidates], nums: list[dict[str, np.ndarray]], k: int) -> dict[str, np.ndarray]:
    """Per key and class and given label, the m-th smallest key of the subset (the candidates'
    keys are the smallest of it): -inf when m <= 0, +inf when m reaches past the candidates."""
    out: dict[str, np.ndarray] = {}
    for by in nums[0]:
        cutoff = np.full((k, 2), -np.inf)
        for label, cands in enumerate(stored):
            cand = cands.as_candidates(k)
            keys = cand.keys(by)
            size = np.diff(cand.starts)
            num = nums[label][by]
            cutoff[:, label] = np.where((num > 0) & (num >= size), np.inf, -np.inf)
            for c in np.flatnonzero((num > 0) & (num < size)).tolist():
                segment = keys[cand.starts[c] : cand.starts[c + 1]]
                m = int(num[c])
                cutoff[c, label] = float(np.partition(segment, m - 1)[m - 1])
        out[by] = cutoff
    return out


def _cl_flags(stored: tuple[StoredCandidates, StoredCandidates], b1: np.ndarray, b0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and classes of the candidates confident learning flags with these boundaries."""
    unl, lab = stored
    hit0 = unl.p > b1[unl.cls]
    hit1 = lab.p <= b0[lab.cls]
    rows = np.concatenate([unl.rows[hit0], lab.rows[hit1]]) if unl.rows.size + lab.rows.size else np.zeros(0, dtype=np.int64)
    return rows, np.concatenate([unl.cls[hit0], lab.cls[hit1]])


@dataclass(frozen=True)
class LazyIssues:
    """The rule, and (when candidates were kept with their rows) the flagged entries' counts."""

    rule: IssueRule
    num_rows: int
    stored: tuple[StoredCandidates, StoredCandidates] | None = None
    passes: int = 0

    def summary(self) -> tuple[np.ndarray, int]:
        """(K, 2) counts [flagged and labelled, flagged and unlabelled] per class, and the number
        of flagged rows (every filter but the ``low_*`` ones)."""
        k = self.rule.num_classes
        counts = np.zeros((k, 2), dtype=np.int64)
        if self.stored is None or self.num_rows == 0:
            return counts, 0
        rows = []
        for cands in self.stored:
            cand = cands.as_candidates(k)
            hit = self.rule.entry_flags(cand)
            counts[:, 1 - cands.label] += np.bincount(cand.cls[hit], minlength=k)
            rows.append(cand.rows[hit])
        return counts, int(np.unique(np.concatenate(rows)).size)


def find_lazy_issues(
    frame: pl.LazyFrame,
    labels: pl.Expr,
    pred_probs: pl.Expr,
    num_classes: int,
    spec: LabelSpec,
    options: IssueOptions,
    *,
    per_class: bool = False,
    keep_rows: bool = False,
) -> LazyIssues:
    """The streaming passes for ``options``; ``per_class`` selects the per-class ``low_*`` rule,
    ``keep_rows`` keeps the candidates' rows for ``LazyIssues.summary``."""
    filter_by, k = options.filter_by, num_classes
    if filter_by == "predicted_neq_given" and not keep_rows:
        return LazyIssues(IssueRule(filter_by, k), num_rows=-1)

    def stream() -> Iterator[Problems]:
        return stream_problems(frame, labels, pred_probs, k, spec)

    low = filter_by in _issues.LOW_FILTERS
    prune = filter_by in _issues.PRUNE_FILTERS
    count_joint = prune and options.confident_joint is None
    cands = prune or low or keep_rows
    stats = _Statistics(k, sums=count_joint or low, candidates=cands, rows=keep_rows or (low and not per_class))
    _run(stream(), [stats])
    passes = 1
    if stats.n == 0 or stats.dtype is None:
        return LazyIssues(IssueRule(filter_by, k, nothing=True), num_rows=0, passes=passes)
    dtype, counts = stats.dtype, stats.counts
    stored = stats.stored() if cands else None

    # pass 2: exact thresholds; the joint and the low_* scores with the thresholds' intervals
    need_means = filter_by == "confident_learning" or count_joint or low
    means = GroupMeans(counts[:, 0], counts[:, 1], dtype) if need_means else None
    consumers: list[Any] = [] if means is None else [means]
    bounds = None
    if count_joint or low:
        bounds = _Boundaries.between(dtype, *stats.threshold_bounds())
    joint_counter = _JointCounter(bounds) if count_joint and bounds is not None else None
    selection = None
    if low:
        assert stored is not None and bounds is not None
        method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"
        rows, cls = _cl_flags(stored, bounds.b1_wide, bounds.b0_wide)  # at most these are flagged
        sizes = [np.unique(rows).size] if not per_class else np.bincount(cls, minlength=k).tolist()
        selection = _LowSelection(per_class, method, [_Smallest(s) for s in sizes])
    consumers += [c for c in (joint_counter, selection) if c is not None]
    if consumers:
        _run(stream(), consumers)
        passes += 1
    b1 = b0 = None
    if means is not None:
        _, cuts, _ = _issues.finish_thresholds(dtype, *means.means())
        b1, b0 = guess_bounds(dtype, cuts[:, 0], cuts[:, 1])
    if bounds is not None and b1 is not None and b0 is not None and not bounds.contains(b1, b0):
        # the error bounds failed (they should not): count again with the exact thresholds
        joint_counter = _JointCounter(_Boundaries.exact(b1, b0)) if count_joint else None
        if selection is not None:
            assert stored is not None
            rows, cls = _cl_flags(stored, b1, b0)
            sizes = [np.unique(rows).size] if not per_class else np.bincount(cls, minlength=k).tolist()
            selection = _LowSelection(per_class, selection.method, [_Smallest(s) for s in sizes])
        _run(stream(), [c for c in (joint_counter, selection) if c is not None])
        passes += 1

    if filter_by == "predicted_neq_given":
        rule = IssueRule(filter_by, k)
    elif filter_by == "confident_learning":
        rule = IssueRule(filter_by, k, b1=b1, b0=b0)
    elif low:
        assert stored is not None and selection is not None and b1 is not None and b0 is not None
        rows, cls = _cl_flags(stored, b1, b0)
        if per_class:
            flagged = np.bincount(cls, minlength=k)
            cut = np.array([kept.nth(int(j)) for kept, j in zip(selection.keep, flagged.tolist(), strict=True)])
            rule = IssueRule(filter_by, k, class_cutoffs=cut)
        else:
            rule = IssueRule(filter_by, k, row_cutoff=selection.keep[0].nth(int(np.unique(rows).size)))
    else:
        assert stored is not None
        if options.confident_joint is not None:
            calibrated = options.confident_joint
        else:
            assert joint_counter is not None and b1 is not None and b0 is not None
            calibrated = _issues.calibrate(joint_counter.joint(b1, b0), counts)
        pcounts = _issues.prune_counts(calibrated, counts, options)
        nums = [_issues.prune_nums(counts[:, label], pcounts, options, label) for label in (0, 1)]
        rule = IssueRule(filter_by, k, cutoffs=_cutoffs(stored, nums, k))
    return LazyIssues(rule, num_rows=stats.n, stored=stored if keep_rows else None, passes=passes)
