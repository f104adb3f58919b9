"""Issue finding on sparse predictions in a frame: ``pred_probs`` and ``pred_classes`` list columns.

The same statistics core as dense frames (``polars_mlq.core.engine``), driven by ``SparseChunk``s:
a DataFrame is read once and is one chunk; a LazyFrame is streamed for the passes, and its flags
are an elementwise column computed batch by batch with each row's number, so ties at a cutoff
go to the same (earliest) rows on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TypeVar

import numpy as np
import polars as pl

from polars_mlq.core import IssueOptions, IssueRule, engine
from polars_mlq.core.frames import SparseInput
from polars_mlq.core.options import parse_issue_options
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.issues.frames import IssueCounts
from polars_mlq.scoring.memory import release_freed_memory

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


#: The per-class flags of sparse predictions: each row's flagged classes, ascending.
CLASS_FLAGS_DTYPE = pl.List(pl.Int64)


def sparse_flag_column(rule: IssueRule, chunk: SparseChunk, local: np.ndarray, n: int, per_class: bool) -> pl.Series:
    """Return the flags of ``chunk`` (rows ``local`` of ``n``): Boolean, or each row's flagged classes."""
    if not per_class:
        return _placed(rule.row_mask(chunk), local, n)
    rows, classes = rule.sparse_class_flags(chunk)
    order = np.lexsort((classes, rows))
    flagged = pl.DataFrame({"row": local[rows[order]].astype(np.int64), "c": classes[order]})
    lists = flagged.group_by("row", maintain_order=True).agg(pl.col("c"))
    every = pl.DataFrame({"row": np.arange(n, dtype=np.int64)})
    joined = every.join(lists, on="row", how="left", maintain_order="left")
    scored = np.zeros(n, dtype=bool)
    scored[local] = True  # a scored row with nothing flagged: an empty list; a null input: null
    empty = pl.lit([], dtype=CLASS_FLAGS_DTYPE)
    placed = joined.select(pl.when(pl.Series(scored) & pl.col("c").is_null()).then(empty).otherwise(pl.col("c")))
    result: pl.Series = placed.to_series().cast(CLASS_FLAGS_DTYPE)
    return result


def _flags_udf(series: Sequence[pl.Series], *, rule: IssueRule, sparse: SparseInput, per_class: bool) -> pl.Series:
    numbers = series[3].to_numpy().astype(np.int64)
    data = pl.DataFrame(list(series[:3]))
    chunk, local = sparse.read(data, int(numbers[0]) if numbers.size else 0, numbers)
    flags = sparse_flag_column(rule, chunk, local, len(numbers), per_class)
    del chunk
    release_freed_memory()  # as the sparse scores do (scoring.memory)
    return flags


def _placed(values: np.ndarray, local: np.ndarray, n: int) -> pl.Series:
    """Return the flags of the rows ``local`` among ``n`` rows; the others (a null input) are null."""
    flags = np.zeros(n, dtype=bool)
    flags[local] = values
    result = pl.Series(flags)
    if local.size < flags.size:  # rows with a null input get a null flag
        missing = np.ones(flags.size, dtype=bool)
        missing[local] = False
        result = result.set(pl.Series(missing), None)
    return result


#: The temporary column that carries each row's number through a lazy query.
_ROW_NUMBER = "__polars_mlq_sparse_issue_row__"


def sparse_flags(frame: FrameT, sparse: SparseInput, options: IssueOptions, name: str, *, per_class: bool) -> FrameT:
    """Return the frame with a Boolean flag per row, or each row's flagged classes (null where an input is null).

    The passes the filter needs run now; the flags are an elementwise step (a LazyFrame streams).
    """
    if options.low_memory:
        msg = "low_memory does not take sparse predictions (pred_classes=)"
        raise TypeError(msg)
    options = options.for_classes(sparse.num_classes)
    if isinstance(frame, pl.DataFrame):  # read once: the passes and the flags use the same chunk
        whole, kept = sparse.read(frame.select(sparse.labels, sparse.pred_probs, sparse.pred_classes), 0)
        found = engine.find(lambda: iter((whole,)), sparse.num_classes, options, per_class=per_class, sparse=True)
        return frame.with_columns(sparse_flag_column(found.rule, whole, kept, frame.height, per_class).alias(name))
    found = engine.find(sparse.source(frame), sparse.num_classes, options, per_class=per_class, sparse=True)
    udf = partial(_flags_udf, rule=found.rule, sparse=sparse, per_class=per_class)
    inputs = [sparse.labels, sparse.pred_probs, sparse.pred_classes, pl.col(_ROW_NUMBER)]
    dtype = CLASS_FLAGS_DTYPE if per_class else pl.Boolean()
    flags = pl.map_batches(inputs, udf, return_dtype=dtype, is_elementwise=True).alias(name)
    return frame.with_row_index(_ROW_NUMBER).with_columns(flags).drop(_ROW_NUMBER)


def sparse_issue_counts(frame: pl.DataFrame | pl.LazyFrame, sparse: SparseInput) -> IssueCounts:
    """Return the counts behind the summaries (default filter), from the statistics core's passes."""
    options = parse_issue_options(sparse.num_classes)
    return IssueCounts.of_found(
        engine.find(sparse.source(frame), sparse.num_classes, options, summary=True, sparse=True)
    )
