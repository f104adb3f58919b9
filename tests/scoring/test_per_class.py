"""The per-class scores (``polars_mlq.scoring.per_class``), confidence_weighted_entropy above all.

The fast EMA path for confidence_weighted_entropy rests on one fact: as a function of the
self-confidence q, the score is non-decreasing on [CWE_RISING_LOW, CWE_RISING_HIGH] and turns
outside it. The first tests check that fact on cleanlab's own per-class scores, then check the fast
path against cleanlab on rows crowded around the turns. The others check the shortcut that scores
from q alone, and the in-place kernel, against the definition and cleanlab.
"""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.scoring.per_class import (
    CWE_FROM_CONFIDENCE_HIGH,
    CWE_RISING_HIGH,
    CWE_RISING_LOW,
    confidence_weighted_entropy,
    cwe_of,
    cwe_of_confidence,
    cwe_scores,
    self_confidence,
)


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    """The definition: binary entropy in bits of [1 - p, p] (1 - p in the dtype of p), in float64."""
    total = np.zeros(probs.shape, dtype=np.float64)
    for part in (np.subtract(1, probs), probs):
        wide = part.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            total += np.where(wide > 0, wide * np.log(np.where(wide > 0, wide, 1.0)), 0.0 * wide)
    return total / -np.log(2.0)


def definition_cwe(probs: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """The definition of the per-class score, each step in the dtype it is taken in."""
    confidence = np.where(labelled, probs, np.subtract(1, probs)).astype(probs.dtype)
    ratio = entropy_bits(probs) / np.maximum(confidence, np.asarray(1e-6, dtype=probs.dtype))
    with np.errstate(invalid="ignore"):
        return np.log(ratio + 1) / np.maximum(ratio, 1e-6)


# --------------------------------------------------------------------------- where CWE rises


def cleanlab_cwe_of_confidence(q: np.ndarray) -> np.ndarray:
    """cleanlab's per-class score for one labelled class whose probability is q (so q_given = q)."""
    labels = [[0]] * len(q)
    return get_label_quality_scores_per_class(labels, q[:, None], method="confidence_weighted_entropy")[:, 0]


def _grid(low: float, high: float) -> np.ndarray:
    """Dense in linear and in log distance from both ends."""
    return np.unique(
        np.concatenate(
            [
                np.linspace(low, high, 200_001),
                np.geomspace(low, 0.5, 50_001),
                1.0 - np.geomspace(1.0 - high, 0.5, 50_001),
            ]
        )
    )


def test_cleanlab_scores_rise_with_confidence_inside_the_interval() -> None:
    q = _grid(CWE_RISING_LOW, CWE_RISING_HIGH)
    assert q.min() >= CWE_RISING_LOW and q.max() <= CWE_RISING_HIGH
    scores = cleanlab_cwe_of_confidence(q)
    assert np.all(np.diff(scores) >= 0.0)


def test_cleanlab_scores_turn_outside_the_interval() -> None:
    below = np.geomspace(1e-12, 1e-6, 2001)  # fixed denominator: falls as q grows
    assert np.all(np.diff(cleanlab_cwe_of_confidence(below)) <= 0.0)
    near_one = 1.0 - np.geomspace(3e-8, 1e-12, 2001)  # r under its floor: falls as q grows
    assert np.all(np.diff(cleanlab_cwe_of_confidence(near_one)) <= 0.0)
    ends = cleanlab_cwe_of_confidence(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(ends, [0.0, 0.0])


_near_turns = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e-5),
    st.floats(1.0 - 1e-5, 1.0),
    st.sampled_from([0.0, 1.0, 1e-6, 2e-6, 1.0 - 2e-7, 1.0 - 4e-8, 1e-300]),
)


