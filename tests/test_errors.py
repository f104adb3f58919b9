"""Bad input gives the right exception, with a message naming the column and (eagerly) the row.

Every data error is checked through the eager DataFrame namespace, the LazyFrame namespace (both
engines), a bare expression, and the numpy API where the input can be expressed there. The
columns are called ``y`` and ``probs`` so that a message naming the default column names
("labels", "pred_probs") by accident does not pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_mlq as mlq

N_ROWS = 300
K = 5
BAD_ROW = 137  # the first offending row
LATER_BAD_ROW = 250  # a second offending row: the message must name the first one


@pytest.fixture(autouse=True)
def small_streaming_chunks() -> Iterator[None]:
    previous = os.environ.get("POLARS_IDEAL_MORSEL_SIZE")
    pl.Config.set_streaming_chunk_size(50)
    yield
    pl.Config.set_streaming_chunk_size(None if previous is None else int(previous))


def clean_data() -> tuple[list[list[Any]], list[list[Any]]]:
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, K, size=int(rng.integers(0, 3))).tolist() for _ in range(N_ROWS)]
    probs = rng.random((N_ROWS, K)).tolist()
    return labels, probs


def frame(
    labels: list[list[Any]],
    probs: list[list[Any]],
    *,
    kind: str = "list",
    label_dtype: pl.DataType = pl.Int64(),
    float_dtype: pl.DataType = pl.Float64(),
) -> pl.DataFrame:
    probs_dtype = pl.Array(float_dtype, K) if kind == "array" else pl.List(float_dtype)
    return pl.DataFrame(
        [
            pl.Series("id", range(len(labels))),
            pl.Series("y", labels, dtype=pl.List(label_dtype)),
            pl.Series("probs", probs, dtype=probs_dtype),
        ]
    )


COLUMNS = {"labels": "y", "pred_probs": "probs"}


def _cols(kw: dict[str, Any]) -> dict[str, Any]:
    """The column arguments (``y``/``probs`` unless the test gives others) plus the options."""
    return {**COLUMNS, **kw}


EAGER: dict[str, Callable[..., Any]] = {
    "eager": lambda df, **kw: df.mlq.label_quality(**_cols(kw)),
    "eager-per-class": lambda df, **kw: df.mlq.label_quality_per_class(**_cols(kw)),
}
LAZY: dict[str, Callable[..., Any]] = {
    "lazy-streaming": lambda df, **kw: df.lazy().mlq.label_quality(**_cols(kw)).collect(engine="streaming"),
    "lazy-in-memory": lambda df, **kw: df.lazy().mlq.label_quality(**_cols(kw)).collect(engine="in-memory"),
    "lazy-per-class": lambda df, **kw: df.lazy()
    .mlq.label_quality_per_class(**_cols(kw))
    .collect(engine="streaming"),
    "expr": lambda df, **kw: df.with_columns(mlq.label_quality(**_cols(kw))),
    "expr-streaming": lambda df, **kw: df.lazy()
    .with_columns(mlq.label_quality(**_cols(kw)))
    .collect(engine="streaming"),
}
ALL_PATHS = {**EAGER, **LAZY}


# --------------------------------------------------------------------------------------------
# bad values inside the data: column and row in the message
# --------------------------------------------------------------------------------------------


def _set_label(value: Any) -> Callable[[list[list[Any]], list[list[Any]]], None]:
    def corrupt(labels: list[list[Any]], probs: list[list[Any]]) -> None:
        labels[BAD_ROW] = [1, value]
        labels[LATER_BAD_ROW] = [value]

    return corrupt


def _set_prob(column: int, value: Any) -> Callable[[list[list[Any]], list[list[Any]]], None]:
    def corrupt(labels: list[list[Any]], probs: list[list[Any]]) -> None:
        probs[BAD_ROW][column] = value
        probs[LATER_BAD_ROW][column] = value  # the same class: streamed batches may fail in any order

    return corrupt


def _ragged(width: int) -> Callable[[list[list[Any]], list[list[Any]]], None]:
    def corrupt(labels: list[list[Any]], probs: list[list[Any]]) -> None:
        probs[BAD_ROW] = [0.5] * width
        probs[LATER_BAD_ROW] = [0.5] * width

    return corrupt


# name: (corruption, column, pattern for the rest of the message, kinds it applies to)
DATA_ERRORS: dict[str, tuple[Callable[..., None], str, str, tuple[str, ...]]] = {
    "label-negative": (_set_label(-1), "y", r"label -1 is not a class index", ("list", "array")),
    "label-equals-K": (_set_label(K), "y", rf"label {K} is not a class index", ("list", "array")),
    "label-far-above-K": (_set_label(10_000), "y", r"label 10000 is not a class index", ("list", "array")),
    "label-null-element": (_set_label(None), "y", r"null element", ("list", "array")),
    "probs-too-short": (_ragged(K - 1), "probs", rf"has {K - 1} values, expected {K}", ("list",)),
    "probs-too-long": (_ragged(K + 1), "probs", rf"has {K + 1} values, expected {K}", ("list",)),
    "probs-nan": (_set_prob(2, float("nan")), "probs", r"nan.*class 2", ("list", "array")),
    "probs-inf": (_set_prob(3, float("inf")), "probs", r"inf.*class 3", ("list", "array")),
    "probs-minus-inf": (_set_prob(3, float("-inf")), "probs", r"-inf.*class 3", ("list", "array")),
    "probs-negative": (_set_prob(1, -0.1), "probs", r"-0\.1.*class 1", ("list", "array")),
    "probs-above-one": (_set_prob(4, 1.5), "probs", r"1\.5.*class 4", ("list", "array")),
    "probs-just-beyond-tolerance": (_set_prob(0, 1 + 3e-6), "probs", r"class 0", ("list", "array")),
    "probs-null-element": (_set_prob(2, None), "probs", r"null element", ("list", "array")),
}
DATA_ERROR_CASES = [
    pytest.param(name, kind, id=f"{name}-{kind}") for name, case in DATA_ERRORS.items() for kind in case[3]
]


def corrupted_frame(name: str, kind: str, **kw: Any) -> tuple[pl.DataFrame, str, str]:
    corrupt, column, pattern, _ = DATA_ERRORS[name]
    labels, probs = clean_data()
    corrupt(labels, probs)
    return frame(labels, probs, kind=kind, **kw), column, pattern


@pytest.mark.parametrize("path", list(EAGER))
@pytest.mark.parametrize(("name", "kind"), DATA_ERROR_CASES)
def test_data_error_eager_names_column_and_first_row(name: str, kind: str, path: str) -> None:
    df, column, pattern = corrupted_frame(name, kind)
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        EAGER[path](df)


@pytest.mark.parametrize("path", list(LAZY))
@pytest.mark.parametrize(("name", "kind"), DATA_ERROR_CASES)
def test_data_error_lazy_names_column(name: str, kind: str, path: str) -> None:
    df, column, pattern = corrupted_frame(name, kind)
    if path.startswith("expr") and name.startswith("probs-too"):
        # without num_classes= a bare expression takes K from each batch's first row, so when a
        # batch starts at a bad row the good rows are reported (test_ragged_across_chunks_...)
        pattern = r"has \d values, expected \d"
    with pytest.raises(ValueError, match=rf"column '{column}'.*{pattern}"):
        LAZY[path](df)


@pytest.mark.parametrize(("name", "kind"), [("label-negative", "list"), ("probs-nan", "array"), ("probs-too-short", "list")])
def test_data_error_with_adjust_pred_probs(name: str, kind: str) -> None:
    """The threshold pass validates too (lazily it runs when the plan is built)."""
    df, column, pattern = corrupted_frame(name, kind)
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        df.mlq.label_quality(**COLUMNS, adjust_pred_probs=True)
    with pytest.raises(ValueError, match=rf"column '{column}'.*{pattern}"):
        df.lazy().mlq.label_quality(**COLUMNS, adjust_pred_probs=True).collect(engine="streaming")
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        mlq.confident_thresholds(df, "y", "probs")
    with pytest.raises(ValueError, match=rf"column '{column}'.*{pattern}"):
        mlq.confident_thresholds(df.lazy(), "y", "probs")


@pytest.mark.parametrize(
    "label_dtype", [pl.Int8, pl.Int16, pl.UInt8, pl.UInt16, pl.UInt64], ids=str
)
def test_label_out_of_range_in_narrow_dtypes(label_dtype: pl.DataType) -> None:
    labels, probs = clean_data()
    bad = K if label_dtype().is_unsigned_integer() else -3
    labels[BAD_ROW] = [0, bad]
    df = frame(labels, probs, kind="array", label_dtype=label_dtype())
    with pytest.raises(ValueError, match=rf"column 'y', row {BAD_ROW}: label {bad} is not a class index"):
        df.mlq.label_quality(**COLUMNS)
    with pytest.raises(ValueError, match=rf"column 'y'.*label {bad} is not a class index"):
        df.lazy().mlq.label_quality(**COLUMNS).collect(engine="streaming")


def test_float32_nan() -> None:
    labels, probs = clean_data()
    probs[BAD_ROW][1] = float("nan")
    df = frame(labels, probs, kind="array", float_dtype=pl.Float32())
    with pytest.raises(ValueError, match=rf"column 'probs', row {BAD_ROW}\b.*nan.*class 1"):
        df.mlq.label_quality(**COLUMNS)


def test_error_row_counts_null_rows() -> None:
    """Null rows are set aside before validation; the row in the message is still the frame's row."""
    labels, probs = clean_data()
    labels_with_nulls: list[Any] = list(labels)
    probs_with_nulls: list[Any] = list(probs)
    for i in (3, 40, 100):
        labels_with_nulls[i] = None
        probs_with_nulls[i + 1] = None
    probs_with_nulls[BAD_ROW][2] = 1.5
    df = frame(labels_with_nulls, probs_with_nulls)
    with pytest.raises(ValueError, match=rf"column 'probs', row {BAD_ROW}\b.*1\.5"):
        df.mlq.label_quality(**COLUMNS)
    labels_with_nulls[BAD_ROW + 1] = [K]
    probs_with_nulls[BAD_ROW][2] = 0.5
    df = frame(labels_with_nulls, probs_with_nulls)
    with pytest.raises(ValueError, match=rf"column 'y', row {BAD_ROW + 1}\b.*label {K}"):
        df.mlq.label_quality(**COLUMNS)


