"""Every way of computing scores gives the numbers of the numpy API.

The numpy API (``mlq.get_label_quality_scores`` / ``get_label_quality_scores_per_class``) is
checked against cleanlab elsewhere (tests/compat/); here it is the reference for every entry point
(``helpers.EntryPoint``): eager DataFrame (whole or in chunks), LazyFrame (in-memory and streaming
engines), a Parquet scan sunk to Parquet, a bare expression, and the numpy function given the
frame's columns; over List/Array pred_probs, Float32/Float64 and integer label dtypes of every width.
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


@pytest.mark.parametrize("label_dtype", [pl.Int8, pl.UInt16, pl.Int64], ids=str)
@pytest.mark.parametrize("float_dtype", [pl.Float32, pl.Float64], ids=str)
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", helpers.PATHS, indirect=True)
def test_scores_match_numpy_api(
    every_path: helpers.EntryPoint,
    kind: str,
    float_dtype: pl.DataType,
    label_dtype: pl.DataType,
    scoring_data: helpers.Data,
) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, label_dtype=label_dtype(), kind=kind, float_dtype=float_dtype())
    expected = mlq.get_label_quality_scores(labels, helpers.np_probs(probs, float_dtype))
    got = helpers.check_frame(every_path.run(df), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    assert np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize("float_dtype", [pl.Float32, pl.Float64], ids=str)
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("every_path", helpers.PATHS, indirect=True)
def test_per_class_scores_match_numpy_api(
    every_path: helpers.EntryPoint, kind: str, float_dtype: pl.DataType, scoring_data: helpers.Data
) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, label_dtype=pl.UInt8(), kind=kind, float_dtype=float_dtype())
    expected = mlq.get_label_quality_scores_per_class(labels, helpers.np_probs(probs, float_dtype))
    assert expected.shape == (N_ROWS, K)
    out = every_path.run(df, "label_quality_per_class")
    got = helpers.check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "label_dtype",
    [pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64],
    ids=str,
)
@pytest.mark.parametrize("every_path", (*helpers.EVERY_PATH, "expr-streaming"), indirect=True)
def test_every_integer_label_dtype(
    every_path: helpers.EntryPoint, label_dtype: pl.DataType, scoring_data: helpers.Data
) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, label_dtype=label_dtype(), kind="array")
    expected = mlq.get_label_quality_scores(labels, probs, method="normalized_margin")
    got = helpers.check_frame(every_path.run(df, method="normalized_margin"), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)


AGGREGATORS: dict[str, dict[str, Any] | None] = {
    "default": None,
    "ema-0.3": {"method": "exponential_moving_average", "alpha": 0.3},
    "ema-none": {"method": "exponential_moving_average", "alpha": None},
    "ema-0": {"method": "exponential_moving_average", "alpha": 0.0},
    "ema-1": {"method": "exponential_moving_average", "alpha": 1.0},
    "softmin-0.1": {"method": "softmin", "temperature": 0.1},
    "softmin-2": {"method": "softmin", "temperature": 2.0},
    "np.mean": {"method": np.mean},
    "np.quantile": {"method": np.quantile, "q": 0.25},
}


@pytest.mark.parametrize("aggregator", list(AGGREGATORS))
@pytest.mark.parametrize("method", helpers.METHODS)
@pytest.mark.parametrize("every_path", helpers.CORE_PATHS, indirect=True)
def test_methods_and_aggregators_match_numpy_api(
    every_path: helpers.EntryPoint, method: str, aggregator: str, scoring_data: helpers.Data
) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind="array")
    kwargs = AGGREGATORS[aggregator]
    if kwargs is None:
        expected = mlq.get_label_quality_scores(labels, probs, method=method)
        out = every_path.run(df, method=method)
    else:
        expected = mlq.get_label_quality_scores(labels, probs, method=method, aggregator_kwargs=kwargs)
        out = every_path.run(df, method=method, aggregator_kwargs=kwargs)
    got = helpers.check_frame(out, df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
