"""adjust_pred_probs and the confident thresholds (``polars_mlq.scoring.thresholds``), on every path.

Adjusted scores match the numpy API everywhere; a LazyFrame takes two passes (the thresholds when
the plan is built, then the scores batch by batch); thresholds fitted on one frame score another.
"""

from __future__ import annotations

from typing import Any

import helpers
import numpy as np
import polars as pl
import pytest

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

N_ROWS, K = 600, helpers.K
CHUNK = helpers.CHUNK
#: Adjusted scores divide by sums of thresholds accumulated in another order: allow a few ulps.
ADJUST_ATOL = 1e-12


def adjusted_reference(labels: list[list[int]], probs: np.ndarray, thresholds: np.ndarray, method: str) -> np.ndarray:
    """Per-class scores on [1 - p, p] shifted by the thresholds (cleanlab's adjust_pred_probs)."""
    mask = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        mask[i, row] = True
    t0, t1 = thresholds[:, 0], thresholds[:, 1]
    shift = np.maximum(t0, t1)
    a1 = probs - t1 + shift
    a0 = (1 - probs) - t0 + shift
    total = a0 + a1
    a1, a0 = a1 / total, a0 / total
    given, other = np.where(mask, a1, a0), np.where(mask, a0, a1)
    if method == "self_confidence":
        return given
    return ((given - other) + 1) / 2


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", helpers.PATHS, indirect=True)
def test_adjusted_scores_match_numpy_api(
    every_path: helpers.EntryPoint, kind: str, method: str, scoring_data: helpers.Data
) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind=kind, label_dtype=pl.Int16())
    expected = mlq.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=True)
    got = helpers.check_frame(
        every_path.run(df, method=method, adjust_pred_probs=True), df, "label_quality", pl.Float64()
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=ADJUST_ATOL)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs, method=method, adjust_pred_probs=True)
    out = every_path.run(df, "label_quality_per_class", method=method, adjust_pred_probs=True)
    got_pc = helpers.check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    np.testing.assert_allclose(got_pc, expected_pc, rtol=0, atol=ADJUST_ATOL)


@pytest.mark.parametrize("every_path", helpers.CORE_PATHS, indirect=True)
def test_adjusted_float32_matches_numpy_api(every_path: helpers.EntryPoint, scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    expected = mlq.get_label_quality_scores(labels, probs.astype(np.float32), adjust_pred_probs=True)
    got = every_path.run(df, adjust_pred_probs=True)["label_quality"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=every_path.name)


def test_adjusted_reference_is_the_numpy_api(scoring_data: helpers.Data) -> None:
    """The independent formula used below for thresholds from another frame agrees with the API."""
    labels, probs = scoring_data
    t = helpers.thresholds_reference(labels, probs)
    for method in ("self_confidence", "normalized_margin"):
        pc = adjusted_reference(labels, probs, t, method)
        np.testing.assert_allclose(
            mlq.get_label_quality_scores_per_class(labels, probs, method=method, adjust_pred_probs=True),
            pc,
            rtol=0,
            atol=ADJUST_ATOL,
        )
        np.testing.assert_allclose(
            mlq.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=True),
            helpers.reference_ema(pc, 0.8),
            rtol=0,
            atol=ADJUST_ATOL,
        )


def test_lazy_adjust_is_two_pass_and_streams(
    udf_batches: list[int], threshold_batches: list[int], scoring_data: helpers.Data
) -> None:
    """Pass 1 (when the plan is built) reads every row for the thresholds; pass 2 scores batch by batch."""
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="list")
    lf = df.lazy().mlq.label_quality(adjust_pred_probs=True)
    assert sum(threshold_batches) == N_ROWS, threshold_batches
    assert udf_batches == []  # building the plan scores nothing
    out = lf.collect(engine="streaming")
    assert len(udf_batches) > 3 and max(udf_batches) <= CHUNK, udf_batches
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    np.testing.assert_allclose(
        helpers.check_frame(out, df, "label_quality", pl.Float64()), expected, rtol=0, atol=ADJUST_ATOL
    )
    # per-batch thresholds would give other numbers: the adjustment is not row-local
    alone = mlq.get_label_quality_scores(labels[:CHUNK], probs[:CHUNK], adjust_pred_probs=True)
    assert np.abs(alone - expected[:CHUNK]).max() > 1e-3


