"""Confident thresholds as a mergeable statistic (pass 1 of every dataset-level computation).

Per class k, ``t_absent`` is the mean of ``1 - p`` over the rows not labelled k and ``t_present``
the mean of p over the rows labelled k; an empty group's threshold is 2, and every threshold is at
least 2e-6. A batch contributes its group sizes and exact fixed-point group sums
(``ThresholdPartial.of``); partials merge by addition, so the thresholds do not depend on how the
rows were split or in what order partials arrive; ``finalize`` turns the sums into thresholds
(``ConfidentThresholds``) and the boundaries on p that every later test of a row uses.

cleanlab takes ``np.mean`` of each group, a pairwise float sum whose last bits depend on the order
of the rows. Ours is the exact mean, correctly rounded (see ``polars_mlq.core.exact``): they differ
by at most a few units in the last place, and a flag can differ only for a probability within
that distance of a cut (docs/differences-from-cleanlab.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from polars_mlq.core import exact, fixed
from polars_mlq.core.binary import SLACK, guess_bounds
from polars_mlq.core.chunk import Chunk
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.input import Batch, class_counts, sorted_unique
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.scoring import EMPTY_GROUP, FLOOR, Thresholds


def finish_thresholds(
    dtype: np.dtype[Any], mean_absent: np.ndarray, mean_present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return thresholds (K, 2), cuts (K, 2) and ``wide`` (K,) from the group means.

    The means are as ``np.mean`` gives them (NaN for an empty group): an empty group's threshold is
    2, every threshold is at least 2e-6, and a cut is the threshold minus 1e-6. Classes with both
    groups keep pred_probs' dtype (float32): they are clipped and shifted in it; the others are
    float64.
    """
    means = np.stack([mean_absent, mean_present], axis=1)
    empty = np.isnan(means)
    wide = empty.any(axis=1) | (dtype == np.float64)
    values = np.where(empty, EMPTY_GROUP, means)
    cuts = np.empty_like(values)
    narrow = ~wide
    t32 = np.maximum(values[narrow].astype(dtype), dtype.type(FLOOR))
    values[narrow] = t32
    cuts[narrow] = t32 - dtype.type(SLACK)
    t64 = np.maximum(values[wide], FLOOR)
    values[wide] = t64
    cuts[wide] = t64 - SLACK
    return values, cuts, wide


def _limbs(absent: np.ndarray, present: np.ndarray | None) -> np.ndarray:
    """Return the (K, 2, 3) normalized limbs of both groups' sums (zeros for ``present`` None)."""
    both = np.zeros((absent.shape[0], 2, 3), dtype=np.int64)
    both[:, 0] = absent
    if present is not None:
        both[:, 1] = present
    return fixed.normalized(both)


