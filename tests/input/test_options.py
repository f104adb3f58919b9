"""The options of the scoring functions (``polars_mlq.input.options``): what is refused, and how.

Every bad option gives the right exception and a message naming the option, the value and what is
allowed, on every path (eager, lazy, streamed, Parquet, the bare expression, the numpy function);
an expression refuses it when it is built, before anything is evaluated. Some spellings that are
not errors are checked too.
"""

from __future__ import annotations

from typing import Any

import helpers
import numpy as np
import polars as pl
import pytest

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

#: Rows per streamed batch.
CHUNK = 50
K = helpers.K
#: Every path of a score: the every_path fixture's and the in-memory engine.
SCORE_PATHS = (*helpers.EVERY_PATH, "lazy-in-memory")


OPTION_ERRORS: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "unknown-method": ({"method": "margin"}, ValueError, r"unknown method 'margin'; expected one of"),
    "method-not-str": ({"method": 3}, TypeError, r"method must be a string"),
    "adjust-with-cwe": (
        {"method": "confidence_weighted_entropy", "adjust_pred_probs": True},
        ValueError,
        r"adjust_pred_probs=True is not defined for method='confidence_weighted_entropy'",
    ),
    "adjust-int": ({"adjust_pred_probs": 1}, TypeError, r"adjust_pred_probs must be True or False; got 1"),
    "adjust-str": ({"adjust_pred_probs": "yes"}, TypeError, r"adjust_pred_probs must be True or False; got 'yes'"),
    "adjust-none": ({"adjust_pred_probs": None}, TypeError, r"adjust_pred_probs must be True or False; got None"),
}


AGGREGATOR_ERRORS: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "alpha-above-one": (
        {"method": "exponential_moving_average", "alpha": 1.5},
        ValueError,
        r"alpha must be in the interval \[0, 1\]; got 1\.5",
    ),
    "alpha-negative": (
        {"method": "exponential_moving_average", "alpha": -0.1},
        ValueError,
        r"alpha must be in the interval \[0, 1\]; got -0\.1",
    ),
    "alpha-nan": ({"method": "exponential_moving_average", "alpha": float("nan")}, ValueError, r"alpha .*nan"),
    "alpha-str": ({"method": "exponential_moving_average", "alpha": "0.5"}, TypeError, r"alpha must be a number"),
    "temperature-zero": ({"method": "softmin", "temperature": 0}, ValueError, r"temperature must be a positive"),
    "temperature-negative": ({"method": "softmin", "temperature": -1.0}, ValueError, r"temperature must be a positive"),
    "temperature-inf": (
        {"method": "softmin", "temperature": float("inf")},
        ValueError,
        r"temperature must be a positive",
    ),
    "softmin-with-alpha": (
        {"method": "softmin", "alpha": 0.3},
        ValueError,
        r"aggregator 'softmin' takes \['temperature'\]; unknown key\(s\) \['alpha'\]",
    ),
    "ema-with-temperature": (
        {"method": "exponential_moving_average", "temperature": 1.0},
        ValueError,
        r"unknown key\(s\) \['temperature'\]",
    ),
    "unknown-aggregator": ({"method": "mean"}, ValueError, r"unknown aggregator 'mean'"),
    "aggregator-not-callable": ({"method": 3}, TypeError, r"aggregator method must be a string or a callable"),
    "no-method-key": ({"alpha": 0.5}, ValueError, r"aggregator_kwargs needs a 'method' key"),
}


def _raises_boom(scores: np.ndarray, axis: int) -> np.ndarray:
    raise RuntimeError("boom")


CALLABLE_ERRORS: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "returns-matrix": (
        {"method": lambda scores, axis: scores},
        ValueError,
        r"aggregator <lambda> must return an array of shape \(\d+,\).*got shape \(\d+, 5\)",
    ),
    "returns-scalar": ({"method": lambda scores, axis: 0.5}, ValueError, r"got shape \(\)"),
    "returns-too-few": ({"method": lambda scores, axis: scores[:1].min(axis=axis)}, ValueError, r"got shape \(1,\)"),
    "returns-strings": (
        {"method": lambda scores, axis: ["x"] * len(scores)},
        TypeError,
        r"must return one number per row",
    ),
    "raises": ({"method": _raises_boom}, ValueError, r"aggregator _raises_boom raised RuntimeError: boom"),
}


def _small_frame() -> pl.DataFrame:
    labels, probs = helpers.clean_data()
    return pl.DataFrame(
        {"labels": labels[:20], "pred_probs": pl.Series(probs[:20], dtype=pl.Array(pl.Float64, K))},
        schema_overrides={"labels": pl.List(pl.Int64)},
    )


@pytest.mark.parametrize("every_path", SCORE_PATHS, indirect=True)
@pytest.mark.parametrize("case", list(OPTION_ERRORS))
def test_bad_options(case: str, every_path: helpers.EntryPoint) -> None:
    kwargs, error, pattern = OPTION_ERRORS[case]
    if case == "adjust-none" and every_path.name == "numpy":
        # the drop-in functions read None as cleanlab does, as False (test_cleanlab_signatures.py)
        assert every_path.run(_small_frame(), **kwargs).equals(every_path.run(_small_frame()))
        return
    with pytest.raises(error, match=pattern):
        every_path.run(_small_frame(), **kwargs)


