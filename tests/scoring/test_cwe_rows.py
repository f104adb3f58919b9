"""The o-sorted selection of confidence_weighted_entropy (``polars_mlq.scoring.cwe_rows``).

Its scores are the full path's, bit for bit, except that the last of the ``terms`` kept may
trade places with an entry an ulp away; and the EMA over them is cleanlab's, in both dtypes.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from helpers import cleanlab_scores
from cleanlab.internal.multilabel_scorer import exponential_moving_average
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.input import read_batch
from polars_mlq.scoring import cwe_rows
from polars_mlq.scoring.aggregate import ema_weights

_values = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e-6),
    st.floats(1.0 - 1e-6, 1.0),
    st.sampled_from([0.0, 1.0, 1e-9, 3.8e-8, 2e-7, 0.5, 1.0 - 2e-7, 0.25, 0.75]),
)


def _batch(probs: np.ndarray, labels: list[list[int]]):  # -> Batch
    series = pl.Series("labels", labels, dtype=pl.List(pl.Int64))
    return read_batch(series, pl.Series("pred_probs", probs), num_classes=probs.shape[1])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(50, 90).flatmap(
        lambda k: st.tuples(
            st.lists(st.lists(_values, min_size=k, max_size=k), min_size=1, max_size=12),
            st.lists(st.lists(st.integers(0, k - 1), max_size=4), min_size=12, max_size=12),
        )
    ),
    st.sampled_from([np.float64, np.float32]),
)
def test_the_selection_keeps_the_full_paths_smallest_scores(case: tuple, dtype: type) -> None:
    values, labels = case
    probs = np.array(values, dtype=dtype)
    labels = [sorted(set(row)) for row in labels[: len(values)]]
    batch = _batch(probs, labels)
    rows = np.arange(probs.shape[0])
    terms = 22
    got = cwe_rows.smallest_cwe(batch, 0, rows, terms)
    expected = cwe_rows.in_full(*cwe_rows.block_rows(batch, 0, rows), terms)
    np.testing.assert_array_equal(got[:, :-1], expected[:, :-1])  # only the last kept may trade places
    np.testing.assert_allclose(got[:, -1], expected[:, -1], rtol=1e-12, atol=0)
    weights = ema_weights(0.8, terms)
    np.testing.assert_allclose(got @ weights, expected @ weights, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_float32_cwe_rows_match_cleanlab(seed: int) -> None:
    """float32 rows go to the selection directly: labelled p < 1/2, p near 0 and 1, both ends.

    cleanlab's per-class float32 entropy differs from ours by up to about 1e-7
    (docs/differences-from-cleanlab.md); its aggregation of our per-class scores is ours to 1e-12.
    """
    rng = np.random.default_rng(seed)
    n, k = 500, 80
    probs = rng.uniform(0.0, 1.0, (n, k)) ** rng.choice([1.0, 8.0], (n, 1))  # some rows near 0
    probs[rng.random((n, k)) < 0.05] = 1e-9  # rising-side entries in some rows
    labels = [sorted(set(rng.choice(k, rng.integers(0, 4), replace=False).tolist())) for _ in range(n)]
    labels[0], labels[1] = [0], []
    probs32 = probs.astype(np.float32)
    ours = mlq.get_label_quality_scores(labels, probs32, method="confidence_weighted_entropy")
    theirs = cleanlab_scores(labels, probs32, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-7)
    per_class = mlq.get_label_quality_scores_per_class(labels, probs32, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, exponential_moving_average(per_class, alpha=0.8), rtol=0, atol=1e-12)
