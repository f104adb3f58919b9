"""Issue finding and summaries on a LazyFrame: streaming passes plus an elementwise flag expression.

The eager DataFrame path equals cleanlab (tests/test_issues.py; checked again here on the same
data). On data without exact ties (continuous probabilities) the LazyFrame path, streamed in small
batches or through a Parquet file with many row groups, must give the eager result bit for bit;
with ties at a cutoff it flags every tied entry (docs/differences-from-cleanlab.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq import _issue_frames, _issues, _lazy_issues
from polars_mlq._columns import LabelSpec, read_batch

N, K = 1500, 5
CHUNK = 97  # streaming chunk size: many small batches
ROW_GROUP = 200
FILTERS = list(_issues.FILTERS)
PRUNE = list(_issues.PRUNE_FILTERS)
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


def lazy_results(df: pl.DataFrame, path: Path, method: str, **kwargs: Any) -> Iterator[pl.DataFrame]:
    """The method on a LazyFrame: in-memory source streamed in small batches, then a Parquet
    scan sunk to Parquet."""
    with pl.Config(streaming_chunk_size=CHUNK):
        yield getattr(df.lazy().mlq, method)(**kwargs).collect(engine="streaming")
        out = path.with_name(f"{path.stem}_out.parquet")
        getattr(pl.scan_parquet(path).mlq, method)(**kwargs).sink_parquet(out)
        yield pl.read_parquet(out)


# ------------------------------------------------------------------------------- exact means


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("node", [128, 1000, 1 << 13])
def test_pairwise_sum_is_numpys_mean(dtype: type, node: int) -> None:
    """numpy 2.4 sums a contiguous array in one pairwise tree, numpy 2.0 per block of
    np.getbufsize() values; either way the streamed sum is numpy's, bit for bit."""
    rng = np.random.default_rng(node)
    for length in [0, 1, 7, 8, 9, 127, 128, 129, 136, 255, 1000, 4099, 8192, 8193, 30001, 70001]:
        x = (rng.random(length + 3) * rng.choice([1.0, 1e-3, 1e4], length + 3)).astype(dtype)[3:]
        summer = _lazy_issues.PairwiseSum(length, np.dtype(dtype), node=node)
        start = 0
        while start < length:
            step = int(rng.integers(1, 3 * node))
            summer.feed(x[start : start + step])
            start += step
        assert summer.total == np.add.reduce(x)
        if length:
            assert summer.mean() == float(np.mean(x))


def test_streamed_thresholds_and_joint_equal_eager() -> None:
    """Float32 data large enough that some probabilities fall between the threshold bounds of
    pass 1: they are decided with the exact thresholds of pass 2."""
    df = make_frame(3, 60_000, 8, np.float32, nulls=False)
    pb = _issues.problems(read_batch(df["labels"], df["pred_probs"]))
    parts = [
        _issues.problems(read_batch(df["labels"][i : i + 5000], df["pred_probs"][i : i + 5000]))
        for i in range(0, df.height, 5000)
    ]
    stats = _lazy_issues._Statistics(8, sums=True, candidates=False, rows=False)
    for part in parts:
        stats.add(part)
    low, high = stats.threshold_bounds()
    means = _lazy_issues.GroupMeans(stats.counts[:, 0], stats.counts[:, 1], stats.dtype)
    bounds = _lazy_issues._Boundaries.between(stats.dtype, low, high)
    counter = _lazy_issues._JointCounter(bounds)
    for part in parts:
        means.add(part)
        counter.add(part)
    _, cuts, _ = _issues.finish_thresholds(stats.dtype, *means.means())
    exact = _issues.BinaryThresholds(pb, exact=True)
    assert np.array_equal(cuts, exact.cuts)
    assert np.all((low <= cuts) & (cuts <= high))
    b1, b0 = _lazy_issues.guess_bounds(stats.dtype, cuts[:, 0], cuts[:, 1])
    assert bounds.contains(b1, b0)
    assert sum(entry[1].size for entry in counter.band) > 0  # the band is exercised
    assert np.array_equal(counter.joint(b1, b0), _issues.confident_joint(pb, _issues.BinaryThresholds(pb)))


# ------------------------------------------------------------------------------- flags


@pytest.mark.parametrize(("filter_by", "options"), CONFIGS, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CONFIGS])
@pytest.mark.parametrize("per_class", [False, True], ids=["rows", "per_class"])
def test_lazy_flags_equal_eager(
    data: tuple[pl.DataFrame, Path], filter_by: str, options: dict[str, Any], per_class: bool
) -> None:
    df, path = data
    method = "find_label_issues_per_class" if per_class else "find_label_issues"
    name = "is_label_issue_per_class" if per_class else "is_label_issue"
    eager = getattr(df.mlq, method)(filter_by=filter_by, **options)
    assert eager[name].null_count() > 0  # null rows stay null
    flagged = eager[name].cast(pl.List(pl.Boolean)).list.sum().sum() if per_class else eager[name].sum()
    assert flagged > 0 or (filter_by == "both" and "num_to_remove_per_class" in options)
    for lazy in lazy_results(df, path, method, filter_by=filter_by, **options):
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
        if filter_by not in _issues.LOW_FILTERS:
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


