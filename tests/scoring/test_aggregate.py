"""Aggregating per-class scores (``polars_mlq.scoring.aggregate``): the unshifted softmin, float32 blocks,
sorting on the bits of the scores, and the partial sort of many classes on every path."""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.scoring.aggregate import ema_of_smallest, ema_terms, ema_weights, smallest_sorted, use_partition

CONFIGS = helpers.SCORING_OPTIONS


@pytest.mark.parametrize("temperature", [1e-7, 1e-4, 1 / 650, 1 / 600, 1 / 550, 0.01, 0.1, 3.0])
def test_softmin_with_and_without_the_per_row_shift_matches_cleanlab(temperature: float) -> None:
    labels, probs = helpers.kernel_data(800, 25, seed=7)
    aggregator = {"method": "softmin", "temperature": temperature}
    ours = mlq.get_label_quality_scores(labels, probs, aggregator_kwargs=aggregator)
    np.testing.assert_allclose(ours, cleanlab_scores(labels, probs, aggregator_kwargs=aggregator), rtol=0, atol=1e-12)


@pytest.mark.usefixtures("never_threads")
def test_float32_is_scored_in_float32_on_blocks() -> None:
    labels, probs = helpers.kernel_data(5_000, 50, dtype=np.float32)
    for options in CONFIGS[:2]:
        ours = mlq.get_label_quality_scores(labels, probs, **options)
        np.testing.assert_allclose(ours, cleanlab_scores(labels, probs, **options), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(
    st.lists(
        st.one_of(st.sampled_from([0.0, -0.0, 1.0, 5e-324, 1e-300, 0.5]), st.floats(0, 1)), min_size=1, max_size=40
    )
)
def test_sorting_on_bits_orders_scores_as_floats(dtype: type, values: list[float]) -> None:
    """Every score is >= +0 or -0.0: sorted on their bits, rows come out in float order, with
    the same multiset of values; the partition path (wide rows) gives the same smallest ones."""
    row = np.array(values, dtype=dtype)
    expected = np.sort(row)
    ours = smallest_sorted(row[None, :].copy(), len(row))[0]
    np.testing.assert_array_equal(ours, expected)  # -0.0 == +0.0, and each sorts first of its kind
    wide = np.resize(row, 400)[None, :]
    terms = 20
    assert use_partition(terms, wide.shape[1])
    np.testing.assert_array_equal(smallest_sorted(wide.copy(), terms)[0], np.sort(wide[0])[:terms])


@pytest.mark.parametrize("every_path", helpers.PATHS, indirect=True)
def test_many_classes_partial_sort_path(every_path: helpers.EntryPoint) -> None:
    """K = 40 > the number of EMA terms kept at alpha 0.8: the partial-sort branch, on every path."""
    labels, probs = helpers.labels_and_probs(7, n=300, k=40)
    df = helpers.scoring_frame(labels, probs, kind="list", float_dtype=pl.Float32())
    p32 = probs.astype(np.float32)
    expected = mlq.get_label_quality_scores(labels, p32)
    np.testing.assert_allclose(
        expected, helpers.reference_ema(mlq.get_label_quality_scores_per_class(labels, p32), 0.8), atol=1e-14
    )
    got = helpers.check_frame(every_path.run(df), df, "label_quality", pl.Float64())
    # the weighted sum is a BLAS matrix-vector product, whose last bit depends on the batch
    # shape: allow a couple of ulps (the EMA is not bitwise cleanlab's recursion either)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0, err_msg=every_path.name)


@given(
    rows=st.integers(1, 40_000),
    k=st.integers(1, 120),
    alpha=st.sampled_from([0.8, 0.5, 0.95, 0.1]),
    seed=st.integers(0, 2**32 - 1),
)
def test_float32_scores_weigh_as_their_float64_copy_bit_for_bit(rows: int, k: int, alpha: float, seed: int) -> None:
    """The EMA of sorted float32 scores widens them inside einsum's buffers: its sums must be those
    of the widened copy, bit for bit, whatever the block's shape (buffers of einsum's own size
    must not reorder a row's sum)."""
    rng = np.random.default_rng(seed)
    scores = np.sort(rng.random((rows, k), dtype=np.float32), axis=1)
    weights = ema_weights(alpha, ema_terms(alpha, k))
    got = ema_of_smallest(scores, weights)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(
        got.view(np.int64), ema_of_smallest(scores.astype(np.float64), weights).view(np.int64)
    )