def test_pred_probs_given_as_expression_named_in_message() -> None:
    labels, probs = clean_data()
    probs[BAD_ROW][0] = 2.0
    df = frame(labels, probs)
    with pytest.raises(ValueError, match=rf"column 'model_output', row {BAD_ROW}\b.*2\.0"):
        df.mlq.label_quality("y", pl.col("probs").alias("model_output"))


# --------------------------------------------------------------------------------------------
# the same data errors through the numpy API
# --------------------------------------------------------------------------------------------


NUMPY_ERRORS = {
    "label-negative": ("labels", r"label -1 is not a class index"),
    "label-equals-K": ("labels", rf"label {K} is not a class index"),
    "label-null-element": ("labels", r"null element"),
    "probs-nan": ("pred_probs", r"nan.*class 2"),
    "probs-inf": ("pred_probs", r"inf.*class 3"),
    "probs-minus-inf": ("pred_probs", r"-inf.*class 3"),
    "probs-negative": ("pred_probs", r"-0\.1.*class 1"),
    "probs-above-one": ("pred_probs", r"1\.5.*class 4"),
    "probs-just-beyond-tolerance": ("pred_probs", r"class 0"),
}


@pytest.mark.parametrize("per_class", [False, True])
@pytest.mark.parametrize("name", list(NUMPY_ERRORS))
def test_data_error_numpy_api(name: str, per_class: bool) -> None:
    labels, probs = clean_data()
    DATA_ERRORS[name][0](labels, probs)
    column, pattern = NUMPY_ERRORS[name]
    function = mlq.get_label_quality_scores_per_class if per_class else mlq.get_label_quality_scores
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        function(labels, np.array(probs, dtype=np.float64))


