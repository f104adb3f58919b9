"""The batched filter on sparse chunks (``polars_mlq.core.sparse_low_memory``), beyond the NumPy face."""

from __future__ import annotations

from unittest import mock

import numpy as np
import polars as pl
import pytest

from helpers import top_k_frame
from polars_mlq.core import engine, low_memory, parse_issue_options, sparse_low_memory
from polars_mlq.core.chunk import Chunk
from polars_mlq.core.frames import SparseInput
from polars_mlq.core.sparse_chunk import SparseChunk
from polars_mlq.input import LabelSpec, read_arrays

K = 10


def _chunk(fill: float) -> SparseChunk:
    frame, _, _ = top_k_frame(41, 23_000, K, 4, fill=fill)
    given = SparseInput.of((pl.col("labels"), pl.col("probs"), pl.col("classes")), K, fill, LabelSpec())
    chunk, _ = given.read(frame.select(given.labels, given.pred_probs, given.pred_classes), 0)
    return chunk


def _flags(chunks: list[SparseChunk], rank_by: str | None) -> tuple[np.ndarray, np.ndarray]:
    options = parse_issue_options(K, low_memory=True, return_indices_ranked_by=rank_by)
    rule = engine.find(lambda: iter(chunks), K, options, sparse=True).rule
    rows = np.concatenate([c.rows[rule.row_mask(c)] for c in chunks])
    entries = [rule.sparse_class_flags(c) for c in chunks]
    keys = np.concatenate([c.rows[r] * K + cls for c, (r, cls) in zip(chunks, entries, strict=True)])
    return rows, np.sort(keys)


@pytest.mark.parametrize(("fill", "rank_by"), [(0.0, "confidence_weighted_entropy"), (0.02, None)])
def test_any_split_into_chunks_flags_the_same_entries(fill: float, rank_by: str | None) -> None:
    """Chunks that cut the 10,000-row batches of the thresholds anywhere, merged in any order."""
    whole = _chunk(fill)
    cuts = [0, 1, 7_000, 13_500, 20_000, whole.n]
    parts = [
        SparseChunk(whole.batch.row_slice(a, b), whole.rows[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    expected = _flags([whole], rank_by)
    assert expected[0].size > 100
    for chunks in (parts, parts[::-1]):
        got = _flags(chunks, rank_by)
        np.testing.assert_array_equal(got[0] if chunks is parts else np.sort(got[0]), expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_the_run_of_implicit_entries_places_the_survivors_that_tie_with_it() -> None:
    """Ranked by confidence_weighted_entropy at fill 0, every implicit entry scores 0, as a labelled
    class the row does not list (p = 0) does: the cutoff falls in that run, and only the labelled
    entries within the class's first m places of it are flagged."""
    whole = _chunk(0.0)
    with mock.patch.object(sparse_low_memory, "_run_places", wraps=sparse_low_memory._run_places) as places:
        rows, keys = _flags([whole], "confidence_weighted_entropy")
    assert places.called
    labelled_unlisted = set((whole.rows[whole.batch.labels.unlisted_rows] * K + whole.batch.labels.unlisted_classes).tolist())
    flagged_at_zero = labelled_unlisted & set(keys.tolist())
    assert 0 < len(flagged_at_zero) < len(labelled_unlisted)  # some within the cutoff, some beyond it


@pytest.mark.parametrize("fill", [0.0, 0.3, 0.5000001])
def test_issue_counts_are_the_densified_rows(fill: float) -> None:
    """Step 2 per class, against the dense step on the densified rows, with thresholds that make
    the implicit entries confident: just above one half (still below the disagreement bound) the
    model calls them present, so each is an issue."""
    frame, dense, labels = top_k_frame(43, 2_000, K, 4, fill=fill)
    given = SparseInput.of((pl.col("labels"), pl.col("probs"), pl.col("classes")), K, fill, LabelSpec())
    chunk, _ = given.read(frame.select(given.labels, given.pred_probs, given.pred_classes), 0)
    dense_chunk = Chunk.of(read_arrays(pl.Series(labels, dtype=pl.List(pl.Int64)), dense))
    thresholds = np.column_stack([np.linspace(0.2, 0.6, K), np.linspace(0.3, 0.7, K)])
    expected = low_memory.issue_counts(dense_chunk, thresholds)
    np.testing.assert_array_equal(sparse_low_memory.issue_counts(chunk, thresholds), expected)
    assert (expected > 1_000).any() == (fill > 0.5)  # the implicit entries, where the model calls them present


def test_batched_thresholds_are_the_densified_rows_and_hold_only_the_classes_touched() -> None:
    """Step 1 against the dense partial on the densified rows (bit for bit, over 3 batches), and at
    K = 100,000 a batch keeps sums for the classes its rows list or are labelled with, not for K."""
    frame, dense, labels = top_k_frame(44, 23_000, K, 4, fill=0.02)
    wider = K + 2  # two classes no row lists or is labelled with: every batch leaves them out
    dense = np.hstack([dense, np.full((dense.shape[0], 2), 0.02)])
    given = SparseInput.of((pl.col("labels"), pl.col("probs"), pl.col("classes")), wider, 0.02, LabelSpec())
    chunk, _ = given.read(frame.select(given.labels, given.pred_probs, given.pred_classes), 0)
    dense_chunk = Chunk.of(read_arrays(pl.Series(labels, dtype=pl.List(pl.Int64)), dense))
    expected = low_memory.BatchedThresholds.of(dense_chunk).finalize()
    partial = sparse_low_memory.SparseBatchedThresholds.of(chunk)
    assert all(part.classes.size == K for _, part in partial.batches)
    np.testing.assert_array_equal(partial.finalize(), expected)
    rng = np.random.default_rng(45)
    wide = 100_000
    classes = [rng.choice(wide, 5, replace=False).tolist() for _ in range(12_000)]
    big = pl.DataFrame(
        {"labels": [row[:1] for row in classes], "probs": rng.uniform(0, 1, (12_000, 5)).tolist(), "classes": classes},
        schema_overrides={"labels": pl.List(pl.Int64)},
    )
    given = SparseInput.of((pl.col("labels"), pl.col("probs"), pl.col("classes")), wide, 0.0, LabelSpec())
    chunk, _ = given.read(big, 0)
    partial = sparse_low_memory.SparseBatchedThresholds.of(chunk)
    assert [number for number, _ in partial.batches] == [0, 1]
    touched = [np.unique(np.concatenate(classes[a:b])).size for a, b in ((0, 10_000), (10_000, 12_000))]
    assert [part.classes.size for _, part in partial.batches] == touched
    assert max(touched) < wide
