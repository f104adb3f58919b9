"""cleanlab's ``low_memory=True`` filter as partial statistics (the drop-in functions' option).

cleanlab's batched path treats each class k on its own, in three steps:

1. thresholds: a running, count-weighted mean of per-batch group means over fixed batches of
   ``BATCH_ROWS`` rows, each batch mean clipped at 2e-6 (2 for an empty group) and the running
   value clipped at 2e-6 after each batch; a group no row belongs to ends at 2e-6, not 2;
2. a count m_k: the rows whose more likely binary label (absent on a tie) differs from the
   given one, with a probability for it at least its threshold minus 1e-6;
3. the m_k rows with the lowest binary score (``return_indices_ranked_by``, else self-confidence)
   are flagged, unless the model agrees with the given label (p + 1e-6 <= 1 - p for a given label,
   p > 1 - p + 1e-6 for a missing one).

Here step 1's partial statistic holds, per batch of ``BATCH_ROWS`` row numbers, the group sizes
and exact sums (``ThresholdPartial``), so it merges in any order and is finalized batch by batch
in row order, as cleanlab runs it; step 2 is a sum of counts and step 3 reuses ``select.class_cutoffs``
(ties go to the earliest rows, as everywhere).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from polars_mlq.core.binary import SLACK
from polars_mlq.core.chunk import Chunk, Source, map_chunks
from polars_mlq.core.scores import plain_scores
from polars_mlq.core.select import class_cutoffs, within
from polars_mlq.core.thresholds import ThresholdPartial
from polars_mlq.scoring import FLOOR

#: cleanlab's batch size for ``low_memory=True``: the thresholds depend on it.
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class BatchedThresholds:
    """Per batch of ``BATCH_ROWS`` row numbers, its ``ThresholdPartial``; merge with ``+``."""

    num_classes: int
    batches: tuple[tuple[int, ThresholdPartial], ...]  # (batch number, partial), ascending

    @classmethod
    def empty(cls, num_classes: int) -> BatchedThresholds:
        """Return the partial of no rows."""
        return cls(num_classes, ())

    @classmethod
    def of(cls, chunk: Chunk) -> BatchedThresholds:
        """Return the partial statistic of one chunk (its rows may span several batches)."""
        pb, rows = chunk.problems, chunk.rows
        k = pb.num_classes
        if pb.n == 0:
            return cls.empty(k)
        ids = rows // BATCH_ROWS
        cuts = np.flatnonzero(np.diff(ids)) + 1
        starts = np.concatenate([[0], cuts, [pb.n]])
        entry_starts = pb.first_entry_of_rows(starts)
        parts = []
        for i in range(starts.size - 1):
            lo, hi, elo, ehi = starts[i], starts[i + 1], entry_starts[i], entry_starts[i + 1]
            part = ThresholdPartial.of_entries(pb.probs[lo:hi], pb.lab_cls[elo:ehi], pb.lab_p[elo:ehi])
            parts.append((int(ids[lo]), part))
        return cls(k, tuple(parts))  # a chunk's rows ascend: its batch numbers ascend, each once

    def __add__(self, other: BatchedThresholds) -> BatchedThresholds:
        merged: dict[int, ThresholdPartial] = {}
        for batch, part in (*self.batches, *other.batches):
            merged[batch] = merged[batch] + part if batch in merged else part
        return BatchedThresholds(self.num_classes, tuple(sorted(merged.items(), key=lambda item: item[0])))

    def finalize(self) -> np.ndarray:
        """Return the (K, 2) thresholds [absent, present], as cleanlab's running mean gives them."""
        finals = (part.finalize() for _, part in self.batches)
        return running_thresholds(self.num_classes, ((final.counts, final.means) for final in finals))


def running_thresholds(num_classes: int, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Return cleanlab's running mean of the batches' group means (in batch order), (K, 2) [absent, present].

    Each batch gives its (K, 2) group sizes and group means (2 for an empty group, at least 2e-6).
    """
    running = np.zeros((num_classes, 2))
    seen = np.zeros((num_classes, 2))
    for counts, batch_values in batches:
        sizes = counts.astype(np.float64)
        running = (seen * running + sizes * batch_values) / np.maximum(seen + sizes, 1)
        running = np.maximum(running, FLOOR)
        seen += sizes
    return np.maximum(running, FLOOR)


def _binary(chunk: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (n, K) p, 1 - p (in pred_probs' dtype) and the given labels of a chunk."""
    pb = chunk.problems
    return pb.probs, np.subtract(pb.dtype.type(1), pb.probs), pb.given


def issue_counts(chunk: Chunk, thresholds: np.ndarray) -> np.ndarray:
    """Return (K,) int64: per class, the rows cleanlab's batched path counts as issues (step 2)."""
    p, q, given = _binary(chunk)
    if p.shape[0] == 0:
        return np.zeros(p.shape[1], dtype=np.int64)
    present_wins = p > q  # the more likely binary label; a tie goes to "absent"
    confident = np.where(present_wins, p >= thresholds[:, 1] - SLACK, q >= thresholds[:, 0] - SLACK)
    counts: np.ndarray = np.count_nonzero(confident & (present_wins != given), axis=0).astype(np.int64)
    return counts


def _agree_filter(chunk: Chunk) -> np.ndarray:
    """(n, K) bool: the entries whose flag survives the agreement filter (step 3)."""
    p, q, given = _binary(chunk)
    keep: np.ndarray = np.where(given, p + SLACK <= q, p > q + SLACK)
    return keep


@dataclass(frozen=True)
class LowMemoryRule:
    """Per class the last (score, row) flagged, and the score the rows are ranked by."""

    method: str
    values: np.ndarray  # (K,) float64
    rows: np.ndarray  # (K,) int64

    def class_mask(self, chunk: Chunk) -> np.ndarray:
        """Return the (n, K) bool flags of a chunk's rows."""
        if chunk.problems.n == 0:
            return np.zeros(chunk.problems.probs.shape, dtype=bool)
        scores = plain_scores(chunk.problems, self.method)
        inside = within(scores, chunk.rows[:, None], self.values[None, :], self.rows[None, :])
        flags: np.ndarray = inside & _agree_filter(chunk)
        return flags


def low_memory_rule(source: Source, num_classes: int, method: str | None) -> LowMemoryRule:
    """Run the three passes of cleanlab's batched path over a source of chunks."""
    k = num_classes
    batched = functools.reduce(operator.add, map_chunks(source, BatchedThresholds.of), BatchedThresholds.empty(k))
    thresholds = batched.finalize()
    counts = map_chunks(source, functools.partial(issue_counts, thresholds=thresholds))
    nums = sum(counts, np.zeros(k, dtype=np.int64)).tolist()
    score_by = method or "self_confidence"
    return LowMemoryRule(score_by, *class_cutoffs(source, score_by, nums))
