"""A sparse batch as the statistics core sees it: its explicit entries, every other entry at fill.

A sparse row lists some classes with their probabilities; every class it neither lists nor is
labelled with is an *implicit* entry: unlabelled, p = fill_value. The issue finders need only
the explicit entries (listed, or labelled) and per-class counts of the implicit ones, because
every flag of every filter lies among the candidates, the entries where the model disagrees with
the given label (``polars_mlq.core.candidates``): an implicit entry is a candidate only if
fill_value is above one half, which ``check_fill`` refuses. So a chunk costs O(nnz + n + K).

- pass 1: ``ThresholdPartial.of_sparse``;
- pass 2 (``JointPartial``): the confident joint counts every implicit entry of a class by the
  one guess fill_value gets there; the candidates are explicit entries;
- the ``low_*`` filters rank rows by cleanlab's EMA of the self-confidences, computed here in its
  own order of operations over the sorted explicit scores and the run of implicit ones
  (``rank_scores``), so ties rank as on the dense rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from polars_mlq.core.candidates import Candidates, widened_bounds
from polars_mlq.core.options import RANK_ALPHA
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.scoring.sparse.rows import sorted_scores
from polars_mlq.scoring.sparse.scores import entry_scores, explicit_rows


@dataclass(frozen=True, eq=False)
class SparseChunk:
    """The scored rows of one sparse batch and their row numbers in the user's data."""

    batch: SparseBatch
    rows: np.ndarray  # (n,) int64, ascending

    @classmethod
    def of(cls, batch: SparseBatch, kept: np.ndarray, first_row: int = 0) -> SparseChunk:
        """Return the chunk of a batch read from rows ``kept`` of a slice starting at row ``first_row``."""
        return cls(batch, kept.astype(np.int64) + first_row)

    @property
    def n(self) -> int:
        """The number of rows."""
        return self.batch.n_rows

    @property
    def num_classes(self) -> int:
        """K."""
        return self.batch.num_classes

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the probabilities."""
        return self.batch.probs.dtype

    @functools.cached_property
    def entries(self) -> tuple[Candidates, Candidates]:
        """Return the explicit (unlabelled, labelled) entries, with batch-local rows.

        The unlabelled ones are the listed entries the row is not labelled with; the labelled ones
        are every label, listed (its p) or not (p = fill).
        """
        batch, labels = self.batch, self.batch.labels
        listed_rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(batch.indptr))
        hit = labels.labelled
        unlabelled = Candidates(0, listed_rows[~hit], batch.classes[~hit], batch.probs[~hit])
        fill = np.full(labels.unlisted_rows.size, batch.fill, dtype=self.dtype)
        labelled = Candidates(
            1,
            np.concatenate([listed_rows[hit], labels.unlisted_rows]),
            np.concatenate([batch.classes[hit], labels.unlisted_classes]),
            np.concatenate([batch.probs[hit], fill]),
        )
        return unlabelled, labelled

    @functools.cached_property
    def _scored(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {}

    def scores_by(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the explicit entries' scores by ``method`` (unlabelled, labelled), as dense rows score them.

        Kept per method: the batched filter's passes and its flags read them from the same chunk.
        """
        if method not in self._scored:
            unlabelled, labelled = self.entries
            self._scored[method] = (
                entry_scores(unlabelled.p, np.zeros(unlabelled.p.size, dtype=bool), method),
                entry_scores(labelled.p, np.ones(labelled.p.size, dtype=bool), method),
            )
        return self._scored[method]

    @functools.cached_property
    def ranks(self) -> np.ndarray:
        """Each row's EMA of its self-confidences (``rank_scores``): what the ``low_*`` filters rank rows by."""
        return rank_scores(self.batch)

    def implicit_counts(self) -> np.ndarray:
        """Return per class the number of implicit entries (unlabelled, not listed: p = fill)."""
        unlabelled, labelled = self.entries
        k = self.num_classes
        explicit = np.bincount(unlabelled.cls, minlength=k) + np.bincount(labelled.cls, minlength=k)
        counts: np.ndarray = self.n - explicit
        return counts

    @functools.cached_property
    def candidates(self) -> tuple[Candidates, Candidates]:
        """The widened candidates (unlabelled, labelled), as ``candidates.candidates`` of the dense rows.

        Kept: the passes and the flags of one chunk read them alike.
        """
        check_fill(self.batch.fill, self.dtype)
        upper, lower = widened_bounds(self.dtype)
        unlabelled, labelled = self.entries
        keep0, keep1 = unlabelled.p > lower, labelled.p <= upper
        return (
            Candidates(0, unlabelled.rows[keep0], unlabelled.cls[keep0], unlabelled.p[keep0]),
            Candidates(1, labelled.rows[keep1], labelled.cls[keep1], labelled.p[keep1]),
        )


