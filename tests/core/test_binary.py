"""The binary problems of the core: the exact boundaries that replace cleanlab's float tests."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from polars_mlq.core import binary
from polars_mlq.core.binary import largest_true


def test_boundaries_agree_with_the_tests_they_replace() -> None:
    """p <= boundary exactly when cleanlab's test on [1 - p, p] holds, around every boundary."""
    for dtype in (np.float32, np.float64):
        b = binary.boundaries(np.dtype(dtype))
        one, slack = dtype(1), dtype(1e-6)
        for boundary, test in (
            (b.absent_wins, lambda x: x <= one - x),
            (b.missing, lambda x: ~(x > (one - x) + slack)),
            (b.extra, lambda x: x + slack <= one - x),
        ):
            x = dtype(boundary)
            near = [x]
            for _ in range(50):
                near.append(np.nextafter(near[-1], dtype(1)))
            below = [x]
            for _ in range(50):
                below.append(np.nextafter(below[-1], dtype(0)))
            values = np.array(near + below, dtype=dtype)
            np.testing.assert_array_equal(values <= boundary, test(values))


def test_rows_with_any_is_any_over_each_row() -> None:
    """Up to 255 columns a uint8 product counts the row's true entries (255 of them must not wrap to 0)."""
    rng = np.random.default_rng(3)
    for k in (1, 7, 255, 256, 300):
        mask = rng.random((50, k)) < 0.02
        mask[0] = True  # every entry of a row: k true entries
        mask[1] = False
        np.testing.assert_array_equal(binary.rows_with_any(mask), mask.any(axis=1))
        np.testing.assert_array_equal(binary.rows_with_any(mask[:, ::-1]), mask.any(axis=1))  # not contiguous


@given(
    st.lists(st.tuples(st.floats(-0.5, 1.5), st.one_of(st.floats(-1, 2), st.just(float("nan")))), min_size=1, max_size=40),
    st.sampled_from([np.float64, np.float32]),
)
def test_a_guess_changes_how_long_the_bisection_takes_not_its_result(cases: list[tuple[float, float]], dtype: type) -> None:
    """Each predicate is "x <= t"; guesses are near t, far from it, outside [0, 1] or NaN."""
    t = np.array([c for c, _ in cases])
    near = np.array([c + g * 1e-13 if not np.isnan(g) else g for c, g in cases])
    far = np.array([g for _, g in cases])
    kind = np.dtype(dtype)

    def predicate(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64) <= t

    plain = largest_true(predicate, kind, t.size)
    assert largest_true(predicate, kind, t.size, guess=near).tolist() == plain.tolist()
    assert largest_true(predicate, kind, t.size, guess=far).tolist() == plain.tolist()


@given(
    n=st.integers(0, 700),
    k=st.integers(1, 40),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
    chunk=st.sampled_from([1, 2, 3, 65_535]),
)
def test_count_columns_counts_every_column(n: int, k: int, density: float, seed: int, chunk: int) -> None:
    """count_columns against count_nonzero: any shape (rows left over from the wide view too),
    every density (all true: every column's sum in one uint16 run), sums split into runs of
    ``chunk`` wide rows, and a strided matrix (the plain path)."""
    mask = np.random.default_rng(seed).random((n, k)) < density
    expected = np.count_nonzero(mask, axis=0)
    saved = binary._UINT16_ROWS
    binary._UINT16_ROWS = chunk
    try:
        got = binary.count_columns(mask)
    finally:
        binary._UINT16_ROWS = saved
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(binary.count_columns(mask[::2]), np.count_nonzero(mask[::2], axis=0))


def test_count_columns_of_more_true_entries_a_column_than_uint16_holds() -> None:
    """64 * 65,537 rows all true: each wide column sums 65,537 ones, in two uint16 runs."""
    mask = np.ones((64 * 65_537 + 5, 2), dtype=bool)
    mask[::7, 1] = False
    np.testing.assert_array_equal(binary.count_columns(mask), np.count_nonzero(mask, axis=0))