def test_lazy_summaries_equal_eager(data: tuple[pl.DataFrame, Path]) -> None:
    df, path = data
    expected = df.mlq.health_summary(class_names=[f"c{j}" for j in range(K)])
    with pl.Config(streaming_chunk_size=CHUNK):
        for lf in (df.lazy(), pl.scan_parquet(path)):
            assert lf.mlq.common_issues().equals(df.mlq.common_issues())
            assert lf.mlq.rank_classes().equals(df.mlq.rank_classes())
            assert lf.mlq.health_score() == df.mlq.health_score()
            summary = lf.mlq.health_summary(class_names=[f"c{j}" for j in range(K)])
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
        stream, pass_read, udf_read = _lazy_issues.stream_problems, _lazy_issues.read_batch, _issue_frames.read_batch

        def counted_stream(*args: Any, **kwargs: Any) -> Any:
            self.passes += 1
            return stream(*args, **kwargs)

        def pass_batch(labels: pl.Series, *args: Any, **kwargs: Any) -> Any:
            self.pass_rows.append(len(labels))
            return pass_read(labels, *args, **kwargs)

        def udf_batch(labels: pl.Series, *args: Any, **kwargs: Any) -> Any:
            self.udf_rows.append(len(labels))
            return udf_read(labels, *args, **kwargs)

        monkeypatch.setattr(_lazy_issues, "stream_problems", counted_stream)
        monkeypatch.setattr(_lazy_issues, "read_batch", pass_batch)
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
    expected_passes = 0 if filter_by == "predicted_neq_given" else 2
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


@pytest.mark.parametrize(
    ("filter_by", "per_class"),
    [("prune_by_noise_rate", False), ("both", True), ("low_self_confidence", False), ("low_normalized_margin", True)],
)
def test_wrong_threshold_bounds_fall_back_to_a_third_pass(
    filter_by: str, per_class: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result never depends on the error bounds of pass 1: with wrong bounds, a third pass
    counts with the exact thresholds."""
    df = make_frame(5, 800, 4, np.float32)

    def wrong(dtype: Any, total: np.ndarray, count: np.ndarray, terms: int) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.where(count > 0, total / count * 1.01, np.nan)
        return off, off

    monkeypatch.setattr(_lazy_issues, "_mean_bounds", wrong)
    seen = Recorder(monkeypatch)
    method = "find_label_issues_per_class" if per_class else "find_label_issues"
    name = "is_label_issue_per_class" if per_class else "is_label_issue"
    with pl.Config(streaming_chunk_size=CHUNK):
        lazy = getattr(df.lazy().mlq, method)(filter_by=filter_by).collect(engine="streaming")
    assert seen.passes == 3
    assert lazy[name].equals(getattr(df.mlq, method)(filter_by=filter_by)[name])
    seen.passes = 0
    assert df.lazy().mlq.health_score() == df.mlq.health_score()
    assert seen.passes == 3


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
    ("options", "eager_count", "tied"),
    [
        # m = 2 of the 4 tied labelled entries of class 0: cleanlab takes 2 (any 2), we take all 4
        ({"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": [2, 0]}, 2, range(60, 64)),
        # confident learning flags rows 60-63; the 4 lowest row scores cut into 7 equal ones
        ({"filter_by": "low_self_confidence"}, 4, range(60, 67)),
    ],
)
def test_ties_at_a_cutoff_flag_every_tied_entry(options: dict[str, Any], eager_count: int, tied: range) -> None:
    df = tied_frame()
    eager = df.mlq.find_label_issues(**options)["is_label_issue"].to_numpy()
    lazy = df.lazy().mlq.find_label_issues(**options).collect(engine="streaming")["is_label_issue"].to_numpy()
    assert eager.sum() == eager_count
    assert np.flatnonzero(lazy).tolist() == list(tied)
    assert np.all(lazy[eager])  # the lazy flags contain the eager ones


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
    with pytest.raises(ValueError, match="streamed batch"):
        lf.mlq.find_label_issues()
    with pytest.raises(ValueError, match="streamed batch"):
        lf.mlq.common_issues()


def test_stream_problems_slices_large_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lazy_issues, "_BATCH_ELEMENTS", 4)
    df = make_frame(1, 3000, 3, np.float64, nulls=False)
    sizes = [pb.n for pb in _lazy_issues.stream_problems(df.lazy(), pl.col("labels"), pl.col("pred_probs"), 3, LabelSpec())]
    assert sum(sizes) == 3000
    assert max(sizes) == 1024
