"""Flags as bounds on p (``polars_mlq.core.bounds``) against the (key, row) tests they replace."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polars_mlq.core.binary import SORT_KEYS, boundaries, sort_key
from polars_mlq.core import bounds
from polars_mlq.core.bounds import LabelBounds, dense_flags
from polars_mlq.core.problems import _problems
from polars_mlq.core.select import EVERYTHING, NOTHING, within

K = 6


def _probs(seed: int, n: int, dtype: type[np.floating]) -> np.ndarray:
    """(n, K) probabilities with many ties: rounded values, neighbours of 0.5 and of each other, 0 and 1."""
    rng = np.random.default_rng(seed)
    base = (rng.random(n * K) if rng.random() < 0.5 else np.round(rng.random(n * K), 2)).astype(dtype)
    half = np.array(0.5, dtype=dtype)
    near = np.array([np.nextafter(half, dtype(i % 2)) for i in range(8)] + [half, dtype(0), dtype(1)], dtype=dtype)
    for _ in range(3):
        near = np.concatenate([near, np.nextafter(near, dtype(1)), np.nextafter(near, dtype(0))])
    pick = rng.random(n * K) < 0.3
    base[pick] = rng.choice(near, size=int(pick.sum()))
    steps = rng.random(n * K) < 0.2  # a neighbour of another entry: keys that round together
    base[steps] = np.nextafter(rng.choice(base, size=int(steps.sum())), dtype(1))
    return np.clip(base, 0, 1).astype(dtype).reshape(n, K)


def _cutoffs(rng: np.random.Generator, keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class a (key, row) cutoff: a pair that occurs, or nothing, or everything."""
    values = np.empty(K)
    cut_rows = np.empty(K, dtype=np.int64)
    for c in range(K):
        kind = rng.integers(5)
        if kind == 0:
            values[c], cut_rows[c] = NOTHING
        elif kind == 1:
            values[c], cut_rows[c] = EVERYTHING
        else:
            i = rng.integers(keys.shape[0])
            values[c], cut_rows[c] = float(keys[i, c]), int(rows[i]) + int(rng.integers(-1, 2))
    return values, cut_rows


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(seed=st.integers(0, 2**32 - 1))
def test_a_cutoff_as_bounds_flags_what_the_key_test_flags(dtype: type[np.floating], seed: int) -> None:
    """(key, row) <= (v, r) equals the bounds' test for both labels and both sort keys, ties included."""
    rng = np.random.default_rng(seed)
    probs = _probs(seed, 300, dtype)
    rows = np.sort(rng.choice(10_000, size=300, replace=False)).astype(np.int64)
    one = dtype(1)
    cls = np.broadcast_to(np.arange(K), probs.shape).reshape(-1)
    for by in SORT_KEYS:
        for label in (0, 1):
            keys = sort_key(by, label, probs, np.subtract(one, probs)).astype(np.float64)
            values, cut_rows = _cutoffs(rng, keys, rows)
            expected = within(keys, rows[:, None], values[None, :], cut_rows[None, :])
            test = LabelBounds.of_cutoff(by, label, values, cut_rows, np.dtype(dtype))
            got = test.entries(probs.reshape(-1), cls, np.repeat(rows, K)).reshape(probs.shape)
            np.testing.assert_array_equal(got, expected, err_msg=f"{by=} {label=}")
            bound = np.full(K, boundaries(np.dtype(dtype)).missing if label == 0 else boundaries(np.dtype(dtype)).extra)
            agree = probs > bound if label == 0 else probs <= bound
            both = test.restricted(bound).entries(probs.reshape(-1), cls, np.repeat(rows, K)).reshape(probs.shape)
            np.testing.assert_array_equal(both, expected & agree, err_msg=f"restricted {by=} {label=}")
            if label == 0:  # run by run, and (more runs than allowed) with a second comparison
                np.testing.assert_array_equal(test.dense(probs, rows), expected, err_msg=f"dense {by=}")
                with mock.patch.object(bounds, "_MAX_RUNS", 0):
                    np.testing.assert_array_equal(test.dense(probs, rows), expected, err_msg=f"dense {by=}")


@pytest.mark.parametrize("labelled", [0.02, 0.3])
@given(seed=st.integers(0, 2**32 - 1))
def test_dense_flags_take_each_entry_by_its_given_label(labelled: float, seed: int) -> None:
    """Unlabelled entries follow the label-0 tests, labelled ones the label-1 tests, all of them ANDed."""
    rng = np.random.default_rng(seed)
    probs = _probs(seed, 200, np.float64)
    rows = np.arange(200, dtype=np.int64) + 50
    given_mask = rng.random(probs.shape) < labelled
    lab_rows, lab_cls = np.nonzero(given_mask)
    tests = []
    for label in (0, 1):
        keys = {by: sort_key(by, label, probs, 1 - probs) for by in SORT_KEYS}
        tests.append(
            tuple(
                LabelBounds.of_cutoff(by, label, *_cutoffs(rng, keys[by], rows), np.dtype(np.float64))
                for by in SORT_KEYS
            )
        )
    got = dense_flags((tests[0], tests[1]), _problems(probs, lab_rows * K + lab_cls), rows)
    cls = np.broadcast_to(np.arange(K), probs.shape).reshape(-1)
    flat_rows = np.repeat(rows, K)
    expected = np.ones(probs.size, dtype=bool)
    for label in (0, 1):
        here = given_mask.reshape(-1) == bool(label)
        for test in tests[label]:
            expected[here] &= test.entries(probs.reshape(-1)[here], cls[here], flat_rows[here])
    np.testing.assert_array_equal(got.reshape(-1), expected)
