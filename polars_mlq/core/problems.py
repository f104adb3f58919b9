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

from polars_mlq.input import Batch


@dataclass(frozen=True, eq=False)
class Problems:
    """The K binary problems of a batch, with the labelled entries listed class by class."""

    probs: np.ndarray  # (n, K) p
    counts: np.ndarray  # (K, 2) int64: rows without / with class k
    lab_rows: np.ndarray  # rows of the labelled entries, sorted by class then row
    lab_cls: np.ndarray  # their classes
    lab_p: np.ndarray  # their probabilities
    lab_starts: np.ndarray  # (K + 1,) where each class's entries start

    @functools.cached_property
    def given(self) -> np.ndarray:
        """(n, K) bool: the multi-hot given labels (built on first use)."""
        mask = np.zeros(self.probs.shape, dtype=bool)
        mask.reshape(-1)[self.label_positions] = True
        return mask

    @functools.cached_property
    def label_positions(self) -> np.ndarray:
        """Flat indices ``row * K + class`` of the labelled entries, ascending."""
        return np.sort(self.lab_rows * self.num_classes + self.lab_cls)

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

    def column_subset(self, k: int, label: int) -> np.ndarray:
        """Rows whose given label for class k is ``label``, ascending."""
        if label == 1:
            return self.lab_rows[self.lab_starts[k] : self.lab_starts[k + 1]]
        return np.flatnonzero(~self.given[:, k])


def _problems(probs: np.ndarray, lab_cls: np.ndarray, lab_rows: np.ndarray) -> Problems:
    n, k = probs.shape
    present = np.bincount(lab_cls, minlength=k).astype(np.int64)
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(present, out=starts[1:])
    counts = np.stack([n - present, present], axis=1)
    lab_p = probs.reshape(-1)[lab_rows * k + lab_cls] if probs.flags.c_contiguous else probs[lab_rows, lab_cls]
    return Problems(probs, counts, lab_rows, lab_cls, lab_p, starts)


def problems(batch: Batch) -> Problems:
    """Return the K binary problems of a validated batch."""
    probs = batch.probs
    n = probs.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(batch.label_offsets))
    # labelled entries, class-major and without duplicates ([1, 1] is the same as [1])
    code = np.sort(batch.label_values.astype(np.int64) * max(n, 1) + rows)
    if code.size > 1:
        code = code[np.concatenate(([True], code[1:] != code[:-1]))]
    lab_cls, lab_rows = np.divmod(code, max(n, 1))
    return _problems(probs, lab_cls, lab_rows)


def sub_problems(pb: Problems, rows: np.ndarray) -> Problems:
    """Return the problems of some of the rows, in the order given."""
    lab_cls, lab_rows = np.nonzero(pb.given[rows].T)
    return _problems(pb.probs[rows], lab_cls.astype(np.int64), lab_rows.astype(np.int64))
