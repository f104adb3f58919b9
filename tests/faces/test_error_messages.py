"""Bad input gives the right exception, with a message naming the column and (eagerly) the row.

Every data error is checked through the eager DataFrame namespace, the LazyFrame namespace (both
engines, and a Parquet scan), a bare expression, and the numpy API where the input can be
expressed there. The columns are called ``y`` and ``probs`` so that a message naming the default
column names ("labels", "pred_probs") by accident does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helpers
import numpy as np
import polars as pl
import pytest

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

#: Rows per streamed batch.
CHUNK = 50
N_ROWS, K = helpers.CLEAN_ROWS, helpers.K
BAD_ROW, LATER_BAD_ROW = helpers.BAD_ROW, helpers.LATER_BAD_ROW
COLUMNS = helpers.COLUMNS
PER_CLASS = "label_quality_per_class"


def paths(*pairs: tuple[str, str]) -> Any:
    """Parametrize a test by (entry point, .mlq method): ids like ``lazy-streaming-per-class``."""
    params = [
        pytest.param(path, method, id=path + ("-per-class" if method == PER_CLASS else "")) for path, method in pairs
    ]
    return pytest.mark.parametrize(("every_path", "method"), params, indirect=["every_path"])


#: (path, method) where the message names the row of the whole frame.
EAGER = (("eager", "label_quality"), ("eager", PER_CLASS))
#: (path, method) where the data are read batch by batch.
LAZY = (
    ("lazy-streaming", "label_quality"),
    ("lazy-in-memory", "label_quality"),
    ("lazy-streaming", PER_CLASS),
    ("parquet", "label_quality"),
    ("parquet", PER_CLASS),
    ("expr", "label_quality"),
    ("expr-streaming", "label_quality"),
)


def run(every_path: helpers.EntryPoint, method: str, df: pl.DataFrame, **kw: Any) -> Any:
    """The method on the path, with the column arguments (``y``/``probs`` unless given) and the options."""
    return every_path.run(df, method, **{**COLUMNS, **kw})


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
    labels, probs = helpers.clean_data()
    corrupt(labels, probs)
    return helpers.yprobs_frame(labels, probs, kind=kind, **kw), column, pattern


@paths(*EAGER)
@pytest.mark.parametrize(("name", "kind"), DATA_ERROR_CASES)
def test_data_error_eager_names_column_and_first_row(
    name: str, kind: str, every_path: helpers.EntryPoint, method: str
) -> None:
    df, column, pattern = corrupted_frame(name, kind)
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        run(every_path, method, df)


@paths(*LAZY)
@pytest.mark.parametrize(("name", "kind"), DATA_ERROR_CASES)
def test_data_error_lazy_names_column(name: str, kind: str, every_path: helpers.EntryPoint, method: str) -> None:
    df, column, pattern = corrupted_frame(name, kind)
    if every_path.name.startswith("expr") and name.startswith("probs-too"):
        # without num_classes= a bare expression takes K from each batch's first row, so when a
        # batch starts at a bad row the good rows are reported (test_ragged_across_chunks_...)
        pattern = r"has \d values, expected \d"
    # the .mlq methods number the rows: whichever batch fails first, the message names the first bad row
    row = "" if every_path.name.startswith("expr") else rf", row {BAD_ROW}\b(?! of a streamed batch)"
    with pytest.raises(ValueError, match=rf"column '{column}'{row}.*{pattern}"):
        run(every_path, method, df)


@pytest.mark.parametrize(
    ("name", "kind"), [("label-negative", "list"), ("probs-nan", "array"), ("probs-too-short", "list")]
)
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


@pytest.mark.parametrize("label_dtype", [pl.Int8, pl.Int16, pl.UInt8, pl.UInt16, pl.UInt64], ids=str)
def test_label_out_of_range_in_narrow_dtypes(label_dtype: pl.DataType) -> None:
    labels, probs = helpers.clean_data()
    bad = K if label_dtype().is_unsigned_integer() else -3
    labels[BAD_ROW] = [0, bad]
    df = helpers.yprobs_frame(labels, probs, kind="array", label_dtype=label_dtype())
    with pytest.raises(ValueError, match=rf"column 'y', row {BAD_ROW}: label {bad} is not a class index"):
        df.mlq.label_quality(**COLUMNS)
    with pytest.raises(ValueError, match=rf"column 'y'.*label {bad} is not a class index"):
        df.lazy().mlq.label_quality(**COLUMNS).collect(engine="streaming")


def test_float32_nan() -> None:
    labels, probs = helpers.clean_data()
    probs[BAD_ROW][1] = float("nan")
    df = helpers.yprobs_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    with pytest.raises(ValueError, match=rf"column 'probs', row {BAD_ROW}\b.*nan.*class 1"):
        df.mlq.label_quality(**COLUMNS)


def test_error_row_counts_null_rows() -> None:
    """Null rows are set aside before validation; the row in the message is still the frame's row."""
    labels, probs = helpers.clean_data()
    labels_with_nulls: list[Any] = list(labels)
    probs_with_nulls: list[Any] = list(probs)
    for i in (3, 40, 100):
        labels_with_nulls[i] = None
        probs_with_nulls[i + 1] = None
    probs_with_nulls[BAD_ROW][2] = 1.5
    df = helpers.yprobs_frame(labels_with_nulls, probs_with_nulls)
    with pytest.raises(ValueError, match=rf"column 'probs', row {BAD_ROW}\b.*1\.5"):
        df.mlq.label_quality(**COLUMNS)
    labels_with_nulls[BAD_ROW + 1] = [K]
    probs_with_nulls[BAD_ROW][2] = 0.5
    df = helpers.yprobs_frame(labels_with_nulls, probs_with_nulls)
    with pytest.raises(ValueError, match=rf"column 'y', row {BAD_ROW + 1}\b.*label {K}"):
        df.mlq.label_quality(**COLUMNS)


