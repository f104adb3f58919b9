"""Parity with cleanlab 2.9, the oracle: the scoring functions on the spec's hand examples.

polars_mlq must reproduce ``cleanlab.multilabel_classification.get_label_quality_scores`` and
``cleanlab.multilabel_classification.rank.get_label_quality_scores_per_class`` on valid data,
through every public entry point: the numpy API, ``df.mlq.label_quality[_per_class]`` with List
and Array pred_probs columns, and the bare ``label_quality[_per_class]`` expressions run by the
streaming engine (which slices the rows into batches).

Tolerances
----------
``atol=1e-12`` everywhere except two deliberate differences (``atol=1e-6``), see ``tolerance``.

Where cleanlab refuses valid data
---------------------------------
cleanlab's aggregated function raises on K = 1, on data where every row is unlabelled, and on
data where every class is in every row (its "Labels must be in multi-label format." check, or
"max() arg is an empty sequence"). polars_mlq scores these. There the oracle is cleanlab's
per-class scores aggregated by ``reference_aggregate``, a plain implementation of the spec's
recursion (``test_reference_aggregate_matches_cleanlab`` in test_scores_vs_cleanlab_generated.py checks
it against cleanlab itself).
When every row is unlabelled even cleanlab's public per-class function refuses (its input
validation takes ``max()`` over the labels), so the per-class oracle is then cleanlab's own
internal per-class scorer (``MultilabelScorer.get_class_label_quality_scores``) on the all-zero
label matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from cleanlab.multilabel_classification.rank import (
    get_label_quality_scores_per_class as cleanlab_scores_per_class,
)
from helpers import (
    CWE,
    EMA,
    EXACT,
    L3,
    NM,
    P3,
    SC,
    assert_all_close,
    assert_close,
    entry_point_scores,
    entry_point_scores_per_class,
    oracle_per_class,
    oracle_scores,
    reference_ema,
    tolerance,
)


def check_hand_example(
    labels: list[list[int]],
    probs: np.ndarray,
    expected: list[float] | None = None,
    *,
    expected_atol: float = EXACT,
    method: str = SC,
    adjust: bool = False,
    aggregator_kwargs: dict[str, Any] | None = None,
) -> np.ndarray:
    """Ours (every entry point) == oracle to tolerance, and both == the spec's numbers if given."""
    aggregator_kwargs = aggregator_kwargs or {"method": EMA, "alpha": 0.8}
    theirs = oracle_scores(labels, probs, method, adjust, aggregator_kwargs)
    ours = entry_point_scores(
        labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
    )
    assert_all_close(ours, theirs, tolerance(probs.dtype, method, adjust))
    if expected is not None:
        assert_close(theirs, np.array(expected), expected_atol, "oracle vs the spec")
        assert_all_close(ours, np.array(expected), expected_atol)
    return theirs


def test_baseline():
    check_hand_example(L3, P3, [0.82, 0.72, 0.628, 0.724])
    expected_per_class = [[0.9, 0.9, 0.8], [0.8, 0.8, 0.7], [0.6, 0.7, 0.9], [0.9, 0.8, 0.7]]
    assert_close(cleanlab_scores_per_class(L3, P3), np.array(expected_per_class), EXACT, "cleanlab")
    assert_all_close(entry_point_scores_per_class(L3, P3), expected_per_class, EXACT)


def test_baseline_float32():
    # float32 without adjustment, self_confidence: must match to 1e-12 (values carry float32 rounding).
    check_hand_example(L3, P3.astype(np.float32))
    assert_all_close(
        entry_point_scores_per_class(L3, P3.astype(np.float32)),
        cleanlab_scores_per_class(L3, P3.astype(np.float32)),
        EXACT,
    )


def test_rows_without_labels():
    check_hand_example([[0], [], [1, 2], []], P3, [0.82, 0.24, 0.34, 0.724])


def test_duplicate_and_unsorted_labels_equal_the_deduplicated_ones():
    baseline = check_hand_example(L3, P3)
    check_hand_example([[0, 0], [2, 1, 2], [2, 0], []], P3, list(baseline))


def test_class_in_every_row():
    check_hand_example([[0, 2], [1, 2], [0, 2], [2]], P3, [0.34, 0.72, 0.628, 0.404])


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        (0.0, [0.9, 0.8, 0.9, 0.9]),  # the row maximum
        (1.0, [0.8, 0.7, 0.6, 0.7]),  # the row minimum
        (None, [0.85, 0.75, 0.7, 0.775]),  # 2 / (K + 1) = 0.5
    ],
)
def test_ema_alpha(alpha, expected):
    check_hand_example(L3, P3, expected, aggregator_kwargs={"method": EMA, "alpha": alpha})


