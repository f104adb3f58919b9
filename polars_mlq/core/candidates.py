"""Candidates: the entries where the model disagrees with the given label.

cleanlab's last check on every flag of every filter is that the model disagrees with the given
label: for a labelled entry p + 1e-6 <= 1 - p, for an unlabelled one p > (1 - p) + 1e-6. So every
flag lies among these entries, and they are usually few: the statistics core keeps them, not the
rows. A batch where they are many leaves them unlisted (``Unlisted``): read from its columns.

For the prune filters, which flag "the m entries with the smallest key" of a class and given label,
the entries whose key equals the largest key a candidate can have are kept too (``widened``): they
take part in choosing the m smallest but are never flagged, so the choice is exact even when an
agreeing entry ties with a disagreeing one (possible for the margin key, which rounds).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from polars_mlq.core.binary import SORT_KEYS, boundaries, compare_columns, count_columns, largest_true, sort_key
from polars_mlq.core.problems import Problems


@dataclass(frozen=True)
class Candidates:
    """The entries (row, class) of one given label c where the model disagrees with it.

    Disagreement is cleanlab's last check on every flag: for c = 1 (labelled) p + 1e-6 <= 1 - p,
    for c = 0 (unlabelled) p > (1 - p) + 1e-6. Every flag of every filter lies among them. Their
    order does not matter to any use of them; ``grouped`` says they come class by class (rows
    ascending within a class), which saves the prune filters a sort.
    """

    label: int
    rows: np.ndarray
    cls: np.ndarray
    p: np.ndarray
    grouped: bool = False


def _key_test(
    by: str, label: int, floor: np.generic, above: bool, one: np.generic
) -> Callable[[np.ndarray], NDArray[np.bool_]]:
    """Return the predicate on p: the key of (p, given ``label``) is at most ``floor`` (above it, with ``above``)."""

    def test(x: np.ndarray) -> NDArray[np.bool_]:
        key = sort_key(by, label, x, np.subtract(one, x))
        return key > floor if above else key <= floor

    return test


@functools.cache
def widened_bounds(dtype: np.dtype[Any]) -> tuple[float, float]:
    """Return (upper bound on p for labelled entries, lower bound for unlabelled ones) of the widened candidates.

    The bounds delimit the entries whose key, by either sort key, is at most the key of the first
    entry that agrees with its label.
    """
    bounds = boundaries(dtype)
    one = dtype.type(1)
    first1 = np.array([np.nextafter(dtype.type(bounds.extra), dtype.type(2))], dtype=dtype)
    first0 = np.array([bounds.missing], dtype=dtype)
    upper, lower = bounds.extra, bounds.missing
    for by in SORT_KEYS:
        floor1 = sort_key(by, 1, first1, np.subtract(one, first1))[0]
        upper = max(upper, float(largest_true(_key_test(by, 1, floor1, False, one), dtype, 1)[0]))
        floor0 = sort_key(by, 0, first0, np.subtract(one, first0))[0]
        lower = min(lower, float(largest_true(_key_test(by, 0, floor0, True, one), dtype, 1)[0]))
    return upper, lower


@dataclass(frozen=True)
class Unlisted:
    """Many unlabelled candidates (more than one entry in ``_DENSE``), not listed.

    They are the unlabelled entries with p > ``lower``; ``sizes`` counts them per class. Reading
    them column by column when needed costs less than listing millions of them.
    """

    lower: float
    sizes: np.ndarray  # (K,) int64


def candidates(pb: Problems) -> tuple[Candidates | Unlisted, Candidates]:
    """Return the (unlabelled, labelled) widened candidates: those that disagree, and those that tie with them.

    The labelled ones come in row order, the unlabelled ones too unless they are many: then they
    are not listed at all (``Unlisted``; ``list_unlisted`` lists them class by class).
    """
    k = pb.num_classes
    upper, lower = widened_bounds(pb.dtype)
    hit = np.flatnonzero(pb.lab_p <= upper)
    labelled = Candidates(1, pb.rows_of(hit), pb.lab_cls[hit], pb.lab_p[hit])

    disagree = compare_columns(np.greater, pb.probs, np.full(k, lower, dtype=pb.dtype))
    disagree.reshape(-1)[pb.label_positions] = False
    sizes = count_columns(disagree)
    if int(sizes.sum()) * _DENSE >= disagree.size:
        return Unlisted(lower, sizes), labelled
    flat = np.flatnonzero(disagree)  # few: row by row, grouped when a cutoff needs it
    p = pb.probs.reshape(-1)[flat] if pb.probs.flags.c_contiguous else pb.probs[np.divmod(flat, k)]
    rows, cls = np.divmod(flat, k)
    return Candidates(0, rows, cls, p), labelled


def list_unlisted(pb: Problems, unlisted: Unlisted) -> Candidates:
    """Return the unlabelled candidates of ``unlisted`` (of the batch ``pb``) class by class, in few arrays."""
    n, k = pb.probs.shape
    disagree = compare_columns(np.greater, pb.probs, np.full(k, unlisted.lower, dtype=pb.dtype))
    disagree.reshape(-1)[pb.label_positions] = False
    flat = np.flatnonzero(disagree.T)  # class * n + row
    del disagree
    cls = np.repeat(np.arange(k, dtype=np.int32 if k < 2**31 else np.int64), unlisted.sizes)
    rows = np.remainder(flat, n)
    if pb.probs.flags.c_contiguous:
        index = np.multiply(rows, k, out=flat)  # flat's buffer: row * K + class
        index += cls
        p = pb.probs.reshape(-1)[index]
    else:
        p = pb.probs[rows, cls]
    return Candidates(0, rows, cls, p, grouped=True)


#: Unlabelled candidates are left unlisted when more than one entry in this many is one.
_DENSE = 8
