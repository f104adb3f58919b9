"""The cleanlab-signature numpy functions of scoring (``polars_mlq.compat.scores``) on their own: the
aggregators by hand, polars Series as input, and empty input. (Against cleanlab: test_scores_vs_cleanlab_*.py.)"""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl

import polars_mlq as mlq

K = helpers.K


def test_numpy_api_aggregators_hand_checked(scoring_data: helpers.Data) -> None:
    """The reference itself: hand-worked rows, and EMA/softmin/callable against direct formulas."""
    labels = [[1], [0, 2]]
    probs = np.array([[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]])
    # per-class self-confidence: row 0 [0.9, 0.9, 0.9], row 1 [0.4, 0.9, 0.9]
    np.testing.assert_allclose(
        mlq.get_label_quality_scores_per_class(labels, probs), [[0.9, 0.9, 0.9], [0.4, 0.9, 0.9]], atol=1e-15
    )
    # EMA(0.8) of [0.9, 0.9, 0.4]: 0.8 * 0.4 + 0.16 * 0.9 + 0.04 * 0.9 = 0.5
    np.testing.assert_allclose(mlq.get_label_quality_scores(labels, probs), [0.9, 0.5], atol=1e-15)
    # the softmin of row 1: weights exp((1 - s) / T), normalised
    s = np.array([0.4, 0.9, 0.9])
    w = np.exp((1 - s) / 0.5)
    np.testing.assert_allclose(
        mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": "softmin", "temperature": 0.5}),
        [0.9, (s * w).sum() / w.sum()],
        atol=1e-15,
    )
    lab, p = scoring_data
    per_class = mlq.get_label_quality_scores_per_class(lab, p)
    for alpha in (0.8, 0.3, 0.0, 1.0):
        agg = {"method": "exponential_moving_average", "alpha": alpha}
        np.testing.assert_allclose(
            mlq.get_label_quality_scores(lab, p, aggregator_kwargs=agg),
            helpers.reference_ema(per_class, alpha),
            atol=1e-14,
        )
    np.testing.assert_allclose(
        mlq.get_label_quality_scores(lab, p, aggregator_kwargs={"method": np.min}), per_class.min(axis=1), atol=0
    )


def test_numpy_api_accepts_polars_series(scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    p32 = probs.astype(np.float32)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(df["labels"], df["pred_probs"]), mlq.get_label_quality_scores(labels, p32)
    )
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores_per_class(df["labels"], df["pred_probs"]),
        mlq.get_label_quality_scores_per_class(labels, p32),
    )


def test_empty_numpy_api() -> None:
    got = mlq.get_label_quality_scores([], np.zeros((0, K)))
    assert got.shape == (0,) and got.dtype == np.float64
    got = mlq.get_label_quality_scores_per_class([], np.zeros((0, K)))
    assert got.shape[0] == 0 and got.dtype == np.float64
