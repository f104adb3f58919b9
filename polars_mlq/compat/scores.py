"""cleanlab-compatible functions: the same signatures and return shapes, on numpy arrays."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import polars as pl

from polars_mlq.core import ThresholdPartial, batch_thresholds
from polars_mlq.expressions import label_spec
from polars_mlq.input import (
    DEFAULT_AGGREGATOR,
    Batch,
    LabelsFormat,
    LabelSpec,
    Method,
    ScoringOptions,
    batch_of_arrays,
    parse_options,
    read_arrays,
    read_batch,
)
from polars_mlq.input.columns import Where
from polars_mlq.input.labels import read_labels
from polars_mlq.input.sparse import SparseBatch, is_csr_like, read_csr
from polars_mlq.scoring import Thresholds, per_class_matrix, row_scores
from polars_mlq.scoring.sparse.scores import sparse_row_scores
from polars_mlq.typing import LabelsLike, PredProbsLike


def _first_bool_row(rows: list[Any]) -> int | None:
    """Polars would read True as 1: find a row holding a bool, if any."""
    kinds = set(map(type, itertools.chain.from_iterable(rows)))
    if not any(issubclass(t, (bool, np.bool_)) for t in kinds):
        return None
    return next(i for i, row in enumerate(rows) if any(isinstance(v, (bool, np.bool_)) for v in row))


def _labels_series(labels: object, labels_format: LabelsFormat = "indices") -> pl.Series:
    if isinstance(labels, pl.Series):
        return labels
    if isinstance(labels, np.ndarray) and labels.ndim == 2:  # multi-hot rows
        return pl.Series("labels", labels)
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype == object:
        labels = list(labels)  # an object array of rows, as cleanlab accepts
    elif (
        not isinstance(labels, (Sequence, np.ndarray, Mapping))
        and hasattr(labels, "tolist")
        and hasattr(labels, "__len__")
    ):
        labels = labels.tolist()  # a pandas Series of rows, as cleanlab accepts (no pandas import)
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        msg = f"labels must be a list of lists of class indices or a polars Series; got {type(labels).__name__}"
        raise TypeError(msg)
    for i, row in enumerate(labels):
        if row is not None and (isinstance(row, (str, bytes)) or not isinstance(row, (Sequence, np.ndarray))):
            msg = f"labels, row {i}: each row must be a list of class indices (e.g. [0, 2]); got {row!r}"
            raise TypeError(msg)
    rows = [None if row is None else list(row) for row in labels]
    if labels_format == "indices":
        bad = _first_bool_row([row for row in rows if row is not None])
        if bad is not None:
            i = [j for j, row in enumerate(rows) if row is not None][bad]
            msg = (
                f"column 'labels', row {i}: labels must be a List of class indices (integers), not "
                f"booleans; got {rows[i]!r} (for multi-hot rows pass labels_format='multi_hot')"
            )
            raise TypeError(msg)
    series = pl.Series("labels", rows, strict=False)
    if series.dtype == pl.Null or series.dtype == pl.List(pl.Null):
        series = series.cast(pl.List(pl.Int64))
    return series


def _label_arrays(labels: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (offsets, values) of a plain list of lists of ints, without a Python object per label.

    Return None for anything else (the general reader then handles it).
    """
    if set(map(type, labels)) != {list}:
        return None
    flat = list(itertools.chain.from_iterable(labels))
    if not all(t is not bool and issubclass(t, (int, np.integer)) for t in set(map(type, flat))):
        return None
    try:
        values = np.array(flat, dtype=np.int64)
    except OverflowError:
        return None
    offsets = np.zeros(len(labels) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, labels), dtype=np.int64, count=len(labels)), out=offsets[1:])
    return offsets, values