def test_pred_probs_given_as_expression_named_in_message() -> None:
    labels, probs = helpers.clean_data()
    probs[BAD_ROW][0] = 2.0
    df = helpers.yprobs_frame(labels, probs)
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
    labels, probs = helpers.clean_data()
    DATA_ERRORS[name][0](labels, probs)
    column, pattern = NUMPY_ERRORS[name]
    function = mlq.get_label_quality_scores_per_class if per_class else mlq.get_label_quality_scores
    with pytest.raises(ValueError, match=rf"column '{column}', row {BAD_ROW}\b.*{pattern}"):
        function(labels, np.array(probs, dtype=np.float64))


def test_numpy_api_bad_shapes_and_types() -> None:
    labels, probs = helpers.clean_data()
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


@paths(*EAGER, *LAZY)
@pytest.mark.parametrize("argument", ["labels", "pred_probs"])
def test_missing_column(argument: str, every_path: helpers.EntryPoint, method: str) -> None:
    labels, probs = helpers.clean_data()
    df = helpers.yprobs_frame(labels, probs)
    with pytest.raises(pl.exceptions.ColumnNotFoundError, match="no_such_column"):
        run(every_path, method, df, **{argument: "no_such_column"})


def test_missing_column_confident_thresholds() -> None:
    labels, probs = helpers.clean_data()
    df = helpers.yprobs_frame(labels, probs)
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


@paths(*EAGER, *LAZY)
@pytest.mark.parametrize("case", list(BAD_DTYPES))
def test_wrong_dtype(case: str, every_path: helpers.EntryPoint, method: str) -> None:
    df = pl.DataFrame({"y": [[0], [1]], "probs": [[0.1, 0.9, 0.2, 0.3, 0.4], [0.3, 0.2, 0.5, 0.6, 0.7]]})
    column, series, pattern = BAD_DTYPES[case]
    df = df.with_columns(series.alias(column))
    with pytest.raises(TypeError, match=pattern):
        run(every_path, method, df)


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


@paths(*EAGER, *LAZY)
@pytest.mark.parametrize("kind", ["list", "array"])
def test_pred_probs_of_width_zero(kind: str, every_path: helpers.EntryPoint, method: str) -> None:
    dtype = pl.Array(pl.Float64, 0) if kind == "array" else pl.List(pl.Float64)
    df = pl.DataFrame({"y": pl.Series([[], []], dtype=pl.List(pl.Int64)), "probs": pl.Series([[], []], dtype=dtype)})
    with pytest.raises(ValueError, match=r"'probs'.*width 0"):
        run(every_path, method, df)
