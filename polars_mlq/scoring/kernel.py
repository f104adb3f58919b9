"""One batch of validated arrays -> per-class scores -> one score per row, in row blocks.

Blocks of about ``BLOCK_ELEMENTS`` entries are scored into a per-thread buffer that stays in
cache; several threads take the blocks, each the next one as it frees up
(``threads.run_blocks``). The only (n, K) array allocated is the result of ``per_class_matrix``,
which is what it returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from numpy.typing import DTypeLike

from polars_mlq.input import Batch, ScoringOptions, all_probabilities
from polars_mlq.scoring.aggregate import (
    SORT_KEYS,
    aggregate_callable,
    ema_alpha,
    ema_of_smallest,
    ema_terms,
    ema_weights,
    smallest_sorted,
    softmin,
    sorts_as_floats,
    use_partition,
)
from polars_mlq.scoring.cwe_rows import mostly_rising, smallest_cwe
from polars_mlq.scoring.per_class import (
    CWE_FROM_CONFIDENCE_HIGH,
    CWE_RISING_HIGH,
    CWE_RISING_LOW,
    Adjustment,
    cwe_of_confidence,
    per_class_scores,
)
from polars_mlq.scoring.threads import run_blocks, scratch
from polars_mlq.scoring.thresholds import Thresholds


def _thresholds_for(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None) -> Thresholds | None:
    if not options.adjust_pred_probs:
        return None
    if thresholds is None:
        msg = "adjust_pred_probs needs the thresholds (polars_mlq.core.batch_thresholds of the batch)"
        raise ValueError(msg)
    if thresholds.num_classes != batch.num_classes and batch.probs.shape[0]:
        msg = f"thresholds have {thresholds.num_classes} classes but pred_probs have {batch.num_classes}"
        raise ValueError(msg)
    return thresholds


def _adjustment(thresholds: Thresholds | None, rows: int) -> Adjustment | None:
    return None if thresholds is None else Adjustment.of(thresholds, rows)


def per_class_matrix(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """(n, K) float64 per-class scores of the scored rows."""
    batch = batch.checked()
    thresholds = _thresholds_for(batch, options, thresholds)
    out = np.empty(batch.probs.shape, dtype=np.float64)
    step = batch.block_rows
    adjustment = _adjustment(thresholds, min(step, batch.probs.shape[0]))

    def fill(a: int, b: int) -> bool:
        positions, classes = batch.positions(a, b), batch.classes(a, b)
        filled = per_class_scores(batch.probs[a:b], positions, options.method, adjustment, out[a:b], classes)
        assert filled is not False  # the batch is checked above
        return True

    run_blocks(batch.probs.shape[0], batch.num_classes, step, fill)
    return out


def _smallest_cwe(
    batch: Batch, start: int, confidence: np.ndarray, terms: int, check: bool = False
) -> np.ndarray | None:
    """Return the ``terms`` smallest confidence_weighted_entropy scores of each block row, ascending.

    ``confidence`` holds the block's self-confidences q (float64) and is reordered. Inside
    [CWE_RISING_LOW, CWE_RISING_HIGH] the score rises with q, so a row whose q all lie there has
    its smallest scores at its smallest q; if those are at most CWE_FROM_CONFIDENCE_HIGH, the
    scores follow from the sorted q alone, with logarithms for those ``terms`` entries only. The
    other rows (a smallest q too near 0 or 1, or a largest q above CWE_RISING_HIGH: a rising
    side) go to the o-sorted selection (``cwe_rows.smallest_cwe``), which scores their two ends
    exactly from their own p. (Blocks whose first rows have a rising side, most rows of a model
    whose probabilities sit within 1e-7 of 0 or 1, go there without taking q at all.)
    With ``check``, None if the sorted q show a p outside [0, 1] (``_sorted_in_unit_interval``).
    """
    if use_partition(terms, confidence.shape[1]):
        return _smallest_cwe_partitioned(batch, start, confidence, terms, check)
    # Every row sorted in place: its last q is its largest, so finding the rows with a rising side
    # takes no pass over the block. They are sorted twice (by q here, by o in the selection), which
    # is rare outside the blocks that skip q: no row of base, weak, uniform, ties or many_labels at
    # (1e5, 100) has one. (A row maximum first, to spare them: 10-17% slower there.)
    smallest = smallest_sorted(confidence, terms)
    if check and smallest.size and not _sorted_in_unit_interval(confidence):  # q is p or 1 - p, as a margin score
        return None
    fast = _by_confidence(smallest)
    fast &= confidence[:, -1] <= CWE_RISING_HIGH
    if fast.all():
        return cwe_of_confidence(smallest)
    scores = np.empty((confidence.shape[0], terms), dtype=np.float64)
    _fill_scores(batch, start, smallest, np.arange(confidence.shape[0]), fast, scores)
    return scores


def _by_confidence(smallest: np.ndarray) -> np.ndarray:
    """Return which rows' scores follow from their sorted smallest q alone (no rising side assumed)."""
    fast: np.ndarray = (smallest[:, 0] >= CWE_RISING_LOW) & (smallest[:, -1] <= CWE_FROM_CONFIDENCE_HIGH)
    return fast


