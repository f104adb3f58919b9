"""Issue finding and summaries on a LazyFrame (``polars_mlq.issues.frames``): streaming passes plus an
elementwise flag expression.

The eager DataFrame path equals cleanlab (tests/compat/test_issues_vs_cleanlab.py; checked again
here on the same data). On data without exact ties (continuous probabilities) the LazyFrame path, streamed in small
batches or through a Parquet file with many row groups, must give the eager result bit for bit;
with ties at a cutoff it flags every tied entry (docs/differences-from-cleanlab.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import polars as pl
import pytest

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq import core
from polars_mlq.core import frames as core_frames
from polars_mlq.input import LabelSpec
from polars_mlq.issues import frames as _issue_frames

N, K = 1500, 5
CHUNK = 97  # streaming chunk size: many small batches
ROW_GROUP = 200
FILTERS = list(core.FILTERS)
PRUNE = list(core.PRUNE_FILTERS)
CONFIGS = (
    [(f, {}) for f in FILTERS]
    + [(f, {"frac_noise": 0.6}) for f in PRUNE]
    + [(f, {"min_examples_per_class": 300}) for f in PRUNE]
    + [(f, {"num_to_remove_per_class": [3, 0, 12, 5, 1]}) for f in PRUNE]
)


def make_frame(seed: int, n: int, k: int, dtype: type, *, nulls: bool = True) -> pl.DataFrame:
    """Multi-label data with planted label errors and continuous probabilities (no exact ties)."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < rng.uniform(0.1, 0.5, k)
    logits = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, 1.0, (n, k)) + rng.normal(0, 1, (n, k))
    probs = (1.0 / (1.0 + np.exp(-logits))).astype(dtype)
    given = truth ^ (rng.random((n, k)) < 0.12)
    labels: list[list[int] | None] = [np.flatnonzero(row).tolist() for row in given]
    inner = pl.Float32 if dtype == np.float32 else pl.Float64
    df = pl.DataFrame(
        {"labels": labels, "pred_probs": probs, "id": np.arange(n)},
        schema={"labels": pl.List(pl.Int64), "pred_probs": pl.Array(inner, k), "id": pl.Int64},
    )
    if nulls:
        df = df.with_columns(
            pl.when(pl.col("id") % 97 == 5).then(None).otherwise(pl.col("labels")).alias("labels"),
            pl.when(pl.col("id") % 89 == 7).then(None).otherwise(pl.col("pred_probs")).alias("pred_probs"),
        )
    return df


@pytest.fixture(scope="module", params=["float64", "float32"])
def data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    dtype = np.float64 if request.param == "float64" else np.float32
    df = make_frame(11, N, K, dtype)
    path = tmp_path_factory.mktemp("lazy") / f"data_{request.param}.parquet"
    df.write_parquet(path, row_group_size=ROW_GROUP)
    assert pl.read_parquet_schema(path)["pred_probs"] == df.schema["pred_probs"]
    return df, path


#: The LazyFrame paths: an in-memory source streamed in small batches, and a Parquet scan (row
#: groups of ROW_GROUP rows) sunk to Parquet.
LAZY_PATHS = ("lazy-streaming", "parquet")


@pytest.fixture(scope="module")
def eager_results(data: tuple[pl.DataFrame, Path]) -> dict[tuple[str, ...], pl.DataFrame]:
    """The eager result of each method and options on ``data``, computed once for every lazy path."""
    return {}


# ------------------------------------------------------------------------------- flags


@pytest.mark.parametrize("every_path", LAZY_PATHS, indirect=True)
@pytest.mark.parametrize(("filter_by", "options"), CONFIGS, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CONFIGS])
@pytest.mark.parametrize("per_class", [False, True], ids=["rows", "per_class"])
def test_lazy_flags_equal_eager(
    data: tuple[pl.DataFrame, Path],
    filter_by: str,
    options: dict[str, Any],
    per_class: bool,
    every_path: helpers.EntryPoint,
    eager_results: dict[tuple[str, ...], pl.DataFrame],
) -> None:
    df, _ = data
    method = "find_label_issues_per_class" if per_class else "find_label_issues"
    name = "is_label_issue_per_class" if per_class else "is_label_issue"
    key = (method, filter_by, repr(options))
    if key not in eager_results:
        eager_results[key] = getattr(df.mlq, method)(filter_by=filter_by, **options)
    eager = eager_results[key]
    assert eager[name].null_count() > 0  # null rows stay null
    flagged = eager[name].cast(pl.List(pl.Boolean)).list.sum().sum() if per_class else eager[name].sum()
    assert flagged > 0 or (filter_by == "both" and "num_to_remove_per_class" in options)
    lazy = every_path.run(df, method, filter_by=filter_by, **options)
    assert lazy.columns == eager.columns
    assert lazy[name].dtype == eager[name].dtype
    assert lazy[name].equals(eager[name]), (filter_by, options)