def test_numpy_api_bad_shapes_and_types() -> None:
    labels, probs = clean_data()
    p = np.array(probs)
    with pytest.raises(ValueError, match=r"labels \(299 rows\) and pred_probs \(300 rows\) differ in length"):
        mlq.get_label_quality_scores(labels[:-1], p)
    with pytest.raises(ValueError, match=r"2-D.*shape \(300,\)"):
        mlq.get_label_quality_scores(labels, p[:, 0])
    with pytest.raises(TypeError, match=r"pred_probs must be a 2-D numpy array.*list"):
        mlq.get_label_quality_scores(labels, probs)
    with pytest.raises(TypeError, match=r"pred_probs must be float32 or float64.*int64"):
        mlq.get_label_quality_scores(labels, (p > 0.5).astype(np.int64))
    with pytest.raises(TypeError, match=r"pred_probs must be float32 or float64.*float16"):
        mlq.get_label_quality_scores(labels, p.astype(np.float16))
    with pytest.raises(TypeError, match=r"labels, row 0: each row must be a list"):
        mlq.get_label_quality_scores([0] * N_ROWS, p)
    with pytest.raises(TypeError, match=r"column 'labels'.*List\(String\)"):
        mlq.get_label_quality_scores([["a"]] * N_ROWS, p)
    with pytest.raises(TypeError, match=r"column 'labels'.*labels.*List\(Float64\)"):
        mlq.get_label_quality_scores([[0.0]] * N_ROWS, p)
    with pytest.raises(ValueError, match=r"pred_probs has width 0"):
        mlq.get_label_quality_scores([[]] * 3, np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"pred_probs has width 0"):
        mlq.get_label_quality_scores_per_class([[]] * 3, np.zeros((3, 0)))


