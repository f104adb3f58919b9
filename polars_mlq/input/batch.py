"""A batch: the two columns read into validated arrays for the rows that get a score.

Rows where either column is null are set aside (they score null); ``Batch`` maps the scored rows
back to the input rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import polars as pl

from polars_mlq.input.columns import (
    LabelSpec,
    Where,
    check_labels_dtype,
    check_pred_probs_dtype,
    class_names_of,
    pred_probs_width,
)
from polars_mlq.input.labels import check_class_count, read_labels
from polars_mlq.input.probs import check_probs, read_probs

#: Rows are processed in blocks of about this many elements (4 MiB of float64; each row is sorted
#: while it is in L1, and a block's later passes find it in L2 or L3). Fewer blocks mean fewer
#: numpy calls, and on two threads each call can wait for the GIL held by the other (a wake-up
#: on a virtual machine's idle core): 2^19 measured 1-14% faster than 2^18 on every config and
#: distribution but one (equal), 2^18 faster than 2^16 and 2^17, 2^20 no faster than 2^19.
BLOCK_ELEMENTS = 1 << 19
#: A batch of at most this many entries is scored as one block (see ``Batch.block_rows``).
SMALL_BATCH_ELEMENTS = 1 << 14


@dataclass(frozen=True)
class Batch:
    """Validated arrays for the rows that get a score.

    ``probs`` is (n, K) float32 or float64 with values in [0, 1]; the labels of row i are
    ``label_values[label_offsets[i]:label_offsets[i + 1]]``, each in [0, K). ``rows`` maps the
    n scored rows back to the ``n_total`` rows of the input (None when every row is scored).
    """

    probs: np.ndarray
    label_offsets: np.ndarray
    label_values: np.ndarray
    rows: np.ndarray | None
    n_total: int
    #: Set when the range of ``probs`` is not checked yet (``read_batch(defer_range_check=True)``):
    #: the scoring kernel checks each block as it reads it and calls ``checked()`` if one fails.
    pending: PendingCheck | None = None

    def checked(self) -> Batch:
        """Return the batch with its probabilities range-checked (an error names the first bad row)."""
        if self.pending is None:
            return self
        return replace(self, probs=self.pending.check(self.probs), pending=None)

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return int(self.probs.shape[1])

    @property
    def block_rows(self) -> int:
        """Rows per block: about BLOCK_ELEMENTS entries, and at most an eighth of the batch.

        The eighth keeps a block's temporaries well below the size of ``probs`` for small batches
        too, except for a batch of at most SMALL_BATCH_ELEMENTS entries (128 KiB of float64),
        which is one block: there numpy's per-call cost, not memory, is what counts.
        """
        n: int = self.probs.shape[0]
        if n * self.num_classes <= SMALL_BATCH_ELEMENTS:
            return max(1, n)
        return max(1, min(BLOCK_ELEMENTS // max(self.num_classes, 1), -(-n // 8)))

    def blocks(self) -> Iterator[tuple[int, int]]:
        """Yield (start, stop) of consecutive row blocks covering every scored row."""
        n = self.probs.shape[0]
        step = self.block_rows
        for start in range(0, n, step):
            yield start, min(start + step, n)

    @cached_property
    def label_positions(self) -> np.ndarray:
        """Flat index ``row * K + class`` into ``probs`` of every given label, in row order (kept)."""
        return self.flat_positions()

    def flat_positions(self) -> np.ndarray:
        """Return ``label_positions`` without keeping them (the kept ones if they are)."""
        cached: np.ndarray | None = self.__dict__.get("label_positions")
        if cached is not None:
            return cached
        counts = np.diff(self.label_offsets)
        positions = np.repeat(np.arange(len(counts), dtype=np.intp) * self.num_classes, counts)
        positions += self.label_values
        return positions

    def positions(self, start: int, stop: int) -> np.ndarray:
        """Return flat indices of the labels of rows start..stop, within that row block of ``probs``."""
        lo, hi = self.label_offsets[start], self.label_offsets[stop]
        cached: np.ndarray | None = self.__dict__.get("label_positions")
        if cached is not None:
            block: np.ndarray = cached[lo:hi] - start * self.num_classes
            return block
        k = self.num_classes  # not cached (no threshold pass read them): this block's alone, on its thread
        row_starts = np.arange(0, (stop - start) * k, k, dtype=np.intp)
        local = np.repeat(row_starts, np.diff(self.label_offsets[start : stop + 1]))
        local += self.label_values[lo:hi]
        return local

    def classes(self, start: int, stop: int) -> np.ndarray:
        """Return the classes of the labels of rows start..stop (``positions``' columns), a view."""
        return self.label_values[self.label_offsets[start] : self.label_offsets[stop]]

    def scatter(self, values: np.ndarray, fill: object) -> np.ndarray:
        """Place per-row ``values`` of the scored rows among all ``n_total`` input rows.

        The other rows get ``fill``; the array itself is returned when every row is scored.
        """
        if self.rows is None:
            return values
        full = np.full((self.n_total, *values.shape[1:]), fill, dtype=values.dtype)
        full[self.rows] = values
        return full

    def input_rows(self, indices: np.ndarray) -> np.ndarray:
        """Return indices of scored rows as indices of input rows (int64)."""
        indices = indices.astype(np.int64, copy=False)
        return indices if self.rows is None else self.rows[indices].astype(np.int64)

    def with_nulls(self, values: pl.Series) -> pl.Series:
        """Return a Series of the scored rows' values as one of all input rows, null at the others."""
        if self.rows is None:
            return values
        position = np.full(self.n_total, -1, dtype=np.int64)
        position[self.rows] = np.arange(len(self.rows))
        index = pl.Series(position)
        return values.gather(index.set(index < 0, None))

    def multi_hot(self, start: int, stop: int) -> np.ndarray:
        """Return the (stop - start, K) boolean label matrix of rows start..stop."""
        offsets = self.label_offsets[start : stop + 1]
        values = self.label_values[offsets[0] : offsets[-1]]
        mask = np.zeros((stop - start, self.num_classes), dtype=bool)
        row_of_value = np.repeat(np.arange(stop - start), np.diff(offsets))
        mask[row_of_value, values] = True
        return mask


@dataclass(frozen=True)
class PendingCheck:
    """What ``check_probs`` needs to name a bad value later."""

    column: str
    where: Where
    rows: np.ndarray | None
    n_total: int
    source: pl.Series | None

    def check(self, probs: np.ndarray) -> np.ndarray:
        """Return ``probs`` through ``check_probs``: bad values refused (naming the row), tolerated ones clipped."""
        return check_probs(probs, self.column, self.where, self.rows, self.n_total, source=self.source)


def read_batch(
    labels: pl.Series,
    pred_probs: pl.Series,
    *,
    num_classes: int | None = None,
    where: Where = Where(),
    spec: LabelSpec = LabelSpec(),
    defer_range_check: bool = False,
) -> Batch:
    """Validate one batch of the two columns and return its arrays.

    With ``defer_range_check`` the probabilities' range is left to the consumer (``Batch.pending``),
    which saves a pass over memory when the scoring kernel checks each block it reads anyway.
    """
    check_labels_dtype(labels.dtype, labels.name, spec)
    check_pred_probs_dtype(pred_probs.dtype, pred_probs.name)
    n_total = len(labels)
    if len(pred_probs) != n_total:
        msg = f"labels ({n_total} rows) and pred_probs ({len(pred_probs)} rows) differ in length"
        raise ValueError(msg)
    rows = None
    if labels.null_count() or pred_probs.null_count():
        keep = labels.is_not_null() & pred_probs.is_not_null()
        rows = np.flatnonzero(keep.to_numpy())
        labels, pred_probs = labels.filter(keep), pred_probs.filter(keep)
    if num_classes is None:
        num_classes = pred_probs_width(pred_probs.dtype)
    probs = read_probs(pred_probs, num_classes, where, rows, n_total, check_range=not defer_range_check)
    check_class_count(class_names_of(labels.dtype, spec), probs.shape[1], len(labels), spec)
    offsets, values = read_labels(labels, probs.shape[1], where, rows, n_total, spec)
    pending = PendingCheck(pred_probs.name, where, rows, n_total, pred_probs) if defer_range_check else None
    return Batch(probs, offsets, values, rows, n_total, pending)


def read_arrays(labels: pl.Series, probs: np.ndarray, spec: LabelSpec = LabelSpec()) -> Batch:
    """Validate labels given as a Series and pred_probs given as a 2-D numpy array."""
    check_labels_dtype(labels.dtype, labels.name, spec)
    n_total = len(labels)
    _check_probs_array(probs, n_total)
    rows = None
    if labels.null_count():
        keep = labels.is_not_null()
        rows = np.flatnonzero(keep.to_numpy())
        labels, probs = labels.filter(keep), probs[rows]
    probs = np.ascontiguousarray(check_probs(probs, "pred_probs", Where(), rows, n_total))  # the kernels index it flat
    check_class_count(class_names_of(labels.dtype, spec), probs.shape[1], len(labels), spec)
    offsets, values = read_labels(labels, probs.shape[1], Where(), rows, n_total, spec)
    return Batch(probs, offsets, values, rows, n_total)


def batch_of_arrays(offsets: np.ndarray, values: np.ndarray, probs: np.ndarray, spec: LabelSpec = LabelSpec()) -> Batch:
    """Validate pred_probs given as a 2-D numpy array, with labels already read as CSR arrays.

    ``values`` (class indices, int) must be checked by the caller: in [0, K), one list per row
    (``offsets``, n + 1 entries). No row is null.
    """
    n_total = offsets.size - 1
    _check_probs_array(probs, n_total)
    probs = np.ascontiguousarray(check_probs(probs, "pred_probs", Where(), None, n_total))
    check_class_count(class_names_of(pl.List(pl.Int64), spec), probs.shape[1], n_total, spec)
    return Batch(probs, offsets, values.astype(np.intp, copy=False), None, n_total)


def _check_probs_array(probs: np.ndarray, n_total: int) -> None:
    if not isinstance(probs, np.ndarray) or probs.ndim != 2:
        shape = getattr(probs, "shape", None)
        msg = f"pred_probs must be a 2-D numpy array (n_rows, n_classes); got {type(probs).__name__} with shape {shape}"
        raise ValueError(msg) if isinstance(probs, np.ndarray) else TypeError(msg)
    if probs.dtype not in (np.float32, np.float64):
        msg = f"pred_probs must be float32 or float64 probabilities; got dtype {probs.dtype}"
        raise TypeError(msg)
    if probs.shape[0] != n_total:
        msg = f"labels ({n_total} rows) and pred_probs ({probs.shape[0]} rows) differ in length"
        raise ValueError(msg)
    if n_total and probs.shape[1] == 0:
        msg = "pred_probs has width 0; there must be at least one class"
        raise ValueError(msg)
