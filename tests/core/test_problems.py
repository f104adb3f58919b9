"""The K binary problems of a batch (``polars_mlq.core.problems``): labelled entries and their rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polars_mlq.core import Chunk, ThresholdPartial
from polars_mlq.core.joint import JointPartial
from polars_mlq.core.problems import problems
from polars_mlq.input import class_counts, read_batch

K = 5


@given(st.lists(st.lists(st.integers(0, K - 1), max_size=6), min_size=1, max_size=15))
def test_entries_rows_and_first_entries_of_rows(rows: list[list[int]]) -> None:
    """Entries list each row's distinct labels in order; rows_of and first_entry_of_rows invert them.

    Labels may repeat or come out of order within a row (the sorted path), or not.
    """
    n = len(rows)
    probs = np.random.default_rng(n).random((n, K))
    labels = pl.Series("labels", rows, dtype=pl.List(pl.Int64))
    pb = problems(read_batch(labels, pl.Series("pred_probs", probs)))
    expected = [(r, c) for r, row in enumerate(rows) for c in sorted(set(row))]
    entry_rows = np.array([r for r, _ in expected], dtype=np.int64)
    assert pb.lab_cls.tolist() == [c for _, c in expected]
    assert pb.lab_p.tolist() == [probs[r, c] for r, c in expected]
    assert pb.rows_of(np.arange(len(expected))).tolist() == entry_rows.tolist()
    assert pb.counts[:, 1].tolist() == np.bincount([c for _, c in expected], minlength=K).tolist()
    starts = np.arange(n + 1)
    assert pb.first_entry_of_rows(starts).tolist() == np.searchsorted(entry_rows, starts).tolist()


@given(st.lists(st.integers(0, 6), max_size=300), st.integers(1, 3))
def test_class_counts_in_slices_are_bincount(values: list[int], slice_bits: int) -> None:
    import polars_mlq.input.labels as labels_module

    classes = np.array(values, dtype=np.int64)
    original = labels_module._COUNT_SLICE
    labels_module._COUNT_SLICE = 1 << slice_bits  # many slices, and a last one cut short
    try:
        counts = class_counts(classes, 7)
    finally:
        labels_module._COUNT_SLICE = original
    assert counts.dtype == np.int64
    assert counts.tolist() == np.bincount(classes, minlength=7).tolist()


@pytest.mark.parametrize("share", [0.05, 0.4])  # few labels (gathers) and many (block masks)
def test_the_joint_counts_do_not_depend_on_the_row_blocks(share: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The confident joint's guesses are counted block by block: blocks of 3 rows give the one-block counts."""
    import polars_mlq.core.joint as joint_module

    rng = np.random.default_rng(7)
    n = 500
    probs = rng.random((n, K))
    rows = [np.flatnonzero(rng.random(K) < share).tolist() for _ in range(n)]
    labels = pl.Series("labels", rows, dtype=pl.List(pl.Int64))
    chunk = Chunk.of(read_batch(labels, pl.Series("pred_probs", probs)))
    thr = ThresholdPartial.of(chunk).finalize()
    whole = JointPartial.of(chunk, thr, entries=False).joint
    monkeypatch.setattr(joint_module, "_BLOCK_ENTRIES", 3 * K)
    blocks = JointPartial.of(chunk, thr, entries=False).joint
    np.testing.assert_array_equal(blocks, whole)
    b1, b0 = thr.guesses
    given = np.zeros((n, K), dtype=bool)
    for r, row in enumerate(rows):
        given[r, row] = True
    assert whole[:, 1, 1].tolist() == ((probs > b1) & given).sum(axis=0).tolist()
    assert whole[:, 0, 0].tolist() == ((probs <= b0) & ~given).sum(axis=0).tolist()