@given(
    st.integers(2, 80).flatmap(
        lambda k: st.tuples(
            st.lists(st.lists(_near_turns, min_size=k, max_size=k), min_size=2, max_size=40),
            st.lists(st.lists(st.integers(0, k - 1), max_size=3), min_size=40, max_size=40),
            st.sampled_from([0.8, None, 0.3, 1.0]),
        )
    )
)
def test_fast_ema_matches_cleanlab_near_the_turns(case: tuple) -> None:
    probs, labels, alpha = case
    pred_probs = np.array(probs)
    # cleanlab refuses label matrices without both a 0 and a 1: make row 0 labelled, the last row not
    labels = [[0], *labels[1 : len(probs) - 1], []]
    aggregator = {"method": "exponential_moving_average", "alpha": alpha}
    ours = mlq.get_label_quality_scores(
        labels, pred_probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator
    )
    theirs = cleanlab_scores(labels, pred_probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- CWE from q


def test_cwe_from_the_confidence_is_close_to_the_score_from_p_up_to_its_bound() -> None:
    rng = np.random.default_rng(3)
    p = np.exp(rng.uniform(np.log(1.0 - CWE_FROM_CONFIDENCE_HIGH), np.log(0.5), 400_000))  # unlabelled, p < 0.5
    q = 1.0 - p
    exact = cwe_of(entropy_bits(p), q)
    assert np.abs(cwe_of_confidence(q) - exact).max() <= 2.5e-13
    labelled = rng.uniform(CWE_RISING_LOW, CWE_FROM_CONFIDENCE_HIGH, 400_000)  # q = p: bit for bit
    np.testing.assert_array_equal(cwe_of_confidence(labelled), cwe_of(entropy_bits(labelled), labelled))


@pytest.mark.parametrize("seed", range(4))
def test_cwe_rows_near_the_shortcuts_limit_match_cleanlab(seed: int) -> None:
    """Unlabelled classes with p between 1e-6 and 1e-2 put a row's m-th smallest q on either side
    of 1 - 1e-3: both the shortcut and the full path run, and both must match cleanlab."""
    rng = np.random.default_rng(seed)
    n, k = 400, 60
    high = rng.choice([1e-4, 1e-2], size=(n, 1))  # half the rows beyond the limit
    probs = np.exp(rng.uniform(np.log(1e-6), np.log(high), (n, k)))
    labels = [rng.choice(k, size=rng.integers(0, 3), replace=False).tolist() for _ in range(n)]
    labels[0], labels[1] = [0], []
    for i, row in enumerate(labels):
        probs[i, row] = rng.uniform(0.05, 0.99, len(row))
    for alpha in (0.8, 0.6):  # 22 and 38 terms of 60
        aggregator = {"method": "exponential_moving_average", "alpha": alpha}
        ours = mlq.get_label_quality_scores(
            labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator
        )
        theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@given(
    st.lists(
        st.one_of(st.sampled_from([0.0, 1.0, 5e-324, 1e-300, 1e-7, 0.5, 1 - 1e-12, 1 - 1e-7]), st.floats(0, 1)),
        min_size=6,
        max_size=60,
    ),
    st.integers(1, 3),
    st.sampled_from([np.float64, np.float32]),
)
def test_the_in_place_cwe_kernel_equals_the_definition_bit_for_bit(
    values: list[float], width: int, dtype: type
) -> None:
    n = len(values) // width
    probs = np.array(values[: n * width], dtype=dtype).reshape(n, width)
    positions = np.arange(0, probs.size, 2, dtype=np.intp)  # every other entry labelled
    labelled = np.zeros(probs.size, dtype=bool)
    labelled[positions] = True
    expected = definition_cwe(probs, labelled.reshape(probs.shape))
    before = probs.copy()
    out = np.empty(probs.shape, dtype=np.float64)
    confidence_weighted_entropy(probs, positions, out)
    np.testing.assert_array_equal(out, expected)
    confidence = np.full_like(probs, np.nan)  # a buffer cwe_scores fills with the self-confidence
    again = np.full(probs.shape, np.nan, dtype=np.float64)
    cwe_scores(probs, positions, confidence, again, np.full(probs.shape, np.nan, dtype=np.float64))
    np.testing.assert_array_equal(again, expected)
    kept = np.empty_like(probs)
    self_confidence(probs, positions, kept)
    np.testing.assert_array_equal(confidence, kept)
    np.testing.assert_array_equal(probs, before)


def _entropy_of(p: float) -> float:
    return float(entropy_bits(np.array([p]))[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("labelled_low", [False, True])
def test_the_kernel_floors_the_ratio_where_the_smallest_p_brings_it_near_the_floor(
    dtype: type, labelled_low: bool
) -> None:
    """The kernel skips the ratio's floor when the block's extreme p prove it unreached.

    A block's smallest p, unlabelled, has r = H(p) / (1 - p), about H(p): stepping that p
    through the values where H(p) crosses 1e-6 (from a quarter to four times it) puts r on both
    sides of the floor, so a bound that claimed too much would leave a ratio under it unfloored.
    """
    low, high = 1e-9, 1e-6  # H(p) = 1e-6 at p of about 4.3e-8
    for _ in range(60):
        middle = (low * high) ** 0.5
        low, high = (middle, high) if _entropy_of(middle) < 1e-6 else (low, middle)
    rng = np.random.default_rng(3)
    for scale in np.geomspace(0.25, 4.0, 41):
        smallest = dtype(high * scale)
        probs = rng.uniform(0.2, 0.8, size=(6, 20)).astype(dtype)
        probs[2, 5] = smallest  # the smallest p and, near 1, the smallest c
        probs[4, 7] = dtype(1) - smallest
        positions = np.array([3, 27, 4 * 20 + 7] + ([2 * 20 + 5] if labelled_low else []), dtype=np.intp)
        labelled = np.zeros(probs.size, dtype=bool)
        labelled[positions] = True
        out = np.empty(probs.shape, dtype=np.float64)
        confidence_weighted_entropy(probs, positions, out)
        np.testing.assert_array_equal(out, definition_cwe(probs, labelled.reshape(probs.shape)))


@pytest.mark.parametrize("saturated_share", [0.5, 1.0])
def test_cwe_rows_scored_in_full_from_their_own_confidence_match_cleanlab(saturated_share: float) -> None:
    """Rows with a q within 2e-7 of 1 skip the q shortcut and are scored in full from the q already
    taken: mixed with shortcut rows in one block (gathered) and filling a block alone."""
    rng = np.random.default_rng(11)
    n, k = 300, 60
    probs = rng.uniform(0.01, 0.6, (n, k))
    saturated = rng.random(n) < saturated_share
    probs[saturated] = np.exp(rng.uniform(np.log(1e-12), np.log(1e-6), (int(saturated.sum()), k)))
    labels = [rng.choice(k, size=rng.integers(0, 4), replace=False).tolist() for _ in range(n)]
    for i, row in enumerate(labels):
        if saturated[i] and row:
            probs[i, row] = 1 - np.exp(rng.uniform(np.log(1e-12), np.log(1e-6), len(row)))
    probs[0, 3] = 1 - 1e-9  # an unlabelled class the model is sure of: a q below 1e-6
    aggregator = {"method": "exponential_moving_average", "alpha": 0.8}  # 22 terms of 60
    ours = mlq.get_label_quality_scores(
        labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator
    )
    theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    rows = np.flatnonzero(saturated)  # alone they fill the block; rows are scored independently
    alone = mlq.get_label_quality_scores(
        [labels[i] for i in rows], probs[rows], method="confidence_weighted_entropy", aggregator_kwargs=aggregator
    )
    np.testing.assert_array_equal(ours[rows], alone)
