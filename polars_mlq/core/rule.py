"""The elementwise step: a row's flags from the row and a few per-class constants.

Once the dataset-level statistics are final, whether an entry is flagged depends only on the entry,
its row number and an ``IssueRule``: per class boundaries on p (confident learning), cutoffs
(key, row) (the prune filters), or score cutoffs (score, row) (the ``low_*`` filters). So flags are
computed batch by batch, in any order, on any worker, and always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polars_mlq.core import sparse_low_memory
from polars_mlq.core.binary import boundaries, rows_with_any
from polars_mlq.core.bounds import BoundTests, LabelBounds, all_pass, confident_tests, dense_flags
from polars_mlq.core.candidates import Candidates
from polars_mlq.core.chunk import Chunk
from polars_mlq.core.low_memory import LowMemoryRule
from polars_mlq.core.options import LOW_FILTERS
from polars_mlq.core.scores import ema, plain_scores
from polars_mlq.core.select import NOTHING, within
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.core.thresholds import ConfidentThresholds
from polars_mlq.scoring.sparse.scores import entry_scores


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
    _tests: dict[np.dtype[Any], BoundTests] = field(default_factory=dict, repr=False)

    def tests(self, dtype: np.dtype[Any]) -> BoundTests:
        """Return, per given label, the tests an entry must pass to be flagged, as bounds on p.

        Every filter but the ``low_*`` ones (see ``polars_mlq.core.bounds``); computed once per dtype.
        """
        dtype = np.dtype(dtype)
        if dtype not in self._tests:
            self._tests[dtype] = self._bound_tests(dtype)
        return self._tests[dtype]

    def _bound_tests(self, dtype: np.dtype[Any]) -> BoundTests:
        k = self.num_classes
        agree = boundaries(dtype)
        missing, extra = np.full(k, agree.missing), np.full(k, agree.extra)  # the model disagrees
        if self.filter_by == "confident_learning":
            assert self.thresholds is not None
            return confident_tests(self.thresholds.guesses, dtype)
        if not self.cutoffs:  # predicted_neq_given
            return (LabelBounds.plain(0, missing),), (LabelBounds.plain(1, extra),)
        tests: list[list[LabelBounds]] = [[], []]
        for label, agreeing in ((0, missing), (1, extra)):
            for cut in self.cutoffs:
                test = LabelBounds.of_cutoff(cut.by, label, cut.values[:, label], cut.rows[:, label], dtype)
                tests[label].append(test.restricted(agreeing) if not tests[label] else test)
        return tuple(tests[0]), tuple(tests[1])

    def entry_flags(self, cand: Candidates, rows: np.ndarray) -> np.ndarray:
        """Return which candidates are flagged (every filter but the ``low_*`` ones).

        ``rows`` are their row numbers in the user's data.
        """
        if self.nothing:
            return np.zeros(cand.cls.size, dtype=bool)
        return all_pass(self.tests(cand.p.dtype)[cand.label], cand.p, cand.cls, rows)

    def entry_mask(self, chunk: Chunk) -> np.ndarray:
        """Return the (n, K) flags of a batch's entries (every filter but the ``low_*`` ones)."""
        pb = chunk.problems
        return dense_flags(self.tests(pb.dtype), pb, chunk.rows)

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
        return self.entry_mask(chunk)

    def row_mask(self, chunk: Chunk | SparseChunk) -> np.ndarray:
        """Return the (n,) bool flags of a batch's scored rows (the ``low_*`` filters rank whole rows)."""
        if isinstance(chunk, SparseChunk):
            return self._sparse_rows(chunk)
        pb = chunk.problems
        if self.nothing or pb.n == 0:
            return np.zeros(pb.n, dtype=bool)
        if self.low_memory is not None:
            return np.asarray(self.low_memory.class_mask(chunk).any(axis=1))
        if self.filter_by in LOW_FILTERS:
            scores = ema(plain_scores(pb, "self_confidence"))
            return within(scores, chunk.rows, *self.row_cutoff)
        return rows_with_any(self.entry_mask(chunk))

    def _sparse_rows(self, chunk: SparseChunk) -> np.ndarray:
        """Return the row flags of a sparse batch: only its explicit candidates can be flagged."""
        flags = np.zeros(chunk.n, dtype=bool)
        if self.nothing or chunk.n == 0:
            return flags
        if self.low_memory is not None:
            flags[sparse_low_memory.sparse_flags(self.low_memory, chunk)[0]] = True
            return flags
        if self.filter_by in LOW_FILTERS:
            return within(chunk.ranks, chunk.rows, *self.row_cutoff)
        for cand in chunk.candidates:
            flags[cand.rows[self.entry_flags(cand, chunk.rows[cand.rows])]] = True
        return flags

    def sparse_class_flags(self, chunk: SparseChunk) -> tuple[np.ndarray, np.ndarray]:
        """Return the flagged entries of a sparse batch: (batch-local rows, classes), in no particular order.

        Only explicit candidates can be flagged (``SparseChunk``), by the per-class ``low_*``
        cutoffs too: each class's flagged scores are below one half.
        """
        rows, classes = [], []
        if self.nothing or chunk.n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        if self.low_memory is not None:
            return sparse_low_memory.sparse_flags(self.low_memory, chunk)
        for cand in chunk.candidates:
            numbers = chunk.rows[cand.rows]
            if self.filter_by in LOW_FILTERS:
                assert self.class_cutoffs is not None
                values, cut_rows = self.class_cutoffs
                scores = entry_scores(cand.p, np.full(cand.p.size, cand.label == 1), low_method(self.filter_by))
                hit = within(scores, numbers, values[cand.cls], cut_rows[cand.cls])
            else:
                hit = self.entry_flags(cand, numbers)
            rows.append(cand.rows[hit])
            classes.append(cand.cls[hit])
        return np.concatenate(rows).astype(np.int64), np.concatenate(classes).astype(np.int64)
