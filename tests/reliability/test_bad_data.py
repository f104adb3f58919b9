"""A catalogue of bad data, each run through every path where it can be expressed.

Every entry of ``CASES`` is one distinct bad input: bad values inside the labels or pred_probs,
wrong dtypes and shapes, missing columns, class names that do not fit, and broken files
(test_bad_options.py holds the unknown or out-of-range options, and
tests/compat/test_bad_numpy_input.py what only the numpy-level functions can be given). Each is
run through

* ``eager``: ``df.mlq.<op>(...)`` on a DataFrame;
* ``lazy-in-memory``: ``df.lazy().mlq.<op>(...)`` collected by the in-memory engine;
* ``lazy-streaming``: the frame written to Parquet in row groups of 50 rows, ``pl.scan_parquet``,
  ``.mlq.<op>(...)``, collected by the streaming engine (batch by batch);
* ``numpy``: the cleanlab-compatible function, given the two columns as polars Series;
* ``cli``: ``polars-mlq score|issues|summary`` on that Parquet file (``cli.main`` in-process;
  ``test_cli_sample_through_the_console_script`` runs a sample through the installed script);

and through each operation it applies to: ``score`` (``label_quality``), ``issues``
(``find_label_issues``) and ``summary`` (``health_summary``). Each check asserts the exception type
and the words that tell the user what to fix: the column, the first bad row (inside a streamed
batch the message gives the row's position in the batch and says so), the value and the allowed
range. On the command line: exit code 1 and one line ``polars-mlq: error: ...`` (2 and argparse's
usage message for an option argparse itself refuses), and no output file left behind.

The columns are called ``y`` and ``probs`` so that a message naming the default column names
("labels", "pred_probs") by accident does not pass. tests/faces/test_error_messages.py checks many
of the same data errors through the bare expressions as well; this file is the organised catalogue.
``Case`` and the runner are in tests/helpers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from helpers import (
    ANY_ROW,
    BAD_ROW,
    CLEAN_ROWS,
    CLI_COLUMNS,
    COLUMNS,
    LATER_BAD_ROW,
    NAMES,
    NUMPY_FUNCTION,
    Case,
    K,
    catalogue_params,
    check_bad_input,
    check_console_script_says_the_same,
    check_the_catalogue_is_broad,
    clean_data,
    run_cli_main,
    run_namespace,
    user_frame,
    write_parquet,
)

ROW_GROUP = 50  # rows per Parquet row group: six streamed batches


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def set_label(value: Any) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        labels[BAD_ROW], labels[LATER_BAD_ROW] = [1, value], [value]
        return user_frame(labels, probs)

    return build


def set_prob(column: int, value: Any) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        probs[BAD_ROW][column] = value
        probs[LATER_BAD_ROW][column] = value
        return user_frame(labels, probs)

    return build


def ragged(width: int) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        probs[BAD_ROW] = probs[BAD_ROW][:width] + [0.5] * (width - K)
        probs[LATER_BAD_ROW] = [0.5] * width
        return user_frame(labels, probs)

    return build


def first_row_empty() -> pl.DataFrame:
    """Row 0 of pred_probs is [] and every other row has K values."""
    labels, probs = clean_data()
    labels[0], probs[0] = [], []
    return user_frame(labels, probs)


def enum_of_size(size: int) -> Callable[[], pl.DataFrame]:
    """Labels as an Enum of ``size`` categories (the class names), for pred_probs of K classes."""

    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        names = [f"c{i}" for i in range(size)]
        return user_frame([[names[c] for c in row] for row in labels], probs, labels_dtype=pl.List(pl.Enum(names)))

    return build


def width_zero() -> pl.DataFrame:
    return user_frame([[] for _ in range(CLEAN_ROWS)], [[] for _ in range(CLEAN_ROWS)])


def labels_as(values: Callable[[list[Any]], Any], dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        return user_frame([values(row) for row in labels], probs, labels_dtype=dtype)

    return build


def probs_as(values: Callable[[list[float]], Any], dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        return user_frame(labels, [values(row) for row in probs], probs_dtype=dtype)

    return build


def named(unknown: str | None = None) -> Callable[[], pl.DataFrame]:
    """Labels given as class names; ``unknown`` replaces one name in BAD_ROW and LATER_BAD_ROW."""

    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        rows = [[NAMES[c] for c in row] for row in labels]
        if unknown is not None:
            rows[BAD_ROW], rows[LATER_BAD_ROW] = ["dog", unknown], [unknown]
        return user_frame(rows, probs, labels_dtype=pl.List(pl.String))

    return build


def multi_hot(
    value: int | None = None, *, width: int = K, dtype: pl.DataType = pl.Int64()
) -> Callable[[], pl.DataFrame]:
    """Labels as K 0/1 entries per row; ``value`` at class 3 of the bad rows, or a bad row of ``width``."""

    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        hot = np.zeros((CLEAN_ROWS, K), dtype=np.int64)
        for i, row in enumerate(labels):
            hot[i, row] = 1
        rows: list[Any] = hot.tolist()
        if value is not None:
            rows[BAD_ROW][3] = rows[LATER_BAD_ROW][3] = value
        if width != K:
            rows[BAD_ROW] = rows[BAD_ROW][:width] + [0] * (width - K)
            rows[LATER_BAD_ROW] = [0] * width
            return user_frame(rows, probs, labels_dtype=pl.List(dtype))
        return user_frame(rows, probs, labels_dtype=pl.Array(dtype, K))

    return build


def prob_columns(dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    """pred_probs as one column per class, p_0 ... p_4, instead of a List column."""

    def build() -> pl.DataFrame:
        labels, probs = clean_data()
        array = np.array(probs)
        base = user_frame(labels, probs).drop("probs")
        return base.with_columns(pl.Series(f"p_{k}", array[:, k]).cast(dtype) for k in range(K))

    return build


def later_row_groups_narrower() -> pl.DataFrame:
    """Rows 150 on, three whole row groups, have 4 probabilities instead of 5."""
    labels, probs = clean_data()
    for i in range(150, CLEAN_ROWS):
        probs[i] = probs[i][:4]
    return user_frame(labels, probs)


# ---------------------------------------------------------------------------- broken files
# Each writer gets the clean frame and a path ending in .parquet and writes something there.


def truncated(df: pl.DataFrame, path: Path) -> None:
    write_parquet(df, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # the footer (schema, row groups) is gone


def zero_bytes(df: pl.DataFrame, path: Path) -> None:
    path.write_bytes(b"")


def not_parquet(df: pl.DataFrame, path: Path) -> None:
    df.drop("y", "probs").write_csv(path)


def corrupt_page(df: pl.DataFrame, path: Path) -> None:
    """0xFF bytes (NaN as float64) over the middle of the pred_probs data of row group 4.

    The footer is intact, so the file opens; only reading the damaged rows goes wrong.
    """
    write_parquet(df, path)
    chunk = pq.ParquetFile(path).metadata.row_group(4).column(2)
    assert chunk.path_in_schema.startswith("probs")
    start = chunk.data_page_offset + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------


def probs_value(value: str, column: int) -> str:
    return rf"pred_probs value {value} at class {column} is not a probability; values must be finite and in \[0, 1\]"


def label_range(value: int) -> str:
    return (
        rf"label {value} is not a class index; labels must be in \[0, {K - 1}\] \(K = {K} is the width of pred_probs\)"
    )


PROBS_DTYPE = r"pred_probs must be a List or Array of Float32/Float64 \(one probability per class\); got dtype"
LABELS_DTYPE = r"labels must be a List of class indices \(e\.g\. \[0, 2\]\) or class names; got dtype"
CANNOT_READ = r"IN \S+\.parquet: cannot read it as parquet: parquet: File out of specification"
MULTI_HOT = {"labels_format": "multi_hot"}

CASES: list[Case] = [
    # ---------------------------------------------------------------- label values
    Case("label-equals-K", ValueError, label_range(K), "y", BAD_ROW, set_label(K)),
    Case("label-negative", ValueError, label_range(-1), "y", BAD_ROW, set_label(-1)),
    Case("label-far-above-K", ValueError, label_range(1_000_000), "y", BAD_ROW, set_label(1_000_000)),
    Case(
        "label-null-element", ValueError, r"labels contain a null element \[(1, )?None\]; fill or drop it first",
        "y", BAD_ROW, set_label(None),
    ),
    # ---------------------------------------------------------------- pred_probs values
    Case("probs-nan", ValueError, probs_value("nan", 2), "probs", BAD_ROW, set_prob(2, float("nan"))),
    Case("probs-inf", ValueError, probs_value("inf", 3), "probs", BAD_ROW, set_prob(3, float("inf"))),
    Case("probs-minus-inf", ValueError, probs_value("-inf", 3), "probs", BAD_ROW, set_prob(3, float("-inf"))),
    Case("probs-minus-0.1", ValueError, probs_value(r"-0\.1", 1), "probs", BAD_ROW, set_prob(1, -0.1)),
    Case("probs-1.5", ValueError, probs_value(r"1\.5", 4), "probs", BAD_ROW, set_prob(4, 1.5)),
    Case(
        "probs-just-beyond-tolerance", ValueError, probs_value(r"1\.000003", 0), "probs", BAD_ROW,
        set_prob(0, 1 + 3e-6),
    ),
    Case(
        "probs-null-element", ValueError, r"pred_probs contains a null element.*; fill or drop it first",
        "probs", BAD_ROW, set_prob(2, None),
    ),
    Case(
        "probs-ragged-short", ValueError,
        rf"pred_probs has {K - 1} values, expected {K} \(one per class; rows must all have the same width\)",
        "probs", BAD_ROW, ragged(K - 1),
    ),
    Case(
        "probs-ragged-long", ValueError, rf"pred_probs has {K + 1} values, expected {K}", "probs", BAD_ROW,
        ragged(K + 1),
    ),
    # K is the width of the first row: an empty first row is a ragged row, not K = 0
    Case(
        "probs-first-row-empty", ValueError, rf"pred_probs has (0|{K}) values, expected ({K}|0)", "probs", ANY_ROW,
        first_row_empty,
    ),
    Case(
        "probs-width-0 (K = 0)", ValueError, r"pred_probs rows have width 0; there must be at least one class",
        "probs", None, width_zero,
    ),
    # ---------------------------------------------------------------- label dtypes and formats
    Case(
        "labels-float", TypeError, LABELS_DTYPE + r" List\(Float64\)", "y",
        data=labels_as(lambda r: [float(v) for v in r], pl.List(pl.Float64)),
    ),
    Case(
        "labels-bool", TypeError, LABELS_DTYPE + r" List\(Boolean\)", "y",
        data=labels_as(lambda r: [v > 1 for v in r], pl.List(pl.Boolean)),
    ),
    Case(
        "labels-not-a-list", TypeError, LABELS_DTYPE + r" Int64", "y",
        data=labels_as(lambda r: r[0] if r else None, pl.Int64()),
    ),
    Case(
        "labels-strings-without-classes", TypeError,
        r"labels are class names \(List\(String\)\); pass class_names=\[\.\.\.\] to give the class order", "y",
        data=named(),
    ),
    Case(
        "labels-unknown-class-name", ValueError,
        r"label 'zebra' is not one of the 5 classes \['cat', 'dog', 'fox', 'owl', 'yak'\]", "y", BAD_ROW,
        named("zebra"), {"class_names": NAMES}, cli=("--classes", ",".join(NAMES)),
    ),
    Case(
        "labels-array-without-multi-hot", TypeError,
        LABELS_DTYPE + r" Array\(Int64, shape=\(5,\)\) \(for multi-hot rows pass labels_format='multi_hot'\)", "y",
        data=multi_hot(),
    ),
    Case(
        "multi-hot-2", ValueError, r"multi-hot value 2 at class 3; entries must be 0 or 1", "y", BAD_ROW,
        multi_hot(2), MULTI_HOT, cli=None,
    ),
    Case(
        "multi-hot-minus-1", ValueError, r"multi-hot value -1 at class 3; entries must be 0 or 1", "y", BAD_ROW,
        multi_hot(-1), MULTI_HOT, cli=None,
    ),
    Case(
        "multi-hot-wrong-width", ValueError,
        rf"multi-hot labels have {K - 1} entries, expected K = {K} \(the width of pred_probs\)", "y", BAD_ROW,
        multi_hot(width=K - 1), MULTI_HOT, cli=None,
    ),
    Case(
        "multi-hot-floats", TypeError,
        r"multi-hot labels must be a List or Array of Boolean or 0/1 integers \(one per class\); "
        r"got dtype Array\(Float64",
        "y", data=multi_hot(dtype=pl.Float64()), kwargs=MULTI_HOT, cli=None,
    ),
    Case(
        "labels-format-unknown", ValueError, r"labels_format must be 'indices' or 'multi_hot'; got 'one_hot'",
        kwargs={"labels_format": "one_hot"}, cli=None,
    ),
    # ---------------------------------------------------------------- pred_probs dtypes
    Case(
        "probs-ints", TypeError, PROBS_DTYPE + r" List\(Int64\)", "probs",
        data=probs_as(lambda r: [round(v) for v in r], pl.List(pl.Int64)),
    ),
    Case(
        "probs-int-array", TypeError, PROBS_DTYPE + r" Array\(Int32, shape=\(5,\)\)", "probs",
        data=probs_as(lambda r: [round(v) for v in r], pl.Array(pl.Int32, K)),
    ),
    # (the command line reads JSON text as lists: that is how a CSV file holds them)
    Case(
        "probs-json-text", TypeError, PROBS_DTYPE + r" String", "probs", data=probs_as(str, pl.String()), cli=None,
    ),
    Case(
        "probs-not-a-list", TypeError, PROBS_DTYPE + r" Float64", "probs", data=probs_as(lambda r: r[0], pl.Float64())
    ),
    Case(
        "probs-bools", TypeError, PROBS_DTYPE + r" List\(Boolean\)", "probs",
        data=probs_as(lambda r: [v > 0.5 for v in r], pl.List(pl.Boolean)),
    ),
    Case(
        "probs-columns-of-ints", TypeError, PROBS_DTYPE + r" Array\(Int64, shape=\(5,\)\)", "pred_probs",
        data=prob_columns(pl.Int64()), kwargs={"pred_probs": [f"p_{k}" for k in range(K)]}, numpy=False,
        cli=("--pred-probs-prefix", "p_"),
    ),
    # ---------------------------------------------------------------- columns
    Case(
        "labels-column-missing", pl.exceptions.ColumnNotFoundError, r'unable to find column "no_such"',
        kwargs={"labels": "no_such"}, numpy=False, cli=("--labels", "no_such"),
        cli_words=r"has no column 'no_such' \(--labels\); its columns are 'id', 'y', 'probs', 'note'",
    ),
    Case(
        "probs-column-missing", pl.exceptions.ColumnNotFoundError, r'unable to find column "no_such"',
        kwargs={"pred_probs": "no_such"}, numpy=False, cli=("--pred-probs", "no_such"),
        cli_words=r"has no column 'no_such' \(--pred-probs\); its columns are 'id', 'y', 'probs', 'note'",
    ),
    Case(
        "probs-no-columns", ValueError, r"pred_probs: an empty list of columns; give one column per class",
        kwargs={"pred_probs": []}, numpy=False, cli=("--pred-probs-prefix", "p_"),
        cli_words=r"has no column whose name starts with 'p_' \(--pred-probs-prefix\)",
    ),
    # ---------------------------------------------------------------- class names
    Case(
        "class-names-too-few", ValueError, rf"class_names has {K - 1} names but pred_probs have K = {K} classes",
        data=named(), kwargs={"class_names": NAMES[:-1]}, cli=("--classes", ",".join(NAMES[:-1])),
    ),
    Case(
        "class-names-too-many", ValueError, rf"class_names has {K + 1} names but pred_probs have K = {K} classes",
        data=named(), kwargs={"class_names": [*NAMES, "emu"]}, cli=("--classes", ",".join([*NAMES, "emu"])),
    ),
    Case(
        "class-names-duplicated", ValueError, r"class_names must be distinct", data=named(),
        kwargs={"class_names": ["cat", "dog", "cat", "owl", "yak"]}, cli=("--classes", "cat,dog,cat,owl,yak"),
    ),
    Case(
        "labels-enum-of-another-size", ValueError, rf"has {K + 1} names but pred_probs have K = {K} classes",
        data=enum_of_size(K + 1),
    ),
    Case(
        "class-names-a-string", TypeError, r"class_names must be a list of strings; got 'catdogfoxowlyak'",
        data=named(), kwargs={"class_names": "".join(NAMES)}, cli=None,
    ),
    # ---------------------------------------------------------------- files
    Case(
        "parquet-later-row-groups-narrower", ValueError, rf"pred_probs has {K - 1} values, expected {K}", "probs", 150,
        later_row_groups_narrower, file=lambda df, path: write_parquet(later_row_groups_narrower(), path),
    ),
    Case(
        "parquet-truncated", pl.exceptions.ComputeError,
        r"parquet: File out of specification: The file must end with PAR1", file=truncated,
        cli_words=r"IN \S+\.parquet: cannot read it as parquet: parquet: File out of specification: The file must "
        r"end with PAR1",
    ),
    Case(
        "parquet-zero-bytes", pl.exceptions.ComputeError,
        r"parquet: File out of specification: A Parquet file must contain a header and footer", file=zero_bytes,
        cli_words=CANNOT_READ,
    ),
    Case(
        "parquet-is-csv", pl.exceptions.ComputeError, r"parquet: File out of specification", file=not_parquet,
        cli_words=CANNOT_READ,
    ),
    Case("parquet-corrupt-page", ValueError, probs_value(r"\S+", r"\d"), "probs", ANY_ROW, file=corrupt_page),
]
if hasattr(pl, "Float16"):  # polars >= 2.1
    CASES.append(
        Case(
            "probs-float16", TypeError, PROBS_DTYPE + r" List\(Float16\)", "probs",
            data=probs_as(lambda r: r, pl.List(pl.Float16)), cli=None,
        )
    )
CATALOGUE = {case.name: case for case in CASES}
assert len(CATALOGUE) == len(CASES), "case names must be distinct"
PARAMS = catalogue_params(CATALOGUE)


def test_the_catalogue_is_broad() -> None:
    """At least 40 distinct bad inputs through the frame paths, each through at least two paths,
    covering every path and op (and more that only the numpy functions can be given, in
    tests/compat/test_bad_numpy_input.py; the options are in test_bad_options.py)."""
    check_the_catalogue_is_broad(CATALOGUE, PARAMS, at_least=40)


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "op", "path"), PARAMS)
def test_bad_input(name: str, op: str, path: str, tmp_path: Path) -> None:
    check_bad_input(CATALOGUE[name], op, path, tmp_path)


CLI_SAMPLE = [
    "label-equals-K", "probs-nan", "probs-ragged-short", "probs-column-missing", "parquet-truncated",
    "parquet-corrupt-page",
]  # fmt: skip


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_sample_through_the_console_script(name: str, tmp_path: Path) -> None:
    """The installed script, in a subprocess, says exactly what cli.main says in-process."""
    check_console_script_says_the_same(CATALOGUE[name], tmp_path)


# --------------------------------------------------------------------------------------------
# what is not bad input
# --------------------------------------------------------------------------------------------


def empty_frame() -> pl.DataFrame:
    return user_frame([], []).with_columns(pl.col("probs").cast(pl.Array(pl.Float64, K)))


@pytest.mark.parametrize("op", ["score", "issues"])
@pytest.mark.parametrize("path", ["eager", "lazy-in-memory", "lazy-streaming", "numpy", "cli"])
def test_an_empty_frame_gives_an_empty_result(op: str, path: str, tmp_path: Path) -> None:
    df = empty_frame()
    if path == "numpy":
        assert NUMPY_FUNCTION[op](df["y"], df["probs"]).shape == (0,)
        return
    if path == "cli":
        df.write_parquet(tmp_path / "in.parquet")
        out = tmp_path / "out.parquet"
        code, stderr = run_cli_main([op, str(tmp_path / "in.parquet"), "-o", str(out), *CLI_COLUMNS])
        assert (code, stderr) == (0, "")
        result = pl.read_parquet(out)
    elif path == "lazy-streaming":
        df.write_parquet(tmp_path / "in.parquet")
        result = run_namespace(pl.scan_parquet(tmp_path / "in.parquet"), op, "streaming", dict(COLUMNS))
    else:
        target = df if path == "eager" else df.lazy()
        result = run_namespace(target, op, "in-memory", dict(COLUMNS))
    assert result.height == 0
    assert result.columns[: df.width] == df.columns
    new = "label_quality" if op == "score" else "is_label_issue"
    assert new in result.columns


@pytest.mark.parametrize("path", ["eager", "lazy-streaming"])
def test_null_rows_are_not_bad_input(path: str, tmp_path: Path) -> None:
    """A null labels or pred_probs row is skipped (null score, null flag), not an error."""
    labels, probs = clean_data()
    labels[BAD_ROW], probs[LATER_BAD_ROW] = None, None
    df = user_frame(labels, probs)
    if path == "eager":
        scored, flagged = df.mlq.label_quality(**COLUMNS), df.mlq.find_label_issues(**COLUMNS)
    else:
        df.write_parquet(tmp_path / "in.parquet", row_group_size=ROW_GROUP)
        lf = pl.scan_parquet(tmp_path / "in.parquet")
        scored = lf.mlq.label_quality(**COLUMNS).collect(engine="streaming")
        flagged = lf.mlq.find_label_issues(**COLUMNS).collect(engine="streaming")
    assert scored["label_quality"].is_null().arg_true().to_list() == [BAD_ROW, LATER_BAD_ROW]
    assert flagged["is_label_issue"].is_null().arg_true().to_list() == [BAD_ROW, LATER_BAD_ROW]
