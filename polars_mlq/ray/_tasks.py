"""What runs in Ray's workers: one block (an Arrow table) in, a partial statistic or a scored block out.

Ray pickles these module-level functions and classes by reference, so a worker imports
``polars_mlq`` itself (the ``.mlq`` namespace with it); nothing of the caller's code is needed.
A block becomes a Polars frame without a copy (``pl.from_arrow`` of numeric and list columns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from polars_mlq.core.chunk import Chunk
from polars_mlq.core.frames import SparseInput
from polars_mlq.core.rule import IssueRule
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ThresholdPartial
from polars_mlq.expressions import scoring_expr
from polars_mlq.input import (
    IntoExpr,
    IntoProbs,
    LabelsFormat,
    LabelSpec,
    ScoringOptions,
    Where,
    checked_series_num_classes,
    read_batch,
    to_expr,
    to_probs_expr,
)
from polars_mlq.issues.sparse_frames import sparse_flag_column
from polars_mlq.ray._origin import block_origin
from polars_mlq.scoring import Thresholds
from polars_mlq.sparse_expressions import SparseScoring, sparse_scoring_expr


def block_frame(table: pa.Table) -> pl.DataFrame:
    """Return a block as a DataFrame, its columns shared with Arrow (not copied)."""
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)  # a Table, never a bare Array
    return frame


def block_where(frame: pl.DataFrame, first_row: int) -> Where:
    """Return how errors name a block's rows: their number in the Dataset, and their file's row when known."""
    return Where(first_row=first_row, origin=block_origin(frame))


@dataclass(frozen=True)
class Sparse:
    """Sparse (top-k) predictions: the column of each row's listed classes, K and the fill value."""

    pred_classes: IntoExpr
    num_classes: int
    fill_value: float


