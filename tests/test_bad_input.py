"""A catalogue of bad input, each run through every path where it can be expressed.

Every entry of ``CASES`` is one distinct bad input: bad values inside the labels or pred_probs,
wrong dtypes and shapes, unknown or out-of-range options, and broken files. Each is run through

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
("labels", "pred_probs") by accident does not pass. tests/test_errors.py checks many of the same
data errors through the bare expressions as well; this file is the organised catalogue.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from test_cli import console_script

import polars_mlq as mlq
from polars_mlq import cli

N_ROWS = 300
K = 5
BAD_ROW = 137  # the first offending row
LATER_BAD_ROW = 250  # a second offending row: the message must name the first one
ROW_GROUP = 50  # rows per Parquet row group: six streamed batches
NAMES = ["cat", "dog", "fox", "owl", "yak"]
COLUMNS = {"labels": "y", "pred_probs": "probs"}
CLI_COLUMNS = ("--labels", "y", "--pred-probs", "probs")

OPS = ("score", "issues", "summary")
PATHS = ("eager", "lazy-in-memory", "lazy-streaming", "numpy", "cli")


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def clean() -> tuple[list[Any], list[Any]]:
    """Valid labels (with empty rows) and pred_probs, as Python lists to corrupt."""
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, K, size=int(rng.integers(0, 3))).tolist() for _ in range(N_ROWS)]
    probs = rng.random((N_ROWS, K)).tolist()
    return labels, probs


def frame(
    labels: list[Any],
    probs: list[Any],
    *,
    labels_dtype: pl.DataType | None = pl.List(pl.Int64),
    probs_dtype: pl.DataType | None = pl.List(pl.Float64),
) -> pl.DataFrame:
    """The two inputs between two other columns, as a user's frame would have them."""
    return pl.DataFrame(
        [
            pl.Series("id", range(len(labels)), dtype=pl.Int64),
            pl.Series("y", labels, dtype=labels_dtype, strict=False),
            pl.Series("probs", probs, dtype=probs_dtype, strict=False),
            pl.Series("note", [f"row {i}" for i in range(len(labels))]),
        ]
    )


def set_label(value: Any) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean()
        labels[BAD_ROW], labels[LATER_BAD_ROW] = [1, value], [value]
        return frame(labels, probs)

    return build


def set_prob(column: int, value: Any) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean()
        probs[BAD_ROW][column] = value
        probs[LATER_BAD_ROW][column] = value
        return frame(labels, probs)

    return build


def ragged(width: int) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean()
        probs[BAD_ROW] = probs[BAD_ROW][:width] + [0.5] * (width - K)
        probs[LATER_BAD_ROW] = [0.5] * width
        return frame(labels, probs)

    return build


def first_row_empty() -> pl.DataFrame:
    """Row 0 of pred_probs is [] and every other row has K values."""
    labels, probs = clean()
    labels[0], probs[0] = [], []
    return frame(labels, probs)


def enum_of_size(size: int) -> Callable[[], pl.DataFrame]:
    """Labels as an Enum of ``size`` categories (the class names), for pred_probs of K classes."""

    def build() -> pl.DataFrame:
        labels, probs = clean()
        names = [f"c{i}" for i in range(size)]
        return frame([[names[c] for c in row] for row in labels], probs, labels_dtype=pl.List(pl.Enum(names)))

    return build


def width_zero() -> pl.DataFrame:
    return frame([[] for _ in range(N_ROWS)], [[] for _ in range(N_ROWS)])


