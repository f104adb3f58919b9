"""From the confident joint to how many rows each class may flag (the prune filters).

Everything here works on (K, 2, 2) or (K, 2) arrays: the calibrated joint, and per class and
given label the counts of rows to keep and to flag. Only integers leave this module, so the counts
are the same on every path that feeds it the same joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_mlq.core.binary import TINY
from polars_mlq.core.options import IssueOptions


def round_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round each row of (K, 2, 2) floats to integers whose total is the rounded row total.

    Rounding is half to even; a row whose rounded entries miss the rounded total by one moves the
    entry with the largest (for +1) or smallest (for -1) rounding remainder, choosing among equal
    remainders as ``np.argsort`` does. Returns the int64 values and a mask of entries that are not
    finite (they stand for "no count").
    """
    rounded = np.round(x)
    with np.errstate(invalid="ignore"):
        target = np.round(x[..., 0] + x[..., 1])
        diff = target - (rounded[..., 0] + rounded[..., 1])
        rest = x - rounded
    up, down = diff > 0, diff < 0
    # index 1 gets +1 if its remainder is larger, index 0 gets -1 if its remainder is smaller
    pick_up = (rest[..., 1] > rest[..., 0]).astype(np.int64)
    pick_down = (rest[..., 1] < rest[..., 0]).astype(np.int64)
    for idx in zip(*np.nonzero((up | down) & (rest[..., 0] == rest[..., 1])), strict=True):
        order = np.argsort(rest[idx])
        pick_up[idx], pick_down[idx] = order[-1], order[0]
    for mask, pick, step in ((up, pick_up, 1.0), (down, pick_down, -1.0)):
        where = np.nonzero(mask)
        index = (*where, pick[where])
        rounded[index] += step
    invalid = ~np.isfinite(rounded)
    return np.where(invalid, 0, rounded).astype(np.int64), invalid


def calibrate(joint: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Scale each row of the joint to its label count, then the whole to n; round (K, 2, 2)."""
    c = joint.astype(np.float64)
    n = counts.astype(np.float64)  # (K, 2)
    rows = c[..., 0] + c[..., 1]
    scaled = c / np.maximum(rows, TINY)[..., None] * n[..., None]
    # the grand total, summed column by column (the order decides roundings at .5)
    total = ((scaled[:, 0, 0] + scaled[:, 1, 0]) + scaled[:, 0, 1]) + scaled[:, 1, 1]
    scaled = scaled / np.maximum(total, TINY)[:, None, None] * (n[:, 0] + n[:, 1])[:, None, None]
    return round_rows(scaled)[0]


@dataclass(frozen=True)
class PruneCounts:
    """Per class and given label c, the rows to keep and the rows whose true label is the other one.

    ``keep[:, c]`` counts the rows to keep, ``flip[:, c]`` the rows whose true label is the other
    one; ``flip_invalid`` marks undefined counts (0/0).
    """

    keep: np.ndarray  # (K, 2) int64
    flip: np.ndarray  # (K, 2) int64
    flip_invalid: np.ndarray  # (K, 2) bool


def prune_counts(calibrated: np.ndarray, counts: np.ndarray, options: IssueOptions) -> PruneCounts:
    """Compute how many rows to flag, per class and given label.

    The counts come from the calibrated joint with at least ``min_examples`` rows kept per given
    label and a fraction ``frac_noise`` of the others, or from ``num_to_remove`` if given.
    """
    c = calibrated.astype(np.float64)
    diag = c[:, [0, 1], [0, 1]]  # (K, 2): rows given c and guessed c
    off = c[:, [0, 1], [1, 0]]  # (K, 2): rows given c and guessed the other label
    kept = np.maximum(diag, options.min_examples)
    nonzero = (diag != 0).astype(np.int64) + (off != 0)
    off = np.maximum(off - (kept - diag) / np.maximum(nonzero - 1, 1), 0.0)
    reduced = off * options.frac_noise
    kept = kept + (off - reduced)
    keep = kept.astype(np.int64)  # truncates, as cleanlab does
    flip = reduced.astype(np.int64)
    invalid = np.zeros(flip.shape, dtype=bool)
    if options.num_to_remove is not None:
        keep, flip, invalid = _remove_counts(keep, flip, counts, options.num_to_remove)
    return PruneCounts(keep, flip, invalid)


def _remove_counts(
    keep: np.ndarray, flip: np.ndarray, counts: np.ndarray, remove: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale the prune counts so that ``remove[k]`` rows labelled k are flagged.

    In the matrix M[true, given], column j is divided by the total of row j; each true label i
    keeps ``counts[i] - r_i`` and spreads ``r_i`` over the other labels in proportion, with
    r = [remove_k, 0]. When the share to spread over is 0 the count is 0/0, undefined: nothing is
    flagged.
    """
    k = keep.shape[0]
    m = np.empty((k, 2, 2))
    m[:, [0, 1], [0, 1]] = keep
    m[:, [1, 0], [0, 1]] = flip  # flip[:, c] is m[1 - c, c]
    r = np.stack([remove, np.zeros(k, dtype=np.int64)], axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = m / (m[..., 0] + m[..., 1])[:, None, :]
        noise = (share[..., 0] + share[..., 1]) - share[:, [0, 1], [0, 1]]
        target = share * r[..., None] / noise[..., None]
    target[:, [0, 1], [0, 1]] = counts - r
    rounded, invalid = round_rows(target)
    return rounded[:, [0, 1], [0, 1]], rounded[:, [1, 0], [0, 1]], invalid[:, [1, 0], [0, 1]]


def prune_nums(n_label: np.ndarray, counts: PruneCounts, options: IssueOptions, label: int) -> dict[str, np.ndarray]:
    """Compute, per sort key of the prune filter, how many rows of each class's subset to flag.

    For each sort key ("class", "margin") of the prune filter: how many rows of each class's subset
    with given label ``label`` to flag (K,); ``n_label`` (K,) is the size of those subsets.
    """
    # cleanlab skips a given label with too few rows, and never flags the only row of a label
    eligible = (n_label > options.min_examples) & (n_label > 1)
    nums = {}
    if options.filter_by in ("prune_by_class", "both"):
        nums["class"] = np.where(eligible, n_label - counts.keep[:, label], 0)
    if options.filter_by in ("prune_by_noise_rate", "both"):
        nums["margin"] = np.where(eligible & ~counts.flip_invalid[:, label], counts.flip[:, label], 0)
    return nums
