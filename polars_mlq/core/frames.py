"""The statistics core driven by Polars frames: a LazyFrame as a source of chunks, and thresholds.

A DataFrame is one chunk; a LazyFrame is streamed (``collect_batches``, in row order), each chunk
with the row numbers of its rows, so that errors and ties name the user's rows. Sparse (top-k)
predictions are read the same way, as ``SparseChunk``s (``SparseInput``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from polars_mlq.core import engine
from polars_mlq.core.chunk import Chunk, Source
from polars_mlq.core.sparse_chunk import SparseChunk, check_fill
from polars_mlq.core.thresholds import ThresholdPartial, batch_thresholds
from polars_mlq.input import (
    Frame,
    IntoExpr,
    IntoProbs,
    LabelsFormat,
    LabelSpec,
    Origin,
    Where,
    checked_num_classes,
    read_batch,
    to_expr,
    to_probs_expr,
)
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.input.sparse_columns import check_num_classes, read_sparse_columns
from polars_mlq.scoring import Thresholds

#: Rows are read in slices of at most about this many values.
_BATCH_ELEMENTS = 1 << 22


def stream_chunks(
    frame: pl.LazyFrame, labels: pl.Expr, pred_probs: pl.Expr, num_classes: int, spec: LabelSpec
) -> Source:
    """Return a source that streams the query once per call, as chunks in row order.

    Polars hands over a Parquet row group, or an in-memory frame whole, at a time; slices of at
    most ``_BATCH_ELEMENTS`` values (zero-copy) keep the per-batch temporaries small. Each chunk
    knows the row numbers of its rows, so errors and ties name the user's rows.
    """
    step = max(1024, _BATCH_ELEMENTS // max(num_classes, 1))

    def source() -> Iterator[Chunk]:
        first = 0
        for data in frame.select(labels, pred_probs).collect_batches(maintain_order=True):
            for start in range(0, data.height, step):
                part = data.slice(start, step)
                where = Where(first_row=first + start)
                batch = read_batch(part[:, 0], part[:, 1], num_classes=num_classes, where=where, spec=spec)
                yield Chunk.of(batch, first + start)
            first += data.height

    return source


def frame_thresholds(
    frame: Frame, labels: pl.Expr, pred_probs: pl.Expr, num_classes: int | None, spec: LabelSpec = LabelSpec()
) -> Thresholds:
    """Compute confident thresholds over every row of the frame; a LazyFrame is streamed batch by batch."""
    if isinstance(frame, pl.DataFrame):
        data = frame.select(labels, pred_probs)
        return batch_thresholds(read_batch(data[:, 0], data[:, 1], num_classes=num_classes, spec=spec))
    if num_classes is None:  # no row has pred_probs: there is nothing to average
        return ThresholdPartial.empty(0).finalize().for_scoring()
    source = stream_chunks(frame, labels, pred_probs, num_classes, spec)
    return engine.thresholds_of(source, num_classes).for_scoring()


def first_input_error(
    frame: pl.LazyFrame,
    labels: IntoExpr,
    pred_probs: IntoProbs,
    class_names: Sequence[str] | None = None,
    *,
    labels_format: LabelsFormat = "indices",
    rows: int | None = None,
) -> Exception | None:
    """Read the two columns in row order and return the error of the first bad row (None if none).

    Scoring a LazyFrame runs batches in parallel, so when several rows are bad the error raised
    may name a later one; this finds the first, as the DataFrame path reports it.

    Parameters
    ----------
    frame
        The query whose columns were scored.
    labels, pred_probs
        The two columns, as given to ``label_quality``.
    class_names, labels_format
        As given to ``label_quality``.
    rows
        Read only the first ``rows`` rows (all when None).

    Returns
    -------
    Exception or None
        The error the first bad row raises when read, or None when every row reads.
    """
    spec = LabelSpec(format=labels_format, class_names=None if class_names is None else tuple(class_names))
    labels_expr, probs_expr = to_expr(labels, "labels"), to_probs_expr(pred_probs)
    if rows is not None:
        frame = frame.slice(0, rows)
    try:
        num_classes = checked_num_classes(frame, labels_expr, probs_expr, spec)
        if num_classes is not None:
            for _ in stream_chunks(frame, labels_expr, probs_expr, num_classes, spec)():
                pass
    except (ValueError, TypeError) as exc:
        return exc
    return None


@dataclass(frozen=True)
class SparseInput:
    """The three columns of sparse predictions, K and the fill value, and how labels are read."""

    labels: pl.Expr
    pred_probs: pl.Expr
    pred_classes: pl.Expr
    num_classes: int
    fill_value: float
    spec: LabelSpec

    @classmethod
    def of(
        cls,
        columns: tuple[pl.Expr, pl.Expr, pl.Expr],
        num_classes: object,
        fill_value: float,
        spec: LabelSpec,
    ) -> SparseInput:
        """Check K and the fill value (the issue finders take it below one half) and bundle the input."""
        k = check_num_classes(num_classes, spec.class_names)
        check_fill(fill_value, np.dtype(np.float64))
        return cls(*columns, k, fill_value, spec)

    def read(
        self,
        data: pl.DataFrame,
        first_row: int,
        numbers: np.ndarray | None = None,
        origin: Callable[[int], Origin | None] | None = None,
    ) -> tuple[SparseChunk, np.ndarray]:
        """Read one slice of the three columns: its chunk, and which of its rows it holds.

        Rows with a null input are left out. ``numbers`` are the slice's row numbers in the
        user's data (consecutive from ``first_row`` when None); ``origin``, when given, names the
        file row each of the slice's rows was read from, for error messages.
        """
        batch, kept = self.read_batch(data, Where(first_row=first_row, origin=origin))
        if numbers is not None:
            return SparseChunk(batch, numbers[kept].astype(np.int64)), kept
        return SparseChunk.of(batch, kept, first_row), kept

    def read_batch(self, data: pl.DataFrame, where: Where) -> tuple[SparseBatch, np.ndarray]:
        """Read the three columns of ``data``: the batch of its rows without a null, and those rows.

        ``where`` says how errors name the rows.
        """
        return read_sparse_columns(
            data[:, 0],
            data[:, 1],
            data[:, 2],
            num_classes=self.num_classes,
            fill_value=self.fill_value,
            spec=self.spec,
            where=where,
        )

    def source(self, frame: pl.DataFrame | pl.LazyFrame) -> engine.SparseSource:
        """Return a source of the frame's chunks: a DataFrame read once, a LazyFrame streamed per call."""
        query = frame.lazy().select(self.labels, self.pred_probs, self.pred_classes)
        if isinstance(frame, pl.DataFrame):
            whole, _ = self.read(query.collect(), 0)
            return lambda: iter((whole,))
        return self._stream(query)

    def _stream(self, query: pl.LazyFrame) -> engine.SparseSource:

        def stream() -> Iterator[SparseChunk]:
            first = 0
            for data in query.collect_batches(maintain_order=True):
                yield self.read(data, first)[0]
                first += data.height

        return stream