# --------------------------------------------------------------------------------------------
# ragged pred_probs across batches
# --------------------------------------------------------------------------------------------


def test_ragged_across_chunks_bare_expression() -> None:
    """A List column whose width changes between chunks/batches, scored by a bare expression.

    Without num_classes= the expression takes K from each batch's first row, so a width change at
    a batch boundary goes unnoticed and rows get scored with different K.
    """
    first = pl.DataFrame({"y": [[0]] * 100, "probs": [[0.1, 0.2, 0.3]] * 100})
    second = pl.DataFrame({"y": [[0]] * 100, "probs": [[0.1, 0.2]] * 100})
    df = pl.concat([first, second], rechunk=False)
    # the namespaces fix K for the whole frame and refuse it
    with pytest.raises(ValueError, match=r"column 'probs', row 100\b.*has 2 values, expected 3"):
        df.mlq.label_quality("y", "probs")
    with pytest.raises(ValueError, match=r"column 'probs'.*has 2 values, expected 3"):
        df.lazy().mlq.label_quality("y", "probs").collect(engine="streaming")
    with pytest.raises(ValueError, match=r"column 'probs'.*has 2 values, expected 3"):
        df.with_columns(mlq.label_quality("y", "probs", num_classes=3))
    # the bare expression must refuse it as well
    with pytest.raises(ValueError, match=r"column 'probs'.*values, expected"):
        df.with_columns(mlq.label_quality("y", "probs"))
    with pytest.raises(ValueError, match=r"column 'probs'.*values, expected"):
        df.rechunk().lazy().with_columns(mlq.label_quality("y", "probs")).collect(engine="streaming")


# --------------------------------------------------------------------------------------------
# schema errors: missing columns, wrong dtypes (raised when the query is built or run)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ALL_PATHS))
@pytest.mark.parametrize("argument", ["labels", "pred_probs"])
def test_missing_column(argument: str, path: str) -> None:
    labels, probs = clean_data()
    df = frame(labels, probs)
    with pytest.raises(pl.exceptions.ColumnNotFoundError, match="no_such_column"):
        ALL_PATHS[path](df, **{argument: "no_such_column"})


def test_missing_column_confident_thresholds() -> None:
    labels, probs = clean_data()
    df = frame(labels, probs)
    for f in (df, df.lazy()):
        with pytest.raises(pl.exceptions.ColumnNotFoundError, match="labels"):
            mlq.confident_thresholds(f, pred_probs="probs")


