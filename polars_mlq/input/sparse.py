"""Sparse predictions: per row the listed classes with their probabilities, every other class ``fill_value``.

A CSR-like object (anything with ``indptr``, ``indices``, ``data`` and ``shape``, such as a SciPy
``csr_array``; SciPy is not needed) is read into a ``SparseBatch``: validated arrays, never the
(N, K) matrix. Every error names the row and the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from polars_mlq.input.columns import TOLERANCE, Where


@dataclass(frozen=True)
class SparseBatch:
    """Row i lists classes ``classes[indptr[i]:indptr[i + 1]]`` with probabilities ``probs[...]``.

    Every class a row does not list has probability ``fill``. Row i's labels are
    ``label_values[label_offsets[i]:label_offsets[i + 1]]``. Classes are in [0, K), each listed at
    most once a row and ascending within it; probabilities are in [0, 1] (float32 or float64,
    ``fill`` in their dtype).
    """

    indptr: np.ndarray  # (n + 1,) int64
    classes: np.ndarray  # (nnz,) int64
    probs: np.ndarray  # (nnz,) float32 or float64
    fill: np.generic
    num_classes: int
    label_offsets: np.ndarray  # (n + 1,) int64
    label_values: np.ndarray  # int

    @property
    def n_rows(self) -> int:
        """The number of rows."""
        return int(self.indptr.size - 1)

    @cached_property
    def labels(self) -> SparseLabels:
        """Where the labels fall (found once: the thresholds and the scores of a batch both need it)."""
        return sparse_labels(self)

    def row_slice(self, start: int, stop: int) -> SparseBatch:
        """Return rows ``start`` to ``stop`` (exclusive) as a batch of their own."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        first, last = int(self.label_offsets[start]), int(self.label_offsets[stop])
        return SparseBatch(
            self.indptr[start : stop + 1] - lo,
            self.classes[lo:hi],
            self.probs[lo:hi],
            self.fill,
            self.num_classes,
            self.label_offsets[start : stop + 1] - first,
            self.label_values[first:last],
        )

    def take_rows(self, rows: np.ndarray) -> SparseBatch:
        """Return the rows ``rows`` (ascending row numbers) as a batch of their own."""
        indptr, at = _segments(self.indptr, rows)
        offsets, labels_at = _segments(self.label_offsets, rows)
        return SparseBatch(
            indptr, self.classes[at], self.probs[at], self.fill, self.num_classes, offsets, self.label_values[labels_at]
        )


