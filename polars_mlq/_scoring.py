"""One batch of validated arrays -> per-class scores -> one score per row, in row blocks."""

from __future__ import annotations

import numpy as np
import polars as pl

from polars_mlq._aggregate import (
    aggregate_block,
    aggregate_callable,
    ema_alpha,
    ema_of_smallest,
    ema_terms,
    smallest_sorted,
)
from polars_mlq._columns import Batch
from polars_mlq._options import ScoringOptions
from polars_mlq._per_class import (
    CWE_RISING_HIGH,
    CWE_RISING_LOW,
    cwe_scores,
    per_class_scores,
)
from polars_mlq._thresholds import Thresholds, batch_thresholds


def _thresholds_for(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None) -> Thresholds | None:
    if not options.adjust_pred_probs:
        return None
    if thresholds is None:
        return batch_thresholds(batch)
    if thresholds.num_classes != batch.num_classes and batch.probs.shape[0]:
        msg = f"thresholds have {thresholds.num_classes} classes but pred_probs have {batch.num_classes}"
        raise ValueError(msg)
    return thresholds


def per_class_matrix(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """(n, K) float64 per-class scores of the scored rows."""
    thresholds = _thresholds_for(batch, options, thresholds)
    out = np.empty(batch.probs.shape, dtype=np.float64)
    for start, stop in batch.blocks():
        mask = batch.multi_hot(start, stop)
        per_class_scores(batch.probs[start:stop], mask, options.method, thresholds, out[start:stop])
    return out


def _ema_cwe(probs: np.ndarray, mask: np.ndarray, alpha: float, terms: int) -> np.ndarray:
    """EMA of confidence_weighted_entropy scores with logarithms for few elements only.

    Inside the rising interval the score increases with the self-confidence q, so a row's
    smallest scores there belong to its ``terms`` smallest q: a sort of q (cheap) gives each row's
    cutoff. Those elements and every element outside the interval (q near 0 or 1) are the
    candidates; they are scored exactly, from their own p.
    """
    num_classes = probs.shape[1]
    if terms >= num_classes:  # every score carries weight: score them all
        return ema_of_smallest(smallest_sorted(cwe_scores(probs, mask), terms), alpha, terms)
    key = np.empty(probs.shape, dtype=probs.dtype)
    per_class_scores(probs, mask, "self_confidence", None, key)
    outside = key < CWE_RISING_LOW
    outside |= key > np.float64(CWE_RISING_HIGH)
    np.copyto(key, np.inf, where=outside)  # out of the in-interval selection; candidates anyway
    cutoff = smallest_sorted(key.copy(), terms)[:, terms - 1 : terms]
    chosen = np.less_equal(key, cutoff, out=outside, where=~outside)  # outside stays True
    flat = np.flatnonzero(chosen)
    per_row = np.count_nonzero(chosen, axis=1)
    width = int(per_row.max())
    rank_in_row = np.arange(flat.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    scores = np.full((probs.shape[0], width), np.inf)
    exact = cwe_scores(probs.reshape(-1)[flat], mask.reshape(-1)[flat])
    scores.reshape(-1)[flat // num_classes * width + rank_in_row] = exact
    return ema_of_smallest(smallest_sorted(scores, terms), alpha, terms)


def _ema_from_confidence(probs: np.ndarray, mask: np.ndarray, method: str, alpha: float | None) -> np.ndarray:
    """EMA of one block without widening every per-class score to float64 first.

    The margin scores are non-decreasing in the self-confidence, so sort (or partition) them in
    the input dtype and widen only the few smallest, which carry the weight.
    """
    num_classes = probs.shape[1]
    alpha = ema_alpha(alpha, num_classes)
    terms = ema_terms(alpha, num_classes)
    if method == "confidence_weighted_entropy":
        return _ema_cwe(probs, mask, alpha, terms)
    work = np.empty(probs.shape, dtype=probs.dtype)
    per_class_scores(probs, mask, method, None, work)
    return ema_of_smallest(smallest_sorted(work, terms).astype(np.float64), alpha, terms)


def row_scores(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """(n,) float64 aggregated scores of the scored rows."""
    aggregator = options.aggregator
    assert aggregator is not None
    if aggregator.kind == "callable":
        return aggregate_callable(per_class_matrix(batch, options, thresholds), aggregator)
    thresholds = _thresholds_for(batch, options, thresholds)
    n = batch.probs.shape[0]
    out = np.empty(n, dtype=np.float64)
    from_confidence = aggregator.kind == "exponential_moving_average" and thresholds is None
    block = None
    for start, stop in batch.blocks():
        probs, mask = batch.probs[start:stop], batch.multi_hot(start, stop)
        if from_confidence:
            out[start:stop] = _ema_from_confidence(probs, mask, options.method, aggregator.alpha)
            continue
        if block is None:
            block = np.empty((stop - start, batch.num_classes), dtype=np.float64)
        scores = block[: stop - start]
        per_class_scores(probs, mask, options.method, thresholds, scores)
        out[start:stop] = aggregate_block(scores, aggregator)
    return out


def to_full_rows(batch: Batch, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Place the scored rows' values among all input rows; the mask marks rows that score null."""
    if batch.rows is None:
        return values, None
    full = np.zeros((batch.n_total, *values.shape[1:]), dtype=np.float64)
    full[batch.rows] = values
    null = np.ones(batch.n_total, dtype=bool)
    null[batch.rows] = False
    return full, null


def to_series(name: str, batch: Batch, values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """Wrap the values without copying (an (n, K) matrix becomes an Array column); nulls last."""
    full, null = to_full_rows(batch, values)
    series = pl.Series(name, full.reshape(-1), dtype=pl.Float64)
    if full.ndim == 2:
        series = series.reshape((full.shape[0], full.shape[1])) if full.shape[0] else pl.Series(name, [], dtype=dtype)
    if null is not None:
        series = pl.select(pl.when(pl.Series(~null)).then(series)).to_series().alias(name)
    return series