BAD_DTYPES: dict[str, tuple[str, pl.Series, str]] = {
    "labels-strings": ("y", pl.Series("y", [["a"], ["b"]]), r"column 'y'.*List\(String\)"),
    "labels-floats": ("y", pl.Series("y", [[0.0], [1.0]]), r"column 'y'.*labels.*List\(Float64\)"),
    "labels-bare-int": ("y", pl.Series("y", [0, 1]), r"column 'y'.*labels.*Int64"),
    "labels-bool": ("y", pl.Series("y", [[True], [False]]), r"column 'y'.*labels.*List\(Boolean\)"),
    "probs-ints": (
        "probs",
        pl.Series("probs", [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]),
        r"column 'probs': pred_probs must be a List or Array of Float32/Float64.*Int64",
    ),
    "probs-int-array": (
        "probs",
        pl.Series("probs", [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=pl.Array(pl.Int32, 5)),
        r"column 'probs': pred_probs must be a List or Array of Float32/Float64.*Int32",
    ),
    "probs-strings": (
        "probs",
        pl.Series("probs", ["0.1", "0.2"]),
        r"column 'probs': pred_probs must be a List or Array of Float32/Float64.*String",
    ),
    "probs-bare-float": (
        "probs",
        pl.Series("probs", [0.1, 0.2]),
        r"column 'probs': pred_probs must be a List or Array of Float32/Float64.*Float64",
    ),
}


@pytest.mark.parametrize("path", list(ALL_PATHS))
@pytest.mark.parametrize("case", list(BAD_DTYPES))
def test_wrong_dtype(case: str, path: str) -> None:
    df = pl.DataFrame({"y": [[0], [1]], "probs": [[0.1, 0.9, 0.2, 0.3, 0.4], [0.3, 0.2, 0.5, 0.6, 0.7]]})
    column, series, pattern = BAD_DTYPES[case]
    df = df.with_columns(series.alias(column))
    with pytest.raises(TypeError, match=pattern):
        ALL_PATHS[path](df)


def test_wrong_dtype_raised_when_lazy_query_is_built() -> None:
    df = pl.LazyFrame({"y": [["a"]], "probs": [[0.5, 0.5]]})
    with pytest.raises(TypeError, match=r"column 'y'"):
        df.mlq.label_quality("y", "probs")  # no collect
    with pytest.raises(TypeError, match=r"column 'y'"):
        mlq.confident_thresholds(df, "y", "probs")


def test_inputs_that_are_neither_names_nor_expressions() -> None:
    df = pl.DataFrame({"labels": [[0]], "pred_probs": [[0.5, 0.5]]})
    with pytest.raises(TypeError, match=r"labels must be a column name or a pl.Expr; got int"):
        df.mlq.label_quality(labels=3)
    with pytest.raises(TypeError, match=r"pred_probs must be a column name or a pl.Expr; got list"):
        mlq.label_quality(pred_probs=[0.5, 0.5])


# --------------------------------------------------------------------------------------------
# width 0
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", list(ALL_PATHS))
def test_pred_probs_of_width_zero(path: str, kind: str) -> None:
    dtype = pl.Array(pl.Float64, 0) if kind == "array" else pl.List(pl.Float64)
    df = pl.DataFrame(
        {"y": pl.Series([[], []], dtype=pl.List(pl.Int64)), "probs": pl.Series([[], []], dtype=dtype)}
    )
    with pytest.raises(ValueError, match=r"'probs'.*width 0"):
        ALL_PATHS[path](df)


# --------------------------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------------------------

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
    "temperature-inf": ({"method": "softmin", "temperature": float("inf")}, ValueError, r"temperature must be a positive"),
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
    "returns-strings": ({"method": lambda scores, axis: ["x"] * len(scores)}, TypeError, r"must return one number per row"),
    "raises": ({"method": _raises_boom}, ValueError, r"aggregator _raises_boom raised RuntimeError: boom"),
}


def _score_paths() -> dict[str, Callable[..., Any]]:
    return {
        "eager": lambda df, **kw: df.mlq.label_quality(**kw),
        "lazy-streaming": lambda df, **kw: df.lazy().mlq.label_quality(**kw).collect(engine="streaming"),
        "lazy-in-memory": lambda df, **kw: df.lazy().mlq.label_quality(**kw).collect(engine="in-memory"),
        "expr": lambda df, **kw: df.with_columns(mlq.label_quality(**kw)),
        "numpy": lambda df, **kw: mlq.get_label_quality_scores(
            df["labels"].to_list(), df["pred_probs"].to_numpy(), **kw
        ),
    }


SCORE_PATHS = _score_paths()


