"""Running the row-block kernels on several cores.

numpy releases the GIL inside its sorts and most ufunc loops, so threads that each take a
contiguous range of row blocks overlap well (the per-row sort dominates the scoring). The number
of threads is polars' own (``pl.thread_pool_size()``, set with ``POLARS_MAX_THREADS``), so one
knob bounds both libraries. The calling thread works on the first range itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

#: Below this many (row, class) entries a batch is scored on the calling thread alone: handing
#: work to another thread costs tens of microseconds.
PARALLEL_MIN_ELEMENTS = 1 << 16

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:  # a forked child has the pool object but not its threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def thread_count() -> int:
    return max(1, min(pl.thread_pool_size(), os.cpu_count() or 1))


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="polars-mlq")
        return _pool


def split_rows(n_rows: int, step: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering 0..n_rows, cut at multiples of ``step``."""
    blocks = -(-n_rows // step) if n_rows else 0
    parts = max(1, min(parts, blocks))
    cuts = [min(n_rows, (blocks * i // parts) * step) for i in range(parts + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def run_ranges(n_rows: int, num_classes: int, step: int, fill: Callable[[int, int], None]) -> None:
    """Call ``fill(start, stop)`` on ranges covering rows 0..n_rows, in parallel when worth it.

    Every range is waited for; if several raise, the exception of the earliest range wins.
    """
    workers = thread_count() if n_rows * num_classes >= PARALLEL_MIN_ELEMENTS else 1
    ranges = split_rows(n_rows, step, workers)
    if len(ranges) <= 1:
        for start, stop in ranges:
            fill(start, stop)
        return
    pool = _executor(workers)
    futures: list[Future[None]] = [pool.submit(fill, a, b) for a, b in ranges[1:]]
    first: BaseException | None = None
    try:
        fill(*ranges[0])
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the other ranges end
        first = exc
    for future in futures:
        exc = future.exception()
        if first is None and exc is not None:
            first = exc
    if first is not None:
        raise first
