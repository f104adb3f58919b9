"""The statistics core driven by Polars frames: a LazyFrame as a source of chunks, and thresholds.

A DataFrame is one chunk; a LazyFrame is streamed (``collect_batches``, in row order), each chunk
with the row numbers of its rows, so that errors and ties name the user's rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from polars_mlq.core import engine
from polars_mlq.core.chunk import Chunk, Source
from polars_mlq.core.thresholds import ThresholdPartial, batch_thresholds
from polars_mlq.input import (
    Frame,
    IntoExpr,
    IntoProbs,
    LabelsFormat,
    LabelSpec,
    Where,
    checked_num_classes,
    read_batch,
    to_expr,
    to_probs_expr,
)
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