def test_eager_equals_cleanlab(data: tuple[pl.DataFrame, Path]) -> None:
    """The reference of the lazy tests is cleanlab's answer (on the rows without nulls)."""
    cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
    df, _ = data
    full = df.drop_nulls(["labels", "pred_probs"])
    labels, probs = full["labels"].to_list(), full["pred_probs"].to_numpy()
    for filter_by in FILTERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mask = cl_filter.find_label_issues(labels, probs, filter_by=filter_by, n_jobs=1)
            per_class = cl_filter.find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, n_jobs=1)
        assert np.array_equal(full.mlq.find_label_issues(filter_by=filter_by)["is_label_issue"].to_numpy(), mask)
        if filter_by not in core.LOW_FILTERS:
            ours = full.mlq.find_label_issues_per_class(filter_by=filter_by)["is_label_issue_per_class"].to_numpy()
            assert np.array_equal(ours, np.asarray(per_class))


def test_lazy_flags_with_class_names_and_list_probs(data: tuple[pl.DataFrame, Path]) -> None:
    """Labels as names and pred_probs as a List column (K read from the first row)."""
    df, _ = data
    names = [f"c{j}" for j in range(K)]
    df = df.with_columns(
        pl.col("labels").list.eval(pl.format("c{}", pl.element())),
        pl.col("pred_probs").arr.to_list(),
    )
    eager = df.mlq.find_label_issues(class_names=names)
    with pl.Config(streaming_chunk_size=CHUNK):
        lazy = df.lazy().mlq.find_label_issues(class_names=names).collect(engine="streaming")
    assert lazy.equals(eager)


# ------------------------------------------------------------------------------- summaries


@pytest.mark.parametrize("every_path", LAZY_PATHS, indirect=True)
def test_lazy_summaries_equal_eager(data: tuple[pl.DataFrame, Path], every_path: helpers.EntryPoint) -> None:
    df, _ = data
    expected = df.mlq.health_summary(class_names=[f"c{j}" for j in range(K)])
    assert every_path.run(df, "common_issues").equals(df.mlq.common_issues())
    assert every_path.run(df, "rank_classes").equals(df.mlq.rank_classes())
    assert every_path.run(df, "health_score") == df.mlq.health_score()
    summary = every_path.run(df, "health_summary", class_names=[f"c{j}" for j in range(K)])
    assert summary["overall_multilabel_health_score"] == expected["overall_multilabel_health_score"]
    for key in ("classes_by_multilabel_quality", "common_multilabel_issues"):
        assert summary[key].equals(expected[key])


# ------------------------------------------------------------------------------- streaming


