"""Running the row-block kernels on several cores.

numpy releases the GIL inside its sorts and most ufunc loops, so threads that each take row
blocks overlap well (the per-row sort dominates the scoring). The scoring kernels' threads take
the next block as they free up (``run_blocks``); the dataset statistics, whose partials are kept
per thread, split the rows into one contiguous range per thread (``run_ranges``). The number of
threads is polars' own (``pl.thread_pool_size()``, set with ``POLARS_MAX_THREADS``), so one knob
bounds both libraries. The calling thread works too.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import DTypeLike

#: Below this many (row, class) entries a batch is scored on the calling thread alone: waking
#: another thread can cost a few hundred microseconds on a virtual machine whose idle core sleeps.
PARALLEL_MIN_ELEMENTS = 1 << 18

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:  # a forked child has the pool object but not its threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


#: A cap on the threads, set for the duration of a call (``thread_limit``); None: no cap.
_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar("polars_mlq_thread_limit", default=None)


def _available() -> int:
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))


def thread_count() -> int:
    """Return the number of threads to score on: polars' pool size, at most the CPU count and the cap."""
    count = _available()
    cap = _limit.get()
    return count if cap is None else max(1, min(count, cap))


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Score on at most ``threads`` threads inside the block (None: no cap); results do not change."""
    token = _limit.set(threads)
    try:
        yield
    finally:
        _limit.reset(token)


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="polars-mlq")
        return _pool


def split_rows(n_rows: int, parts: int) -> list[tuple[int, int]]:
    """Return ``parts`` contiguous (start, stop) ranges of about equal size covering 0..n_rows."""
    parts = max(1, min(parts, n_rows))
    cuts = [n_rows * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def run_ranges(n_rows: int, num_classes: int, fill: Callable[[int, int], None]) -> None:
    """Call ``fill(start, stop)`` on ranges covering rows 0..n_rows, in parallel when worth it.

    Every range is waited for; if several raise, the exception of the earliest range wins.
    """
    workers = thread_count() if n_rows * num_classes >= PARALLEL_MIN_ELEMENTS else 1
    ranges = split_rows(n_rows, workers)
    if len(ranges) <= 1:
        for start, stop in ranges:
            fill(start, stop)
        return
    pool = _executor(_available())  # sized without the cap: a later call may use every thread
    futures: list[Future[None]] = [pool.submit(fill, a, b) for a, b in ranges[1:]]
    first: BaseException | None = None
    try:
        fill(*ranges[0])
    except BaseException as exc:  # re-raised below, after the other ranges end
        first = exc
    for future in futures:
        error = future.exception()
        if first is None and error is not None:
            first = error
    if first is not None:
        raise first


def run_blocks(n_rows: int, num_classes: int, step: int, fill: Callable[[int, int], bool]) -> None:
    """Call ``fill(start, stop)`` on every block of ``step`` rows, in parallel when worth it.

    Threads take the next block as they free up, so a thread slowed down (a core shared with
    another process, the GIL held by the other thread) takes fewer blocks instead of holding up
    the end, as a fixed split into ranges would. ``fill`` returns False to stop every thread from
    taking further blocks (the blocks already taken end). If blocks raise, the exception of the
    earliest block wins, after every block taken has ended: blocks are taken in order, so every
    block before it has run.
    """
    starts = range(0, n_rows, max(step, 1))
    workers = thread_count() if n_rows * num_classes >= PARALLEL_MIN_ELEMENTS else 1
    workers = min(workers, len(starts))
    if workers <= 1:
        for start in starts:
            if not fill(start, min(start + step, n_rows)):
                return
        return
    lock = threading.Lock()
    taken = itertools.count()
    stopped = False
    errors: list[tuple[int, BaseException]] = []

    def work() -> None:
        nonlocal stopped
        while True:
            with lock:
                index = next(taken)
                if stopped or index >= len(starts):
                    return
            start = starts[index]
            try:
                going = fill(start, min(start + step, n_rows))
            except BaseException as exc:  # re-raised by the caller, after every taken block ends
                going = False
                with lock:
                    errors.append((index, exc))
            if not going:
                with lock:
                    stopped = True
                return

    pool = _executor(_available())  # sized without the cap: a later call may use every thread
    futures: list[Future[None]] = [pool.submit(work) for _ in range(workers - 1)]
    work()
    for future in futures:
        future.result()
    if errors:
        raise min(errors, key=lambda error: error[0])[1]


_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """Return a work buffer owned by the calling thread and kept between calls.

    Keeping it keeps its pages mapped: a fresh 512 KiB buffer costs more in page faults than a
    pass of numpy over it. Every ``name`` is one buffer: a caller must not hold two scratch arrays
    of the same name at once.
    """
    buffers: dict[tuple[str, np.dtype[Any]], np.ndarray] | None = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    key = (name, np.dtype(dtype))
    size = math.prod(shape)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)
