"""One batch of rows as the statistics core sees it: the K binary problems and the rows' places.

Every dataset-level statistic is computed batch by batch. A ``Chunk`` holds one batch's scored
rows (``problems``: probabilities, given labels, the labelled entries class by class) and, for
each of them, its 0-based row number in the user's data (``rows``). Row numbers make results
independent of how the data was split: ties at a cutoff go to the earliest rows, and errors name
the user's row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

from polars_mlq.core.problems import Problems, problems
from polars_mlq.input import Batch, LabelsFormat, LabelSpec, Where, read_batch


@dataclass(frozen=True)
class Chunk:
    """The scored rows of one batch and their row numbers in the user's data."""

    problems: Problems
    rows: np.ndarray  # (n,) int64, ascending

    @classmethod
    def of(cls, batch: Batch, first_row: int = 0) -> Chunk:
        """Return the chunk of a validated batch whose first row is row ``first_row`` of the data."""
        n = batch.probs.shape[0]
        local = np.arange(n, dtype=np.int64) if batch.rows is None else batch.rows.astype(np.int64)
        return cls(problems(batch), local + first_row)


#: Streams the data once per call, as ``Chunk``s (in any order, split in any way).
Source = Callable[[], Iterable[Chunk]]
P = TypeVar("P")
C = TypeVar("C")


def map_chunks(source: Callable[[], Iterable[C]], step: Callable[[C], P]) -> Iterable[P]:
    """Return ``step`` of every chunk of the source (the map of a pass; the caller merges).

    A source whose rows live elsewhere (a Ray Dataset's blocks, ``polars_mlq.ray``) has a
    ``map_chunks`` method that runs ``step`` there and brings back only its results, so the rows
    never reach this process; ``step`` must then be picklable (a module-level function, or a
    ``functools.partial`` of one).
    """
    remote: Callable[[Callable[[C], P]], Iterable[P]] | None = getattr(source, "map_chunks", None)
    if remote is not None:
        return remote(step)
    return (step(chunk) for chunk in source())


def read_chunk(
    frame: pl.DataFrame,
    labels: str = "labels",
    pred_probs: str = "pred_probs",
    *,
    num_classes: int,
    first_row: int = 0,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> Chunk:
    """Read and check one batch of a dataset (for example one Parquet file of a folder).

    Parameters
    ----------
    frame
        The batch, with a labels column and a pred_probs column (as for ``df.mlq``).
    labels, pred_probs
        Their column names.
    num_classes
        K, the same for every batch of the dataset.
    first_row
        The row number, in the whole dataset, of the batch's first row: errors name the
        dataset's row, and rows tied at a cutoff are ordered by it.
    class_names, labels_format
        How labels are read, as for ``df.mlq``.

    Returns
    -------
    Chunk
        The batch's scored rows (rows with a null label list or null pred_probs are left out).
    """
    names = None if class_names is None else tuple(class_names)
    spec = LabelSpec(format=labels_format, class_names=names)
    batch = read_batch(
        frame.get_column(labels),
        frame.get_column(pred_probs),
        num_classes=num_classes,
        where=Where(first_row=first_row),
        spec=spec,
    )
    return Chunk.of(batch, first_row)
