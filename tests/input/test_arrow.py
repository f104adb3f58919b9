"""Reading List/Array columns through the Arrow C stream interface (``polars_mlq.input.arrow``).

The views must hold exactly the column's values (sliced columns included), stay valid after
the Series is gone, be read-only, refuse every case they do not handle (so the polars path
runs), and give scores bit-for-bit equal to the polars path.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq.input import arrow as _arrow
from polars_mlq.input.arrow import list_buffers

INNER = [pl.Int8, pl.UInt8, pl.Int16, pl.UInt16, pl.Int32, pl.UInt32, pl.Int64, pl.UInt64, pl.Float32, pl.Float64]


def owner_of(array: np.ndarray) -> _arrow._Exported:
    base = array.base
    while not hasattr(base, "owner"):  # a slice's base is the view it was cut from
        base = base.base
    return base.owner


def rows_of(buffers: _arrow.ListBuffers) -> list[list]:
    offsets, values = buffers.offsets, buffers.values
    return [values[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]


@pytest.mark.parametrize("inner", INNER)
def test_list_views_hold_the_rows_for_every_value_type(inner):
    rows = [[1, 2], [], [3], [4, 5, 6]]
    s = pl.Series("x", rows, dtype=pl.List(inner))
    got = list_buffers(s)
    assert got is not None
    assert got.values.dtype == s.explode().to_numpy().dtype
    assert rows_of(got) == rows
    assert got.offsets.tolist() == [0, 2, 2, 3, 6]


@given(
    rows=st.lists(st.lists(st.integers(-100, 100), max_size=5), min_size=1, max_size=30),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_sliced_list_columns_give_the_slice(rows, data):
    start = data.draw(st.integers(0, len(rows) - 1))
    length = data.draw(st.integers(1, len(rows) - start))
    s = pl.Series("x", rows, dtype=pl.List(pl.Int64)).slice(start, length)
    got = list_buffers(s)
    assert got is not None
    assert rows_of(got) == rows[start : start + length]


def test_sliced_array_column_gives_the_slice():
    values = np.arange(24, dtype=np.float64).reshape(8, 3)
    s = pl.Series("p", values, dtype=pl.Array(pl.Float64, 3)).slice(2, 4)
    got = list_buffers(s)
    assert got is not None
    np.testing.assert_array_equal(np.array(rows_of(got)), values[2:6])


def test_views_share_the_columns_memory_and_are_read_only():
    s = pl.Series("p", np.random.default_rng(0).random((50, 4)).tolist())
    got = list_buffers(s)
    flat = s.explode().to_numpy()  # polars' own zero-copy view of the same buffer
    assert np.shares_memory(got.values, flat)
    assert not got.values.flags.writeable and not got.offsets.flags.writeable
    with pytest.raises(ValueError):
        got.values[0] = 1.0


def test_views_outlive_the_series_and_release_the_export_when_dropped():
    expected = [[0.25, 0.5], [0.75, 1.0], [0.125, 0.0]]
    s = pl.Series("p", expected)
    got = list_buffers(s)
    owner = weakref.ref(owner_of(got.values))
    del s
    gc.collect()
    _ = [pl.Series("junk", np.random.default_rng(1).random(1000)) for _ in range(20)]  # reuse freed memory
    assert rows_of(got) == expected
    assert owner() is not None
    del got
    gc.collect()
    assert owner() is None


def test_dropping_the_owner_calls_the_producers_release():
    got = list_buffers(pl.Series("x", [[1, 2]]))
    exported = owner_of(got.values)
    assert exported.array.release  # not yet released
    exported.__del__()
    assert not exported.array.release  # the producer marks the struct released
    exported.__del__()  # a second call is a no-op


@pytest.mark.parametrize(
    "series",
    [
        pl.Series("x", [], dtype=pl.List(pl.Int64)),
        pl.Series("x", [[1], None]),
        pl.Series("x", [[1, None]]),
        pl.Series("x", [["a"]]),
        pl.Series("x", [[True]]),
        pl.Series("x", [1, 2]),
        pl.concat([pl.Series("x", [[1]]), pl.Series("x", [[2]])], rechunk=False),
        pl.Series("x", [[1.0, None]], dtype=pl.Array(pl.Float64, 2)),
    ],
    ids=["empty", "null-row", "inner-null", "strings", "booleans", "not-a-list", "two-chunks", "array-inner-null"],
)
def test_what_is_not_read_here_returns_none(series):
    assert list_buffers(series) is None


def test_only_empty_lists_give_empty_values():
    got = list_buffers(pl.Series("x", [[], []], dtype=pl.List(pl.Int64)))
    assert got is not None
    assert got.offsets.tolist() == [0, 0, 0] and got.values.size == 0


def _frame(rng: np.random.Generator, n: int, k: int) -> pl.DataFrame:
    probs = rng.random((n, k))
    labels = [np.flatnonzero(rng.random(k) < 0.3).tolist() for _ in range(n)]
    return pl.DataFrame({"labels": labels, "pred_probs": probs.tolist()})


@pytest.mark.parametrize(
    "options",
    [{}, {"method": "normalized_margin"}, {"method": "confidence_weighted_entropy"}, {"adjust_pred_probs": True}],
)
def test_scores_equal_the_polars_path_bit_for_bit(options):
    frame = _frame(np.random.default_rng(3), 300, 7)
    fast = frame.mlq.label_quality(**options)["label_quality"]
    # Two chunks per column: list_buffers declines, and the polars path reads the columns.
    halves = pl.concat([frame[:150], frame[150:]], rechunk=False)
    assert halves["labels"].n_chunks() == 2
    slow = halves.mlq.label_quality(**options)["label_quality"]
    assert fast.to_list() == slow.to_list()
    sliced = frame.slice(100, 150).mlq.label_quality(**options)["label_quality"]
    rescored = pl.DataFrame(frame.slice(100, 150).to_dict(as_series=False)).mlq.label_quality(**options)
    assert sliced.to_list() == rescored["label_quality"].to_list()


def test_the_fast_path_leaves_the_input_unchanged_and_errors_still_name_the_row():
    frame = _frame(np.random.default_rng(4), 20, 3)
    before = frame.clone()
    frame.mlq.label_quality()
    assert frame.equals(before)
    ragged = frame.with_columns(pl.when(pl.int_range(pl.len()) == 7).then([0.5, 0.5]).otherwise("pred_probs").alias("pred_probs"))
    with pytest.raises(ValueError, match=r"row 7: pred_probs has 2 values, expected 3"):
        ragged.mlq.label_quality()
    bad_label = frame.with_columns(pl.when(pl.int_range(pl.len()) == 5).then([0, 9]).otherwise("labels").alias("labels"))
    with pytest.raises(ValueError, match=r"row 5: label 9 is not a class index"):
        bad_label.mlq.label_quality()