def labels_as(values: Callable[[list[Any]], Any], dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean()
        return frame([values(row) for row in labels], probs, labels_dtype=dtype)

    return build


def probs_as(values: Callable[[list[float]], Any], dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    def build() -> pl.DataFrame:
        labels, probs = clean()
        return frame(labels, [values(row) for row in probs], probs_dtype=dtype)

    return build


def named(unknown: str | None = None) -> Callable[[], pl.DataFrame]:
    """Labels given as class names; ``unknown`` replaces one name in BAD_ROW and LATER_BAD_ROW."""

    def build() -> pl.DataFrame:
        labels, probs = clean()
        rows = [[NAMES[c] for c in row] for row in labels]
        if unknown is not None:
            rows[BAD_ROW], rows[LATER_BAD_ROW] = ["dog", unknown], [unknown]
        return frame(rows, probs, labels_dtype=pl.List(pl.String))

    return build


def multi_hot(
    value: int | None = None, *, width: int = K, dtype: pl.DataType = pl.Int64()
) -> Callable[[], pl.DataFrame]:
    """Labels as K 0/1 entries per row; ``value`` at class 3 of the bad rows, or a bad row of ``width``."""

    def build() -> pl.DataFrame:
        labels, probs = clean()
        hot = np.zeros((N_ROWS, K), dtype=np.int64)
        for i, row in enumerate(labels):
            hot[i, row] = 1
        rows: list[Any] = hot.tolist()
        if value is not None:
            rows[BAD_ROW][3] = rows[LATER_BAD_ROW][3] = value
        if width != K:
            rows[BAD_ROW] = rows[BAD_ROW][:width] + [0] * (width - K)
            rows[LATER_BAD_ROW] = [0] * width
            return frame(rows, probs, labels_dtype=pl.List(dtype))
        return frame(rows, probs, labels_dtype=pl.Array(dtype, K))

    return build


def prob_columns(dtype: pl.DataType) -> Callable[[], pl.DataFrame]:
    """pred_probs as one column per class, p_0 ... p_4, instead of a List column."""

    def build() -> pl.DataFrame:
        labels, probs = clean()
        array = np.array(probs)
        base = frame(labels, probs).drop("probs")
        return base.with_columns(pl.Series(f"p_{k}", array[:, k]).cast(dtype) for k in range(K))

    return build


def later_row_groups_narrower() -> pl.DataFrame:
    """Rows 150 on, three whole row groups, have 4 probabilities instead of 5."""
    labels, probs = clean()
    for i in range(150, N_ROWS):
        probs[i] = probs[i][:4]
    return frame(labels, probs)


# ---------------------------------------------------------------------------- broken files
# Each writer gets the clean frame and a path ending in .parquet and writes something there.


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, row_group_size=ROW_GROUP)


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

ANY_ROW = "any"


@dataclass(frozen=True)
class Case:
    """One bad input and what every path must say about it."""

    name: str
    error: type[BaseException]
    words: str  # regex: what to fix, after "column '...', row N: " when those are given
    column: str | None = None  # the column the message names
    row: int | str | None = None  # BAD_ROW, ANY_ROW (some row) or None (no row: a whole-column problem)
    data: Callable[[], pl.DataFrame] = lambda: frame(*clean())
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments beyond the two columns
    ops: tuple[str, ...] = OPS
    numpy: bool = True  # expressible through the numpy API
    cli: tuple[str, ...] | None = ()  # extra command-line arguments; None: not expressible there
    cli_code: int = 1
    cli_words: str | None = None  # when the command line says it in its own words
    file: Callable[[pl.DataFrame, Path], None] | None = None  # the input is this broken file


def probs_value(value: str, column: int) -> str:
    return rf"pred_probs value {value} at class {column} is not a probability; values must be finite and in \[0, 1\]"


def label_range(value: int) -> str:
    return (
        rf"label {value} is not a class index; labels must be in \[0, {K - 1}\] \(K = {K} is the width of pred_probs\)"
    )


def _matrix(scores: np.ndarray, axis: int) -> np.ndarray:
    return scores


def _boom(scores: np.ndarray, axis: int) -> np.ndarray:
    raise RuntimeError("boom")


def _words(scores: np.ndarray, axis: int) -> list[str]:
    return ["x"] * len(scores)


PROBS_DTYPE = r"pred_probs must be a List or Array of Float32/Float64 \(one probability per class\); got dtype"
LABELS_DTYPE = r"labels must be a List of class indices \(e\.g\. \[0, 2\]\) or class names; got dtype"
ARGPARSE = r"polars-mlq \w+: error: argument "
COUNTS_REFUSED = ARGPARSE + r"--num-to-remove-per-class: must be comma-separated non-negative integers"
CANNOT_READ = r"IN \S+\.parquet: cannot read it as parquet: parquet: File out of specification"
SCORE, ISSUES = ("score",), ("issues",)
MULTI_HOT = {"labels_format": "multi_hot"}
EMA = "exponential_moving_average"


def aggregator(method: Any, **kwargs: Any) -> dict[str, Any]:
    return {"aggregator_kwargs": {"method": method, **kwargs}}


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
    # ---------------------------------------------------------------- scoring options
    Case(
        "method-unknown", ValueError,
        r"unknown method 'margin'; expected one of \['self_confidence', 'normalized_margin', "
        r"'confidence_weighted_entropy'\]",
        kwargs={"method": "margin"}, ops=SCORE, cli=("--method", "margin"), cli_code=2,
        cli_words=ARGPARSE + r"--method: invalid choice: 'margin'",
    ),
    Case("method-not-a-string", TypeError, r"method must be a string", kwargs={"method": 3}, ops=SCORE, cli=None),
    Case(
        "adjust-with-cwe", ValueError,
        r"adjust_pred_probs=True is not defined for method='confidence_weighted_entropy'",
        kwargs={"method": "confidence_weighted_entropy", "adjust_pred_probs": True}, ops=SCORE,
        cli=("--method", "confidence_weighted_entropy", "--adjust-pred-probs"),
    ),
    Case(
        "adjust-not-a-bool", TypeError, r"adjust_pred_probs must be True or False; got 'yes'",
        kwargs={"adjust_pred_probs": "yes"}, ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-unknown", ValueError,
        r"unknown aggregator 'mean'; expected one of \['exponential_moving_average', 'softmin'\] or a callable",
        kwargs=aggregator("mean"), ops=SCORE, cli=("--aggregator", "mean"), cli_code=2,
        cli_words=ARGPARSE + r"--aggregator: invalid choice: 'mean'",
    ),
    Case(
        "aggregator-without-method", ValueError, r"aggregator_kwargs needs a 'method' key",
        kwargs={"aggregator_kwargs": {"alpha": 0.5}}, ops=SCORE, cli=None,
    ),
    Case(
        "alpha-1.5", ValueError, r"alpha must be in the interval \[0, 1\]; got 1\.5", kwargs=aggregator(EMA, alpha=1.5),
        ops=SCORE, cli=("--alpha", "1.5"),
    ),
    Case(
        "alpha-minus-0.1", ValueError, r"alpha must be in the interval \[0, 1\]; got -0\.1",
        kwargs=aggregator(EMA, alpha=-0.1), ops=SCORE, cli=("--alpha=-0.1",),
    ),
    Case(
        "alpha-nan", ValueError, r"alpha must be in the interval \[0, 1\]; got nan",
        kwargs=aggregator(EMA, alpha=float("nan")), ops=SCORE, cli=("--alpha", "nan"),
    ),
    Case(
        "alpha-not-a-number", TypeError, r"alpha must be a number in \[0, 1\] or None; got '0\.5'",
        kwargs=aggregator(EMA, alpha="0.5"), ops=SCORE, cli=("--alpha", "half"), cli_code=2,
        cli_words=ARGPARSE + r"--alpha: invalid float value: 'half'",
    ),
    Case(
        "temperature-0", ValueError, r"temperature must be a positive finite number; got 0",
        kwargs=aggregator("softmin", temperature=0), ops=SCORE, cli=("--aggregator", "softmin", "--temperature", "0"),
    ),
    Case(
        "temperature-negative", ValueError, r"temperature must be a positive finite number; got -1\.0",
        kwargs=aggregator("softmin", temperature=-1.0), ops=SCORE, cli=("--temperature=-1",),
    ),
    Case(
        "temperature-inf", ValueError, r"temperature must be a positive finite number; got inf",
        kwargs=aggregator("softmin", temperature=float("inf")), ops=SCORE, cli=("--temperature", "inf"),
    ),
    Case(
        "softmin-given-alpha", ValueError,
        r"aggregator 'softmin' takes \['temperature'\]; unknown key\(s\) \['alpha'\]",
        kwargs=aggregator("softmin", alpha=0.3), ops=SCORE, cli=("--aggregator", "softmin", "--alpha", "0.3"),
        cli_words=r"--alpha is for --aggregator ema; softmin takes --temperature",
    ),
    Case(
        "aggregator-returns-a-matrix", ValueError,
        rf"aggregator _matrix must return an array of shape \({N_ROWS},\).*got shape \({N_ROWS}, {K}\)",
        kwargs=aggregator(_matrix), ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-raises", ValueError, r"aggregator _boom raised RuntimeError: boom", kwargs=aggregator(_boom),
        ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-returns-text", TypeError, r"aggregator _words must return one number per row",
        kwargs=aggregator(_words), ops=SCORE, cli=None,
    ),
    Case(
        "thresholds-of-another-K", ValueError, rf"thresholds have 3 classes but pred_probs have {K}",
        kwargs={"adjust_pred_probs": True, "thresholds": np.full((3, 2), 0.5)}, ops=SCORE, numpy=False, cli=None,
    ),
    Case(
        "thresholds-without-adjust", ValueError,
        r"thresholds= is only used with adjust_pred_probs=True; pass both or neither",
        kwargs={"thresholds": np.full((K, 2), 0.5)}, ops=SCORE, numpy=False, cli=None,
    ),
    Case(
        "thresholds-nan", ValueError, r"thresholds must be finite and in \[",
        kwargs={"adjust_pred_probs": True, "thresholds": np.full((K, 2), np.nan)}, ops=SCORE, numpy=False, cli=None,
    ),
    # ---------------------------------------------------------------- issue-finding options
    Case(
        "filter-by-unknown", ValueError, r"filter_by must be one of \['prune_by_noise_rate', 'prune_by_class', 'both',",
        kwargs={"filter_by": "prune"}, ops=ISSUES, cli=("--filter-by", "prune"), cli_code=2,
        cli_words=ARGPARSE + r"--filter-by: invalid choice: 'prune'",
    ),
    Case(
        "frac-noise-1.5", ValueError,
        r"frac_noise must be in \[0, 1\] \(the fraction of the estimated issues to return\); got 1\.5",
        kwargs={"frac_noise": 1.5}, ops=ISSUES, cli=("--frac-noise", "1.5"), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got '1\.5'",
    ),
    Case(
        "frac-noise-negative", ValueError, r"frac_noise must be in \[0, 1\].*; got -0\.1", kwargs={"frac_noise": -0.1},
        ops=ISSUES, cli=("--frac-noise=-0.1",), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got '-0\.1'",
    ),
    Case(
        "frac-noise-nan", ValueError, r"frac_noise must be in \[0, 1\].*; got nan", kwargs={"frac_noise": float("nan")},
        ops=ISSUES, cli=("--frac-noise", "nan"), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got 'nan'",
    ),
    Case(
        "frac-noise-not-a-number", TypeError, r"frac_noise must be a number in \[0, 1\]; got '0\.5'",
        kwargs={"frac_noise": "0.5"}, ops=ISSUES, cli=None,
    ),
    Case(
        "num-to-remove-wrong-length", ValueError,
        rf"num_to_remove_per_class must hold {K} non-negative integers \(one per class\); got \[1, 2\]",
        kwargs={"num_to_remove_per_class": [1, 2]}, ops=ISSUES, cli=("--num-to-remove-per-class", "1,2"),
    ),
    Case(
        "num-to-remove-negative", ValueError,
        rf"num_to_remove_per_class must hold {K} non-negative integers.*got \[1, 1, 1, 1, -1\]",
        kwargs={"num_to_remove_per_class": [1, 1, 1, 1, -1]}, ops=ISSUES,
        cli=("--num-to-remove-per-class=1,1,1,1,-1",), cli_code=2, cli_words=COUNTS_REFUSED,
    ),
    Case(
        "num-to-remove-fractions", ValueError, rf"num_to_remove_per_class must hold {K} non-negative integers",
        kwargs={"num_to_remove_per_class": [1.5, 1, 1, 1, 1]}, ops=ISSUES,
        cli=("--num-to-remove-per-class", "1.5,1,1,1,1"), cli_code=2, cli_words=COUNTS_REFUSED,
    ),
    Case(
        "num-to-remove-with-other-filter", ValueError,
        r"num_to_remove_per_class is only supported by filter_by in \['prune_by_noise_rate', 'prune_by_class', "
        r"'both'\]; got filter_by='confident_learning'",
        kwargs={"num_to_remove_per_class": [1] * K, "filter_by": "confident_learning"}, ops=ISSUES,
        cli=("--num-to-remove-per-class", "1,1,1,1,1", "--filter-by", "confident_learning"),
    ),
    Case(
        "min-examples-negative", ValueError, r"min_examples_per_class must be a non-negative integer; got -1",
        kwargs={"min_examples_per_class": -1}, ops=ISSUES, cli=("--min-examples-per-class=-1",), cli_code=2,
        cli_words=ARGPARSE + r"--min-examples-per-class: must be a non-negative integer; got '-1'",
    ),
    Case(
        "min-examples-fraction", ValueError, r"min_examples_per_class must be a non-negative integer; got 1\.5",
        kwargs={"min_examples_per_class": 1.5}, ops=ISSUES, cli=None,
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


def applies(case: Case, op: str, path: str) -> bool:
    if op not in case.ops:
        return False
    if path == "numpy":
        return case.numpy
    if path == "cli":
        return case.cli is not None
    return True


PARAMS = [
    pytest.param(name, op, path, id=f"{name}-{op}-{path}")
    for name, case in CATALOGUE.items()
    for op in OPS
    for path in PATHS
    if applies(case, op, path)
]


def test_the_catalogue_is_broad() -> None:
    """At least 40 distinct bad inputs through the frame paths, each through at least two paths,
    covering every path and op (and more that only the numpy functions can be given, below)."""
    assert len(CATALOGUE) >= 40
    runs: dict[str, set[str]] = {}
    for name, op, path in (p.values for p in PARAMS):
        runs.setdefault(name, set()).add(path)
    assert all(len(paths) >= 2 for paths in runs.values()), runs
    assert {p.values[2] for p in PARAMS} == set(PATHS)
    assert {p.values[1] for p in PARAMS} == set(OPS)


# --------------------------------------------------------------------------------------------
# running one case through one path
# --------------------------------------------------------------------------------------------

NAMESPACE_METHOD = {"score": "label_quality", "issues": "find_label_issues", "summary": "health_summary"}
NUMPY_FUNCTION = {
    "score": mlq.get_label_quality_scores,
    "issues": mlq.find_label_issues,
    "summary": mlq.multilabel_health_summary,
}


def library_kwargs(case: Case) -> dict[str, Any]:
    return {**COLUMNS, **case.kwargs}


def run_namespace(target: pl.DataFrame | pl.LazyFrame, op: str, engine: str | None, kwargs: dict[str, Any]) -> Any:
    result = getattr(target.mlq, NAMESPACE_METHOD[op])(**kwargs)
    if isinstance(result, pl.LazyFrame):
        return result.collect(engine=engine or "auto")
    return result


def input_file(case: Case, tmp_path: Path) -> Path:
    path = tmp_path / "in.parquet"
    if case.file is not None:
        case.file(case.data(), path)
    else:
        write_parquet(case.data(), path)
    return path


def run_library(case: Case, op: str, path: str, tmp_path: Path) -> None:
    kwargs = library_kwargs(case)
    if path == "lazy-streaming":
        run_namespace(pl.scan_parquet(input_file(case, tmp_path)), op, "streaming", kwargs)
        return
    df = pl.read_parquet(input_file(case, tmp_path)) if case.file is not None else case.data()
    if path == "eager":
        run_namespace(df, op, None, kwargs)
    elif path == "lazy-in-memory":
        run_namespace(df.lazy(), op, "in-memory", kwargs)
    else:
        assert path == "numpy"
        labels, pred_probs = df[kwargs.pop("labels")], df[kwargs.pop("pred_probs")]
        NUMPY_FUNCTION[op](labels, pred_probs, **kwargs)


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``polars-mlq ARGV`` in-process: the exit code and what it wrote to stderr."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse refuses its own options this way
            code = int(exc.code or 0)
    return code, err.getvalue()


def cli_argv(case: Case, op: str, source: Path, out: Path) -> list[str]:
    assert case.cli is not None
    command = [op, str(source)] + (["-o", str(out)] if op != "summary" else [])
    columns = CLI_COLUMNS[:2] if "--pred-probs-prefix" in case.cli else CLI_COLUMNS
    return [*command, *columns, *case.cli]


def exact_row(path: str) -> bool:
    """Whether the message can name the row's position in the whole frame.

    Eagerly it always does. On a LazyFrame the data are read batch by batch (the in-memory engine,
    too, hands a function one chunk at a time, and issue finding streams its passes): the message
    gives the position within the batch and says so.
    """
    return path in ("eager", "numpy")


def expected_message(case: Case, op: str, path: str, *, cli_line: bool = False) -> str:
    if cli_line and case.cli_words is not None:
        return case.cli_words
    where = ""
    if case.column is not None:
        where = rf"column '{case.column}'"
        if case.row is not None:
            if case.row == ANY_ROW or not exact_row(path):
                where += r", row \d+\b.*"
            else:
                where += rf", row {case.row}\b(?! of a streamed batch).*"
        else:
            where += r".*"
    return where + case.words


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "op", "path"), PARAMS)
def test_bad_input(name: str, op: str, path: str, tmp_path: Path) -> None:
    case = CATALOGUE[name]
    if path != "cli":
        with pytest.raises(case.error) as info:
            run_library(case, op, path, tmp_path)
        pattern = expected_message(case, op, path)
        assert re.search(pattern, str(info.value)), (
            f"{name} through {path}/{op}: the message\n  {info.value}\ndoes not match\n  {pattern}"
        )
        return
    source = input_file(case, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.parquet"
    code, stderr = run_cli(cli_argv(case, op, source, out))
    lines = stderr.splitlines()
    assert code == case.cli_code, (code, stderr)
    if case.cli_code == 1:
        assert len(lines) == 1 and lines[0].startswith("polars-mlq: error: "), stderr
    else:  # argparse: the usage, then one line naming the option
        assert lines and lines[0].startswith("usage: polars-mlq"), stderr
    pattern = expected_message(case, op, "cli", cli_line=True)
    assert re.search(pattern, lines[-1]), (
        f"{name} through the command line ({op}): the message\n  {lines[-1]}\ndoes not match\n  {pattern}"
    )
    assert "Traceback" not in stderr
    leftovers = sorted(p.name for p in out_dir.iterdir())
    assert leftovers == [], "a failed command leaves no output (nor a .part file) behind"


CLI_SAMPLE = [
    "label-equals-K", "probs-nan", "probs-ragged-short", "probs-column-missing", "alpha-1.5", "parquet-truncated",
    "parquet-corrupt-page",
]  # fmt: skip


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_sample_through_the_console_script(name: str, tmp_path: Path) -> None:
    """The installed script, in a subprocess, says exactly what cli.main says in-process."""
    case = CATALOGUE[name]
    op = case.ops[0]
    source = input_file(case, tmp_path)
    out = tmp_path / "out.parquet"
    argv = cli_argv(case, op, source, out)
    code, stderr = run_cli(argv)
    result = subprocess.run([console_script(), *argv], capture_output=True, text=True, timeout=120, check=False)
    assert (result.returncode, result.stderr) == (code, stderr)
    assert result.stdout == ""
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# bad input only the numpy-level functions can be given: Python lists and numpy-only options
# --------------------------------------------------------------------------------------------

P2 = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
L2 = [[0], [1], [0, 1]]
TRUE = np.bool_(True)
RANKED = {"return_indices_ranked_by": "self_confidence"}
JOINT = np.ones((2, 2, 2))


@dataclass(frozen=True)
class NumpyCase:
    """A call of a numpy-level function: ``function(labels, pred_probs, **kwargs)``."""

    error: type[BaseException]
    words: str
    function: Callable[..., Any]
    labels: Any = field(default_factory=lambda: L2)
    pred_probs: Any = field(default_factory=lambda: P2)
    kwargs: dict[str, Any] = field(default_factory=dict)


LIST_OF_LISTS = r"labels must be a list of lists of class indices or a polars Series; got "
NOT_INDICES = r"column 'labels'.*labels must be a List of class indices"
NUMPY_ONLY: dict[str, NumpyCase] = {
    "labels-not-a-list": NumpyCase(
        TypeError, LIST_OF_LISTS + "ndarray", mlq.get_label_quality_scores, np.array([0, 1, 0])
    ),
    "labels-a-string": NumpyCase(TypeError, LIST_OF_LISTS + "str", mlq.find_label_issues, "010"),
    "labels-row-a-set": NumpyCase(
        TypeError, r"labels, row 0: each row must be a list of class indices \(e\.g\. \[0, 2\]\); got \{0\}",
        mlq.get_label_quality_scores, [{0}, {1}, {0}],
    ),
    "labels-row-an-int": NumpyCase(
        TypeError, r"labels, row 1: each row must be a list of class indices", mlq.multilabel_health_summary,
        [[0], 1, [0]],
    ),
    "labels-beyond-int64": NumpyCase(
        ValueError,
        r"column 'labels', row 1: label 18446744073709551615 is not a class index; labels must be in \[0, 1\]",
        mlq.get_label_quality_scores, [[0], [2**64 - 1], [1]],
    ),
    "labels-bool-among-ints": NumpyCase(TypeError, NOT_INDICES, mlq.get_label_quality_scores, [[0], [True, 1], [1]]),
    "labels-numpy-bools": NumpyCase(TypeError, NOT_INDICES, mlq.find_label_issues, [[0], [TRUE], [1]]),
    "lengths-differ": NumpyCase(
        ValueError, r"labels \(2 rows\) and pred_probs \(3 rows\) differ in length", mlq.get_label_quality_scores,
        L2[:2],
    ),
    "probs-1-d": NumpyCase(
        ValueError, r"pred_probs must be a 2-D numpy array \(n_rows, n_classes\); got ndarray with shape \(3,\)",
        mlq.get_label_quality_scores, pred_probs=P2[:, 0],
    ),
    "probs-a-list": NumpyCase(
        TypeError, r"pred_probs must be a 2-D numpy array", mlq.find_label_issues, pred_probs=P2.tolist()
    ),
    "probs-float16-array": NumpyCase(
        TypeError, r"pred_probs must be float32 or float64 probabilities; got dtype float16",
        mlq.get_label_quality_scores, pred_probs=P2.astype(np.float16),
    ),
    "ranked-by-unknown": NumpyCase(
        ValueError, r"unknown method 'margin'; expected one of", mlq.find_label_issues,
        kwargs={"return_indices_ranked_by": "margin"},
    ),
    "rank-by-kwargs-unknown-key": NumpyCase(
        TypeError, r"rank_by_kwargs accepts only 'adjust_pred_probs'; got unknown key\(s\) \['alpha'\]",
        mlq.find_label_issues, kwargs={**RANKED, "rank_by_kwargs": {"alpha": 1}},
    ),
    "rank-by-kwargs-not-a-dict": NumpyCase(
        TypeError, r"rank_by_kwargs must be a dict", mlq.find_label_issues,
        kwargs={**RANKED, "rank_by_kwargs": ["adjust_pred_probs"]},
    ),
    "confident-joint-wrong-shape": NumpyCase(
        ValueError, r"confident_joint must have shape \(K, 2, 2\) = \(2, 2, 2\)", mlq.find_label_issues,
        kwargs={"confident_joint": np.ones((2, 2))},
    ),
    "confident-joint-negative": NumpyCase(
        ValueError, r"confident_joint must hold finite, non-negative counts", mlq.common_multilabel_issues,
        kwargs={"confident_joint": -JOINT},
    ),
    "joint-and-confident-joint": NumpyCase(
        ValueError, r"give at most one of joint and confident_joint", mlq.rank_classes_by_multilabel_quality,
        kwargs={"joint": JOINT, "confident_joint": JOINT},
    ),
}


@pytest.mark.parametrize("name", list(NUMPY_ONLY))
def test_bad_input_numpy_only(name: str) -> None:
    case = NUMPY_ONLY[name]
    with pytest.raises(case.error, match=case.words):
        case.function(case.labels, case.pred_probs, **case.kwargs)


# --------------------------------------------------------------------------------------------
# what is not bad input
# --------------------------------------------------------------------------------------------


def empty_frame() -> pl.DataFrame:
    return frame([], []).with_columns(pl.col("probs").cast(pl.Array(pl.Float64, K)))


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
        code, stderr = run_cli([op, str(tmp_path / "in.parquet"), "-o", str(out), *CLI_COLUMNS])
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
    labels, probs = clean()
    labels[BAD_ROW], probs[LATER_BAD_ROW] = None, None
    df = frame(labels, probs)
    if path == "eager":
        scored, flagged = df.mlq.label_quality(**COLUMNS), df.mlq.find_label_issues(**COLUMNS)
    else:
        df.write_parquet(tmp_path / "in.parquet", row_group_size=ROW_GROUP)
        lf = pl.scan_parquet(tmp_path / "in.parquet")
        scored = lf.mlq.label_quality(**COLUMNS).collect(engine="streaming")
        flagged = lf.mlq.find_label_issues(**COLUMNS).collect(engine="streaming")
    assert scored["label_quality"].is_null().arg_true().to_list() == [BAD_ROW, LATER_BAD_ROW]
    assert flagged["is_label_issue"].is_null().arg_true().to_list() == [BAD_ROW, LATER_BAD_ROW]
