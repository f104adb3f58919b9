"""Null rows, empty frames and all-null columns, on every path.

A null labels or pred_probs row scores null and leaves the other rows as they would be without it
(thresholds included); an empty frame gives an empty result with the new column.
"""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

N_ROWS, K = 600, helpers.K
#: Adjusted scores divide by sums of thresholds accumulated in another order: allow a few ulps.
ADJUST_ATOL = 1e-12


def frame_with_null_rows(data: helpers.Data, kind: str) -> tuple[pl.DataFrame, list[int]]:
    labels, probs = data
    df = helpers.scoring_frame(labels, probs, kind=kind)
    null_labels, null_probs = [0, 17, 301], [5, 17, 599]
    df = df.with_columns(
        pl.when(pl.col("id").is_in(null_labels)).then(None).otherwise(pl.col("labels")).alias("labels"),
        pl.when(pl.col("id").is_in(null_probs)).then(None).otherwise(pl.col("pred_probs")).alias("pred_probs"),
    )
    return df, sorted(set(null_labels) | set(null_probs))


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", (*helpers.CORE_PATHS, "eager-chunked"), indirect=True)
def test_null_rows_score_null_and_leave_other_rows_alone(
    every_path: helpers.EntryPoint, kind: str, adjust: bool, scoring_data: helpers.Data
) -> None:
    df, null_rows = frame_with_null_rows(scoring_data, kind)
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = scoring_data
    kept_labels, kept_probs = [labels[i] for i in kept], probs[kept]
    # the other rows score as if the null rows were not there (thresholds too, with adjust)
    expected = mlq.get_label_quality_scores(kept_labels, kept_probs, adjust_pred_probs=adjust)
    out = every_path.run(df, adjust_pred_probs=adjust)
    helpers.check_frame(out, df, "label_quality", pl.Float64())
    scores = out["label_quality"]
    assert scores.is_null().arg_true().to_list() == null_rows
    np.testing.assert_allclose(scores.gather(kept).to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)


@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", ("eager", "lazy-streaming", "parquet", "expr"), indirect=True)
def test_null_rows_per_class(every_path: helpers.EntryPoint, kind: str, scoring_data: helpers.Data) -> None:
    df, null_rows = frame_with_null_rows(scoring_data, kind)
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = scoring_data
    expected = mlq.get_label_quality_scores_per_class([labels[i] for i in kept], probs[kept])
    out = every_path.run(df, "label_quality_per_class")
    helpers.check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    scores = out["label_quality_per_class"]
    assert scores.is_null().arg_true().to_list() == null_rows
    np.testing.assert_array_equal(scores.gather(kept).to_numpy(), expected)


def test_null_rows_in_confident_thresholds_and_numpy_api(scoring_data: helpers.Data) -> None:
    df, null_rows = frame_with_null_rows(scoring_data, "list")
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = scoring_data
    ref = helpers.thresholds_reference([labels[i] for i in kept], probs[kept])
    for frame in (df, df.lazy()):
        got = mlq.confident_thresholds(frame).select("threshold_absent", "threshold_present").to_numpy()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # the numpy API on Series: null rows score NaN
    got = mlq.get_label_quality_scores(df["labels"], df["pred_probs"])
    assert np.flatnonzero(np.isnan(got)).tolist() == null_rows
    np.testing.assert_array_equal(got[kept], mlq.get_label_quality_scores([labels[i] for i in kept], probs[kept]))


def test_first_row_null_list_pred_probs() -> None:
    """K of a List column is found past a leading null row."""
    df = pl.DataFrame({"labels": [[0], [1], [0, 2]], "pred_probs": [None, [0.3, 0.7, 0.1], [0.6, 0.2, 0.9]]})
    expected = [None, *mlq.get_label_quality_scores([[1], [0, 2]], np.array([[0.3, 0.7, 0.1], [0.6, 0.2, 0.9]]))]
    assert df.mlq.label_quality()["label_quality"].to_list() == expected
    assert df.lazy().mlq.label_quality().collect(engine="streaming")["label_quality"].to_list() == expected
    assert df.lazy().mlq.label_quality_per_class().collect_schema()["label_quality_per_class"] == pl.Array(
        pl.Float64, 3
    )


def empty_frame(kind: str) -> pl.DataFrame:
    dtype = pl.Array(pl.Float32, K) if kind == "array" else pl.List(pl.Float32)
    return pl.DataFrame(
        {
            "id": pl.Series([], dtype=pl.Int64),
            "labels": pl.Series([], dtype=pl.List(pl.Int64)),
            "pred_probs": pl.Series([], dtype=dtype),
        }
    )


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", helpers.CORE_PATHS, indirect=True)
def test_empty_frame(every_path: helpers.EntryPoint, kind: str, adjust: bool) -> None:
    df = empty_frame(kind)
    out = every_path.run(df, adjust_pred_probs=adjust)
    assert out.height == 0
    helpers.check_frame(out, df, "label_quality", pl.Float64())


@pytest.mark.parametrize("every_path", ("eager", "lazy-streaming", "lazy-in-memory", "parquet"), indirect=True)
def test_empty_frame_per_class(every_path: helpers.EntryPoint) -> None:
    out = every_path.run(empty_frame("array"), "label_quality_per_class")
    assert out.height == 0
    helpers.check_frame(out, empty_frame("array"), "label_quality_per_class", pl.Array(pl.Float64, K))
    # with a List column K is unknowable; the column still exists and is an Array of Float64
    out = every_path.run(empty_frame("list"), "label_quality_per_class")
    assert out.height == 0
    dtype = out.schema["label_quality_per_class"]
    assert isinstance(dtype, pl.Array) and dtype.inner == pl.Float64


@pytest.mark.parametrize("kind", ["list", "array"])
def test_confident_thresholds_of_an_empty_frame(kind: str) -> None:
    """Eager and lazy agree; with an Array column every group is empty, so every threshold is 2.0."""
    df = empty_frame(kind)
    eager = mlq.confident_thresholds(df)
    lazy = mlq.confident_thresholds(df.lazy())
    assert_frame_equal(lazy, eager)
    if kind == "array":
        assert eager["class"].to_list() == list(range(K))
        assert eager.select("threshold_absent", "threshold_present").to_numpy().tolist() == [[2.0, 2.0]] * K


def test_all_null_rows() -> None:
    df = pl.DataFrame({"labels": [[0], [1]], "pred_probs": pl.Series([None, None], dtype=pl.List(pl.Float64))})
    assert df.mlq.label_quality()["label_quality"].to_list() == [None, None]
    assert df.lazy().mlq.label_quality().collect(engine="streaming")["label_quality"].to_list() == [None, None]
    assert df.with_columns(mlq.label_quality())["label_quality"].to_list() == [None, None]
    assert df.mlq.label_quality(adjust_pred_probs=True)["label_quality"].to_list() == [None, None]
    got = df.lazy().mlq.label_quality(adjust_pred_probs=True).collect(engine="streaming")
    assert got["label_quality"].to_list() == [None, None]
