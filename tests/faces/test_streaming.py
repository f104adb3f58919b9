"""Streaming: the scoring UDF reads small batches, in any order, and the rows come back in order;
``scan_parquet`` -> ``.mlq`` -> ``sink_parquet`` streams a file of many row groups (with
adjust_pred_probs, in two passes)."""

from __future__ import annotations

from typing import Any

import helpers
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

N_ROWS = 600
CHUNK = helpers.CHUNK
#: Adjusted scores divide by sums of thresholds accumulated in another order: allow a few ulps.
ADJUST_ATOL = 1e-12


def test_streaming_uses_several_batches_and_keeps_row_order(udf_batches: list[int], scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    order = np.random.default_rng(3).permutation(N_ROWS)
    shuffled_labels = [labels[i] for i in order]
    df = helpers.scoring_frame(shuffled_labels, probs[order]).with_columns(pl.Series("id", order))
    out = df.lazy().mlq.label_quality().collect(engine="streaming")
    assert len(udf_batches) > 3, udf_batches
    assert sum(udf_batches) == N_ROWS
    assert max(udf_batches) <= CHUNK
    assert out["id"].to_list() == order.tolist()
    expected = mlq.get_label_quality_scores(labels, probs)[order]
    np.testing.assert_array_equal(helpers.check_frame(out, df, "label_quality", pl.Float64()), expected)


@pytest.mark.parametrize("kind", ["list", "array"])
def test_sink_parquet_round_trip(
    tmp_path: Any, kind: str, udf_batches: list[int], threshold_batches: list[int]
) -> None:
    n = 20_000
    labels, probs = helpers.labels_and_probs(5, n=n, k=6)
    df = helpers.scoring_frame(labels, probs, kind=kind, label_dtype=pl.Int32())
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.write_parquet(source, row_group_size=2_500)
    assert pq.ParquetFile(source).num_row_groups == 8

    pl.scan_parquet(source).mlq.label_quality().sink_parquet(target)
    assert len(udf_batches) >= 8, udf_batches
    back = pl.read_parquet(target)
    expected = mlq.get_label_quality_scores(labels, probs)
    got = helpers.check_frame(back, pl.read_parquet(source), "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    assert back["id"].to_list() == list(range(n))

    udf_batches.clear()
    lf = pl.scan_parquet(source).mlq.label_quality(adjust_pred_probs=True, name="adj")
    assert len(threshold_batches) >= 8 and sum(threshold_batches) == n  # pass 1 streamed the file
    assert udf_batches == []
    lf.sink_parquet(target)
    assert len(udf_batches) >= 8 and sum(udf_batches) == n  # pass 2 too
    back = pl.read_parquet(target)
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    np.testing.assert_allclose(back["adj"].to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)
    assert back["id"].to_list() == list(range(n))

    pl.scan_parquet(source).mlq.label_quality_per_class(method="normalized_margin").sink_parquet(target)
    back = pl.read_parquet(target)
    assert back.schema["label_quality_per_class"] == pl.Array(pl.Float64, 6)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs, method="normalized_margin")
    np.testing.assert_array_equal(back["label_quality_per_class"].to_numpy(), expected_pc)
