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

from polars_mlq.input import Batch, sorted_unique


@dataclass(frozen=True, eq=False)
class Problems:
    """The K binary problems of a batch, with its labelled entries (in row order, no repeats)."""

    probs: np.ndarray  # (n, K) p
    counts: np.ndarray  # (K, 2) int64: rows without / with class k
    lab_rows: np.ndarray  # rows of the labelled entries, ascending (and classes within a row)
    lab_cls: np.ndarray  # their classes
    lab_p: np.ndarray  # their probabilities
    label_positions: np.ndarray  # their flat indices ``row * K + class``, ascending

    @functools.cached_property
    def given(self) -> np.ndarray:
        """(n, K) bool: the multi-hot given labels (built on first use)."""
        mask = np.zeros(self.probs.shape, dtype=bool)
        mask.reshape(-1)[self.label_positions] = True
        return mask

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


def _problems(
    probs: np.ndarray, positions: np.ndarray, entries: tuple[np.ndarray, np.ndarray] | None = None
) -> Problems:
    """Return the problems of ``probs`` with labelled entries at the ascending flat ``positions``.

    ``entries`` are their (rows, classes) when known; otherwise they are computed, as int32 when
    the shape allows (half the memory of a large label list).
    """
    n, k = probs.shape
    if entries is None:
        small = np.int32 if max(n, k) < 2**31 else np.int64
        lab_rows, lab_cls = np.empty(positions.size, dtype=small), np.empty(positions.size, dtype=small)
        np.divmod(positions, max(k, 1), out=(lab_rows, lab_cls))
    else:
        lab_rows, lab_cls = entries
    present = np.bincount(lab_cls, minlength=k).astype(np.int64)
    counts = np.stack([n - present, present], axis=1)
    lab_p = probs.reshape(-1)[positions] if probs.flags.c_contiguous else probs[lab_rows, lab_cls]
    return Problems(probs, counts, lab_rows, lab_cls, lab_p, positions)


def problems(batch: Batch) -> Problems:
    """Return the K binary problems of a validated batch."""
    probs = batch.probs
    positions = batch.label_positions.astype(np.int64, copy=False)
    # labels usually come sorted within their row: then the positions ascend and none repeats
    if positions.size > 1 and not bool(np.all(positions[1:] > positions[:-1])):
        positions = sorted_unique(positions, probs.size)  # sort within rows, drop repeats ([1, 1] is [1])
        return _problems(probs, positions)
    n = probs.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int32 if n < 2**31 else np.int64), np.diff(batch.label_offsets))
    return _problems(probs, positions, (rows, batch.label_values))


def sub_problems(pb: Problems, rows: np.ndarray) -> Problems:
    """Return the problems of some of the rows, in the order given."""
    return _problems(pb.probs[rows], np.flatnonzero(pb.given[rows]))  # row-major: rows ascending, classes within
