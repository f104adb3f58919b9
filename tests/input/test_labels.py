"""Label helpers of the input layer (``polars_mlq.input.labels``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from polars_mlq.input import sorted_unique


@given(st.lists(st.integers(-(2**62), 2**62), max_size=200))
def test_sorted_unique_is_numpys_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    got = sorted_unique(array)
    np.testing.assert_array_equal(got, np.unique(array))
    assert got.dtype == np.int64


def test_sorted_unique_of_label_positions_in_row_order() -> None:
    """Positions row * K + class, classes shuffled and repeated within rows, as label lists give them."""
    rng = np.random.default_rng(0)
    k = 20
    rows = [r * k + rng.integers(0, k, size=int(rng.integers(0, 6))) for r in range(5000)]
    positions = np.concatenate(rows)
    expected = np.array(sorted(set(positions.tolist())), dtype=np.int64)
    np.testing.assert_array_equal(sorted_unique(positions), expected)
    assert positions.size > expected.size  # repeats were there to drop
