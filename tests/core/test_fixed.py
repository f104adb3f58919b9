"""Fixed-point limbs (``polars_mlq.core.fixed``): exact integers in int64 arrays, and correctly rounded means."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polars_mlq.core import exact, fixed

totals = st.integers(0, 2**101)


@given(st.lists(totals, max_size=30))
def test_integers_round_trip(values: list[int]) -> None:
    assert fixed.to_ints(fixed.of_ints(values)) == values


@given(st.lists(st.tuples(totals, totals), max_size=30))
def test_sums_of_limbs_are_sums_of_integers(pairs: list[tuple[int, int]]) -> None:
    a, b = fixed.of_ints([x for x, _ in pairs]), fixed.of_ints([y for _, y in pairs])
    assert fixed.to_ints(fixed.normalized(a + b)) == [x + y for x, y in pairs]
    bigger = [(max(x, y), min(x, y)) for x, y in pairs]
    high, low = fixed.of_ints([x for x, _ in bigger]), fixed.of_ints([y for _, y in bigger])
    assert fixed.to_ints(fixed.normalized(high - low)) == [x - y for x, y in bigger]  # borrows carried down


@given(st.integers(0, 2**100 - 1), st.lists(st.integers(0, 2**40 - 1), min_size=1, max_size=20))
def test_a_value_times_counts(value: int, counts: list[int]) -> None:
    assert fixed.to_ints(fixed.times(value, np.array(counts))) == [value * c for c in counts]


@given(st.lists(st.tuples(st.integers(-(2**50), 2**50), st.integers(-(2**50), 2**50), st.integers(-(2**55), 2**55))))
def test_grid_limbs_are_their_weighted_sum(limbs: list[tuple[int, int, int]]) -> None:
    expected = [a * 2**54 + b * 2**27 + c for a, b, c in limbs]
    kept = [i for i, e in enumerate(expected) if e >= 0]  # sums of values are never negative
    arrays = [np.array([row[j] for row in limbs], dtype=np.int64) for j in range(3)]
    got = fixed.to_ints(fixed.of_grid_limbs(*arrays)[kept]) if kept else []
    assert got == [expected[i] for i in kept]


@settings(max_examples=300)
@given(st.lists(st.tuples(totals, st.integers(0, 2**40)), min_size=1, max_size=40))
def test_means_are_correctly_rounded(cases: list[tuple[int, int]]) -> None:
    limbs = fixed.of_ints([t for t, _ in cases])
    got = fixed.means(limbs, np.array([c for _, c in cases]), exact.UNIT_BITS)
    for (total, count), mean in zip(cases, got.tolist(), strict=True):
        if count == 0:
            assert np.isnan(mean)
        else:
            assert mean == exact.mean(total, count) == float(Fraction(total, count << exact.UNIT_BITS))


@pytest.mark.parametrize("count", [1, 3, 1_000_003])
def test_means_at_a_rounding_boundary_round_half_to_even(count: int) -> None:
    """Quotients exactly between two floats: the exact fallback decides, ties to even."""
    unit = 1 << exact.UNIT_BITS
    boundaries = [unit + (unit >> 53), unit + 3 * (unit >> 53), (unit >> 1) + (unit >> 55)]
    totals_ = [b * count for b in boundaries]
    got = fixed.means(fixed.of_ints(totals_), np.full(len(totals_), count), exact.UNIT_BITS)
    assert got.tolist() == [1.0, 1.0 + 2**-51, 0.5]
    assert got.tolist() == [float(Fraction(t, count * unit)) for t in totals_]


def test_without_an_extended_long_double_every_mean_is_divided_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    totals_ = [int(t) << 30 for t in rng.integers(0, 2**62, 200)]
    counts = rng.integers(1, 2**30, 200)
    wide = fixed.means(fixed.of_ints(totals_), counts, exact.UNIT_BITS)
    monkeypatch.setattr(fixed, "_WIDE", False)
    narrow = fixed.means(fixed.of_ints(totals_), counts, exact.UNIT_BITS)
    assert narrow.tolist() == wide.tolist() == [exact.mean(t, int(c)) for t, c in zip(totals_, counts, strict=True)]
