"""Issue finding on arrays in hand (the NumPy functions and eager DataFrames).

The statistics core is run over one batch, plus the rankings that only the cleanlab-signature
functions return.

The flags come from ``polars_mlq.core``: the same partial statistics, merges and rules as for a
streamed LazyFrame, with the whole batch as the only chunk, so every path flags the same rows.
Wherever several rows tie at a cutoff, the earliest rows are flagged; rankings order equal scores
by row too (stable sorts).
"""

from __future__ import annotations

import numpy as np

from polars_mlq.core import LOW_FILTERS, Chunk, ConfidentThresholds, IssueOptions, Problems, ema, engine, sub_problems
from polars_mlq.core.scores import adjusted_binary
from polars_mlq.input import Batch
from polars_mlq.scoring import per_class_scores


def _thresholds(pb: Problems) -> ConfidentThresholds:
    chunk = Chunk(pb, np.arange(pb.n, dtype=np.int64))
    return engine.thresholds_of(lambda: [chunk], pb.num_classes)


def binary_scores(pb: Problems, method: str, adjust: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """Return the (len(rows), K) float64 per-class scores of ``rows`` (all rows if None).

    The scores are as the binary scorers give them; with ``adjust`` the thresholds come from all
    rows of ``pb``.

    The adjusted scores are computed in the thresholds' dtype (float32 for float32 input unless a
    group is empty), with each row divided by its own sum, so that they sort as cleanlab's do.
    """
    probs = pb.probs if rows is None else pb.probs[rows]
    given = pb.given if rows is None else pb.given[rows]
    out = np.empty(probs.shape, dtype=np.float64)
    if not adjust:
        filled = per_class_scores(np.ascontiguousarray(probs), np.flatnonzero(given), method, None, out)
        assert filled is not False  # the rows' range was checked when they were read
        return out
    thr = _thresholds(pb)
    for wide in (False, True):
        cols = np.flatnonzero(thr.wide == wide)
        if cols.size:
            dtype = np.dtype(np.float64) if wide else probs.dtype
            out[:, cols] = adjusted_binary(probs[:, cols], given[:, cols], thr.values[cols], dtype, method)
    return out


def row_scores(pb: Problems, method: str, adjust: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """Return the aggregated (EMA, alpha 0.8) scores of ``rows``."""
    return ema(binary_scores(pb, method, adjust, rows))


def _ranked(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``rows`` (ascending) ordered by their scores, worst first; equal scores in row order."""
    return rows[np.argsort(scores, kind="stable")].astype(np.int64)


def _found(chunk: Chunk, options: IssueOptions, *, per_class: bool) -> engine.Found:
    return engine.find(lambda: [chunk], chunk.problems.num_classes, options, per_class=per_class)


def find_issues(batch: Batch, options: IssueOptions) -> np.ndarray:
    """Return the row mask (n,) of the batch's scored rows, or their ranked indices if ``rank_by`` is set.

    A row is flagged if any class of it is (the ``low_*`` filters: if its aggregated score is
    among the lowest); ranked rows are ordered by their aggregated score (rank_by, EMA 0.8).
    """
    chunk = Chunk.of(batch)
    pb = chunk.problems
    found = _found(chunk, options, per_class=False)
    if found.joint is not None and options.filter_by not in LOW_FILTERS:  # read off the candidates
        mask = np.zeros(pb.n, dtype=bool)
        mask[np.searchsorted(chunk.rows, found.flagged_entries()[0])] = True
    else:
        mask = found.rule.row_mask(chunk)
    if options.rank_by is None:
        return mask
    flagged = np.flatnonzero(mask)
    if flagged.size == 0:
        return flagged.astype(np.int64)
    if options.filter_by in LOW_FILTERS:  # ranked on the chosen rows alone, as cleanlab does
        return _ranked(flagged, row_scores(sub_problems(pb, flagged), options.rank_by, options.rank_adjust))
    return _ranked(flagged, row_scores(pb, options.rank_by, options.rank_adjust, flagged))


def find_issues_per_class(batch: Batch, options: IssueOptions) -> np.ndarray:
    """Return the (n, K) bool mask of the flagged entries."""
    chunk = Chunk.of(batch)
    return _found(chunk, options, per_class=True).rule.class_mask(chunk)


def ranked_per_class(batch: Batch, options: IssueOptions) -> list[np.ndarray]:
    """Return, per class, its flagged rows ordered by their binary score for that class (worst first)."""
    assert options.rank_by is not None
    chunk = Chunk.of(batch)
    mask = _found(chunk, options, per_class=True).rule.class_mask(chunk)
    if options.low_memory:  # cleanlab's batched filter lists each class's rows in row order
        return [np.flatnonzero(mask[:, k]) for k in range(chunk.problems.num_classes)]
    scores = binary_scores(chunk.problems, options.rank_by, options.rank_adjust)
    out = []
    for k in range(chunk.problems.num_classes):
        idx = np.flatnonzero(mask[:, k])
        out.append(_ranked(idx, scores[idx, k]))
    return out