def check_fill(fill: object, dtype: np.dtype[Any]) -> None:
    """Refuse a fill_value that would make implicit entries candidates (above about one half).

    A fill_value that is not a number is left to the readers, which name it.
    """
    lower = widened_bounds(np.dtype(dtype))[1]
    if not isinstance(fill, (int, float, np.number)) or isinstance(fill, bool):
        return
    value = float(fill)
    if value > lower:
        msg = (
            f"fill_value {value!r} is above {lower!r}: every class a row does not list would then "
            "be predicted present, and each could be a label issue. The issue finders take fill_value "
            "below one half (the probability of a class a top-k model leaves out); densify the rows instead"
        )
        raise ValueError(msg)


def rank_scores(batch: SparseBatch, alpha: float = RANK_ALPHA, method: str = "self_confidence") -> np.ndarray:
    """Return each row's EMA of its K binary scores, as ``core.scores.ema`` computes it on the dense row.

    The scores are ``method``'s, without adjustment: every implicit entry scores the same constant
    c (the score of an unlabelled entry at fill, 1 - fill for self_confidence). The dense row
    sorted from the largest score down is: the explicit scores above c, then the run of c (the
    implicit entries, and explicit ones equal to c), then the explicit scores below c. Each step
    is ``alpha * v + (1 - alpha) * s``, in that order; along the run, the rounded step is a
    non-decreasing map of s, so s moves monotonically to a fixed point and then stays: the run
    is stepped until it ends or s stops changing (a few dozen steps), never K times.
    """
    explicit = explicit_rows(batch, method)
    c = float(explicit.constants[0]) if explicit.constants.size else 0.0
    k = batch.num_classes
    rest = 1.0 - alpha
    out = np.empty(batch.n_rows, dtype=np.float64)
    for rows, scores, counts in sorted_scores(explicit):
        below = np.count_nonzero(scores < c, axis=1)
        state = np.zeros(rows.size, dtype=np.float64)
        started = np.zeros(rows.size, dtype=bool)
        for t in range(int((counts - below).max(initial=0))):  # explicit scores >= c, largest first
            state = _step(scores, counts - 1 - t, t < counts - below, (state, started), alpha)
        remaining = k - counts
        first = (remaining > 0) & ~started
        state[first] = c
        remaining[first] -= 1
        started |= first
        active = np.flatnonzero(remaining > 0)
        while active.size:
            new = alpha * c + rest * state[active]
            moved = new != state[active]
            state[active] = new
            remaining[active] -= 1
            active = active[moved & (remaining[active] > 0)]
        for t in range(int(below.max(initial=0))):  # explicit scores below c, largest first
            state = _step(scores, below - 1 - t, t < below, (state, started), alpha)
        out[rows] = state
    return out


def _step(
    scores: np.ndarray, position: np.ndarray, active: np.ndarray, running: tuple[np.ndarray, np.ndarray], alpha: float
) -> np.ndarray:
    """Return the EMA after the value at ``position`` of each ``active`` row (its first value starts it).

    ``running`` is (state, started); ``started`` is updated in place.
    """
    state, started = running
    v = scores[np.arange(scores.shape[0]), np.clip(position, 0, scores.shape[1] - 1)]
    new: np.ndarray = np.where(active, np.where(started, alpha * v + (1.0 - alpha) * state, v), state)
    started[active] = True
    return new