def read_inputs(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> Batch:
    """Read and validate the inputs as one batch.

    cleanlab's own input, a list of lists of ints with an (N, K) array, takes a shortcut: building
    a polars Series of N lists costs about 8 us a row, far more than the scoring. pred_probs then
    go through the shared reader with empty label lists and the label values are range checked
    here; anything else, including out-of-range labels (for the error message), goes through the
    general reader.
    """
    spec = label_spec(class_names, labels_format)
    if labels_format == "indices" and type(labels) is list and labels and isinstance(pred_probs, np.ndarray):
        arrays = _label_arrays(labels)
        width = pred_probs.shape[1] if pred_probs.ndim == 2 else 0
        if arrays is not None and (arrays[1].size == 0 or 0 <= arrays[1].min() <= arrays[1].max() < width):
            return batch_of_arrays(*arrays, pred_probs, spec)
    if not isinstance(pred_probs, (np.ndarray, pl.Series)) and is_csr_like(pred_probs):
        msg = "sparse pred_probs are not taken here"  # every caller reads them first (a guard)
        raise TypeError(msg)
    series = _labels_series(labels, labels_format)
    if isinstance(pred_probs, pl.Series):
        return read_batch(series, pred_probs, spec=spec)
    return read_arrays(series, cast("np.ndarray", pred_probs), spec)


def _thresholds(batch: Batch, options: ScoringOptions) -> Thresholds | None:
    """Return the batch's own thresholds when adjusting (its probabilities checked first)."""
    return batch_thresholds(batch.checked()) if options.adjust_pred_probs else None


def _with_nan_rows(batch: Batch, values: np.ndarray) -> np.ndarray:
    return batch.scatter(values.astype(np.float64, copy=False), np.nan)


def get_label_quality_scores(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool | None = False,
    aggregator_kwargs: Mapping[str, Any] | None = DEFAULT_AGGREGATOR,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> np.ndarray:
    """One label-quality score per row, as cleanlab's function of the same name.

    ``labels`` is a list of lists of class indices (or a polars Series of lists) and
    ``pred_probs`` an (N, K) float array (or a polars Series of lists/arrays). Returns an (N,)
    float64 array; a null labels row scores NaN. Beyond cleanlab: labels as class names with
    ``class_names=``, or an (N, K) multi-hot array with ``labels_format="multi_hot"``; and
    ``pred_probs`` as a sparse (N, K) matrix (anything with ``indptr``, ``indices``, ``data`` and
    ``shape``, such as SciPy's ``csr_array``): each row's stored values are the probabilities of
    the classes it lists, every other class has probability ``fill_value``. The scores are those
    of the densified matrix, at a cost that grows with the values stored, not with K.

    Examples
    --------
    >>> import numpy as np
    >>> import polars_mlq as mlq
    >>> mlq.get_label_quality_scores([[1], [0, 2]], np.array([[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]])).round(6)
    array([0.9, 0.5])
    """
    # cleanlab tests adjust_pred_probs for identity with True: None means False there too
    options = parse_options(method, False if adjust_pred_probs is None else adjust_pred_probs, aggregator_kwargs)
    if is_csr_like(pred_probs):
        return sparse_scores(labels, pred_probs, fill_value, options, label_spec(class_names, labels_format))
    if fill_value != 0.0:
        msg = "fill_value is for sparse pred_probs (the probability of the classes a row does not list)"
        raise ValueError(msg)
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    return _with_nan_rows(batch, row_scores(batch, options, _thresholds(batch, options)))


def sparse_batch(
    labels: object, pred_probs: object, fill_value: object, spec: LabelSpec
) -> tuple[SparseBatch, np.ndarray]:
    """Read labels and a CSR-like ``pred_probs``: the batch of every row, and which rows have null labels.

    A row with null labels has none in the batch.
    """
    series = _labels_series(labels, spec.format)
    nulls: np.ndarray = series.is_null().to_numpy()
    n = series.len()
    indptr, classes, probs, fill, k = read_csr(pred_probs, fill_value, n)
    kept = np.flatnonzero(~nulls)
    offsets, values = read_labels(series.filter(~series.is_null()), k, Where(), kept, n, spec)
    lengths = np.zeros(n, dtype=np.int64)
    lengths[kept] = np.diff(offsets)
    label_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=label_offsets[1:])
    return SparseBatch(indptr, classes, probs, fill, k, label_offsets, values), nulls


def sparse_scores(
    labels: object, pred_probs: object, fill_value: object, options: ScoringOptions, spec: LabelSpec
) -> np.ndarray:
    """Score sparse pred_probs (see ``get_label_quality_scores``); a null labels row scores NaN."""
    batch, nulls = sparse_batch(labels, pred_probs, fill_value, spec)
    thresholds = ThresholdPartial.of_sparse(batch).finalize().for_scoring() if options.adjust_pred_probs else None
    scores = sparse_row_scores(batch, options, thresholds)
    scores[nulls] = np.nan
    return scores


#: The NumPy per-class functions answer with N x K arrays; for sparse pred_probs they densify the
#: rows up to this many entries (512 MiB of float64) and refuse beyond it.
DENSE_RESULT_MAX_ENTRIES = 1 << 26


def dense_of_sparse(
    labels: object, pred_probs: object, fill_value: object, labels_format: LabelsFormat, function: str
) -> PredProbsLike:
    """Return ``pred_probs`` as an (N, K) array: a CSR-like one densified (checked), a dense one as it is.

    For the functions whose answer is N x K anyway (``function`` names one in the error), the
    densified rows are the sparse rows' meaning: ``fill_value`` everywhere, the listed
    probabilities at their classes.
    """
    if not is_csr_like(pred_probs) or isinstance(pred_probs, (np.ndarray, pl.Series)):
        if fill_value != 0.0:
            msg = "fill_value is for sparse pred_probs (the probability of the classes a row does not list)"
            raise ValueError(msg)
        return cast("PredProbsLike", pred_probs)
    # the rows: a list, array or Series has a length (no Series of lists built twice); anything
    # else is read as the labels will be
    if isinstance(labels, (list, tuple, np.ndarray, pl.Series)):
        n = len(labels)
    else:
        n = len(_labels_series(labels, labels_format))
    indptr, classes, probs, fill, k = read_csr(pred_probs, fill_value, n)
    if n * k > DENSE_RESULT_MAX_ENTRIES:
        msg = (
            f"{function} answers with N x K arrays: N x K = {n} x {k} is above the limit of "
            f"{DENSE_RESULT_MAX_ENTRIES:,} entries for sparse pred_probs (per-class results of sparse rows "
            "that grow with what is listed: the .mlq namespace's label_quality_per_class and "
            "find_label_issues_per_class)"
        )
        raise ValueError(msg)
    dense = np.full((n, k), fill, dtype=probs.dtype)
    dense[np.repeat(np.arange(n), np.diff(indptr)), classes] = probs
    return dense


def get_label_quality_scores_per_class(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    method: Method = "self_confidence",
    adjust_pred_probs: bool | None = False,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> np.ndarray:
    """(N, K) float64 per-class label-quality scores, as cleanlab's ``rank`` function.

    A sparse (CSR-like) ``pred_probs``, with ``fill_value`` for every class a row does not list,
    is densified (the answer is N x K; up to ``DENSE_RESULT_MAX_ENTRIES`` entries).

    Examples
    --------
    >>> import numpy as np
    >>> import polars_mlq as mlq
    >>> mlq.get_label_quality_scores_per_class([[1], [0, 2]], np.array([[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]])).round(6)
    array([[0.9, 0.9, 0.9],
           [0.4, 0.9, 0.9]])
    """
    options = parse_options(method, False if adjust_pred_probs is None else adjust_pred_probs, None, per_class=True)
    pred_probs = dense_of_sparse(labels, pred_probs, fill_value, labels_format, "get_label_quality_scores_per_class")
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    return _with_nan_rows(batch, per_class_matrix(batch, options, _thresholds(batch, options)))
