"""get_label_quality_scores on sparse pred_probs: cleanlab's scores of the densified matrix."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from cleanlab.multilabel_classification.rank import get_label_quality_scores as cleanlab_scores

import polars_mlq as mlq
from polars_mlq.input.sparse import CsrArrays


Csr = CsrArrays  # the least a sparse matrix needs to be (no SciPy)


def top_k(seed: int, n: int, k: int, listed: int, *, fill: float, dtype: type = np.float64) -> tuple[list[list[int]], Csr, np.ndarray]:
    """Rows listing ``listed`` classes (the truth among them mostly), labels of 0..4 classes
    (some unlisted), and the dense matrix the sparse one stands for."""
    rng = np.random.default_rng(seed)
    indices = np.stack([rng.choice(k, listed, replace=False) for _ in range(n)]).reshape(-1)
    data = rng.beta(0.6, 0.6, n * listed).astype(dtype)
    data[::7] = 1.0
    data[3::11] = 0.0
    indptr = np.arange(n + 1, dtype=np.int64) * listed
    labels = []
    for i in range(n):
        row = indices[i * listed : (i + 1) * listed]
        pick = rng.choice(row, rng.integers(0, 3), replace=False).tolist()
        pick += rng.choice(k, rng.integers(0, 2), replace=False).tolist()  # perhaps unlisted
        labels.append(sorted(set(pick)))
    dense = np.full((n, k), fill, dtype=dtype)
    dense[np.repeat(np.arange(n), listed), indices] = data
    return labels, Csr(indptr, indices, data, (n, k)), dense


AGGREGATORS: list[dict[str, Any]] = [
    {"method": "exponential_moving_average", "alpha": 0.8},
    {"method": "exponential_moving_average", "alpha": None},
    {"method": "exponential_moving_average", "alpha": 0.05},
    {"method": "softmin", "temperature": 0.1},
    {"method": "softmin", "temperature": 2.0},
    {"method": np.min},
    {"method": np.mean},
]


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
@pytest.mark.parametrize("aggregator", AGGREGATORS)
@pytest.mark.parametrize("fill", [0.0, 0.02])
def test_scores_equal_cleanlabs_on_the_densified_matrix(method: str, aggregator: dict[str, Any], fill: float) -> None:
    labels, csr, dense = top_k(3, 300, 60, 6, fill=fill)
    got = mlq.get_label_quality_scores(labels, csr, method=method, aggregator_kwargs=aggregator, fill_value=fill)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cleanlab_scores(labels, dense, method=method, aggregator_kwargs=aggregator)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_float32_and_scipy_matrices() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    labels, csr, dense = top_k(5, 200, 40, 5, fill=0.0, dtype=np.float32)
    matrix = sparse.csr_array((csr.data, csr.indices, csr.indptr), shape=csr.shape)
    for method in ("self_confidence", "confidence_weighted_entropy"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cleanlab_scores(labels, dense, method=method)
        np.testing.assert_allclose(mlq.get_label_quality_scores(labels, matrix, method=method), expected, atol=1e-12)


def test_many_classes_cost_what_is_listed() -> None:
    """K = 100,000: the densified matrix (8 MB a row here) is only built for cleanlab's side."""
    labels, csr, dense = top_k(7, 30, 100_000, 20, fill=0.0)
    for aggregator in AGGREGATORS[:4]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cleanlab_scores(labels, dense, aggregator_kwargs=aggregator)
        got = mlq.get_label_quality_scores(labels, csr, aggregator_kwargs=aggregator)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_a_null_labels_row_scores_nan() -> None:
    labels, csr, dense = top_k(2, 20, 10, 3, fill=0.0)
    with_null: list[Any] = [*labels[:4], None, *labels[5:]]
    got = mlq.get_label_quality_scores(with_null, csr)
    expected = mlq.get_label_quality_scores(labels, dense)
    assert np.isnan(got[4])
    np.testing.assert_allclose(np.delete(got, 4), np.delete(expected, 4), atol=1e-12)


def _csr(indptr: list[int], indices: list[int], data: list[float], shape: tuple[int, int]) -> Csr:
    return Csr(np.array(indptr), np.array(indices), np.array(data), shape)