@pytest.mark.parametrize("case", list(OPTION_ERRORS))
def test_bad_options_per_class(case: str) -> None:
    kwargs, error, pattern = OPTION_ERRORS[case]
    df = _small_frame()
    with pytest.raises(error, match=pattern):
        df.mlq.label_quality_per_class(**kwargs)
    with pytest.raises(error, match=pattern):
        df.lazy().mlq.label_quality_per_class(**kwargs)
    with pytest.raises(error, match=pattern):
        mlq.label_quality_per_class(num_classes=K, **kwargs)
    arrays = (df["labels"].to_list(), df["pred_probs"].to_numpy())
    if case == "adjust-none":  # the drop-in function reads None as cleanlab does, as False
        np.testing.assert_array_equal(
            mlq.get_label_quality_scores_per_class(*arrays, **kwargs), mlq.get_label_quality_scores_per_class(*arrays)
        )
        return
    with pytest.raises(error, match=pattern):
        mlq.get_label_quality_scores_per_class(*arrays, **kwargs)


@pytest.mark.parametrize("every_path", SCORE_PATHS, indirect=True)
@pytest.mark.parametrize("case", list(AGGREGATOR_ERRORS))
def test_bad_aggregator_kwargs(case: str, every_path: helpers.EntryPoint) -> None:
    kwargs, error, pattern = AGGREGATOR_ERRORS[case]
    with pytest.raises(error, match=pattern):
        every_path.run(_small_frame(), aggregator_kwargs=kwargs)


@pytest.mark.parametrize("case", list(OPTION_ERRORS) + list(AGGREGATOR_ERRORS))
def test_bad_options_refused_when_the_expression_is_built(case: str) -> None:
    kwargs, error, pattern = {**OPTION_ERRORS, **AGGREGATOR_ERRORS}[case]
    if case in AGGREGATOR_ERRORS:
        kwargs = {"aggregator_kwargs": kwargs}
    with pytest.raises(error, match=pattern):
        mlq.label_quality(**kwargs)  # nothing evaluated yet


@pytest.mark.parametrize("every_path", SCORE_PATHS, indirect=True)
@pytest.mark.parametrize("case", list(CALLABLE_ERRORS))
def test_bad_callable_aggregator(case: str, every_path: helpers.EntryPoint) -> None:
    kwargs, error, pattern = CALLABLE_ERRORS[case]
    with pytest.raises(error, match=pattern) as info:
        every_path.run(_small_frame(), aggregator_kwargs=kwargs)
    if case == "raises" and every_path.name == "numpy":  # polars re-raises UDF errors without their cause
        assert isinstance(info.value.__cause__, RuntimeError)


def test_accepted_option_spellings() -> None:
    """What is not an error: np.True_, an empty dict, alpha None, case-insensitive method names."""
    df = _small_frame()
    labels, probs = df["labels"].to_list(), df["pred_probs"].to_numpy()
    adjusted = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    np.testing.assert_array_equal(mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=np.True_), adjusted)
    np.testing.assert_allclose(
        df.mlq.label_quality(adjust_pred_probs=np.True_)["label_quality"].to_numpy(), adjusted, rtol=0, atol=1e-12
    )
    default = mlq.get_label_quality_scores(labels, probs)
    np.testing.assert_array_equal(mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={}), default)
    np.testing.assert_array_equal(df.mlq.label_quality(aggregator_kwargs={})["label_quality"].to_numpy(), default)
    np.testing.assert_array_equal(df.mlq.label_quality(method="Self_Confidence")["label_quality"].to_numpy(), default)
    # alpha None is 2 / (K + 1)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(
            labels, probs, aggregator_kwargs={"method": "exponential_moving_average", "alpha": None}
        ),
        mlq.get_label_quality_scores(
            labels, probs, aggregator_kwargs={"method": "exponential_moving_average", "alpha": 2 / (K + 1)}
        ),
    )


def test_num_classes_argument() -> None:
    df = pl.DataFrame({"y": [[0], [1]], "probs": [[0.2, 0.8], [0.3, 0.9]]})
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match=r"num_classes must be a positive integer"):
            mlq.label_quality("y", "probs", num_classes=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"column 'probs'.*has 2 values, expected 3"):
        df.with_columns(mlq.label_quality("y", "probs", num_classes=3))
    with pytest.raises(ValueError, match=r"needs num_classes="):
        mlq.label_quality_per_class("y", "probs")


def test_bad_thresholds() -> None:
    df = pl.DataFrame({"labels": [[0], [1]], "pred_probs": [[0.2, 0.8], [0.3, 0.9]]})
    fitted = mlq.confident_thresholds(df)
    wider = mlq.confident_thresholds(pl.DataFrame({"labels": [[0]], "pred_probs": [[0.2, 0.8, 0.5]]}))
    with pytest.raises(ValueError, match=r"thresholds have 3 classes but pred_probs have 2"):
        df.mlq.label_quality(adjust_pred_probs=True, thresholds=wider)
    with pytest.raises(ValueError, match=r"thresholds have 3 classes but pred_probs have 2"):
        df.lazy().mlq.label_quality(adjust_pred_probs=True, thresholds=wider).collect()
    with pytest.raises(ValueError, match=r"'pred_probs'.*has 2 values, expected 3"):
        df.with_columns(mlq.label_quality(adjust_pred_probs=True, thresholds=wider))
    with pytest.raises(ValueError, match=r"thresholds must have shape \(K, 2\)"):
        df.mlq.label_quality(adjust_pred_probs=True, thresholds=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"thresholds must be finite"):
        df.mlq.label_quality(adjust_pred_probs=True, thresholds=np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"thresholds frame lacks column"):
        df.mlq.label_quality(adjust_pred_probs=True, thresholds=fitted.drop("threshold_present"))
    with pytest.raises((TypeError, ValueError), match=r"thresholds"):
        df.mlq.label_quality(adjust_pred_probs=True, thresholds="fitted")  # type: ignore[arg-type]