def test_confident_thresholds_eager_lazy_and_by_hand(scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="list")
    eager = mlq.confident_thresholds(df)
    lazy = mlq.confident_thresholds(df.lazy())
    assert eager.columns == ["class", "threshold_absent", "threshold_present"]
    assert eager["class"].to_list() == list(range(K))
    assert lazy["class"].to_list() == list(range(K))
    np.testing.assert_allclose(
        lazy.select("threshold_absent", "threshold_present").to_numpy(),
        eager.select("threshold_absent", "threshold_present").to_numpy(),
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        eager.select("threshold_absent", "threshold_present").to_numpy(),
        helpers.thresholds_reference(labels, probs),
        rtol=0,
        atol=1e-12,
    )
    arr = helpers.scoring_frame(labels, probs, kind="array")
    np.testing.assert_allclose(
        mlq.confident_thresholds(arr.lazy(), pl.col("labels"), pl.col("pred_probs")).drop("class").to_numpy(),
        helpers.thresholds_reference(labels, probs),
        rtol=0,
        atol=1e-12,
    )


def test_confident_thresholds_hand_worked() -> None:
    # class 0: present in rows 0, 2 -> mean(0.8, 0.6) = 0.7; absent in row 1 -> 1 - 0.2 = 0.8
    # class 1: present in rows 1, 2 -> mean(0.6, 0.8) = 0.7; absent in row 0 -> 1 - 0.4 = 0.6
    # class 2: never present -> 2.0; absent everywhere -> mean(0.9, 0.5, 0.7) = 0.7
    df = pl.DataFrame({"labels": [[0], [1], [0, 1]], "pred_probs": [[0.8, 0.4, 0.1], [0.2, 0.6, 0.5], [0.6, 0.8, 0.3]]})
    expected = [[0.8, 0.7], [0.6, 0.7], [0.7, 2.0]]
    for frame in (df, df.lazy()):
        got = mlq.confident_thresholds(frame).select("threshold_absent", "threshold_present").to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("every_path", helpers.FRAME_PATHS, indirect=True)
@pytest.mark.parametrize("as_array", [False, True], ids=["frame", "ndarray"])
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_thresholds_fitted_on_one_frame_used_on_another(
    method: str, as_array: bool, every_path: helpers.EntryPoint, scoring_data: helpers.Data
) -> None:
    train_labels, train_probs = scoring_data
    test_labels, test_probs = helpers.labels_and_probs(11, n=400)
    train = helpers.scoring_frame(train_labels, train_probs, kind="array")
    test = helpers.scoring_frame(test_labels, test_probs, kind="list", label_dtype=pl.UInt32())
    fitted = mlq.confident_thresholds(train.lazy())
    thresholds: Any = fitted.select("threshold_absent", "threshold_present").to_numpy() if as_array else fitted
    ref_t = helpers.thresholds_reference(train_labels, train_probs)
    expected_pc = adjusted_reference(test_labels, test_probs, ref_t, method)
    expected = helpers.reference_ema(expected_pc, 0.8)
    # the thresholds really matter: scoring the test frame on its own gives other numbers
    own = mlq.get_label_quality_scores(test_labels, test_probs, method=method, adjust_pred_probs=True)
    assert np.abs(own - expected).max() > 1e-3

    kw = {"method": method, "adjust_pred_probs": True, "thresholds": thresholds}
    got = helpers.check_frame(every_path.run(test, **kw), test, "label_quality", pl.Float64())
    np.testing.assert_allclose(got, expected, rtol=0, atol=ADJUST_ATOL)
    out = every_path.run(test, "label_quality_per_class", **kw)  # an expression takes K from the thresholds
    got = helpers.check_frame(out, test, "label_quality_per_class", pl.Array(pl.Float64, K))
    np.testing.assert_allclose(got, expected_pc, rtol=0, atol=ADJUST_ATOL)


def test_thresholds_of_a_frame_on_itself_equal_adjust(scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="array")
    fitted = mlq.confident_thresholds(df)
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    got = df.lazy().mlq.label_quality(adjust_pred_probs=True, thresholds=fitted).collect(engine="streaming")
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)