def _fill_scores(
    batch: Batch, start: int, smallest: np.ndarray, rows: np.ndarray, fast: np.ndarray, scores: np.ndarray
) -> None:
    """Set ``scores[rows]``: from the sorted q ``smallest`` where ``fast``, else by the o-sorted selection."""
    scores[rows[fast]] = cwe_of_confidence(smallest[fast])
    slow = rows[~fast]
    if slow.size:
        scores[slow] = smallest_cwe(batch, start, slow, smallest.shape[1])


def _smallest_cwe_partitioned(
    batch: Batch, start: int, confidence: np.ndarray, terms: int, check: bool = False
) -> np.ndarray | None:
    """Return ``_smallest_cwe`` of rows partitioned, not sorted (``use_partition``).

    The rows with a rising side are found first, by their largest q, and go to the o-sorted
    selection unpartitioned. No range check is read off partitioned rows: with ``check``, None.
    """
    if check:
        return None
    keys = confidence.view(SORT_KEYS[confidence.dtype])
    below = keys.max(axis=1).view(confidence.dtype) <= CWE_RISING_HIGH
    every = bool(below.all())
    scores = np.empty((confidence.shape[0], terms), dtype=np.float64)
    if not every:  # rows with a rising side: the o-sorted selection, from their own p
        if not below.any():
            return smallest_cwe(batch, start, np.arange(confidence.shape[0]), terms)
        scores[~below] = smallest_cwe(batch, start, np.flatnonzero(~below), terms)
    rows = confidence if every else confidence[below]
    smallest = smallest_sorted(rows, terms)
    fast = _by_confidence(smallest)
    if every and fast.all():
        return cwe_of_confidence(smallest)
    _fill_scores(batch, start, smallest, np.flatnonzero(below), fast, scores)
    return scores


_ONE_KEYS = {dtype: np.array(1.0, dtype=dtype).view(key)[()] for dtype, key in SORT_KEYS.items()}

#: aggregate(a, b, scores buffer, check) -> the block's row scores, or None when ``check`` is
#: set and the block's scores show a value outside [0, 1] (see ``_sorted_in_unit_interval``).
Aggregate = Callable[[int, int, np.ndarray, bool], "np.ndarray | None"]


def _sorted_in_unit_interval(rows: np.ndarray) -> bool:
    """Return the range check read off self-confidence or normalized-margin scores sorted row by row.

    The rows are sorted by ``smallest_sorted``, on their bits or (``sorts_as_floats``) as floats.

    Each such score is p or 1 - p (the margin: (2p)/2 or (2 - 2p)/2, rounded), so every score of
    a block lies in [0, 1], NaN excluded, exactly when every p does, except for p within about
    1e-16 of [0, 1], whose scores round to those of the clipped p. A sorted row has a value with
    the sign bit set exactly when its first value does, and one above 1 (+NaN and +inf included)
    exactly when its last value does: two column reductions on the bits instead of one over the
    whole block. On bits a score of -0.0 (a labelled p of -0.0) fails it too, and the full check,
    which accepts it, takes over. Sorted as floats, a negative value (-inf too) comes first and
    every NaN, whatever its sign, last; -0.0 may stand anywhere among the zeros and passes, as the
    valid 0 it is.
    """
    if sorts_as_floats(rows.dtype, rows.shape[1]):
        return bool(rows[:, 0].min() >= 0 and rows[:, -1].max() <= 1)  # NaN fails both comparisons
    keys = rows.view(SORT_KEYS[rows.dtype])
    return bool(keys[:, 0].min() >= 0 and keys[:, -1].max() <= _ONE_KEYS[rows.dtype])


def _aggregate_rows(
    batch: Batch, dtype: DTypeLike, out: np.ndarray, aggregate: Aggregate, *, checks_range: bool = False
) -> bool:
    """out[a:b] = aggregate(a, b, scores buffer, check) for every row block, on threads.

    With a pending range check each block is checked as it is read (by ``aggregate`` itself when
    ``checks_range``); False if one fails (then ``out`` is incomplete and the batch must be
    checked first).
    """
    unchecked = batch.pending is not None
    failed: list[int] = []

    def fill(a: int, b: int) -> bool:
        if unchecked and not checks_range and not all_probabilities(batch.probs[a:b]):
            failed.append(a)
            return False
        work = scratch("scores", (b - a, batch.num_classes), dtype)
        scores = aggregate(a, b, work, unchecked and checks_range)
        if scores is None:
            failed.append(a)
            return False
        out[a:b] = scores
        return True

    run_blocks(batch.probs.shape[0], batch.num_classes, batch.block_rows, fill)
    return not failed


