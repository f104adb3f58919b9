"""Row scores of a ``SparseBatch``: explicit entries scored as dense ones are, every other class a constant.

A row's explicit entries are its listed classes (their own p; labelled when the row's labels hold
the class) and its labelled classes it does not list (p = fill). Every other class of the row is
unlabelled with p = fill: its score is one number for the whole batch. The per-class scores come
from the dense code itself (``per_class_scores`` on the explicit entries as a one-column block),
so every method scores an entry bit for bit as on the densified row.
"""

from __future__ import annotations

import numpy as np

from polars_mlq.input import ScoringOptions
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.scoring.aggregate import aggregate_callable, ema_alpha
from polars_mlq.scoring.per_class import Adjustment, per_class_scores
from polars_mlq.scoring.sparse.ema import sparse_ema
from polars_mlq.scoring.sparse.rows import ExplicitRows
from polars_mlq.scoring.sparse.softmin import sparse_softmin
from polars_mlq.scoring.thresholds import Thresholds

#: A callable aggregator is given dense (rows, K) blocks: refused above this K (a row of 8 MiB).
CALLABLE_MAX_CLASSES = 1 << 20
#: Rows per dense block for a callable aggregator: about this many entries (128 MiB of float64).
_CALLABLE_BLOCK = 1 << 24


def entry_scores(p: np.ndarray, labelled: np.ndarray, method: str) -> np.ndarray:
    """Score entries (p, labelled) as one-column dense rows are scored: float64."""
    out = np.empty((p.size, 1))
    filled = per_class_scores(p.reshape(-1, 1), np.flatnonzero(labelled), method, None, out)
    assert filled is not False  # sparse probabilities are range-checked when read
    return out.reshape(-1)


def explicit_entries(batch: SparseBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the batch's explicit entries row by row: (indptr, classes, p, labelled).

    Each row holds its listed entries (their own p), then its labelled classes it does not list
    (p = fill, labelled).
    """
    n = batch.n_rows
    labels = batch.labels
    extra_rows, extra_classes = labels.unlisted_rows, labels.unlisted_classes
    listed_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(batch.indptr))
    extra_counts = np.bincount(extra_rows, minlength=n)
    extra_first = np.concatenate([[0], np.cumsum(extra_counts)])
    indptr = batch.indptr + extra_first
    size = int(indptr[-1])
    listed_at = np.arange(listed_rows.size) + extra_first[:-1][listed_rows]
    extra_at = (
        indptr[1:][extra_rows] - extra_counts[extra_rows] + (np.arange(extra_rows.size) - extra_first[extra_rows])
    )
    classes = np.empty(size, dtype=np.int64)
    classes[listed_at] = batch.classes
    classes[extra_at] = extra_classes
    p = np.full(size, batch.fill, dtype=batch.probs.dtype)
    p[listed_at] = batch.probs
    labelled = np.ones(size, dtype=bool)
    labelled[listed_at] = labels.labelled
    return indptr, classes, p, labelled


def explicit_rows(batch: SparseBatch, method: str, adjustment: Adjustment | None = None) -> ExplicitRows:
    """Return the batch's explicit entries, scored by ``method``, and the constant of every other class.

    With ``adjustment`` (``adjust_pred_probs``) an entry scores its shifted, normalised binary
    probability, as ``per_class.adjusted`` computes it, and the constants differ by class.
    """
    k = batch.num_classes
    indptr, classes, p, labelled = explicit_entries(batch)
    fill = np.full(1 if adjustment is None else k, batch.fill, dtype=batch.probs.dtype)
    if adjustment is None:
        constant = entry_scores(fill, np.zeros(1, dtype=bool), method)
        return ExplicitRows(indptr, classes, entry_scores(p, labelled, method), np.full(k, constant[0]))
    constants = _adjusted(fill, np.arange(k), np.zeros(k, dtype=bool), adjustment)
    return ExplicitRows(indptr, classes, _adjusted(p, classes, labelled, adjustment), constants)


def _adjusted(p: np.ndarray, classes: np.ndarray, labelled: np.ndarray, adjustment: Adjustment) -> np.ndarray:
    """Score entries on the adjusted probabilities: (p + c1) / D labelled, (c0 - p) / D not (float64)."""
    total = adjustment.row_sum[classes]
    present = (p + adjustment.present_offset[classes]) / total
    absent = (adjustment.absent_offset[classes] - p) / total
    result: np.ndarray = np.where(labelled, present, absent)
    return result


def sparse_row_scores(batch: SparseBatch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """Return each row's label-quality score (float64), as on the densified rows.

    ``thresholds``: the confident thresholds, needed with ``adjust_pred_probs``.
    """
    aggregator = options.aggregator
    assert aggregator is not None
    adjustment = None
    if options.adjust_pred_probs:
        assert thresholds is not None
        adjustment = Adjustment.of(thresholds, 1)
    explicit = explicit_rows(batch, options.method, adjustment)
    k = batch.num_classes
    if aggregator.kind == "exponential_moving_average":
        return sparse_ema(explicit, ema_alpha(aggregator.alpha, k))
    if aggregator.kind == "softmin":
        return sparse_softmin(explicit, aggregator.temperature)
    return _callable(explicit, options)


def _callable(explicit: ExplicitRows, options: ScoringOptions) -> np.ndarray:
    """Run a callable aggregator on dense blocks of rows (the only path whose cost grows with K)."""
    k, n = explicit.num_classes, explicit.n_rows
    if k > CALLABLE_MAX_CLASSES:
        msg = (
            f"a callable aggregator needs dense rows of K scores; K = {k} is above the limit of "
            f"{CALLABLE_MAX_CLASSES} for sparse pred_probs (use the exponential moving average or softmin)"
        )
        raise ValueError(msg)
    assert options.aggregator is not None
    step = max(1, _CALLABLE_BLOCK // k)
    parts = []
    counts = np.diff(explicit.indptr)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        dense = np.tile(explicit.constants, (hi - lo, 1))
        first, last = int(explicit.indptr[lo]), int(explicit.indptr[hi])
        rows = np.repeat(np.arange(hi - lo), counts[lo:hi])
        dense[rows, explicit.classes[first:last]] = explicit.scores[first:last]
        parts.append(np.asarray(aggregate_callable(dense, options.aggregator), dtype=np.float64).reshape(-1))
    return np.concatenate(parts) if parts else np.zeros(0)