def _segments(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the offsets of segments ``rows`` of a CSR-like layout laid end to end, and their entries' indices."""
    counts = indptr[rows + 1] - indptr[rows]
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    at = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(indptr[rows] - offsets[:-1], counts)
    return offsets, at


@dataclass(frozen=True)
class CsrArrays:
    """The four parts of a CSR matrix, as ``read_csr`` reads them from any object that has them."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]


@dataclass(frozen=True)
class Names:
    """How error messages name sparse input: the probabilities, the classes, and row i."""

    probs: str = "pred_probs"
    classes: str = "pred_probs"
    columns: bool = False  # the names are columns ("column 'p', row 3")
    rows: np.ndarray | None = None  # the input row of each row read (None: the same)
    place: Where = Where(first_row=0)  # where the input's rows sit (the first's number, their file)
    n_input: int = 0  # the input's rows (a streamed batch's message says how many)

    def where(self, name: str, row: int) -> str:
        """Return "pred_probs, row 3" (or "column 'probs', row 3") for row ``row`` read."""
        index = row if self.rows is None else int(self.rows[row])
        named = self.place.row(index, self.n_input)
        return f"column {name!r}, {named}" if self.columns else f"{name}, {named}"


def is_csr_like(value: object) -> bool:
    """Whether ``value`` looks like a CSR matrix (``indptr``, ``indices``, ``data`` and ``shape``)."""
    return all(hasattr(value, name) for name in ("indptr", "indices", "data", "shape"))


def _row_of(indptr: np.ndarray, index: int) -> int:
    return int(np.searchsorted(indptr, index, side="right") - 1)


def read_csr(
    csr: object, fill_value: object, n_rows: int, names: Names | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.generic, int]:
    """Return (indptr, classes, probs, fill, K) of a CSR-like pred_probs with ``n_rows`` rows, checked.

    ``names`` says how messages name the values, classes and rows (as a sparse matrix's by
    default).

    Raises
    ------
    ValueError
        A shape that does not match the labels, a malformed ``indptr``, a class outside [0, K) or
        listed twice in a row, a probability or ``fill_value`` outside [0, 1] or NaN.
    TypeError
        Non-numeric data.
    """
    names = names or Names()
    shape = tuple(int(v) for v in getattr(csr, "shape"))  # noqa: B009 - a protocol, not a typo
    if len(shape) != 2 or shape[1] < 1:
        msg = f"pred_probs: a sparse matrix of shape (N, K) with K >= 1 is needed; got shape {shape}"
        raise ValueError(msg)
    n, k = shape
    if n != n_rows:
        msg = f"pred_probs has {n} rows but labels has {n_rows}; they must describe the same rows"
        raise ValueError(msg)
    indptr = np.asarray(getattr(csr, "indptr"), dtype=np.int64)  # noqa: B009
    classes = np.asarray(getattr(csr, "indices"))  # noqa: B009
    data = np.asarray(getattr(csr, "data"))  # noqa: B009
    if data.dtype.kind != "f":
        if data.dtype.kind not in "iu" and data.size:
            msg = f"pred_probs: sparse data must be floats; got dtype {data.dtype}"
            raise TypeError(msg)
        data = data.astype(np.float64)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != data.size or (np.diff(indptr) < 0).any():
        msg = (
            f"pred_probs: indptr must rise from 0 to the number of stored values ({data.size}) "
            f"over N + 1 = {n + 1} entries"
        )
        raise ValueError(msg)
    if classes.shape != data.shape or classes.dtype.kind not in "iu":
        msg = "pred_probs: indices must be integers, one per stored value"
        raise ValueError(msg)
    classes = classes.astype(np.int64, copy=False)
    if classes.size and (classes.min() < 0 or classes.max() >= k):
        at = int(np.argmax((classes < 0) | (classes >= k)))
        where = names.where(names.classes, _row_of(indptr, at))
        msg = f"{where}: class {int(classes[at])} is outside [0, {k - 1}] (K = {k})"
        raise ValueError(msg)
    data = _checked_probs(indptr, classes, data, names)
    order = _class_order(indptr, classes, k, names)
    if order is not None:  # classes ascending within each row, as the readers of a batch expect
        classes, data = classes[order], data[order]
    return indptr, classes, data, _checked_fill(fill_value, data.dtype), k


def entry_keys(indptr: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    """Return row * K + class of every stored entry (ascending when the classes ascend within rows)."""
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    keys: np.ndarray = rows * k + classes
    return keys


def _class_order(indptr: np.ndarray, classes: np.ndarray, k: int, names: Names) -> np.ndarray | None:
    """Return the order that sorts each row's classes (None: they are sorted); refuse a class listed twice."""
    keys = entry_keys(indptr, classes, k)
    steps = np.diff(keys)
    if (steps > 0).all():
        return None
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if same.size:
        row, cls = divmod(int(ordered[same[0]]), k)
        msg = f"{names.where(names.classes, row)}: class {cls} is listed twice; each class at most once a row"
        raise ValueError(msg)
    return order


def _checked_probs(indptr: np.ndarray, classes: np.ndarray, data: np.ndarray, names: Names) -> np.ndarray:
    if data.size == 0:
        return data
    low, high = data.min(), data.max()  # NaN fails both tests
    if low >= 0 and high <= 1:
        return data
    if not (low >= -TOLERANCE and high <= 1 + TOLERANCE):
        at = int(np.argmin((data >= -TOLERANCE) & (data <= 1 + TOLERANCE)))
        msg = (
            f"{names.where(names.probs, _row_of(indptr, at))}: value {float(data[at])!r} at class "
            f"{int(classes[at])} is not a probability; values must be finite and in [0, 1]"
        )
        raise ValueError(msg)
    clipped: np.ndarray = np.clip(data, 0.0, 1.0)  # within the tolerance, as for dense rows; never the input
    return clipped


def _checked_fill(fill_value: object, dtype: np.dtype[np.floating]) -> np.generic:
    if isinstance(fill_value, (bool, np.bool_)) or not isinstance(fill_value, (int, float, np.integer, np.floating)):
        msg = f"fill_value must be a number in [0, 1]; got {fill_value!r}"
        raise TypeError(msg)
    value = float(fill_value)
    if math.isnan(value) or not 0 <= value <= 1:
        msg = f"fill_value must be in [0, 1] (the probability of every class a row does not list); got {value!r}"
        raise ValueError(msg)
    fill: np.generic = dtype.type(value)
    return fill


@dataclass(frozen=True)
class SparseLabels:
    """Where a sparse batch's labels fall: on listed entries, or on classes the row does not list."""

    labelled: np.ndarray  # (nnz,) bool: the listed entry's class is one of its row's labels
    unlisted_rows: np.ndarray  # (u,) int64, ascending: rows labelled with a class they do not list
    unlisted_classes: np.ndarray  # (u,) int64: those classes (p = fill)


def sparse_labels(batch: SparseBatch) -> SparseLabels:
    """Return where the batch's labels fall (a class labelled twice in a row counts once).

    The listed entries' keys row * K + class ascend (classes ascend within rows), so each label
    is found by one binary search: O(labels log nnz), no hashing of the listed entries.
    """
    k = batch.num_classes
    listed = entry_keys(batch.indptr, batch.classes, k)
    keys = np.sort(entry_keys(batch.label_offsets, batch.label_values.astype(np.int64), k))
    if keys.size:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    at = np.minimum(np.searchsorted(listed, keys), max(listed.size - 1, 0))
    found = listed[at] == keys if listed.size else np.zeros(keys.size, dtype=bool)
    labelled = np.zeros(listed.size, dtype=bool)
    labelled[at[found]] = True
    rows, classes = np.divmod(keys[~found], k)
    return SparseLabels(labelled, rows, classes)