def _small_frame() -> pl.DataFrame:
    labels, probs = clean_data()
    return pl.DataFrame(
        {"labels": labels[:20], "pred_probs": pl.Series(probs[:20], dtype=pl.Array(pl.Float64, K))},
        schema_overrides={"labels": pl.List(pl.Int64)},
    )


@pytest.mark.parametrize("path", list(SCORE_PATHS))
@pytest.mark.parametrize("case", list(OPTION_ERRORS))
def test_bad_options(case: str, path: str) -> None:
    kwargs, error, pattern = OPTION_ERRORS[case]
    with pytest.raises(error, match=pattern):
        SCORE_PATHS[path](_small_frame(), **kwargs)


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
    with pytest.raises(error, match=pattern):
        mlq.get_label_quality_scores_per_class(df["labels"].to_list(), df["pred_probs"].to_numpy(), **kwargs)


@pytest.mark.parametrize("path", list(SCORE_PATHS))
@pytest.mark.parametrize("case", list(AGGREGATOR_ERRORS))
def test_bad_aggregator_kwargs(case: str, path: str) -> None:
    kwargs, error, pattern = AGGREGATOR_ERRORS[case]
    with pytest.raises(error, match=pattern):
        SCORE_PATHS[path](_small_frame(), aggregator_kwargs=kwargs)


@pytest.mark.parametrize("case", list(OPTION_ERRORS) + list(AGGREGATOR_ERRORS))
def test_bad_options_refused_when_the_expression_is_built(case: str) -> None:
    kwargs, error, pattern = {**OPTION_ERRORS, **AGGREGATOR_ERRORS}[case]
    if case in AGGREGATOR_ERRORS:
        kwargs = {"aggregator_kwargs": kwargs}
    with pytest.raises(error, match=pattern):
        mlq.label_quality(**kwargs)  # nothing evaluated yet


@pytest.mark.parametrize("path", list(SCORE_PATHS))
@pytest.mark.parametrize("case", list(CALLABLE_ERRORS))
def test_bad_callable_aggregator(case: str, path: str) -> None:
    kwargs, error, pattern = CALLABLE_ERRORS[case]
    with pytest.raises(error, match=pattern) as info:
        SCORE_PATHS[path](_small_frame(), aggregator_kwargs=kwargs)
    if case == "raises" and path == "numpy":  # polars re-raises UDF errors without their cause
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
    np.testing.assert_array_equal(
        df.mlq.label_quality(method="Self_Confidence")["label_quality"].to_numpy(), default
    )
    # alpha None is 2 / (K + 1)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": "exponential_moving_average", "alpha": None}),
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


# --------------------------------------------------------------------------------------------
# the tolerance band: within 1e-6 outside [0, 1] is accepted and clipped
# --------------------------------------------------------------------------------------------


def _edge_data(float_dtype: type) -> tuple[list[list[int]], np.ndarray]:
    labels, probs = clean_data()
    p = np.array(probs)
    p[5, 0], p[6, 1], p[7, 2], p[8, 3] = 1 + 5e-7, -5e-7, 1 + 1e-6, -1e-6
    labels[5], labels[6], labels[7], labels[8] = [0], [1], [], [1, 2]
    return labels, p.astype(float_dtype)


@pytest.mark.parametrize("float_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
def test_values_within_tolerance_are_clipped(method: str, float_dtype: type) -> None:
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
        df = frame(labels, p.tolist(), kind=kind, float_dtype=pl_dtype())
        for path in ALL_PATHS:
            if "per-class" in path:
                out = ALL_PATHS[path](df, method=method)["label_quality_per_class"].to_numpy()
                np.testing.assert_array_equal(out, expected_pc, err_msg=f"{path} {kind}")
            else:
                out = ALL_PATHS[path](df, method=method)["label_quality"].to_numpy()
                np.testing.assert_array_equal(out, expected, err_msg=f"{path} {kind}")
                assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_values_within_tolerance_with_adjust(method: str) -> None:
    labels, p = _edge_data(np.float64)
    expected = mlq.get_label_quality_scores(labels, np.clip(p, 0, 1), method=method, adjust_pred_probs=True)
    got = mlq.get_label_quality_scores(labels, p, method=method, adjust_pred_probs=True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert np.all((got >= 0) & (got <= 1))
    df = frame(labels, p.tolist(), kind="array")
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
