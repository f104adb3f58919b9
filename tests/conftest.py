"""Shared pytest configuration: hypothesis profiles and the fixtures several test modules use.

Hypothesis profiles:

* ``ci`` (the default): no deadline (cleanlab and polars calls have unpredictable latency on a busy
  machine), a bounded number of examples, so the suite stays fast, drawn the same way on every
  run (``derandomize``), so a result does not depend on the draw. New examples come from the
  ``fuzz`` profile (random, many more), whose finds become fixed cases.
* ``fuzz``: many more examples, for a long local run::

      HYPOTHESIS_PROFILE=fuzz python -m pytest tests/compat/test_scores_vs_cleanlab_generated.py

Fixtures:

* ``every_path``: runs a test once per entry point (``helpers.EntryPoint``): the eager DataFrame,
  a LazyFrame streamed in small batches, a Parquet scan of small row groups, the bare expression
  and the numpy function (``helpers.EVERY_PATH``). A test narrows or widens the list with
  ``@pytest.mark.parametrize("every_path", helpers.FRAME_PATHS, indirect=True)`` (any names of
  ``helpers.PATHS``). A module sets ``CHUNK`` (rows per streamed batch) or ``ROW_GROUP`` (rows per
  Parquet row group) to change the defaults of ``helpers``.
* ``small_batches``: the streaming engine cuts frames into batches of the module's ``CHUNK`` rows
  (``helpers.CHUNK`` by default) for the test; it yields that size.
* ``scoring_data``: 600 rows, 5 classes (``helpers.labels_and_probs(0)``): labels with empty,
  duplicated and unsorted rows, probabilities with exact 0s and 1s. Shared by every test; the
  array is read-only.
* ``demo``: the demo dataset of ``polars-mlq demo`` (a DataFrame).
* ``udf_batches`` and ``threshold_batches``: the sizes of the batches the scoring UDF and the
  threshold pass read.
* ``always_threads`` and ``never_threads``: the scoring kernels on three threads for any input,
  or always on one.
* ``ray_cluster``: one local Ray cluster (2 CPUs) for the session, started by the first test that
  asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import helpers
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, settings

import polars_mlq.core.frames as mlq_frames
import polars_mlq.expressions as mlq_expressions
from polars_mlq.cli import load_demo
from polars_mlq.scoring import threads as _threads

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,  # the same examples on every run: a landing never hinges on a lucky draw
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=helpers.EVERY_PATH)
def every_path(request: pytest.FixtureRequest) -> helpers.EntryPoint:
    """One entry point per test (module-scoped, so hypothesis tests can use it too)."""
    chunk = getattr(request.module, "CHUNK", helpers.CHUNK)
    row_group = getattr(request.module, "ROW_GROUP", helpers.ROW_GROUP)
    return helpers.EntryPoint(request.param, chunk=chunk, row_group=row_group)


@pytest.fixture
def small_batches(request: pytest.FixtureRequest) -> Iterator[int]:
    chunk = getattr(request.module, "CHUNK", helpers.CHUNK)
    with pl.Config(streaming_chunk_size=chunk):
        yield chunk


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scoring_data() -> tuple[list[list[int]], np.ndarray]:
    labels, probs = helpers.labels_and_probs(0)
    probs.setflags(write=False)  # shared by every test: copy before changing it
    return labels, probs


@pytest.fixture(scope="session")
def demo() -> pl.DataFrame:
    return load_demo()[0]


# --------------------------------------------------------------------------------------------
# recorders and switches
# --------------------------------------------------------------------------------------------


def _record_read_batch(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[int]:
    """Record the number of rows of every batch ``module.read_batch`` reads."""
    sizes: list[int] = []
    original = module.read_batch

    def recording(labels: pl.Series, pred_probs: pl.Series, **kw: Any) -> Any:
        sizes.append(len(labels))
        return original(labels, pred_probs, **kw)

    monkeypatch.setattr(module, "read_batch", recording)
    return sizes


@pytest.fixture
def udf_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of rows of every batch the scoring UDF reads."""
    return _record_read_batch(monkeypatch, mlq_expressions)


@pytest.fixture
def threshold_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of rows of every batch the threshold pass (pass 1) reads."""
    return _record_read_batch(monkeypatch, mlq_frames)


@pytest.fixture
def always_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_threads, "thread_count", lambda: 3)


@pytest.fixture
def never_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 62)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray cluster (2 CPUs, no dashboard) for the session; shut down after the last test."""
    import ray  # only the tests that use Ray import it

    if not ray.is_initialized():  # a docs page may have started it
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
