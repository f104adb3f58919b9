"""The Ray driver of the statistics core: partial statistics computed in the workers, merged here.

A pass runs one Ray task per block of the Dataset, with the block's first row number, and brings
back only what the block's partial statistic holds (O(K) for the thresholds). Rows never travel to
the caller. A failed task raises, here, the exception the block raised (a ``ValueError`` naming
the column, the value and the row), not Ray's wrapper of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import ray
import ray.data
from ray.exceptions import RayTaskError

from polars_mlq.core import Chunk, ThresholdPartial
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ConfidentThresholds
from polars_mlq.ray._tasks import BlockThresholds, Columns, block_thresholds, chunk_step, peek_num_classes

T = TypeVar("T")


def original_error(error: BaseException) -> BaseException:
    """Return the exception a task raised, unwrapped from Ray's ``RayTaskError`` (and its user-code wrapper)."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        cause = getattr(error, "cause", None) if isinstance(error, RayTaskError) else None
        if cause is None or not isinstance(cause, BaseException):
            cause = error.__cause__
        if cause is None or not isinstance(error, (RayTaskError, ray.exceptions.UserCodeException)):
            return error
        error = cause
    return error


def blocks(ds: ray.data.Dataset) -> Iterator[tuple[Any, int, int]]:
    """Yield (block reference, first row, rows) of every block of the Dataset, in its order.

    The blocks come in the Dataset's order even where Ray would hand them over as they are done
    (``preserve_order``): row numbers, and so the rows an error names and the rows tied at a
    cutoff, follow the Dataset's order. Under ``preserve_order`` Ray 2.60 also lists and reads
    files in order, so a Dataset read from files is numbered as Polars numbers the same files.
    """
    first = 0
    for bundle in own_context(ds, ordered=True).iter_internal_ref_bundles():
        for entry in bundle.blocks:  # a BlockEntry (ray 2.60), or a (ref, metadata) pair before
            ref, meta = (entry.ref, entry.metadata) if hasattr(entry, "ref") else entry
            rows = int(meta.num_rows) if meta.num_rows is not None else int(ray.get(_count_rows.remote(ref)))
            yield ref, first, rows
            first += rows


@ray.remote(num_cpus=1)
def _count_rows(table: pa.Table) -> int:
    return int(table.num_rows)


def run_pass(ds: ray.data.Dataset, task: Callable[..., T], *args: Any) -> list[T]:
    """Run ``task(block, first_row, *args)`` on every block, as Ray tasks; return the results in block order.

    When blocks fail, the error of the earliest one is raised (as the block raised it).
    """
    return run_on([(ref, first) for ref, first, _ in blocks(ds)], task, *args)


def run_on(refs: Iterable[tuple[Any, int]], task: Callable[..., T], *args: Any) -> list[T]:
    """Run ``task(block, first_row, *args)`` on each (block reference, first row), as Ray tasks (see ``run_pass``)."""
    remote = ray.remote(num_cpus=1)(task)
    futures = [remote.remote(ref, first, *args) for ref, first in refs]
    results: list[T] = []
    for future in futures:
        try:
            results.append(ray.get(future))
        except RayTaskError as error:
            raise original_error(error) from None
    return results


def thresholds_pass(ds: ray.data.Dataset, columns: Columns) -> tuple[ConfidentThresholds | None, int | None]:
    """Run pass 1 (the confident thresholds) over the Dataset; return them and K (None, None: no scored row)."""
    parts: list[BlockThresholds] = run_pass(ds, block_thresholds, columns)
    widths = {part.num_classes for part in parts if part.num_classes is not None}
    if not widths:
        return None, None
    k = next(part.num_classes for part in parts if part.num_classes is not None)
    if len(widths) > 1:  # read every block with the first block's K: the first row of another width raises
        run_pass(ds, block_thresholds, columns, k)
    merged = ThresholdPartial.empty(k)
    for part in parts:
        if part.partial is not None:
            merged = merged + part.partial
    return merged.finalize(), k


#: Rows read from the start of a Dataset to learn K.
_PEEK_ROWS = 256


def num_classes_of(ds: ray.data.Dataset, columns: Columns) -> int | None:
    """Return K: the width of the first pred_probs in the Dataset's first rows (a whole pass if all are null).

    Every block is then read with this K, so a row of another width anywhere raises, as the
    namespace's does on the whole frame.
    """
    refs = own_context(ds, ordered=True).limit(_PEEK_ROWS).to_arrow_refs()
    try:  # read in a worker: no row comes here
        k: int | None = ray.get(ray.remote(num_cpus=1)(peek_num_classes).remote(columns, *refs))
    except RayTaskError as error:
        raise original_error(error) from None
    return k if k is not None else thresholds_pass(ds, columns)[1]


def own_context(ds: ray.data.Dataset, *, ordered: bool = False) -> ray.data.Dataset:
    """Return ``ds`` with its own context, in which a failing map raises what the block raised.

    Ray wraps a map's exception in its ``UserCodeException`` unless the Dataset's context says
    otherwise, and a derived Dataset shares the context of its parent: the copy keeps the
    caller's Datasets as they were. Maps added to the copy take its context. ``ordered`` also
    keeps the rows in the Dataset's order (Ray Data's ``preserve_order``), which row numbers
    follow: the blocks, and for a Dataset read from files the files (listed and read in order).

    Ray plans from the context bound to the Dataset's logical plan, which a shallow copy shares
    with the caller's Dataset. So the copy gets a plan of its own (``_deep_copy``: a new plan
    object over the same operators) bound to the new context. (Setting only the Dataset's context
    left four small files out of order in 24 runs of 25, measured; binding the plan's, in none.)
    """
    context = ds.context.copy()
    context.raise_original_map_exception = True
    if ordered:
        context.execution_options.preserve_order = True
    own = ray.data.Dataset.copy(ds, _deep_copy=True)
    own._context = context  # Ray has no public way to give one Dataset its own context
    own._logical_plan.context = context
    return own


@dataclass(frozen=True)
class BlockSource:
    """A materialized Dataset as a source of the statistics core: every pass maps its blocks in Ray tasks.

    The blocks are fixed once (``ds.materialize()``: they stay in Ray's object store), so every
    pass and the final per-row step number the same rows the same way. The chunks are never
    brought here: ``map_chunks`` runs a pass's step in the workers and returns its results.
    """

    refs: tuple[Any, ...]
    firsts: tuple[int, ...]
    columns: Columns
    num_classes: int | None

    @classmethod
    def of(cls, ds: ray.data.Dataset, columns: Columns) -> BlockSource:
        """Materialize the Dataset and read K from its first rows."""
        fixed = own_context(ds, ordered=True).materialize()
        found = list(blocks(fixed))
        return cls(
            tuple(ref for ref, _, _ in found),
            tuple(first for _, first, _ in found),
            columns,
            columns.sparse.num_classes if columns.sparse is not None else num_classes_of(fixed, columns),
        )

    def __call__(self) -> Iterator[Chunk | SparseChunk]:
        """Not used: the rows stay in Ray's workers (``map_chunks`` runs the steps there)."""
        msg = "a Ray Dataset's chunks are not brought to the caller; use map_chunks"
        raise TypeError(msg)

    def map_chunks(self, step: Callable[[Chunk | SparseChunk], T]) -> list[T]:
        """Return ``step`` of every block's chunk, run in Ray tasks."""
        return run_on(zip(self.refs, self.firsts, strict=True), chunk_step, self.columns, self.num_classes, step)
