"""The elementwise step: a row's flags from the row and a few per-class constants.

Once the dataset-level statistics are final, whether an entry is flagged depends only on the entry,
its row number and an ``IssueRule``: per class boundaries on p (confident learning), cutoffs
(key, row) (the prune filters), or score cutoffs (score, row) (the ``low_*`` filters). So flags are
computed batch by batch, in any order, on any worker, and always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_mlq.core.candidates import Candidates, candidates
from polars_mlq.core.chunk import Chunk
from polars_mlq.core.joint import confident_flags
from polars_mlq.core.low_memory import LowMemoryRule
from polars_mlq.core.options import LOW_FILTERS
from polars_mlq.core.scores import ema, plain_scores
from polars_mlq.core.select import NOTHING, within
from polars_mlq.core.thresholds import ConfidentThresholds


@dataclass(frozen=True)
class Cutoffs:
    """Per class and given label, the last (key, row) flagged for one sort key."""

    by: str
    values: np.ndarray  # (K, 2) float64
    rows: np.ndarray  # (K, 2) int64


def low_method(filter_by: str) -> str:
    """Return the binary score the per-class ``low_*`` filters rank by."""
    return "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"


@dataclass(frozen=True, eq=False)
class IssueRule:
    """What a row's flags depend on beyond the row, fixed before any flag is computed."""

    filter_by: str
    num_classes: int
    thresholds: ConfidentThresholds | None = None
    cutoffs: tuple[Cutoffs, ...] = ()
    row_cutoff: tuple[float, int] = NOTHING
    class_cutoffs: tuple[np.ndarray, np.ndarray] | None = None  # (K,) values, (K,) rows
    nothing: bool = False  # no row was scored
    low_memory: LowMemoryRule | None = None  # cleanlab's batched filter instead of filter_by

    def entry_flags(self, cand: Candidates, rows: np.ndarray) -> np.ndarray:
        """Return which candidates are flagged (every filter but the ``low_*`` ones).

        ``rows`` are their row numbers in the user's data.
        """
        if self.nothing:
            return np.zeros(cand.cls.size, dtype=bool)
        keep = cand.disagree()
        if self.filter_by == "predicted_neq_given":
            return keep
        if self.filter_by == "confident_learning":
            assert self.thresholds is not None
            return keep & confident_flags(cand, self.thresholds)
        for cut in self.cutoffs:
            column = cand.label
            keep &= within(cand.keys(cut.by), rows, cut.values[cand.cls, column], cut.rows[cand.cls, column])
        return keep

    def flagged_entries(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        """Return (positions in the chunk, classes) of the flagged entries (not the ``low_*`` filters)."""
        found_rows, found_cls = [], []
        for cand in candidates(chunk.problems):
            hit = self.entry_flags(cand, chunk.rows[cand.rows])
            found_rows.append(cand.rows[hit])
            found_cls.append(cand.cls[hit])
        return np.concatenate(found_rows).astype(np.int64), np.concatenate(found_cls).astype(np.int64)

    def class_mask(self, chunk: Chunk) -> np.ndarray:
        """Return the (n, K) bool flags of a batch's scored rows."""
        pb = chunk.problems
        if self.nothing or pb.n == 0:
            return np.zeros(pb.probs.shape, dtype=bool)
        if self.low_memory is not None:
            return self.low_memory.class_mask(chunk)
        if self.filter_by in LOW_FILTERS:
            assert self.class_cutoffs is not None
            scores = plain_scores(pb, low_method(self.filter_by))
            values, rows = self.class_cutoffs
            return within(scores, chunk.rows[:, None], values[None, :], rows[None, :])
        mask = np.zeros(pb.probs.shape, dtype=bool)
        rows, cls = self.flagged_entries(chunk)
        mask[rows, cls] = True
        return mask

    def row_mask(self, chunk: Chunk) -> np.ndarray:
        """Return the (n,) bool flags of a batch's scored rows (the ``low_*`` filters rank whole rows)."""
        pb = chunk.problems
        if self.nothing or pb.n == 0:
            return np.zeros(pb.n, dtype=bool)
        if self.low_memory is not None:
            return np.asarray(self.low_memory.class_mask(chunk).any(axis=1))
        if self.filter_by in LOW_FILTERS:
            scores = ema(plain_scores(pb, "self_confidence"))
            return within(scores, chunk.rows, *self.row_cutoff)
        mask = np.zeros(pb.n, dtype=bool)
        mask[self.flagged_entries(chunk)[0]] = True
        return mask