def test_ema_alpha_omitted_is_alpha_none():
    check_hand_example(L3, P3, [0.85, 0.75, 0.7, 0.775], aggregator_kwargs={"method": EMA})


def test_ema_subnormal_alpha():
    # A valid alpha in [0, 1]; with alpha this small the EMA is (to within 1e-300) the row maximum.
    check_hand_example(L3, P3, [0.9, 0.8, 0.9, 0.9], aggregator_kwargs={"method": EMA, "alpha": 5e-324})


@pytest.mark.parametrize(
    ("temperature", "expected", "expected_atol"),
    [
        (0.1, [0.842388, 0.742388, 0.636485, 0.742479], 1e-6),  # the spec prints 6 digits
        (1e-6, [0.8, 0.7, 0.6, 0.7], EXACT),  # the row minimum
        (1e-12, [0.8, 0.7, 0.6, 0.7], EXACT),  # clamped to 1e-6
        (1e6, None, None),  # about the row mean, checked below
    ],
)
def test_softmin(temperature, expected, expected_atol):
    theirs = check_hand_example(
        L3,
        P3,
        expected,
        expected_atol=expected_atol,
        aggregator_kwargs={"method": "softmin", "temperature": temperature},
    )
    if temperature == 1e6:
        # weights exp(-(s_k - s_min) / 1e6) are 1 to within 1e-6
        assert_close(theirs, cleanlab_scores_per_class(L3, P3).mean(axis=1), 1e-6, "about the mean")


def test_softmin_default_temperature():
    check_hand_example(
        L3,
        P3,
        [0.842388, 0.742388, 0.636485, 0.742479],
        expected_atol=1e-6,
        aggregator_kwargs={"method": "softmin"},
    )


@pytest.mark.parametrize(
    ("function", "expected"),
    [(np.min, [0.8, 0.7, 0.6, 0.7]), (np.mean, [0.8 + 0.2 / 3, 0.8 - 0.1 / 3, 2.2 / 3, 0.8])],
    ids=["np.min", "np.mean"],
)
def test_callable_aggregator(function, expected):
    check_hand_example(L3, P3, expected, aggregator_kwargs={"method": function})


def power_mean(scores: np.ndarray, *, axis: int, power: float) -> np.ndarray:
    """A user aggregator taking an extra keyword (and the axis cleanlab always passes)."""
    return np.mean(scores**power, axis=axis) ** (1 / power)


@pytest.mark.parametrize("power", [-2.0, 0.5, 3.0])
def test_callable_aggregator_with_extra_kwargs(power):
    per_class = np.array([[0.9, 0.9, 0.8], [0.8, 0.8, 0.7], [0.6, 0.7, 0.9], [0.9, 0.8, 0.7]])
    expected = (per_class**power).mean(axis=1) ** (1 / power)
    check_hand_example(L3, P3, list(expected), aggregator_kwargs={"method": power_mean, "power": power})


@pytest.mark.parametrize("method", [SC, NM])
def test_adjust_on_a_never_labelled_class(method):
    labels = [[0], [1], [0, 1], []]  # class 2 is never labelled: its present-threshold is 2
    p = P3[:, 2]
    # Unadjusted, class 2 is scored as "absent": 1 - p.
    plain = entry_point_scores_per_class(labels, P3, method=method)
    assert_all_close({k: v[:, 2] for k, v in plain.items()}, 1 - p, EXACT)
    # Adjusted: a0 = (1 - p + t1 - t0) / (1 + t1 - t0) with t1 = 2, t0 = mean(1 - p).
    t0 = np.mean(1 - p)
    closed_form = (3 - p - t0) / (3 - t0)
    assert_close(closed_form, np.array([0.9208, 0.7228, 0.6436, 0.8812]), 1e-4, "the spec's numbers")
    theirs = cleanlab_scores_per_class(labels, P3, method=method, adjust_pred_probs=True)
    assert_close(theirs[:, 2], closed_form, EXACT, "cleanlab vs the closed form")
    ours = entry_point_scores_per_class(labels, P3, method=method, adjust_pred_probs=True)
    assert_all_close(ours, theirs, EXACT)
    check_hand_example(labels, P3, method=method, adjust=True)


