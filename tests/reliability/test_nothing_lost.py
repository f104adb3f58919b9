"""Nothing lost: every row comes back, in order, with every input column unchanged; inputs are never mutated.

Properties over generated frames (hypothesis): any number of rows (none too), any K, labels as
indices of every integer width, class names, an Enum or multi-hot rows, pred_probs as a List, an
Array or one Float column per class, Float32 or Float64, null rows, values within the 1e-6
tolerance outside [0, 1] (clipped inside, never in the input), and, around them, columns of every
kind a user's frame has (text with nulls, floats with NaN/inf/-0.0, lists, structs, datetimes,
booleans) in a random order. Each property is checked through

* the eager and lazy (in-memory and streaming) paths, for scoring (aggregated and per class) and
  issue finding (per row and per class), and a bare expression (eager and streamed);
* ``scan_parquet`` → ``.mlq`` → ``sink_parquet`` over a file of several row groups;
* the command line (``polars-mlq score`` and ``issues``) on such a file;

and the frames, Series and numpy arrays given as input must be unchanged afterwards (checked
against a byte-for-byte snapshot, and numpy arrays are passed read-only so that a write raises).
Fixed frames and arrays, with values just outside [0, 1], are not mutated either.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import polars as pl
import polars.selectors as cs
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

import polars_mlq as mlq
from polars_mlq.core import FILTERS

NAMES = ["cat", "dog", "fox", "owl", "yak", "emu", "elk", "gnu"]
#: Batches this small cut even a 40-row frame into several streamed batches.
CHUNK = 7
K = helpers.K


# --------------------------------------------------------------------------------------------
# generated frames
# --------------------------------------------------------------------------------------------


class Table:
    """A user's frame and how to point polars-mlq at its two columns (printed as its recipe)."""

    def __init__(
        self, df: pl.DataFrame, labels: str, pred_probs: str | list[str], options: dict[str, Any], recipe: str = ""
    ) -> None:
        self.df, self.labels, self.pred_probs, self.options, self.recipe = df, labels, pred_probs, options, recipe

    def __repr__(self) -> str:
        return self.recipe or f"Table({self.df.shape})"

    @property
    def kwargs(self) -> dict[str, Any]:
        """labels=, pred_probs= and the options (class_names, labels_format) for the .mlq methods."""
        return {"labels": self.labels, "pred_probs": self.pred_probs, **self.options}


