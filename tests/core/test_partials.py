"""The statistics core: partial statistics give the same answer for any split and merge order."""

from __future__ import annotations

from fractions import Fraction
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polars_mlq.core import Chunk, ThresholdPartial, exact, find, fixed, merge_all, parse_issue_options, thresholds
from polars_mlq.core.options import FILTERS
from polars_mlq.input import read_batch


def chunks(labels: list[list[int]], probs: np.ndarray, cuts: list[int]) -> list[Chunk]:
    out = []
    bounds = [0, *sorted(set(cuts)), len(labels)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        series = pl.Series("labels", labels[lo:hi], dtype=pl.List(pl.Int64))
        batch = read_batch(series, pl.Series("pred_probs", probs[lo:hi]), num_classes=probs.shape[1])
        out.append(Chunk.of(batch, lo))
    return out


@st.composite
def split_data(draw: st.DrawFn) -> tuple[list[list[int]], np.ndarray, list[int], int]:
    n = draw(st.integers(2, 120))
    k = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grid = draw(st.sampled_from([0, 4, 20]))  # 0: continuous; else probabilities on a grid (ties)
    probs = rng.random((n, k))
    if grid:
        probs = np.round(probs * grid) / grid
    probs = probs.astype(draw(st.sampled_from([np.float32, np.float64])))
    labels = [np.flatnonzero(rng.random(k) < 0.3).tolist() for _ in range(n)]
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=6))
    return labels, probs, cuts, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=split_data(),
    filter_by=st.sampled_from(FILTERS),
    per_class=st.booleans(),
    frac_noise=st.sampled_from([1.0, 0.5, 0.3]),
)
def test_any_split_and_merge_order_gives_the_same_flags(
    data: tuple[list[list[int]], np.ndarray, list[int], int], filter_by: str, per_class: bool, frac_noise: float
) -> None:
    """Rows tied at a cutoff spread over several batches are the hard case (frac_noise < 1 puts
    the cutoff among the candidates)."""
    labels, probs, cuts, seed = data
    k = probs.shape[1]
    prune = filter_by in ("prune_by_noise_rate", "prune_by_class", "both")
    options = parse_issue_options(k, filter_by=filter_by, frac_noise=frac_noise if prune else 1.0)
    whole = chunks(labels, probs, [])
    parts = chunks(labels, probs, cuts)
    shuffled = list(parts)
    np.random.default_rng(seed).shuffle(shuffled)
    one = find(lambda: whole, k, options, per_class=per_class, summary=True).rule
    many = find(lambda: shuffled, k, options, per_class=per_class, summary=True).rule
    if per_class:
        expected = one.class_mask(whole[0])
        got = np.concatenate([many.class_mask(c) for c in parts])
    else:
        expected = one.row_mask(whole[0])
        got = np.concatenate([many.row_mask(c) for c in parts])
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=split_data())
def test_threshold_partials_merge_exactly(data: tuple[list[list[int]], np.ndarray, list[int], int]) -> None:
    labels, probs, cuts, seed = data
    k = probs.shape[1]
    parts = [ThresholdPartial.of(c) for c in chunks(labels, probs, cuts)]
    np.random.default_rng(seed).shuffle(parts)
    merged = merge_all(parts, ThresholdPartial.empty(k)).finalize()
    whole = ThresholdPartial.of(chunks(labels, probs, [])[0]).finalize()
    np.testing.assert_array_equal(merged.values, whole.values)
    np.testing.assert_array_equal(merged.cuts, whole.cuts)
    # the exact mean is within a few ulps of numpy's pairwise mean
    y = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        y[i, row] = True
    for c in range(k):
        for label, values in ((1, probs[y[:, c], c]), (0, np.subtract(probs.dtype.type(1), probs[~y[:, c], c]))):
            if values.size and merged.wide[c]:
                reference = max(float(np.mean(values)), 2e-6)
                assert abs(merged.values[c, label] - reference) <= 8 * np.spacing(reference) * (
                    1 if probs.dtype == np.float64 else 2**29
                )


def test_exact_sums_by_hand() -> None:
    values = np.array([[0.5, 0.25], [0.25, 2.0**-70], [0.125, 1.0]])
    totals = exact.column_sums(values)
    assert totals == [7 * 2**77, 5 * 2**78 + 2**10]
    # below 2**-80 a value is rounded (half to even) to the grid: 2**-81 -> 0, 3 * 2**-82 -> 2**-80
    assert exact.column_sums(np.array([[2.0**-81], [3 * 2.0**-82]])) == [1]
    # 1 - 2**-70 rounds to 1.0 in float64 before it is summed, as cleanlab computes it
    assert exact.column_sums(values, complement=True) == [17 * 2**77, 7 * 2**78]
    assert exact.mean(totals[0], 3) == 0.875 / 3
    assert np.isnan(exact.mean(0, 0))
    assert exact.segment_sums(np.array([0.5, 0.25, 0.125]), np.array([1, 0, 1]), 3) == [2**78, 5 * 2**77, 0]


