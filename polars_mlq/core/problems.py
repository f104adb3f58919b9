"""The K binary problems of a batch: probabilities, given labels, and the labelled entries.

Column k of a multi-label batch is the binary question "is class k present?": its given label is
``y = [k in the row's labels]`` and its prediction ``p = pred_probs[:, k]``. The labelled entries
(row, class) are listed class by class, so that per-class statistics over them are segment
reductions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from polars_mlq.input import Batch, class_counts, sorted_unique


@dataclass(frozen=True, eq=False)
class Problems:
    """The K binary problems of a batch, with its labelled entries (in row order, no repeats)."""

    probs: np.ndarray  # (n, K) p
    counts: np.ndarray  # (K, 2) int64: rows without / with class k
    lab_cls: np.ndarray  # the classes of the labelled entries
    lab_p: np.ndarray  # their probabilities
    label_positions: np.ndarray  # their flat indices ``row * K + class``, ascending

    def rows_of(self, entries: np.ndarray) -> np.ndarray:
        """Return the rows of some labelled entries (indices into the lists above, or a mask).

        Not kept for every entry: a label's row is its position divided by K, and the entries'
        arrays are what a batch with many labels holds most of (4 bytes a label saved).
        """
        rows: np.ndarray = self.label_positions[entries] // max(self.num_classes, 1)
        return rows

    def first_entry_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Return, for each row number, the index of the first labelled entry in it or after it."""
        starts: np.ndarray = np.searchsorted(self.label_positions, rows * self.num_classes)
        return starts

    @functools.cached_property
    def given(self) -> np.ndarray:
        """(n, K) bool: the multi-hot given labels (built on first use)."""
        return self.given_rows(0, self.n)

    def given_rows(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Return the (stop - start, K) bool multi-hot given labels of rows start..stop, into ``out`` if given."""
        if out is None:
            out = np.zeros((stop - start, self.num_classes), dtype=bool)
        else:
            out.fill(False)
        lo, hi = self.first_entry_of_rows(np.array([start, stop])).tolist()
        out.reshape(-1)[self.label_positions[lo:hi] - start * self.num_classes] = True
        return out

    @property
    def n(self) -> int:
        """The number of rows."""
        return int(self.probs.shape[0])

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return int(self.probs.shape[1])

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of pred_probs."""
        return self.probs.dtype

    def complement(self, p: np.ndarray) -> np.ndarray:
        """``1 - p`` in the dtype of pred_probs (column 0 of the binary matrix)."""
        complement: np.ndarray = np.subtract(self.dtype.type(1), p)
        return complement


def _problems(probs: np.ndarray, positions: np.ndarray, classes: np.ndarray | None = None) -> Problems:
    """Return the problems of ``probs`` with labelled entries at the ascending flat ``positions``.

    ``classes`` are their classes when known; otherwise they are computed, as int32 when K
    allows (half the memory of a large label list).
    """
    n, k = probs.shape
    if classes is None:
        classes = np.empty(positions.size, dtype=np.int32 if k < 2**31 else np.int64)
        np.remainder(positions, max(k, 1), out=classes)
    present = class_counts(classes, k)
    counts = np.stack([n - present, present], axis=1)
    lab_p = probs.reshape(-1)[positions] if probs.flags.c_contiguous else probs[positions // max(k, 1), classes]
    return Problems(probs, counts, classes, lab_p, positions)


def problems(batch: Batch) -> Problems:
    """Return the K binary problems of a validated batch."""
    probs = batch.probs
    # not kept on the batch: the sorted ones replace them, and 8 bytes a label is worth freeing
    positions = batch.flat_positions().astype(np.int64, copy=False)
    # labels usually come sorted within their row: then the positions ascend and none repeats
    if positions.size > 1 and not bool(np.all(positions[1:] > positions[:-1])):
        positions = sorted_unique(positions, probs.size)  # sort within rows, drop repeats ([1, 1] is [1])
        return _problems(probs, positions)
    return _problems(probs, positions, batch.label_values)


def sub_problems(pb: Problems, rows: np.ndarray) -> Problems:
    """Return the problems of some of the rows, in the order given."""
    return _problems(pb.probs[rows], np.flatnonzero(pb.given[rows]))  # row-major: rows ascending, classes within