def make_table(
    seed: int,
    n: int,
    k: int,
    *,
    label_form: str,
    label_dtype: str,
    probs_form: str,
    float_dtype: str,
    null_frac: float,
    edge_frac: float,
) -> Table:
    """Deterministic from its arguments (hypothesis prints them to reproduce a failure)."""
    rng = np.random.default_rng(seed)
    y = rng.random((n, k)) < rng.uniform(0.05, 0.7, k)
    probs = rng.random((n, k))
    edges = rng.random((n, k)) < edge_frac
    probs[edges] = rng.choice([0.0, 1.0, 1 + 5e-7, -5e-7, 1 + 1e-6, -1e-6], int(edges.sum()))
    fdtype = pl.Float32 if float_dtype == "Float32" else pl.Float64
    label_null = rng.random(n) < null_frac
    probs_null = (rng.random(n) < null_frac) if probs_form != "columns" else np.zeros(n, dtype=bool)

    options: dict[str, Any] = {}
    rows: list[Any] = []
    for i in range(n):
        classes = np.flatnonzero(y[i]).tolist()
        rng.shuffle(classes)
        rows.append(None if label_null[i] else classes)
    if label_form == "indices":
        labels = pl.Series("given", rows, dtype=pl.List(getattr(pl, label_dtype)))
    elif label_form == "names":
        names = [None if r is None else [NAMES[c] for c in r] for r in rows]
        labels = pl.Series("given", names, dtype=pl.List(pl.String))
        options["class_names"] = NAMES[:k]
    elif label_form == "enum":
        enum = pl.Enum(NAMES[:k])
        labels = pl.Series("given", [None if r is None else [NAMES[c] for c in r] for r in rows], dtype=pl.List(enum))
    else:
        hot = [None if label_null[i] else y[i].tolist() for i in range(n)]
        labels = pl.Series("given", hot, dtype=pl.Array(pl.Boolean, k))
        options["labels_format"] = "multi_hot"

    prob_rows = [None if probs_null[i] else probs[i].tolist() for i in range(n)]
    extra = {
        "id": pl.Series("id", np.arange(n), dtype=pl.Int64),
        "text": pl.Series("text", [None if i % 5 == 3 else f"row {i} · ü" for i in range(n)]),
        "x": pl.Series("x", rng.choice([0.5, np.nan, np.inf, -0.0, 1e300], n)).set(pl.Series(rng.random(n) < 0.1), None)
        if n
        else pl.Series("x", [], dtype=pl.Float64),
        "tags": pl.Series(
            "tags", [[f"t{j}" for j in range(i % 3)] if i % 4 else None for i in range(n)], dtype=pl.List(pl.String)
        ),
        "nested": pl.Series(
            "nested", [{"a": i, "b": [float(i), None]} if i % 6 else None for i in range(n)],
            dtype=pl.Struct({"a": pl.Int32, "b": pl.List(pl.Float32)}),
        ),
        "when": pl.Series("when", (np.arange(n) * 1_000_000).astype("datetime64[us]")).cast(pl.Datetime("us")),
        "flag": pl.Series("flag", [None if i % 7 == 0 else i % 2 == 0 for i in range(n)], dtype=pl.Boolean),
        "given": labels,
    }
    pred_probs: str | list[str]
    if probs_form == "columns":
        pred_probs = [f"p_{c}" for c in range(k)]
        for c in range(k):
            extra[f"p_{c}"] = pl.Series(f"p_{c}", probs[:, c], dtype=fdtype)
    else:
        pred_probs = "model"
        dtype = pl.Array(fdtype, k) if probs_form == "array" else pl.List(fdtype)
        extra["model"] = pl.Series("model", prob_rows, dtype=dtype)
    order = rng.permutation(len(extra))
    names = list(extra)
    df = pl.DataFrame([extra[names[j]] for j in order])
    return Table(df, "given", pred_probs, options)


@st.composite
def tables(draw: st.DrawFn, *, label_forms: tuple[str, ...] = ("indices", "names", "enum", "multi_hot")) -> Table:
    n = draw(st.one_of(st.integers(0, 3), st.integers(4, 40), st.integers(41, 300)))
    k = draw(st.integers(1, 8))
    params = {
        "label_form": draw(st.sampled_from(label_forms)),
        "label_dtype": draw(st.sampled_from(["Int8", "UInt8", "Int32", "Int64", "UInt64"])),
        "probs_form": draw(st.sampled_from(["list", "array", "columns"])),
        "float_dtype": draw(st.sampled_from(["Float32", "Float64"])),
        "null_frac": draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])),
        "edge_frac": draw(st.sampled_from([0.0, 0.05, 0.3])),
    }
    seed = draw(st.integers(0, 2**32 - 1))
    table = make_table(seed, n, k, **params)
    recipe = f"make_table({seed}, {n}, {k}, " + ", ".join(f"{key}={value!r}" for key, value in params.items()) + ")"
    return Table(table.df, table.labels, table.pred_probs, table.options, recipe)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def unless_no_rows() -> Iterator[None]:
    """Summaries of data without a row to count raise (docs/error-model.md); nothing else may."""
    try:
        yield
    except ValueError as error:
        if "no rows with labels" not in str(error):
            raise


def snapshot(df: pl.DataFrame) -> pl.DataFrame:
    """A copy that shares no memory with ``df`` (``clone`` would share its buffers)."""
    buffer = io.BytesIO()
    df.write_ipc(buffer)
    buffer.seek(0)
    return pl.read_ipc(buffer)


def assert_kept(out: pl.DataFrame, df: pl.DataFrame, new: str) -> None:
    """Exactly the input's rows, in order, every input column unchanged, then the new column."""
    assert out.columns == [*df.columns, new]
    assert out.height == df.height
    assert_frame_equal(out.drop(new), df, check_exact=True)


