"""Reading the columns (``polars_mlq.input.columns``): the range check of pred_probs and its tolerance.

Values within 1e-6 outside [0, 1] are accepted and clipped (in a copy, never in the input) on every
path; beyond that they are an error naming the column, the row and the class. The integer range
check accepts exactly the values in [0, 1].
"""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.input import all_probabilities

pytestmark = pytest.mark.usefixtures("small_batches")

#: Rows per streamed batch.
CHUNK = 50
COLUMNS = helpers.COLUMNS
_SPECIAL = helpers.SPECIAL_VALUES


# --------------------------------------------------------------------------- the integer range check


def _in_zero_one(array: np.ndarray) -> bool:
    return bool(np.all((array >= 0) & (array <= 1) & ~np.signbit(array)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", _SPECIAL + [float(np.nextafter(np.float32(1), np.float32(2)))])
def test_the_integer_range_check_on_each_special_value(value: float, dtype: type) -> None:
    with np.errstate(over="ignore"):
        array = np.array([[0.25, value, 0.75]], dtype=dtype)
    assert all_probabilities(array) == _in_zero_one(array)


@given(
    st.lists(
        st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=30
    )
)
def test_the_integer_range_check_accepts_exactly_the_values_in_zero_one(values: list[float]) -> None:
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=dtype).reshape(1, -1)
        assert all_probabilities(array) == _in_zero_one(array)


# --------------------------------------------------------------------------------------------
# the tolerance band: within 1e-6 outside [0, 1] is accepted and clipped
# --------------------------------------------------------------------------------------------


def _edge_data(float_dtype: type) -> tuple[list[list[int]], np.ndarray]:
    labels, probs = helpers.clean_data()
    p = np.array(probs)
    p[5, 0], p[6, 1], p[7, 2], p[8, 3] = 1 + 5e-7, -5e-7, 1 + 1e-6, -1e-6
    labels[5], labels[6], labels[7], labels[8] = [0], [1], [], [1, 2]
    return labels, p.astype(float_dtype)


@pytest.mark.parametrize("every_path", (*helpers.FRAME_PATHS, "numpy"), indirect=True)
@pytest.mark.parametrize("float_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
def test_values_within_tolerance_are_clipped(method: str, float_dtype: type, every_path: helpers.EntryPoint) -> None:
    labels, p = _edge_data(float_dtype)
    before = p.copy()
    clipped = np.clip(p, 0, 1)
    expected = mlq.get_label_quality_scores(labels, clipped, method=method)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, clipped, method=method)
    got = mlq.get_label_quality_scores(labels, p, method=method)
    got_pc = mlq.get_label_quality_scores_per_class(labels, p, method=method)
    np.testing.assert_array_equal(p, before)  # the clip happens in a copy
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_pc, expected_pc)
    assert np.all((got_pc >= 0) & (got_pc <= 1)) and np.all((got >= 0) & (got <= 1))
    # the labelled class at 1 + 5e-7 scores exactly 1 under self-confidence, not 1.0000005
    if method == "self_confidence":
        assert got_pc[5, 0] == 1.0 and got_pc[6, 1] == 0.0 and got_pc[7, 2] == 0.0
    pl_dtype = pl.Float32 if float_dtype == np.float32 else pl.Float64
    for kind in ("list", "array"):
        df = helpers.yprobs_frame(labels, p.tolist(), kind=kind, float_dtype=pl_dtype())
        out = every_path.run(df, "label_quality_per_class", **COLUMNS, method=method)
        got_pc = out["label_quality_per_class"].to_numpy()
        np.testing.assert_array_equal(got_pc, expected_pc, err_msg=f"per class, {kind}")
        out = every_path.run(df, **COLUMNS, method=method)["label_quality"].to_numpy()
        np.testing.assert_array_equal(out, expected, err_msg=kind)
        assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_values_within_tolerance_with_adjust(method: str) -> None:
    labels, p = _edge_data(np.float64)
    expected = mlq.get_label_quality_scores(labels, np.clip(p, 0, 1), method=method, adjust_pred_probs=True)
    got = mlq.get_label_quality_scores(labels, p, method=method, adjust_pred_probs=True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert np.all((got >= 0) & (got <= 1))
    df = helpers.yprobs_frame(labels, p.tolist(), kind="array")
    out = df.lazy().mlq.label_quality(**COLUMNS, method=method, adjust_pred_probs=True).collect(engine="streaming")
    np.testing.assert_allclose(out["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)
    thresholds = mlq.confident_thresholds(df.lazy(), "y", "probs").drop("class").to_numpy()
    assert np.all((thresholds >= 0) & (thresholds <= 2))


def test_tolerance_boundary() -> None:
    """1 + 1e-6 is accepted, 1 + 2e-6 is not; the same below 0."""
    labels = [[0], [1]]
    ok = np.array([[1 + 1e-6, 0.5], [0.5, -1e-6]])
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(labels, ok), mlq.get_label_quality_scores(labels, np.clip(ok, 0, 1))
    )
    for value, row, col in ((1 + 2e-6, 0, 0), (-2e-6, 1, 1)):
        bad = ok.copy()
        bad[row, col] = value
        with pytest.raises(ValueError, match=rf"column 'pred_probs', row {row}\b.*class {col}"):
            mlq.get_label_quality_scores(labels, bad)
        df = pl.DataFrame({"labels": labels, "pred_probs": bad.tolist()})
        with pytest.raises(ValueError, match=rf"column 'pred_probs', row {row}\b.*class {col}"):
            df.mlq.label_quality()
