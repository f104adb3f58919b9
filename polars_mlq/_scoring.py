"""One batch of validated arrays -> per-class scores -> one score per row, in row blocks."""

from __future__ import annotations

import numpy as np
import polars as pl

from polars_mlq._aggregate import aggregate_block, aggregate_callable
from polars_mlq._columns import Batch
from polars_mlq._options import ScoringOptions
from polars_mlq._per_class import per_class_scores
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


def row_scores(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """(n,) float64 aggregated scores of the scored rows."""
    aggregator = options.aggregator
    assert aggregator is not None
    if aggregator.kind == "callable":
        return aggregate_callable(per_class_matrix(batch, options, thresholds), aggregator)
    thresholds = _thresholds_for(batch, options, thresholds)
    n = batch.probs.shape[0]
    out = np.empty(n, dtype=np.float64)
    block = None
    for start, stop in batch.blocks():
        if block is None:
            block = np.empty((stop - start, batch.num_classes), dtype=np.float64)
        scores = block[: stop - start]
        per_class_scores(batch.probs[start:stop], batch.multi_hot(start, stop), options.method, thresholds, scores)
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
    full, null = to_full_rows(batch, values)
    if full.ndim == 2 and full.shape[0] == 0:
        series = pl.Series(name, [], dtype=dtype)
    else:
        series = pl.Series(name, full, dtype=dtype)
    if null is not None:
        series = series.scatter(np.flatnonzero(null), None)
    return series
