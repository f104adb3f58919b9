"""The explicit entries of sparse rows, and their padded layout for per-row work in NumPy.

Per-row sorts and running sums are done on rectangular (rows, W) arrays, one per *bucket* of rows
whose explicit counts round up to the same width W (``bucket_widths``), so that NumPy sorts each
row on its own and no row is padded to more than twice its entries (or to 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ExplicitRows:
    """Per row, the explicit entries (class, score); every other class c of a row scores ``constants[c]``.

    Row i's entries are ``classes[indptr[i]:indptr[i + 1]]`` and ``scores[...]`` (any order,
    each class at most once a row). ``constants`` is (K,) float64.
    """

    indptr: np.ndarray  # (n + 1,) int64
    classes: np.ndarray  # (nnz,) integers in [0, K)
    scores: np.ndarray  # (nnz,) float64
    constants: np.ndarray  # (K,) float64

    @property
    def n_rows(self) -> int:
        """The number of rows."""
        return int(self.indptr.size - 1)

    @property
    def num_classes(self) -> int:
        """K."""
        return int(self.constants.size)


@dataclass(frozen=True)
class Bucket:
    """Rows with at most ``width`` explicit entries, padded to it, scores sorted ascending within each row.

    ``valid[r, j]`` says entry j of row r is real; padding scores are +inf (sorted last) and
    padding classes -1.
    """

    rows: np.ndarray  # (b,) indices of the rows
    scores: np.ndarray  # (b, width) float64, ascending
    classes: np.ndarray  # (b, width) int64
    valid: np.ndarray  # (b, width) bool

    @property
    def width(self) -> int:
        """The padded width."""
        return int(self.scores.shape[1])

    @property
    def counts(self) -> np.ndarray:
        """Each row's number of entries."""
        counts: np.ndarray = np.count_nonzero(self.valid, axis=1)
        return counts


def bucket_widths(counts: np.ndarray) -> np.ndarray:
    """Return each row's padded width: its count rounded up to a multiple of 8 up to 64, else to a power of two.

    Top-k rows hold k listed entries and a few labelled ones (20 to 24, say): one width of 24,
    not 32, and rows of very different counts in separate buckets.
    """
    counts = np.maximum(counts, 1)
    small = -(-counts // 8) * 8
    large = 1 << np.ceil(np.log2(counts)).astype(np.int64)
    widths: np.ndarray = np.where(counts <= 64, small, large)
    return widths


#: A bucket holds about this many padded entries at most: its temporaries stay in cache (2 MiB
#: of float64) instead of each costing page faults (at 1e6 rows x 48 events, 384 MiB apiece).
CHUNK_ENTRIES = 1 << 18


def _row_groups(counts: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (width, rows): the rows of each width, at most ``CHUNK_ENTRIES // width`` at a time."""
    widths = bucket_widths(counts)
    for width in np.unique(widths).tolist():
        rows = np.flatnonzero(widths == width)
        step = max(1, CHUNK_ENTRIES // width)
        for start in range(0, rows.size, step):
            yield width, rows[start : start + step]


def _padded(
    explicit: ExplicitRows, counts: np.ndarray, width: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (valid, entry index, scores) of ``rows`` padded to ``width`` (scores +inf where not valid)."""
    steps = np.arange(width)
    valid = steps[None, :] < counts[rows, None]
    at = np.where(valid, explicit.indptr[rows, None] + steps[None, :], 0)
    scores = np.where(valid, explicit.scores[at] if explicit.scores.size else 0.0, np.inf)
    return valid, at, scores


def buckets(explicit: ExplicitRows) -> Iterator[Bucket]:
    """Yield the rows in buckets by their number of explicit entries (widths 1, 2, 4, ...)."""
    counts = np.diff(explicit.indptr)
    if counts.size == 0:
        return
    for width, rows in _row_groups(counts):
        valid, at, scores = _padded(explicit, counts, width, rows)
        classes = np.where(valid, explicit.classes[at] if explicit.classes.size else 0, -1).astype(np.int64)
        order = np.argsort(scores, axis=1, kind="stable")
        yield Bucket(
            rows,
            np.take_along_axis(scores, order, axis=1),
            np.take_along_axis(classes, order, axis=1),
            np.take_along_axis(valid, order, axis=1),
        )


def sorted_scores(explicit: ExplicitRows) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield, per bucket of rows (as ``buckets``), (rows, their scores sorted ascending (b, W), counts).

    Padding is +inf (sorted last). Without the classes: a sort, not an argsort and gathers.
    """
    counts = np.diff(explicit.indptr)
    if counts.size == 0:
        return
    for width, rows in _row_groups(counts):
        _, _, scores = _padded(explicit, counts, width, rows)
        scores.sort(axis=1)
        yield rows, scores, counts[rows]


def one_constant(constants: np.ndarray) -> bool:
    """Whether every class has the same constant (no adjustment): the aggregators' closed forms apply."""
    return bool(constants.size) and bool((constants == constants[0]).all())


def sorted_constants(constants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the constants sorted ascending and each class's position among them."""
    order = np.argsort(constants, kind="stable")
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    return constants[order], position


def top_run(excluded: np.ndarray, valid: np.ndarray, top: int) -> np.ndarray:
    """Per row, how many of the positions top, top - 1, top - 2, ... are among its ``excluded`` ones.

    ``excluded`` (b, W) holds distinct positions per row (invalid entries ignored).
    """
    desc = np.sort(np.where(valid, excluded, -1), axis=1)[:, ::-1]
    hit = desc == (top - np.arange(desc.shape[1]))[None, :]
    run: np.ndarray = np.cumprod(hit, axis=1).sum(axis=1)
    return run


def bottom_run(excluded: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row, how many of the positions 0, 1, 2, ... are among its ``excluded`` ones."""
    big = np.iinfo(np.int64).max
    asc = np.sort(np.where(valid, excluded, big), axis=1)
    hit = asc == np.arange(asc.shape[1])[None, :]
    run: np.ndarray = np.cumprod(hit, axis=1).sum(axis=1)
    return run
