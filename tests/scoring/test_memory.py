"""Freed memory given back between streamed sparse batches (``polars_mlq.scoring.memory``)."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

import polars_mlq  # noqa: F401 - the .mlq namespace
from polars_mlq import sparse_expressions
from polars_mlq.issues import sparse_frames
from polars_mlq.scoring import memory


def test_the_allocator_is_asked_where_glibc_has_malloc_trim() -> None:
    asked = memory.release_freed_memory()
    if sys.platform == "linux":
        assert asked  # this machine's C library is glibc
    assert asked == (memory._malloc_trim() is not None)


def test_each_streamed_sparse_batch_gives_back_what_it_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(sparse_expressions, "release_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(sparse_frames, "release_freed_memory", lambda: calls.append(2) or True)
    rng = np.random.default_rng(0)
    n = 3000
    classes = [sorted(rng.choice(50, 4, replace=False).tolist()) for _ in range(n)]
    frame = pl.DataFrame(
        {"labels": [row[:1] for row in classes], "probs": rng.uniform(0, 1, (n, 4)).tolist(), "classes": classes}
    )
    sparse = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": 50}
    with pl.Config(streaming_chunk_size=500):
        scored = frame.lazy().mlq.label_quality(**sparse).collect(engine="streaming")
        flagged = frame.lazy().mlq.find_label_issues(**sparse).collect(engine="streaming")
    assert scored.height == flagged.height == n
    assert calls.count(1) >= 2  # once a batch
    assert calls.count(2) >= 2
