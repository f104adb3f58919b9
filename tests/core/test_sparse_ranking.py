"""The EMA of rows whose classes each score a constant of their own, stepped from both ends of its range."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from polars_mlq.core import ema, sparse_ranking
from polars_mlq.scoring.sparse.rows import ExplicitRows


def _rows(seed: int, n: int, k: int, most: int, *, ties: bool) -> tuple[ExplicitRows, np.ndarray]:
    """Random explicit entries (up to ``most`` a row, none for some rows) and the dense rows they stand for."""
    rng = np.random.default_rng(seed)
    constants = rng.random(k)
    if ties:  # constants equal to each other and to explicit scores
        constants = np.round(constants, 2)
    counts = rng.integers(0, most + 1, n)
    counts[:3] = [0, most, min(most, k)]
    indptr = np.concatenate([[0], np.cumsum(counts)])
    classes = np.concatenate([rng.choice(k, c, replace=False) for c in counts]) if counts.sum() else np.zeros(0, int)
    scores = rng.random(classes.size)
    if ties:
        scores = np.round(scores, 2)
    dense = np.tile(constants, (n, 1))
    dense[np.repeat(np.arange(n), counts), classes] = scores
    return ExplicitRows(indptr, classes.astype(np.int64), scores, constants), dense


@pytest.mark.parametrize(("k", "tail"), [(5, 32), (40, 32), (3000, 32), (3000, 1), (200, 0)])
@pytest.mark.parametrize("ties", [False, True])
def test_the_ema_is_the_dense_rows_bit_for_bit(k: int, tail: int, ties: bool) -> None:
    """Rows of K <= tail + 1 are stepped in full; wider ones from both ends (a tail of 0 or 1 makes
    most rows step again with longer tails, up to K)."""
    explicit, dense = _rows(k + tail, 400, k, min(k, 30), ties=ties)
    got = sparse_ranking.sandwiched_ema(explicit, 0.8, tail=tail)
    np.testing.assert_array_equal(got, ema(dense, 0.8))


def test_rows_whose_bounds_do_not_meet_step_again() -> None:
    """With a tail of 1 the two runs rarely meet: the rows go round again (the spy counts the rounds)."""
    explicit, dense = _rows(7, 300, 500, 20, ties=False)
    tails: list[int] = []
    real = sparse_ranking._tail_ema

    def spy(*args: object) -> tuple[np.ndarray, np.ndarray]:
        tails.append(int(args[4]))  # type: ignore[call-overload]
        return real(*args)  # type: ignore[arg-type]

    with mock.patch.object(sparse_ranking, "_tail_ema", spy):
        got = sparse_ranking.sandwiched_ema(explicit, 0.8, tail=1)
    assert sorted(set(tails))[:3] == [1, 4, 16]
    np.testing.assert_array_equal(got, ema(dense, 0.8))


def test_the_largest_score_bounds_the_state_when_it_is_explicit() -> None:
    """Equal constants below one large explicit score: the tail's two runs start at the constant and at
    that score (were it left out, both would start at the constant, agree, and be wrong by 2e-13)."""
    k = 20
    constants = np.full(k, 0.05)
    explicit = ExplicitRows(np.array([0, 1, 1]), np.array([7]), np.array([0.9]), constants)
    dense = np.tile(constants, (2, 1))
    dense[0, 7] = 0.9
    expected = ema(dense, 0.8)
    assert expected[0] != expected[1]
    np.testing.assert_array_equal(sparse_ranking.sandwiched_ema(explicit, 0.8, tail=1), expected)
