"""The same query collected from several Python threads at once returns identical results.

polars runs a query on its own thread pool and calls polars-mlq's Python functions from those
threads; several Python threads collecting at once interleave all of that. Each query below is
built once, run alone for the reference, then collected by THREADS threads released together by a
barrier, ROUNDS times; every result must equal the reference exactly (bit for bit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_mlq as mlq

THREADS = 8
ROUNDS = 2
N_ROWS = 4_000
K = 7


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet file of 4,000 rows in row groups of 250 (16 streamed batches), with null rows."""
    rng = np.random.default_rng(11)
    y = rng.random((N_ROWS, K)) < rng.uniform(0.05, 0.5, K)
    logits = np.where(y, 1.0, -1.0) * rng.gamma(2.0, 1.0, (N_ROWS, K)) + rng.normal(0, 1, (N_ROWS, K))
    probs = 1 / (1 + np.exp(-logits))
    flips = rng.random((N_ROWS, K)) < 0.05
    labels: list[Any] = [np.flatnonzero(row).tolist() for row in y ^ flips]
    for i in rng.choice(N_ROWS, 40, replace=False):
        labels[i] = None
    df = pl.DataFrame(
        {
            "id": np.arange(N_ROWS),
            "labels": pl.Series(labels, dtype=pl.List(pl.Int64)),
            "pred_probs": pl.Series(probs, dtype=pl.Array(pl.Float64, K)),
        }
    )
    path = tmp_path_factory.mktemp("concurrency") / "data.parquet"
    df.write_parquet(path, row_group_size=250)
    return path


def _min(scores: np.ndarray, axis: int) -> np.ndarray:
    return scores.min(axis=axis)


def queries(path: Path) -> dict[str, Callable[[], Any]]:
    """name -> a function running one query; LazyFrames are built once, outside the threads."""
    lf = pl.scan_parquet(path)
    df = pl.read_parquet(path)
    labels = df["labels"].to_list()
    probs = df["pred_probs"].to_numpy()
    ok = [i for i, row in enumerate(labels) if row is not None]
    kept_labels, kept_probs = [labels[i] for i in ok], probs[ok]

    scored = lf.mlq.label_quality()
    adjusted = lf.mlq.label_quality(method="normalized_margin", adjust_pred_probs=True)  # pass 1 runs here
    per_class = lf.mlq.label_quality_per_class(method="confidence_weighted_entropy")
    softmin = lf.mlq.label_quality(aggregator_kwargs={"method": "softmin", "temperature": 0.05})
    callable_aggregator = lf.mlq.label_quality(aggregator_kwargs={"method": _min})
    expression = lf.with_columns(
        mlq.label_quality(num_classes=K).alias("q"), mlq.label_quality_per_class(num_classes=K)
    )
    issues = lf.mlq.find_label_issues(filter_by="both")
    issues_per_class = lf.mlq.find_label_issues_per_class(filter_by="low_self_confidence")
    return {
        "streaming score": lambda: scored.collect(engine="streaming"),
        "in-memory score": lambda: scored.collect(engine="in-memory"),
        "two-pass adjust": lambda: adjusted.collect(engine="streaming"),
        "adjust built in the thread": lambda: lf.mlq.label_quality(adjust_pred_probs=True).collect(engine="streaming"),
        "per class": lambda: per_class.collect(engine="streaming"),
        "softmin": lambda: softmin.collect(engine="streaming"),
        "callable aggregator": lambda: callable_aggregator.collect(engine="streaming"),
        "bare expressions": lambda: expression.collect(engine="streaming"),
        "eager": lambda: df.mlq.label_quality(adjust_pred_probs=True),
        "find_label_issues": lambda: issues.collect(engine="streaming"),
        "find_label_issues_per_class": lambda: issues_per_class.collect(engine="streaming"),
        "health_summary": lambda: lf.mlq.health_summary(),
        "confident_thresholds": lambda: mlq.confident_thresholds(lf),
        "numpy scores": lambda: mlq.get_label_quality_scores(kept_labels, kept_probs, adjust_pred_probs=True),
        "numpy issues": lambda: mlq.find_label_issues(
            kept_labels, kept_probs, return_indices_ranked_by="self_confidence"
        ),
        "numpy summary": lambda: mlq.multilabel_health_summary(kept_labels, kept_probs, verbose=False),
    }


QUERY_NAMES = [
    "streaming score", "in-memory score", "two-pass adjust", "adjust built in the thread", "per class", "softmin",
    "callable aggregator", "bare expressions", "eager", "find_label_issues", "find_label_issues_per_class",
    "health_summary", "confident_thresholds", "numpy scores", "numpy issues", "numpy summary",
]  # fmt: skip


def test_every_query_is_run(source: Path) -> None:
    assert list(queries(source)) == QUERY_NAMES


def assert_identical(got: Any, expected: Any, what: str) -> None:
    if isinstance(expected, pl.DataFrame):
        assert_frame_equal(got, expected, check_exact=True)
    elif isinstance(expected, dict):
        assert got.keys() == expected.keys(), what
        for key in expected:
            assert_identical(got[key], expected[key], f"{what}[{key!r}]")
    elif isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(got, expected, strict=True, err_msg=what)
    else:
        assert got == expected, what


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_same_query_from_several_threads(name: str, source: Path) -> None:
    run = queries(source)[name]
    expected = run()
    barrier = threading.Barrier(THREADS)

    def worker(_: int) -> list[Any]:
        results = []
        for _ in range(ROUNDS):
            barrier.wait(timeout=60)
            results.append(run())
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, i) for i in range(THREADS)]
        results = [result for future in futures for result in future.result(timeout=120)]
    assert len(results) == THREADS * ROUNDS
    for i, got in enumerate(results):
        assert_identical(got, expected, f"{name}, result {i}")


def test_different_queries_at_once(source: Path) -> None:
    """Every query at the same time, each in its own thread: still the results of running alone."""
    runs = queries(source)
    expected = {name: run() for name, run in runs.items()}
    barrier = threading.Barrier(len(runs))

    def worker(name: str) -> Any:
        barrier.wait(timeout=60)
        return runs[name]()

    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {name: pool.submit(worker, name) for name in runs}
        for name, future in futures.items():
            assert_identical(future.result(timeout=120), expected[name], name)


def test_sink_parquet_from_several_threads(source: Path, tmp_path: Path) -> None:
    """Several threads streaming the same plan to their own files write the same file contents."""
    plan = pl.scan_parquet(source).mlq.label_quality(adjust_pred_probs=True)
    expected = plan.collect(engine="streaming")
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> Path:
        target = tmp_path / f"out{i}.parquet"
        barrier.wait(timeout=60)
        plan.sink_parquet(target)
        return target

    with ThreadPoolExecutor(THREADS) as pool:
        targets = list(pool.map(worker, range(THREADS), timeout=120))
    for target in targets:
        assert_frame_equal(pl.read_parquet(target), expected, check_exact=True)