def _ema_rows(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None, out: np.ndarray) -> bool:
    """EMA of every row: score a block, sort its rows (or partition them), weigh the smallest."""
    assert options.aggregator is not None
    probs = batch.probs
    alpha = ema_alpha(options.aggregator.alpha, batch.num_classes)
    terms = ema_terms(alpha, batch.num_classes)
    weights = ema_weights(alpha, terms)
    method = options.method
    # q-sorted CWE needs q in float64, and pays only when some scores carry no weight; float32 rows
    # go to the o-sorted selection (``cwe_rows``) directly; the margin methods are scored and sorted
    # in the input dtype.
    selected = method == "confidence_weighted_entropy" and terms < batch.num_classes
    by_confidence = selected and probs.dtype == np.float64
    by_other = selected and not by_confidence
    in_dtype = thresholds is None and method != "confidence_weighted_entropy"
    adjustment = _adjustment(thresholds, min(batch.block_rows, probs.shape[0]))
    # Fully sorted margin scores (or q) carry the range check in their first and last columns;
    # confidence_weighted_entropy scored in full reads it off the minima it takes anyway.
    full_sort = not use_partition(terms, batch.num_classes)
    cwe_in_full = method == "confidence_weighted_entropy" and not selected and adjustment is None
    # The o-sorted selection reads it off its own sort, sorted or partitioned. (Without adjustment:
    # confidence_weighted_entropy refuses it.)
    sorted_margins = full_sort and adjustment is None and method != "confidence_weighted_entropy"
    checks_range = cwe_in_full or by_other or (full_sort and by_confidence) or sorted_margins

    def aggregate(a: int, b: int, scores: np.ndarray, check: bool) -> np.ndarray | None:
        if by_other or (by_confidence and mostly_rising(probs[a:b])):
            selection = smallest_cwe(batch, a, np.arange(b - a), terms, check)
            if selection is None:
                return None
            smallest = selection
        elif by_confidence:
            per_class_scores(probs[a:b], batch.positions(a, b), "self_confidence", None, scores)
            found = _smallest_cwe(batch, a, scores, terms, check)
            if found is None:
                return None
            smallest = found
        else:
            positions, classes = batch.positions(a, b), batch.classes(a, b)
            in_range = per_class_scores(probs[a:b], positions, method, adjustment, scores, classes)
            if in_range is False:  # (then ``scores`` is not filled)
                return None
            smallest = smallest_sorted(scores, terms)
            if check and in_range is None and not _sorted_in_unit_interval(scores):
                return None
        return ema_of_smallest(smallest, weights)

    dtype = probs.dtype if in_dtype else np.float64
    return _aggregate_rows(batch, dtype, out, aggregate, checks_range=checks_range)


def _softmin_rows(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None, out: np.ndarray) -> bool:
    """Softmin of every row, block by block."""
    assert options.aggregator is not None
    temperature = options.aggregator.temperature
    adjustment = _adjustment(thresholds, min(batch.block_rows, batch.probs.shape[0]))

    def aggregate(a: int, b: int, scores: np.ndarray, check: bool) -> np.ndarray | None:
        positions, classes = batch.positions(a, b), batch.classes(a, b)
        if per_class_scores(batch.probs[a:b], positions, options.method, adjustment, scores, classes) is False:
            return None  # a p outside [0, 1], read off by confidence_weighted_entropy (``scores`` not filled)
        return softmin(scores, temperature)

    # confidence_weighted_entropy reads the range off the minima it takes anyway; the rest are checked first.
    checks_range = options.method == "confidence_weighted_entropy" and adjustment is None
    return _aggregate_rows(batch, np.float64, out, aggregate, checks_range=checks_range)


def row_scores(batch: Batch, options: ScoringOptions, thresholds: Thresholds | None = None) -> np.ndarray:
    """(n,) float64 aggregated scores of the scored rows."""
    aggregator = options.aggregator
    assert aggregator is not None
    if aggregator.kind == "callable":
        return aggregate_callable(per_class_matrix(batch, options, thresholds), aggregator)
    if options.adjust_pred_probs:
        batch = batch.checked()  # the thresholds read every value first
    thresholds = _thresholds_for(batch, options, thresholds)
    out = np.empty(batch.probs.shape[0], dtype=np.float64)
    rows = _softmin_rows if aggregator.kind == "softmin" else _ema_rows
    if not rows(batch, options, thresholds, out):  # a value outside [0, 1]: refuse it or clip it
        batch = batch.checked()
        rows(batch, options, thresholds, out)
    return out


def to_series(name: str, batch: Batch, values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """Wrap the values without copying (an (n, K) matrix becomes an Array column).

    The Series is null where a row is not scored.
    """
    series = pl.Series(name, values.reshape(-1), dtype=pl.Float64)
    if values.ndim == 2:
        series = (
            series.reshape((values.shape[0], values.shape[1])) if values.shape[0] else pl.Series(name, [], dtype=dtype)
        )
    return batch.with_nulls(series).alias(name)
