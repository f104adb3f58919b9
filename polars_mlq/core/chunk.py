"""One batch of rows as the statistics core sees it: the K binary problems and the rows' places.

Every dataset-level statistic is computed batch by batch. A ``Chunk`` holds one batch's scored
rows (``problems``: probabilities, given labels, the labelled entries class by class) and, for
each of them, its 0-based row number in the user's data (``rows``). Row numbers make results
independent of how the data was split: ties at a cutoff go to the earliest rows, and errors name
the user's row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_mlq._columns import Batch
from polars_mlq.core.problems import Problems, problems


@dataclass(frozen=True)
class Chunk:
    """The scored rows of one batch and their row numbers in the user's data."""

    problems: Problems
    rows: np.ndarray  # (n,) int64, ascending

    @classmethod
    def of(cls, batch: Batch, first_row: int = 0) -> Chunk:
        """The chunk of a validated batch whose first row is row ``first_row`` of the data."""
        n = batch.probs.shape[0]
        local = np.arange(n, dtype=np.int64) if batch.rows is None else batch.rows.astype(np.int64)
        return cls(problems(batch), local + first_row)