@pytest.mark.parametrize(
    ("pred_probs", "fill", "match"),
    [
        (_csr([0, 1, 2], [0, 3], [0.5, 0.5], (2, 3)), 0.0, r"row 1: class 3 is outside \[0, 2\]"),
        (_csr([0, 1, 3], [0, 2, 2], [0.5, 0.5, 0.1], (2, 3)), 0.0, "row 1: class 2 is listed twice"),
        (_csr([0, 1, 2], [0, 1], [0.5, np.nan], (2, 3)), 0.0, "row 1: value nan at class 1 is not a probability"),
        (_csr([0, 1, 2], [0, 1], [1.5, 0.5], (2, 3)), 0.0, "row 0: value 1.5 at class 0"),
        (_csr([0, 1, 2], [0, 1], [0.5, 0.5], (2, 3)), 1.5, r"fill_value must be in \[0, 1\]"),
        (_csr([0, 1, 2], [0, 1], [0.5, 0.5], (2, 3)), float("nan"), r"fill_value must be in \[0, 1\]"),
        (_csr([0, 1, 2], [0, 1], [0.5, 0.5], (3, 3)), 0.0, "pred_probs has 3 rows but labels has 2"),
        (_csr([0, 2, 1], [0, 1], [0.5, 0.5], (2, 3)), 0.0, "indptr must rise"),
    ],
)
def test_bad_sparse_input_names_the_row_and_value(pred_probs: Csr, fill: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mlq.get_label_quality_scores([[0], [1]], pred_probs, fill_value=fill)


def test_a_label_outside_the_classes_and_fill_value_on_dense_input() -> None:
    csr = _csr([0, 1, 2], [0, 1], [0.5, 0.5], (2, 3))
    with pytest.raises(ValueError, match=r"row 1: label 5 is not a class index"):
        mlq.get_label_quality_scores([[0], [5]], csr)
    with pytest.raises(ValueError, match="fill_value is for sparse pred_probs"):
        mlq.get_label_quality_scores([[0], [1]], np.full((2, 3), 0.3), fill_value=0.1)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("aggregator", AGGREGATORS[:5])
@pytest.mark.parametrize(("fill", "dtype"), [(0.0, np.float64), (0.01, np.float64), (0.0, np.float32)])
def test_adjusted_scores_equal_cleanlabs(method: str, aggregator: dict[str, Any], fill: float, dtype: type) -> None:
    """adjust_pred_probs: thresholds from the listed entries and the fill (exact sums), per-class constants."""
    labels, csr, dense = top_k(9, 300, 40, 6, fill=fill, dtype=dtype)
    labels[0] = list(range(40))  # a row labelled with every class: no class has an empty absent group
    labels[1] = []
    got = mlq.get_label_quality_scores(
        labels, csr, method=method, adjust_pred_probs=True, aggregator_kwargs=aggregator, fill_value=fill
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cleanlab_scores(labels, dense, method=method, adjust_pred_probs=True, aggregator_kwargs=aggregator)
    atol = 1e-12 if dtype == np.float64 else 2e-6  # float32: cleanlab's thresholds are float32 means
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    ours_dense = mlq.get_label_quality_scores(
        labels, dense, method=method, adjust_pred_probs=True, aggregator_kwargs=aggregator
    )
    np.testing.assert_allclose(got, ours_dense, rtol=0, atol=1e-12)  # the dense path's thresholds, exactly


def test_adjusted_thresholds_equal_the_dense_ones_bit_for_bit() -> None:
    from polars_mlq.compat.scores import read_inputs
    from polars_mlq.core import ThresholdPartial, batch_thresholds
    from polars_mlq.input.sparse import SparseBatch, read_csr

    labels, csr, dense = top_k(2, 500, 30, 5, fill=0.03)
    dense_thresholds = batch_thresholds(read_inputs(labels, dense))
    expected = np.stack([dense_thresholds.absent, dense_thresholds.present], axis=1)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in labels])])
    values = np.array([c for r in labels for c in r], dtype=np.int64)
    batch = SparseBatch(*read_csr(csr, 0.03, len(labels)), offsets, values)  # (its classes sorted within rows)
    got = ThresholdPartial.of_sparse(batch).finalize().for_scoring()
    np.testing.assert_array_equal(np.stack([got.absent, got.present], axis=1), expected)


def test_the_input_is_not_changed() -> None:
    labels, csr, _ = top_k(4, 50, 12, 4, fill=0.0)
    data = csr.data.copy()
    data[0] = 1 + 5e-7  # within the tolerance: clipped in a copy
    given = Csr(csr.indptr.copy(), csr.indices.copy(), data, csr.shape)
    mlq.get_label_quality_scores(labels, given)
    assert given.data[0] == 1 + 5e-7
    np.testing.assert_array_equal(given.indices, csr.indices)


def test_per_class_scores_of_sparse_rows_are_those_of_the_densified_rows() -> None:
    csr = _csr([0, 1, 2], [0, 1], [0.5, 0.75], (2, 3))
    got = mlq.get_label_quality_scores_per_class([[0], [1]], csr, fill_value=0.125)
    np.testing.assert_array_equal(got, [[0.5, 0.875, 0.875], [0.875, 0.75, 0.875]])