OPTIONS = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["self_confidence", "normalized_margin", "confidence_weighted_entropy"]),
        "adjust_pred_probs": st.booleans(),
    }
).map(lambda o: {**o, "adjust_pred_probs": o["adjust_pred_probs"] and o["method"] != "confidence_weighted_entropy"})
FILTER_BY = st.sampled_from(list(FILTERS))


def operations(table: Table, options: dict[str, Any], filter_by: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """.mlq method -> (the column it adds, its keyword arguments)."""
    kw = table.kwargs
    return {
        "label_quality": ("label_quality", {**kw, **options}),
        "label_quality_per_class": ("label_quality_per_class", {**kw, **options}),
        "find_label_issues": ("is_label_issue", {**kw, "filter_by": filter_by}),
        "find_label_issues_per_class": ("is_label_issue_per_class", {**kw, "filter_by": filter_by}),
    }


OPERATIONS = ["label_quality", "label_quality_per_class", "find_label_issues", "find_label_issues_per_class"]


# --------------------------------------------------------------------------------------------
# 1. frames: eager, lazy, bare expression
# --------------------------------------------------------------------------------------------


# (a Parquet file in, a Parquet file out: test_sink_parquet_keeps_every_row_and_column below)
@pytest.mark.parametrize(
    "every_path", ("eager", "lazy-in-memory", "lazy-streaming", "expr", "expr-streaming"), indirect=True
)
@given(table=tables(), options=OPTIONS, filter_by=FILTER_BY)
def test_frames_keep_every_row_and_column(
    every_path: helpers.EntryPoint, table: Table, options: dict[str, Any], filter_by: str
) -> None:
    df = table.df
    before = snapshot(df)
    if every_path.name.startswith("expr"):  # a bare expression scores; issue finding takes whole-frame passes
        expr_kw = {"labels": table.labels, "pred_probs": table.pred_probs, **table.options, **options}
        assert_kept(every_path.run(df, "label_quality", **expr_kw, name="q"), df, "q")
    else:
        for name, (new, kwargs) in operations(table, options, filter_by).items():
            note(f"{name} via {every_path.name}")
            assert_kept(every_path.run(df, name, **kwargs), df, new)
    assert_frame_equal(df, before, check_exact=True)


@given(table=tables())
def test_summaries_do_not_touch_the_frame(table: Table) -> None:
    df = table.df
    before = snapshot(df)
    kw = {key: value for key, value in table.kwargs.items()}
    for source in (df, df.lazy()):
        with unless_no_rows():
            source.mlq.health_summary(**kw)
        mlq.confident_thresholds(source, **kw)
    assert_frame_equal(df, before, check_exact=True)


# --------------------------------------------------------------------------------------------
# 2. scan_parquet -> .mlq -> sink_parquet, several row groups
# --------------------------------------------------------------------------------------------


@settings(max_examples=15)
@given(
    table=tables(),
    row_group=st.sampled_from([1, 3, 7, 50]),
    options=OPTIONS,
    filter_by=FILTER_BY,
    op=st.sampled_from(OPERATIONS),
)
def test_sink_parquet_keeps_every_row_and_column(
    tmp_path_factory: pytest.TempPathFactory,
    table: Table,
    row_group: int,
    options: dict[str, Any],
    filter_by: str,
    op: str,
) -> None:
    folder = tmp_path_factory.mktemp("sink")
    source, target = folder / "in.parquet", folder / "out.parquet"
    table.df.write_parquet(source, row_group_size=row_group)
    original = pl.read_parquet(source)
    new, kwargs = operations(table, options, filter_by)[op]
    getattr(pl.scan_parquet(source).mlq, op)(**kwargs).sink_parquet(target)
    assert_kept(pl.read_parquet(target), original, new)
    assert_frame_equal(pl.read_parquet(source), original, check_exact=True)


# --------------------------------------------------------------------------------------------
# 3. the command line
# --------------------------------------------------------------------------------------------


def run_cli(*argv: str) -> None:
    code, stderr = helpers.run_cli_main(list(argv))
    assert code == 0, stderr


def cli_columns(table: Table) -> list[str]:
    args = ["--labels", table.labels]
    if isinstance(table.pred_probs, list):
        args += ["--pred-probs-prefix", "p_"]
    else:
        args += ["--pred-probs", table.pred_probs]
    if "class_names" in table.options:
        args += ["--classes", ",".join(table.options["class_names"])]
    return args


@settings(max_examples=15)
@given(
    table=tables(label_forms=("indices", "names")),
    row_group=st.sampled_from([1, 5, 50]),
    command=st.sampled_from(["score", "issues"]),
    fmt=st.sampled_from(["parquet", "arrow"]),
)
def test_command_line_keeps_every_row_and_column(
    tmp_path_factory: pytest.TempPathFactory, table: Table, row_group: int, command: str, fmt: str
) -> None:
    folder = tmp_path_factory.mktemp("cli")
    source, target = folder / "in.parquet", folder / f"out.{fmt}"
    table.df.write_parquet(source, row_group_size=row_group)
    original = pl.read_parquet(source)
    run_cli(command, str(source), "-o", str(target), *cli_columns(table))
    out = pl.read_parquet(target) if fmt == "parquet" else pl.read_ipc(target)
    new = ["label_quality"] if command == "score" else ["is_label_issue", "label_quality"]
    assert out.columns == [*original.columns, *new]
    assert_frame_equal(out.drop(new), original, check_exact=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted([source.name, target.name])


def test_command_line_issues_reads_class_names(tmp_path: Path) -> None:
    """``polars-mlq issues --classes ...`` on labels given as class names (a valid input)."""
    table = make_table(
        3, 60, 4, label_form="names", label_dtype="Int64", probs_form="list", float_dtype="Float64", null_frac=0.0,
        edge_frac=0.0,
    )
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    table.df.write_parquet(source)
    run_cli("issues", str(source), "-o", str(target), *cli_columns(table))
    expected = table.df.mlq.find_label_issues(**table.kwargs)["is_label_issue"]
    assert_series_equal(pl.read_parquet(target)["is_label_issue"], expected)


# --------------------------------------------------------------------------------------------
# 4. numpy arrays, lists and Series given to the numpy-level functions are never mutated
# --------------------------------------------------------------------------------------------


def every_numpy_function(labels: Any, probs: Any, joint: np.ndarray) -> None:
    mlq.get_label_quality_scores(labels, probs)
    mlq.get_label_quality_scores(labels, probs, method="normalized_margin", adjust_pred_probs=True)
    mlq.get_label_quality_scores(
        labels, probs, method="confidence_weighted_entropy", aggregator_kwargs={"method": "softmin"}
    )
    mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": np.median})
    mlq.get_label_quality_scores_per_class(labels, probs, adjust_pred_probs=True)
    mlq.find_label_issues(labels, probs)
    mlq.find_label_issues(labels, probs, filter_by="low_self_confidence")
    mlq.find_label_issues(
        labels, probs, return_indices_ranked_by="self_confidence", rank_by_kwargs={"adjust_pred_probs": True}
    )
    mlq.find_label_issues(labels, probs, confident_joint=joint, filter_by="both", frac_noise=0.5)
    mlq.find_multilabel_issues_per_class(labels, probs)
    mlq.find_multilabel_issues_per_class(labels, probs, return_indices_ranked_by="normalized_margin")
    mlq.common_multilabel_issues(labels, probs, confident_joint=joint)
    mlq.rank_classes_by_multilabel_quality(labels, probs, joint=joint)
    with unless_no_rows():
        mlq.overall_multilabel_health_score(labels, probs)
    with unless_no_rows():
        mlq.multilabel_health_summary(labels, probs)


@given(data=helpers.datasets(max_n=120, max_k=12), tolerance_seed=st.integers(0, 2**32 - 1))
def test_numpy_inputs_are_never_mutated(data: Any, tolerance_seed: int) -> None:
    labels = [list(row) for row in data.labels]
    probs = data.probs.copy()
    # a few values within the tolerance outside [0, 1]: they are clipped, in a copy
    rng = np.random.default_rng(tolerance_seed)
    edges = rng.random(probs.shape) < 0.05
    probs[edges] = rng.choice(np.array([1 + 5e-7, -5e-7], dtype=probs.dtype), int(edges.sum()))
    k = probs.shape[1]
    joint = np.random.default_rng(tolerance_seed).integers(0, len(labels) + 1, (k, 2, 2))

    labels_before, probs_before, joint_before = copy.deepcopy(labels), probs.copy(), joint.copy()
    for array in (probs, joint):
        array.setflags(write=False)  # any write into the input raises
    every_numpy_function(labels, probs, joint)
    assert labels == labels_before
    np.testing.assert_array_equal(probs, probs_before, strict=True)
    np.testing.assert_array_equal(joint, joint_before, strict=True)

    # polars Series as input: unchanged as well
    labels_series = pl.Series("labels", labels, dtype=pl.List(pl.Int64))
    probs_series = pl.Series("pred_probs", probs_before)  # Array(Float, K)
    expected_labels, expected_probs = labels_series.to_list(), probs_series.to_numpy().copy()
    every_numpy_function(labels_series, probs_series, joint)
    assert labels_series.to_list() == expected_labels
    np.testing.assert_array_equal(probs_series.to_numpy(), expected_probs, strict=True)
    # a 2-D multi-hot array of labels, read-only
    hot = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        hot[i, row] = True
    hot_before = hot.copy()
    hot.setflags(write=False)
    mlq.get_label_quality_scores(hot, probs, labels_format="multi_hot")
    mlq.find_label_issues(hot, probs, labels_format="multi_hot")
    np.testing.assert_array_equal(hot, hot_before, strict=True)


def test_selector_pred_probs_keep_every_column() -> None:
    """pred_probs given as a selector: the Float columns it picks come back untouched too."""
    table = make_table(
        1, 50, 3, label_form="indices", label_dtype="Int64", probs_form="columns", float_dtype="Float32",
        null_frac=0.1, edge_frac=0.3,
    )
    df = table.df
    before = snapshot(df)
    out = df.mlq.label_quality(table.labels, cs.starts_with("p_"))
    assert_kept(out, df, "label_quality")
    out = df.lazy().mlq.find_label_issues(table.labels, cs.starts_with("p_")).collect(engine="streaming")
    assert_kept(out, df, "is_label_issue")
    assert_frame_equal(df, before, check_exact=True)


# --------------------------------------------------------------------------------------------
# 5. fixed frames and arrays, with values inside the tolerance outside [0, 1], are not mutated
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
def test_input_frames_not_mutated(kind: str, adjust: bool, scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    probs = probs.copy()
    probs[0, 0], probs[1, 1] = 1 + 5e-7, -5e-7  # clipped inside: the frame must keep them
    df = helpers.scoring_frame(labels, probs, kind=kind, float_dtype=pl.Float64())
    before = df.clone()
    df.mlq.label_quality(adjust_pred_probs=adjust)
    df.mlq.label_quality_per_class(adjust_pred_probs=adjust)
    df.lazy().mlq.label_quality(adjust_pred_probs=adjust).collect(engine="streaming")
    df.with_columns(mlq.label_quality(adjust_pred_probs=adjust))
    df.with_columns(mlq.label_quality_per_class(adjust_pred_probs=adjust, num_classes=K))
    mlq.confident_thresholds(df)
    mlq.get_label_quality_scores(df["labels"], df["pred_probs"], adjust_pred_probs=adjust)
    assert_frame_equal(df, before)
    assert df["pred_probs"].to_list()[0][0] == 1 + 5e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_arrays_not_mutated(dtype: type, scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    probs = probs.astype(dtype)
    probs[0, 0], probs[1, 1] = dtype(1 + 5e-7), dtype(-5e-7)  # inside the tolerance: clipped in a copy
    labels_before = [list(row) for row in labels]
    probs_before = probs.copy()
    for adjust in (False, True):
        mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=adjust)
        mlq.get_label_quality_scores_per_class(labels, probs, adjust_pred_probs=adjust)
    mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": np.median})
    np.testing.assert_array_equal(probs, probs_before)
    assert labels == labels_before
    # a read-only array is fine: nothing is written into the input
    readonly = probs_before.copy()
    readonly.setflags(write=False)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(labels, readonly), mlq.get_label_quality_scores(labels, probs_before)
    )