def sparse_groups(batch: SparseBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return a sparse batch's explicit entries in the thresholds' two groups.

    (present classes, their p, absent classes, their 1 - p): the labelled entries (listed, or at
    fill where a row does not list its label) and the listed unlabelled ones. Every other entry
    is unlabelled at fill and adds ``fill_unit`` to its class's absent group.
    """
    labels = batch.labels
    dtype = batch.probs.dtype
    hit = labels.labelled
    present_classes = np.concatenate([batch.classes[hit], labels.unlisted_classes])
    present_values = np.concatenate([batch.probs[hit], np.full(labels.unlisted_classes.size, batch.fill, dtype)])
    return present_classes, present_values, batch.classes[~hit], np.subtract(dtype.type(1), batch.probs[~hit])


def fill_unit(batch: SparseBatch) -> int:
    """Return 1 - fill (computed in the probabilities' dtype) in units of 2**-80."""
    dtype = batch.probs.dtype
    return exact.segment_sums(np.array([dtype.type(1) - batch.fill], dtype=dtype), np.zeros(1, dtype=np.intp), 1)[0]


#: ``_ascending`` looks at this many positions first: labels shuffled within rows show it there.
_FIRST_POSITIONS = 1 << 16


def _ascending(positions: np.ndarray) -> bool:
    """Return whether the flat label positions strictly ascend (labels sorted within rows, none repeated).

    The first ``_FIRST_POSITIONS`` are looked at first, so that a batch whose labels are out of
    order (most of them, in data that lists labels in any order) needs no pass over all of them.
    """
    head = positions[: _FIRST_POSITIONS + 1]
    if not bool(np.all(head[1:] > head[:-1])):
        return False
    return positions.size <= head.size or bool(np.all(positions[head.size :] > positions[head.size - 1 : -1]))


@dataclass(frozen=True)
class ThresholdPartial:
    """Pass 1 of one batch: per class the sizes and exact sums of its two groups.

    ``sums[k]`` is ``(absent, present)``: fixed-point sums (units of 2**-80, as ``fixed`` limbs,
    shape (K, 2, 3)) of ``1 - p`` over the rows without class k and of p over the rows with it.
    ``dtype`` is pred_probs' dtype (None for a partial of no rows). Merge with ``+``;
    ``ThresholdPartial.empty(K)`` is the identity.
    """

    num_classes: int
    num_rows: int
    present: np.ndarray  # (K,) int64: rows labelled with each class
    sums: np.ndarray  # (K, 2, 3) int64 fixed-point limbs
    dtype: str | None

    @classmethod
    def empty(cls, num_classes: int) -> ThresholdPartial:
        """Return the partial of no rows."""
        return cls(
            num_classes, 0, np.zeros(num_classes, dtype=np.int64), _limbs(np.zeros((num_classes, 3)), None), None
        )

    @classmethod
    def of(cls, chunk: Chunk | SparseChunk) -> ThresholdPartial:
        """Return the partial statistic of one batch."""
        if isinstance(chunk, SparseChunk):
            return cls.of_sparse(chunk.batch)
        pb = chunk.problems
        return cls._of_positions(pb.probs, pb.label_positions, pb.lab_cls, counts=pb.counts[:, 1])

    @classmethod
    def _of_positions(
        cls,
        probs: np.ndarray,
        positions: np.ndarray,
        classes: np.ndarray,
        row_offsets: np.ndarray | None = None,
        counts: np.ndarray | None = None,
    ) -> ThresholdPartial:
        """Return the partial of ``probs`` with labels of ``classes`` at the flat ``positions``.

        The positions ascend, or with ``row_offsets`` come in any order within each row. 1 - p of
        the unlabelled entries and p of the labelled ones are summed as each block is read.
        ``counts``, when known, are the labels per class (``np.bincount`` of ``classes``); with
        ``row_offsets`` and no ``counts`` the blocks count them as they mark the labels, on threads.
        """
        n, k = probs.shape
        if n == 0:
            return cls.empty(k)
        if counts is None and row_offsets is None:
            counts = class_counts(classes, k)
        found = np.zeros(k, dtype=np.int64)  # with row_offsets the blocks count the classes
        absent, present = exact.complement_sums(
            probs, exclude=positions, classes=classes, row_offsets=row_offsets, class_counts=counts, counts_out=found
        )
        counts = found
        return cls(k, n, counts, _limbs(fixed.of_ints(absent), fixed.of_ints(present)), probs.dtype.name)

    @classmethod
    def of_batch(cls, batch: Batch) -> ThresholdPartial:
        """Return the partial statistic of a validated batch (without building its ``Chunk``)."""
        probs = batch.probs
        positions, classes = batch.label_positions, batch.label_values
        if _ascending(positions):
            return cls._of_positions(probs, positions, classes)  # fewer calls a block than by rows
        try:  # labels out of order within a row: read by row, unless a label is repeated
            return cls._of_positions(probs, positions, classes, batch.label_offsets)
        except exact.RepeatedEntry:
            positions = sorted_unique(positions, probs.size)
            return cls._of_positions(probs, positions, positions % max(batch.num_classes, 1))

    @classmethod
    def of_entries(cls, probs: np.ndarray, lab_cls: np.ndarray, lab_p: np.ndarray) -> ThresholdPartial:
        """Return the partial statistic of (n, K) ``probs`` and its labelled entries.

        The labelled entries (no repeats) have classes ``lab_cls`` and probabilities ``lab_p``.
        """
        n, k = probs.shape
        if n == 0:
            return cls.empty(k)
        absent_all = fixed.of_ints(exact.column_sums(probs, complement=True))
        absent_labelled = exact.segment_limbs(np.subtract(probs.dtype.type(1), lab_p), lab_cls, k)
        present = exact.segment_limbs(lab_p, lab_cls, k)
        sums = _limbs(absent_all - absent_labelled, present)
        counts = np.bincount(lab_cls, minlength=k).astype(np.int64)
        return cls(k, n, counts, sums, probs.dtype.name)

    @classmethod
    def of_sparse(cls, batch: SparseBatch) -> ThresholdPartial:
        """Return the partial statistic of a sparse batch: the densified rows' sums, from the listed entries.

        Per class, the present group sums p over its labelled rows (fill where the class is not
        listed) and the absent group 1 - p over the others, where each row that neither lists nor
        is labelled with the class adds 1 - fill: that many times one fixed-point value, exactly.
        """
        k, n = batch.num_classes, batch.n_rows
        if n == 0:
            return cls.empty(k)
        present_classes, present_values, absent_classes, absent_values = sparse_groups(batch)
        present = exact.segment_limbs(present_values, present_classes, k)
        absent_listed = exact.segment_limbs(absent_values, absent_classes, k)
        counts = np.bincount(present_classes, minlength=k).astype(np.int64)
        neither = n - counts - np.bincount(absent_classes, minlength=k)
        absent = absent_listed + fixed.times(fill_unit(batch), neither)
        return cls(k, n, counts, _limbs(absent, present), batch.probs.dtype.name)

    def __add__(self, other: ThresholdPartial) -> ThresholdPartial:
        if self.num_classes != other.num_classes:
            msg = f"cannot merge statistics of {self.num_classes} and {other.num_classes} classes"
            raise ValueError(msg)
        if self.dtype is not None and other.dtype is not None and self.dtype != other.dtype:
            msg = f"cannot merge statistics of {self.dtype} and {other.dtype} pred_probs"
            raise ValueError(msg)
        sums = fixed.normalized(self.sums + other.sums)
        return ThresholdPartial(
            self.num_classes,
            self.num_rows + other.num_rows,
            self.present + other.present,
            sums,
            self.dtype or other.dtype,
        )

    def finalize(self) -> ConfidentThresholds:
        """Return the thresholds of every row merged into this partial."""
        dtype = np.dtype(self.dtype or "float64")
        counts = np.stack([self.num_rows - self.present, self.present], axis=1).astype(np.int64)
        means = fixed.means(self.sums.reshape(-1, 3), counts.reshape(-1), exact.UNIT_BITS).reshape(self.num_classes, 2)
        values, cuts, wide = finish_thresholds(dtype, means[:, 0], means[:, 1])
        exact_means = np.maximum(np.where(np.isnan(means), EMPTY_GROUP, means), FLOOR)
        return ConfidentThresholds(values, cuts, wide, counts, self.num_rows, dtype, exact_means)


@dataclass(frozen=True, eq=False)
class ConfidentThresholds:
    """Finalized pass 1: per class the thresholds and what every later test of a row needs.

    ``values`` (K, 2) float64 ``[t_absent, t_present]``; ``cuts`` the thresholds minus 1e-6, in
    each class's dtype (float32 pred_probs keep float32 unless a group is empty: ``wide``);
    ``counts`` (K, 2) the group sizes; ``num_rows`` the rows scored; ``means`` the thresholds in
    float64 for every dtype.
    """

    values: np.ndarray
    cuts: np.ndarray
    wide: np.ndarray
    counts: np.ndarray
    num_rows: int
    dtype: np.dtype[Any]
    #: (K, 2) float64 ``[t_absent, t_present]`` as exact means, never rounded to float32: what
    #: ``adjust_pred_probs`` shifts the probabilities by.
    means: np.ndarray

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return int(self.values.shape[0])

    @functools.cached_property
    def guesses(self) -> tuple[np.ndarray, np.ndarray]:
        """Per class (b1, b0), the boundaries of an entry's confident guess.

        An entry's confident guess is "present" exactly when p > b1 and "absent" exactly when
        p <= b0; neither in between (float64, (K,) each).
        """
        return guess_bounds(self.dtype, self.cuts[:, 0], self.cuts[:, 1])

    def for_scoring(self) -> Thresholds:
        """Return the thresholds ``adjust_pred_probs`` shifts by: the float64 means, for every dtype."""
        return Thresholds(absent=self.means[:, 0].copy(), present=self.means[:, 1].copy())


def batch_thresholds(batch: Batch) -> Thresholds:
    """Return the scoring thresholds of one batch's rows."""
    return ThresholdPartial.of_batch(batch).finalize().for_scoring()