def test_single_row():
    probs = np.array([[0.9, 0.2, 0.1]])
    check_hand_example([[0]], probs, [0.82])
    assert_all_close(entry_point_scores_per_class([[0]], probs), [[0.9, 0.8, 0.9]], EXACT)
    check_hand_example([[0]], probs, [0.917749], expected_atol=1e-6, adjust=True)


def test_one_class():
    # cleanlab's aggregated function refuses K = 1; its per-class function accepts it.
    labels, probs = [[0], [], [0], []], P3[:, :1]
    theirs = cleanlab_scores_per_class(labels, probs)
    assert_close(theirs, np.array([[0.9], [0.8], [0.6], [0.9]]), EXACT, "cleanlab vs the spec")
    assert_all_close(entry_point_scores_per_class(labels, probs), theirs, EXACT)
    for aggregator_kwargs in ({"method": EMA, "alpha": 0.8}, {"method": "softmin"}, {"method": np.mean}):
        # With one class every aggregator returns that class's score.
        check_hand_example(labels, probs, [0.9, 0.8, 0.6, 0.9], aggregator_kwargs=aggregator_kwargs)


def test_every_class_in_every_row():
    labels = [[0, 1, 2]] * 4
    assert_all_close(entry_point_scores_per_class(labels, P3), cleanlab_scores_per_class(labels, P3), EXACT)
    check_hand_example(labels, P3, list(reference_ema(P3, 0.8)))


def test_every_row_unlabelled():
    labels: list[list[int]] = [[]] * 4
    theirs = oracle_per_class(labels, P3, SC, False)
    assert_close(theirs, 1 - P3, EXACT, "cleanlab's scorer vs 1 - p")
    assert_all_close(entry_point_scores_per_class(labels, P3), theirs, EXACT)
    check_hand_example(labels, P3, list(reference_ema(1 - P3, 0.8)))
    check_hand_example(labels, P3, adjust=True)


# Exact 0/1 probabilities: self_confidence is 1 for a confident correct prediction; CWE scores it 0.
EXACT_LABELS = [[0], [1], [0, 1], []]
EXACT_PROBS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
HALF = math.log(3) / 2  # p = 0.5: entropy 1 bit, confidence 0.5, r = 2, ln(3) / 2


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (SC, [[1, 1, 0.5], [1, 1, 0.5], [1, 1, 1], [1, 1, 0]]),
        (CWE, [[0, 0, HALF], [0, 0, HALF], [0, 0, 0], [0, 0, 0]]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_zero_and_one(method, expected, dtype):
    probs = EXACT_PROBS.astype(dtype)
    atol = tolerance(dtype, method, False)
    theirs = cleanlab_scores_per_class(EXACT_LABELS, probs, method=method)
    # (ln(3)/2 from float32 logarithms is off by ~6e-10: one of the deliberate differences)
    assert_close(theirs, np.array(expected, dtype=np.float64), atol, "cleanlab vs the spec")
    assert_all_close(entry_point_scores_per_class(EXACT_LABELS, probs, method=method), theirs, atol)
    check_hand_example(EXACT_LABELS, probs, method=method)


def test_confidence_weighted_entropy_near_zero_and_one():
    tiny, near_one = 1e-12, 1 - 1e-12
    probs = np.array([[near_one, tiny, 0.5], [tiny, near_one, 0.5], [near_one, near_one, tiny], [tiny, tiny, near_one]])
    right_present = 4.130496e-05  # labelled, p = 1 - 1e-12 (the spec prints 7 digits)
    right_absent = 4.130585e-05  # unlabelled, p = 1e-12: not the same number, 1 - p is not exact
    wrong_absent = 0.9999793  # unlabelled, p = 1 - 1e-12
    expected = np.array(
        [
            [right_present, right_absent, HALF],
            [right_absent, right_present, HALF],
            [right_present, right_present, right_absent],
            [right_absent, right_absent, wrong_absent],
        ]
    )
    theirs = cleanlab_scores_per_class(EXACT_LABELS, probs, method=CWE)
    small = expected < 1e-3
    assert_close(theirs[small], expected[small], 5e-12, "cleanlab vs the spec (small scores)")
    assert_close(theirs, expected, 1e-7, "cleanlab vs the spec")
    assert_all_close(entry_point_scores_per_class(EXACT_LABELS, probs, method=CWE), theirs, EXACT)
    check_hand_example(EXACT_LABELS, probs, method=CWE)
    check_hand_example(EXACT_LABELS, probs, method=CWE, aggregator_kwargs={"method": "softmin"})