class Recorder:
    """Counts the streaming passes and the rows of every batch the passes and the UDF read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes = 0
        self.pass_rows: list[int] = []
        self.udf_rows: list[int] = []
        self._in_pass = False
        stream, pass_read, udf_read = _issue_frames.stream_chunks, core_frames.read_batch, _issue_frames.read_batch

        def counted_stream(*args: Any, **kwargs: Any) -> Any:
            source = stream(*args, **kwargs)

            def counted() -> Iterator[Any]:
                self.passes += 1
                self._in_pass = True
                try:
                    yield from source()
                finally:
                    self._in_pass = False

            return counted

        def pass_batch(labels: pl.Series, *args: Any, **kwargs: Any) -> Any:
            self.pass_rows.append(len(labels))
            return pass_read(labels, *args, **kwargs)

        def udf_batch(labels: pl.Series, *args: Any, **kwargs: Any) -> Any:
            self.udf_rows.append(len(labels))
            return udf_read(labels, *args, **kwargs)

        monkeypatch.setattr(_issue_frames, "stream_chunks", counted_stream)
        monkeypatch.setattr(core_frames, "read_batch", pass_batch)
        monkeypatch.setattr(_issue_frames, "read_batch", udf_batch)


def _no_collect(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the LazyFrame path must not collect the query")


@pytest.mark.parametrize("filter_by", FILTERS)
def test_lazy_path_streams_and_never_collects(
    data: tuple[pl.DataFrame, Path], filter_by: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    df, path = data
    seen = Recorder(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(pl.LazyFrame, "collect", _no_collect)
        plan = pl.scan_parquet(path).mlq.find_label_issues(filter_by=filter_by)
    expected_passes = {"predicted_neq_given": 0, "confident_learning": 1}.get(filter_by, 2)
    if filter_by in core.LOW_FILTERS:
        expected_passes = 3
    assert seen.passes == expected_passes
    assert sum(seen.pass_rows) == expected_passes * N
    assert max(seen.pass_rows, default=0) <= ROW_GROUP  # one row group at a time
    with pl.Config(streaming_chunk_size=CHUNK):
        plan.sink_parquet(tmp_path / "out.parquet")
    assert sum(seen.udf_rows) == N
    assert len(seen.udf_rows) >= N // ROW_GROUP
    assert max(seen.udf_rows) < N
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out["is_label_issue"].equals(df.mlq.find_label_issues(filter_by=filter_by)["is_label_issue"])


def test_lazy_summaries_take_two_passes(data: tuple[pl.DataFrame, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, path = data
    seen = Recorder(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(pl.LazyFrame, "collect", _no_collect)
        pl.scan_parquet(path).mlq.health_summary()
    assert seen.passes == 2
    assert seen.udf_rows == []
    assert max(seen.pass_rows) <= ROW_GROUP


# ------------------------------------------------------------------------------- ties and edges


def tied_frame() -> pl.DataFrame:
    """Rows 60-63 are identical, labelled 0 with p = 0.1 (confidently absent); rows 64-66 have the
    same row score (labelled 1 with p = 0.1, which agrees with class 1's low threshold)."""
    rng = np.random.default_rng(5)
    rows: list[tuple[list[int], list[float]]] = []
    rows += [([], [rng.uniform(0.02, 0.3), rng.uniform(0.0, 0.02)]) for _ in range(30)]
    rows += [([0], [rng.uniform(0.7, 0.98), rng.uniform(0.0, 0.02)]) for _ in range(30)]
    rows += [([0], [0.1, 0.2]) for _ in range(4)]
    rows += [([1], [0.2, 0.1]) for _ in range(3)]
    return pl.DataFrame(
        {"labels": [r[0] for r in rows], "pred_probs": [r[1] for r in rows]},
        schema={"labels": pl.List(pl.Int64), "pred_probs": pl.Array(pl.Float64, 2)},
    )


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        # m = 2 of the 4 tied labelled entries of class 0: the earliest two rows
        ({"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": [2, 0]}, [60, 61]),
        # confident learning flags rows 60-63; the 4 lowest row scores cut into 7 equal ones
        ({"filter_by": "low_self_confidence"}, [60, 61, 62, 63]),
    ],
)
def test_ties_at_a_cutoff_go_to_the_earliest_rows(options: dict[str, Any], flagged: list[int]) -> None:
    df = tied_frame()
    eager = df.mlq.find_label_issues(**options)["is_label_issue"].to_numpy()
    assert np.flatnonzero(eager).tolist() == flagged
    for size in (1, 7, 1000):
        with pl.Config(streaming_chunk_size=size):
            lazy = df.lazy().mlq.find_label_issues(**options).collect(engine="streaming")["is_label_issue"]
        assert np.flatnonzero(lazy.to_numpy()).tolist() == flagged
    pieces = pl.concat([df.slice(0, 13).lazy(), df.slice(13, 50).lazy(), df.slice(63, 10).lazy()])
    lazy = pieces.mlq.find_label_issues(**options).collect(engine="streaming")["is_label_issue"]
    assert np.flatnonzero(lazy.to_numpy()).tolist() == flagged


def test_no_scored_row(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {"labels": [[0], None], "pred_probs": [None, None]},
        schema={"labels": pl.List(pl.Int64), "pred_probs": pl.List(pl.Float64)},
    )
    for method in ("find_label_issues", "find_label_issues_per_class"):
        assert getattr(df.lazy().mlq, method)().collect().equals(getattr(df.mlq, method)())
    with pytest.raises(ValueError, match="no rows with labels"):
        df.lazy().mlq.health_score()
    df = df.with_columns(pl.Series("pred_probs", [[0.3, 0.6], None]))
    assert df.lazy().mlq.find_label_issues().collect().equals(df.mlq.find_label_issues())
    assert df.lazy().mlq.health_score() == df.mlq.health_score()


def test_errors_surface_in_the_first_pass() -> None:
    lf = pl.LazyFrame({"labels": [[0], [3]], "pred_probs": [[0.2, 0.8], [0.6, 0.4]]})
    with pytest.raises(ValueError, match=r"row 1\b"):
        lf.mlq.find_label_issues()
    with pytest.raises(ValueError, match=r"row 1\b"):
        lf.mlq.common_issues()


def test_stream_chunks_slices_large_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_frames, "_BATCH_ELEMENTS", 4)
    df = make_frame(1, 3000, 3, np.float64, nulls=False)
    source = core_frames.stream_chunks(df.lazy(), pl.col("labels"), pl.col("pred_probs"), 3, LabelSpec())
    chunks = list(source())
    assert sum(c.problems.n for c in chunks) == 3000
    assert max(c.problems.n for c in chunks) == 1024
    assert np.array_equal(np.concatenate([c.rows for c in chunks]), np.arange(3000))