@dataclass(frozen=True)
class Columns:
    """How the labels and pred_probs of a block are read, as the ``.mlq`` namespace reads them."""

    labels: IntoExpr
    pred_probs: IntoProbs
    class_names: tuple[str, ...] | None
    labels_format: LabelsFormat
    sparse: Sparse | None = None

    def sparse_input(self) -> SparseInput:
        """Return how the issue finders read these sparse columns."""
        assert self.sparse is not None
        columns = (
            to_expr(self.labels, "labels"),
            to_expr(self.pred_probs, "pred_probs"),
            to_expr(self.sparse.pred_classes, "pred_classes"),
        )
        return SparseInput(*columns, self.sparse.num_classes, self.sparse.fill_value, self.spec)

    def sparse_chunk(self, frame: pl.DataFrame, first_row: int) -> tuple[SparseChunk, np.ndarray]:
        """Return a block's sparse chunk (rows numbered from ``first_row``) and the rows it holds."""
        given = self.sparse_input()
        data = frame.select(given.labels, given.pred_probs, given.pred_classes)
        return given.read(data, first_row, origin=block_origin(frame))

    @property
    def spec(self) -> LabelSpec:
        """The label spec of these columns."""
        return LabelSpec(format=self.labels_format, class_names=self.class_names)

    def series(self, frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """Return the two columns of a block."""
        data = frame.select(to_expr(self.labels, "labels"), to_probs_expr(self.pred_probs))
        return data[:, 0], data[:, 1]


def peek_num_classes(columns: Columns, *tables: pa.Table) -> int | None:
    """Return K from a Dataset's first rows: the width of their first pred_probs (None: all null)."""
    if not tables:
        return None
    labels, probs = columns.series(block_frame(pa.concat_tables(tables)))
    return checked_series_num_classes(labels, probs, columns.spec)


@dataclass(frozen=True)
class BlockThresholds:
    """Pass 1 of one block: its rows, its K (None when no row has pred_probs) and its partial sums."""

    rows: int
    num_classes: int | None
    partial: ThresholdPartial | None


def block_thresholds(
    table: pa.Table, first_row: int, columns: Columns, num_classes: int | None = None
) -> BlockThresholds:
    """Return pass 1 of a block whose first row is row ``first_row`` of the Dataset.

    K is the block's own (the width of its first pred_probs) unless ``num_classes`` is given.
    """
    frame = block_frame(table)
    if columns.sparse is not None:
        partial = ThresholdPartial.of_sparse(columns.sparse_chunk(frame, first_row)[0].batch)
        return BlockThresholds(frame.height, columns.sparse.num_classes, partial)
    labels, probs = columns.series(frame)
    k = checked_series_num_classes(labels, probs, columns.spec) if num_classes is None else num_classes
    if k is None:
        return BlockThresholds(len(labels), None, None)
    batch = read_batch(labels, probs, num_classes=k, where=block_where(frame, first_row), spec=columns.spec)
    return BlockThresholds(len(labels), k, ThresholdPartial.of(Chunk.of(batch, first_row)))


#: What the lazy step's errors say of a row whose file is not known.
_UNKNOWN_ROW = (
    "its place in the Dataset is not known here; read the Dataset with include_paths=True and "
    "include_row_hash=True to name its file and row"
)


@dataclass(frozen=True)
class ScoreBlocks:
    """The per-row step of ``label_quality`` (or ``label_quality_per_class``), a block at a time.

    The scoring expression of the lazy namespace (``expressions.scoring_expr``), with the options
    parsed on the caller; every other column is kept, and the block's rows keep their order.
    """

    columns: Columns
    options: ScoringOptions
    thresholds: Thresholds | None  # the whole Dataset's, when adjusting
    num_classes: int
    name: str

    def __call__(self, table: pa.Table) -> pa.Table:
        """Score one block."""
        columns = self.columns
        if columns.sparse is not None:
            sparse = columns.sparse
            scoring = SparseScoring(
                self.options, sparse.num_classes, sparse.fill_value, columns.spec, self.thresholds, self.name
            )
            given = columns.sparse_input()
            inputs = (given.labels, given.pred_probs, given.pred_classes)
            frame = block_frame(table)
            try:
                return frame.with_columns(sparse_scoring_expr(*inputs, scoring)).to_arrow()
            except (ValueError, TypeError):  # read the block again, to name the bad row as well as can be
                where = Where(streamed=True, origin=block_origin(frame), unknown=_UNKNOWN_ROW)
                given.read_batch(frame.select(*inputs), where)
                raise
        expr = scoring_expr(
            columns.labels,
            columns.pred_probs,
            self.options,
            thresholds=self.thresholds,
            num_classes=self.num_classes,
            whole_column=False,
            name=self.name,
            spec=columns.spec,
        )
        frame = block_frame(table)
        try:
            return frame.with_columns(expr).to_arrow()
        except (ValueError, TypeError):  # read the block again, to name the bad row as well as can be
            labels, probs = columns.series(frame)
            where = Where(streamed=True, origin=block_origin(frame), unknown=_UNKNOWN_ROW)
            read_batch(labels, probs, num_classes=self.num_classes, where=where, spec=columns.spec)
            raise


def class_names_tuple(class_names: Sequence[str] | None) -> tuple[str, ...] | None:
    """Return class names as a tuple (hashable, picklable), or None."""
    return None if class_names is None else tuple(class_names)


def block_chunk(table: pa.Table, first_row: int, columns: Columns, num_classes: int) -> Chunk | SparseChunk:
    """Return a block as the statistics core's chunk, its rows numbered from ``first_row``."""
    frame = block_frame(table)
    if columns.sparse is not None:
        return columns.sparse_chunk(frame, first_row)[0]
    labels, probs = columns.series(frame)
    batch = read_batch(labels, probs, num_classes=num_classes, where=block_where(frame, first_row), spec=columns.spec)
    return Chunk.of(batch, first_row)


def chunk_step(
    table: pa.Table, first_row: int, columns: Columns, num_classes: int, step: Callable[[Chunk | SparseChunk], Any]
) -> Any:
    """Run one map step of a statistics-core pass on a block (in a worker)."""
    return step(block_chunk(table, first_row, columns, num_classes))


@dataclass(frozen=True)
class FlagBlocks:
    """The per-row step of the issue finders: each materialized block, flagged by the core's rule.

    It maps a Dataset of block numbers (one row each): block ``i`` is fetched from Ray's object
    store and its rows are numbered from ``firsts[i]``, as in the passes that made the rule, so
    rows tied at a cutoff are flagged exactly as on a single frame.
    """

    refs: tuple[Any, ...]  # the blocks' ObjectRefs
    firsts: tuple[int, ...]
    columns: Columns
    num_classes: int
    rule: IssueRule
    per_class: bool
    name: str

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Return the blocks whose numbers the batch holds, each with its flag column."""
        import ray

        tables = []
        for i in batch.column(0).to_pylist():
            table = ray.get(self.refs[i])
            tables.append(self._flagged(table, self.firsts[i]))
        return pa.concat_tables(tables)

    def _flagged(self, table: pa.Table, first_row: int) -> pa.Table:
        frame = block_frame(table)
        if self.columns.sparse is not None:
            sparse, kept = self.columns.sparse_chunk(frame, first_row)
            flags = sparse_flag_column(self.rule, sparse, kept, frame.height, self.per_class)
            return frame.with_columns(flags.alias(self.name)).to_arrow()
        labels, probs = self.columns.series(frame)
        where = block_where(frame, first_row)
        batch = read_batch(labels, probs, num_classes=self.num_classes, where=where, spec=self.columns.spec)
        chunk = Chunk.of(batch, first_row)
        if self.per_class:
            mask = self.rule.class_mask(chunk)
            values = pl.Series(mask.reshape(-1)).reshape(mask.shape) if mask.shape[0] else None
            if values is None:
                values = pl.Series([], dtype=pl.Array(pl.Boolean, self.num_classes))
        else:
            values = pl.Series(self.rule.row_mask(chunk), dtype=pl.Boolean)
        return frame.with_columns(batch.with_nulls(values).alias(self.name)).to_arrow()
