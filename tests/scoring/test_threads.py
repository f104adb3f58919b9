"""The scoring kernels on threads (``polars_mlq.scoring.threads``): row ranges, scratch buffers, errors, fork.

Scores on threads equal the scores on one thread bit for bit, and cleanlab's; none of these tests
times anything.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import helpers
import numpy as np
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.scoring import threads as _threads

CONFIGS = helpers.SCORING_OPTIONS


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: str(o) or "default")
@pytest.mark.parametrize("k", [3, 40, 400])
def test_threads_give_the_single_thread_scores_bit_for_bit(
    options: dict, k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels, probs = helpers.kernel_data(2_000, k, seed=k)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 62)
    single = mlq.get_label_quality_scores(labels, probs, **options)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_threads, "thread_count", lambda: 3)
    threaded = mlq.get_label_quality_scores(labels, probs, **options)
    np.testing.assert_array_equal(threaded, single)
    np.testing.assert_allclose(threaded, cleanlab_scores(labels, probs, **options), rtol=0, atol=1e-12)


@pytest.mark.usefixtures("always_threads")
def test_per_class_scores_on_threads_match_cleanlab() -> None:
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    labels, probs = helpers.kernel_data(1_500, 30)
    for method in ("self_confidence", "normalized_margin", "confidence_weighted_entropy"):
        ours = mlq.get_label_quality_scores_per_class(labels, probs, method=method)
        np.testing.assert_allclose(
            ours, get_label_quality_scores_per_class(labels, probs, method=method), rtol=0, atol=1e-12
        )


@given(st.integers(0, 10_000), st.integers(1, 9))
def test_split_rows_covers_every_row_once_in_order(n_rows: int, parts: int) -> None:
    ranges = _threads.split_rows(n_rows, parts)
    assert [a for a, _ in ranges[1:]] == [b for _, b in ranges[:-1]]
    assert (ranges[0][0], ranges[-1][1]) == (0, n_rows) if n_rows else ranges == []
    assert len(ranges) == min(parts, n_rows)
    sizes = [b - a for a, b in ranges]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_run_ranges_raises_the_earliest_ranges_error_after_every_range_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "thread_count", lambda: 4)
    finished: list[int] = []
    lock = threading.Lock()

    def fill(start: int, stop: int) -> None:
        if start > 0:
            with lock:
                finished.append(start)
            raise ValueError(f"range at {start}")

    with pytest.raises(ValueError, match="range at 25"):
        _threads.run_ranges(100, 1 << 20, fill)
    assert sorted(finished) == [25, 50, 75]


@pytest.mark.usefixtures("always_threads")
@given(st.integers(0, 300), st.integers(1, 40))
def test_run_blocks_fills_every_block_once(n_rows: int, step: int) -> None:
    """Blocks of ``step`` rows, the last one short, each filled once, on three threads."""
    filled: list[tuple[int, int]] = []
    _threads.run_blocks(n_rows, 1, step, lambda a, b: filled.append((a, b)) is None)
    assert sorted(filled) == [(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("workers", [1, 3])
def test_run_blocks_stops_taking_blocks_once_one_says_stop(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """Blocks are taken in order, so the blocks that ran are a prefix: every block before the one
    that said stop, and on one thread none after it; on three, those taken before it said so
    (each of the others a few milliseconds, far from the hundred blocks)."""
    monkeypatch.setattr(_threads, "thread_count", lambda: workers)
    ran: list[int] = []

    def fill(start: int, stop: int) -> bool:
        ran.append(start)
        if start != 20:
            time.sleep(0.002)
        return start != 20

    _threads.run_blocks(1_000, 1, 10, fill)
    blocks = sorted(a // 10 for a in ran)
    assert blocks == list(range(len(blocks)))
    assert 2 in blocks
    assert len(blocks) == 3 if workers == 1 else len(blocks) < 100


@pytest.mark.usefixtures("always_threads")
def test_run_blocks_raises_the_earliest_blocks_error_after_every_taken_block_ended() -> None:
    ended: list[int] = []
    lock = threading.Lock()

    def fill(start: int, stop: int) -> bool:
        time.sleep(0.02 if start == 50 else 0.001)  # blocks after 50 are taken while it runs: 70 raises first
        with lock:
            ended.append(start)
        if start in (50, 70):
            raise (ValueError if start == 50 else KeyError)(f"block at {start}")
        return True

    with pytest.raises(ValueError, match="block at 50"):
        _threads.run_blocks(1_000, 1, 10, fill)
    assert sorted(ended) == list(range(0, max(ended) + 10, 10))  # a prefix, each taken block ended
    assert max(ended) < 990  # the threads stopped taking blocks


@pytest.mark.usefixtures("always_threads")
def test_a_slow_thread_takes_fewer_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread slowed down (here the calling one, 50 ms a block against 1 ms) takes the blocks it
    can: the others take the rest instead of waiting for a fixed share of it (10 of 20 blocks
    each on two threads)."""
    monkeypatch.setattr(_threads, "thread_count", lambda: 2)
    caller = threading.get_ident()
    by_caller: list[int] = []

    def fill(start: int, stop: int) -> bool:
        if threading.get_ident() == caller:
            by_caller.append(start)
            time.sleep(0.05)
        else:
            time.sleep(0.001)
        return True

    _threads.run_blocks(200, 1, 10, fill)
    assert 1 <= len(by_caller) <= 5


def test_scratch_is_reused_per_thread_and_not_shared() -> None:
    first = _threads.scratch("t", (10, 4), np.float64)
    again = _threads.scratch("t", (5, 4), np.float64)
    assert np.shares_memory(first, again)
    assert not np.shares_memory(first, _threads.scratch("u", (10, 4), np.float64))
    assert _threads.scratch("t", (3, 3), np.float32).dtype == np.float32
    other: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: other.append(_threads.scratch("t", (10, 4), np.float64)))
    thread.start()
    thread.join()
    assert not np.shares_memory(first, other[0])


def _sum_ranges() -> np.ndarray:
    out = np.zeros(1_000)
    data = np.arange(1_000.0)

    def fill(start: int, stop: int) -> None:
        out[start:stop] = np.sort(data[start:stop])[::-1] * 2

    _threads.run_ranges(1_000, 1 << 20, fill)
    return out


def _ranges_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(_sum_ranges())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads (Python >= 3.12)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # polars' warning about fork
def test_a_forked_child_runs_ranges_on_threads_after_the_parent_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "thread_count", lambda: 2)
    expected = _sum_ranges()  # the parent's pool and its threads now exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_ranges_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)  # a child that kept the parent's dead pool would hang here
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


def test_thread_limit_caps_the_ranges_inside_the_block_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_available", lambda: 4)
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def fill(start: int, stop: int) -> None:
        with lock:
            seen.append((start, stop))

    n = _threads.PARALLEL_MIN_ELEMENTS  # one class: just enough entries for threads
    with _threads.thread_limit(1):
        assert _threads.thread_count() == 1
        _threads.run_ranges(n, 1, fill)
    assert seen == [(0, n)]
    seen.clear()
    with _threads.thread_limit(3):
        assert _threads.thread_count() == 3
        _threads.run_ranges(n, 1, fill)
    assert sorted(seen) == _threads.split_rows(n, 3)
    assert _threads.thread_count() == 4  # the cap ends with the block
