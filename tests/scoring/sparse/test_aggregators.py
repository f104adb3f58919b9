"""Sparse EMA and softmin: a row's explicit scores and the per-class constants give the densified row's value."""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.internal.multilabel_scorer import exponential_moving_average, softmin
from hypothesis import given, settings
from hypothesis import strategies as st

from polars_mlq.scoring.sparse import ExplicitRows, sparse_ema, sparse_softmin
from polars_mlq.scoring.sparse.ema import normalized_suffix


def explicit_data(seed: int, n: int, k: int, most: int, *, equal: bool, grid: int) -> tuple[ExplicitRows, np.ndarray]:
    """Rows of 0..most explicit entries over K classes, and the dense (n, K) matrix they stand for.

    ``equal``: one constant for every class (no adjustment); ``grid`` > 0 rounds every score to
    multiples of 1/grid, so explicit scores tie with each other and with the constants.
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, min(most, k) + 1, n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    classes = np.concatenate([rng.choice(k, c, replace=False) for c in counts] + [np.zeros(0, dtype=np.int64)])
    scores = rng.random(int(indptr[-1]))
    constants = np.full(k, rng.random()) if equal else rng.random(k)
    if grid:
        scores, constants = np.round(scores * grid) / grid, np.round(constants * grid) / grid
    dense = np.tile(constants, (n, 1))
    dense[np.repeat(np.arange(n), counts), classes] = scores
    return ExplicitRows(indptr, classes.astype(np.int64), scores, constants), dense


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.sampled_from([1, 2, 3, 7, 40, 300]),
    most=st.sampled_from([1, 3, 12, 50]),
    equal=st.booleans(),
    grid=st.sampled_from([0, 2, 10]),
    alpha=st.sampled_from([0.0, 0.3, 0.8, 1.0, None, 1e-3]),
)
def test_ema_equals_the_dense_rows(
    seed: int, k: int, most: int, equal: bool, grid: int, alpha: float | None
) -> None:
    explicit, dense = explicit_data(seed, 40, k, most, equal=equal, grid=grid)
    a = 2 / (k + 1) if alpha is None else alpha
    expected = exponential_moving_average(dense, alpha=a, axis=1)
    np.testing.assert_allclose(sparse_ema(explicit, a), expected, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.sampled_from([1, 2, 3, 7, 40, 300]),
    most=st.sampled_from([1, 3, 12, 50]),
    equal=st.booleans(),
    grid=st.sampled_from([0, 2, 10]),
    temperature=st.sampled_from([0.1, 1.0, 0.01, 1e-6, 0.0, 10.0]),
)
def test_softmin_equals_the_dense_rows(
    seed: int, k: int, most: int, equal: bool, grid: int, temperature: float
) -> None:
    explicit, dense = explicit_data(seed, 40, k, most, equal=equal, grid=grid)
    expected = softmin(dense, temperature=temperature, axis=1)
    np.testing.assert_allclose(sparse_softmin(explicit, temperature), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("equal", [True, False])
def test_many_classes_and_the_smallest_alpha(equal: bool) -> None:
    """K = 100,000 with alpha = 2 / (K + 1) (alpha=None): every rank's weight counts."""
    k = 100_000
    explicit, dense = explicit_data(1, 12, k, 25, equal=equal, grid=0)
    for alpha in (2 / (k + 1), 0.8, 0.01):
        expected = exponential_moving_average(dense, alpha=alpha, axis=1)
        np.testing.assert_allclose(sparse_ema(explicit, alpha), expected, rtol=0, atol=1e-12)
    for temperature in (0.1, 1e-3):
        expected = softmin(dense, temperature=temperature, axis=1)
        np.testing.assert_allclose(sparse_softmin(explicit, temperature), expected, rtol=0, atol=1e-12)


def test_normalized_suffix_by_hand() -> None:
    values = np.array([0.5, 0.25, 1.0])
    # S[g] = sum_{g' >= g} beta^(g' - g) values[g'], beta = 0.5
    expected = [0.5 + 0.5 * 0.25 + 0.25 * 1.0, 0.25 + 0.5 * 1.0, 1.0, 0.0]
    np.testing.assert_allclose(normalized_suffix(values, 0.5), expected, rtol=1e-15)
    np.testing.assert_array_equal(normalized_suffix(values, 0.0), [0.5, 0.25, 1.0, 0.0])
    # blocks of the sums (beta^L must stay above 1e-260) join without a seam
    long = np.random.default_rng(0).random(5000)
    got = normalized_suffix(long, 0.2)
    brute = [sum(0.2**j * long[g + j] for j in range(min(60, 5000 - g))) for g in (0, 371, 372, 373, 4999)]
    np.testing.assert_allclose(got[[0, 371, 372, 373, 4999]], brute, rtol=1e-14)


def test_rows_without_entries_and_rows_of_every_class() -> None:
    constants = np.array([0.3, 0.9, 0.1])
    indptr = np.array([0, 0, 3])  # row 0: only constants; row 1: every class explicit
    explicit = ExplicitRows(indptr, np.array([2, 0, 1]), np.array([0.5, 0.7, 0.2]), constants)
    dense = np.array([[0.3, 0.9, 0.1], [0.7, 0.2, 0.5]])
    np.testing.assert_allclose(sparse_ema(explicit, 0.8), exponential_moving_average(dense, alpha=0.8, axis=1))
    np.testing.assert_allclose(sparse_softmin(explicit, 0.1), softmin(dense, temperature=0.1, axis=1))


def test_the_closed_forms_for_one_constant_equal_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """No adjustment gives every class one constant: the closed forms and the event sums agree."""
    from polars_mlq.scoring.sparse import ema, softmin as softmin_module

    explicit, _ = explicit_data(11, 200, 50, 12, equal=True, grid=10)
    fast = [sparse_ema(explicit, a) for a in (0.0, 0.3, 0.8, 1.0)] + [sparse_softmin(explicit, 0.1)]
    monkeypatch.setattr(ema, "one_constant", lambda _: False)
    monkeypatch.setattr(softmin_module, "one_constant", lambda _: False)
    general = [sparse_ema(explicit, a) for a in (0.0, 0.3, 0.8, 1.0)] + [sparse_softmin(explicit, 0.1)]
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