@given(
    st.lists(
        st.one_of(
            st.floats(0, 1),
            st.sampled_from([0.0, 5e-324, 2.0**-60, 0.5, np.nextafter(0.5, 0), np.nextafter(0.5, 1), 1.0]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([np.float64, np.float32]),
    st.integers(1, 3),
)
def test_complement_sums_are_the_exact_sums_of_one_minus_p(values: list[float], dtype: type, k: int) -> None:
    """The two-limb path for 1 - p (no rounding step) gives the exact sum of 1 - p as computed."""
    probs = np.array(values * k, dtype=dtype).reshape(k, -1).T.copy()
    one_minus = np.subtract(dtype(1), probs).astype(np.float64)
    expected = [sum(Fraction(float(v)) for v in one_minus[:, c]) * 2**exact.UNIT_BITS for c in range(k)]
    assert all(e.denominator == 1 for e in expected)  # 1 - p is on the 2**-80 grid: nothing to round
    assert exact.column_sums(probs, complement=True) == [int(e) for e in expected]
    assert exact.column_sums(probs, complement=True) == exact.column_sums(one_minus)


_ROUNDING_CASES = [0.0, -0.0, 5e-324, 2.0**-81, 3 * 2.0**-81, 2.0**-60, 2.0**-27, 0.3, 0.5, np.nextafter(0.5, 0), 1.0]


@given(
    st.lists(st.one_of(st.floats(0, 1), st.sampled_from(_ROUNDING_CASES)), min_size=2, max_size=80),
    st.lists(st.booleans(), min_size=80, max_size=80),
    st.sampled_from([np.float64, np.float32]),
)
def test_left_out_sums_are_the_exact_sums_of_p(values: list[float], left_out: list[bool], dtype: type) -> None:
    """The labelled sums, read as 1 - fl(1 - p) + e, are the exact sums of p rounded half to even.

    Values below 1/2 (whose 1 - p is rounded), down to subnormals and halfway cases of the 2**-80
    grid, and p >= 1/2 (whose sums come from the lanes alone).
    """
    k = 2
    probs = np.array(values[: len(values) // k * k], dtype=dtype).reshape(-1, k)
    labelled = np.array(left_out[: probs.size]).reshape(probs.shape)
    positions = np.flatnonzero(labelled)
    absent, present = exact.complement_sums(probs, exclude=positions, classes=positions % k)
    rounded = [[round(Fraction(float(v)) * 2**exact.UNIT_BITS) for v in probs[labelled[:, c], c]] for c in range(k)]
    assert present == [sum(column) for column in rounded]
    one_minus = np.subtract(dtype(1), probs).astype(np.float64)
    unlabelled = [sum(Fraction(float(v)) for v in one_minus[~labelled[:, c], c]) for c in range(k)]
    assert absent == [int(total * 2**exact.UNIT_BITS) for total in unlabelled]


def _one_minus_units(probs: np.ndarray) -> np.ndarray:
    """2**53 (1 - p) as int64, with 1 - p computed in the dtype of ``probs``."""
    one_minus = np.subtract(probs.dtype.type(1), probs).astype(np.float64)
    return (one_minus * 2.0**53).astype(np.int64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n", "share"), [(400_000, 0.3), (150_000, 0.1), (3_000, 0.4)])
def test_complement_sums_over_many_blocks_and_threads(dtype: type, n: int, share: float) -> None:
    """Blocks, lane folds, both row ranges and the gathered labelled values all add up exactly.

    400,000 x 2 rows fill a lane every block and leave more labelled values per block than the
    gather buffer holds; 150,000 rows with 10% labelled fill the buffer every few blocks; 3,000
    rows read blocks of their own buffer.
    """
    rng = np.random.default_rng(n)
    k = 2
    probs = rng.random((n, k)).astype(dtype)
    probs[rng.random((n, k)) < 0.01] = rng.choice([0.0, 1.0, 0.5, 2.0**-60, 5e-324, np.nextafter(0.5, 0)])
    labelled = rng.random((n, k)) < share
    positions = np.flatnonzero(labelled)
    classes = positions % k
    absent, present = exact.complement_sums(probs, exclude=positions, classes=classes)

    units = _one_minus_units(probs)
    units[labelled] = 0
    high, low = (units >> 26).sum(axis=0).tolist(), (units & ((1 << 26) - 1)).sum(axis=0).tolist()
    assert absent == [((h << 26) + lo) << (exact.UNIT_BITS - 53) for h, lo in zip(high, low, strict=True)]
    expected = [sum(Fraction(float(v)) for v in probs[labelled[:, c], c]) for c in range(k)]
    assert present == [round(e * 2**exact.UNIT_BITS) for e in expected]
    assert present == exact.segment_sums(probs.reshape(-1)[positions], classes, k)


@given(st.integers(1, 10**12), st.data())
def test_mean_is_the_correctly_rounded_quotient(count: int, data: st.DataObject) -> None:
    total = data.draw(st.integers(0, (count << exact.UNIT_BITS) * 2))
    assert exact.mean(total, count) == float(Fraction(total, count << exact.UNIT_BITS))


@pytest.mark.parametrize("n", [3_000, 200_000])
def test_labels_out_of_order_within_rows_give_the_sorted_sums(n: int) -> None:
    """Unordered labels are read row by row (no sort); a repeated label falls back to the sorted path."""
    rng = np.random.default_rng(n)
    k = 7
    probs = rng.random((n, k))
    labelled = rng.random((n, k)) < 0.4
    rows, cols = np.nonzero(labelled)
    order = np.lexsort((rng.random(rows.size), rows))  # shuffled within each row
    shuffled = rows[order] * k + cols[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    ascending = np.flatnonzero(labelled)
    expected = exact.complement_sums(probs, exclude=ascending, classes=ascending % k)
    counted = np.full(k, -1, dtype=np.int64)
    got = exact.complement_sums(probs, exclude=shuffled, classes=shuffled % k, row_offsets=offsets, counts_out=counted)
    assert got == expected
    np.testing.assert_array_equal(counted, np.bincount(cols, minlength=k))  # counted by the blocks, on threads
    repeated = shuffled.copy()
    first = int(np.flatnonzero(np.diff(offsets) >= 2)[-1])  # a late row with two labels
    repeated[offsets[first] + 1] = repeated[offsets[first]]
    with pytest.raises(exact.RepeatedEntry):
        exact.complement_sums(probs, exclude=repeated, classes=repeated % k, row_offsets=offsets)

    in_order = cols[order].tolist()
    labels = [in_order[offsets[i] : offsets[i + 1]] for i in range(n)]
    labels[first] = [*labels[first], labels[first][0]]  # the same label twice counts once
    series = pl.Series("labels", labels, dtype=pl.List(pl.Int64))
    batch = read_batch(series, pl.Series("pred_probs", probs), num_classes=k)
    partial = ThresholdPartial.of_batch(batch)
    assert [fixed.to_ints(partial.sums[:, group]) for group in (0, 1)] == list(expected)
    assert partial.present.tolist() == labelled.sum(axis=0).tolist()


@given(st.lists(st.integers(0, 40), max_size=30), st.integers(0, 8))
def test_ascending_positions_are_found_whatever_part_holds_the_first_step_down(values: list[int], first: int) -> None:
    """``_ascending`` looks at a head of the positions first, then at the rest: it must equal the
    check over every pair, wherever a step down or a repeat stands (inside the head, across its
    end, after it)."""
    positions = np.array(values, dtype=np.intp)
    with mock.patch.object(thresholds, "_FIRST_POSITIONS", first):
        assert thresholds._ascending(positions) == bool(np.all(np.diff(positions) > 0))


def test_labels_out_of_order_past_the_first_positions_are_read_by_row() -> None:
    """A batch whose labels ascend for 100,000 rows and then repeat one must still give the
    partial of its sorted, unique labels: the sorted path cannot take it."""
    n, k = 120_000, 5
    rng = np.random.default_rng(3)
    probs = rng.random((n, k))
    labels = [[i % k] for i in range(n)]
    labels[100_000] = [2, 2, 0]  # a repeat and a step down, past the first 2**16 positions
    batch = read_batch(pl.Series(labels, dtype=pl.List(pl.Int64)), pl.Series(probs), num_classes=k)
    unique = [sorted(set(row)) for row in labels]
    expected = ThresholdPartial.of_batch(
        read_batch(pl.Series(unique, dtype=pl.List(pl.Int64)), pl.Series(probs), num_classes=k)
    )
    got = ThresholdPartial.of_batch(batch)
    np.testing.assert_array_equal(got.present, expected.present)
    np.testing.assert_array_equal(got.sums, expected.sums)
