"""Parity with cleanlab 2.9, the oracle.

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
recursion (``test_reference_aggregate_matches_cleanlab`` checks it against cleanlab itself).
When every row is unlabelled even cleanlab's public per-class function refuses (its input
validation takes ``max()`` over the labels), so the per-class oracle is then cleanlab's own
internal per-class scorer (``MultilabelScorer.get_class_label_quality_scores``) on the all-zero
label matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pytest
from cleanlab.internal.multilabel_scorer import ClassLabelScorer, MultilabelScorer
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from cleanlab.multilabel_classification.rank import (
    get_label_quality_scores_per_class as cleanlab_scores_per_class,
)
from hypothesis import event, given, note
from hypothesis import strategies as st

from polars_mlq import core
import polars_mlq as mlq

SC, NM, CWE = "self_confidence", "normalized_margin", "confidence_weighted_entropy"
METHODS = (SC, NM, CWE)
# adjust_pred_probs=True with confidence_weighted_entropy is an error in both libraries.
METHOD_ADJUST = [(m, a) for m in METHODS for a in (False, True) if not (a and m == CWE)]

EXACT = 1e-12
LOOSE = 1e-6


def tolerance(dtype: np.dtype | type, method: str, adjust: bool) -> float:
    """atol for comparing with cleanlab.

    Two deliberate differences, both only for float32 pred_probs:

    * adjust_pred_probs=True: polars_mlq computes the confident thresholds and the adjusted
      probabilities in float64, cleanlab accumulates the thresholds (and adjusts) in float32.
    * confidence_weighted_entropy: cleanlab's entropy uses scipy's float32 ``xlogy`` (C ``logf``)
      before promoting to float64, polars_mlq takes the logarithms in float64.

    Both differ at float32 precision (~1e-7); every other float32 combination must match to 1e-12.
    """
    if np.dtype(dtype) == np.float32 and (adjust or method == CWE):
        return LOOSE
    return EXACT


def assert_close(actual: np.ndarray, desired: np.ndarray, atol: float, what: str) -> None:
    np.testing.assert_allclose(actual, desired, rtol=0, atol=atol, strict=True, err_msg=what)


# ---------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------


def multi_hot(labels: list[list[int]], num_classes: int) -> np.ndarray:
    y = np.zeros((len(labels), num_classes), dtype=bool)
    for i, row in enumerate(labels):
        y[i, row] = True
    return y


def cleanlab_refuses(labels: list[list[int]], num_classes: int) -> bool:
    """True where cleanlab's aggregated function raises although the data are valid."""
    y = multi_hot(labels, num_classes)
    return num_classes == 1 or not y.any() or bool(y.all())


def oracle_per_class(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    if any(labels):
        return cleanlab_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust)
    # Every row unlabelled: cleanlab's public functions stop in input validation (max() of an
    # empty sequence), so call its per-class scorer on the all-zero label matrix directly.
    scorer = MultilabelScorer(base_scorer=ClassLabelScorer.from_str(method))
    return scorer.get_class_label_quality_scores(
        labels=np.zeros(probs.shape, dtype=np.int64),
        pred_probs=probs,
        base_scorer_kwargs={"adjust_pred_probs": adjust},
    )


def reference_ema(scores: np.ndarray, alpha: float | None) -> np.ndarray:
    """The spec's recursion: sort each row, largest first; E_1 = u_1, E_t = a*u_t + (1-a)*E_{t-1}."""
    num_classes = scores.shape[1]
    if alpha is None:
        alpha = 2 / (num_classes + 1)
    u = np.sort(scores, axis=1)[:, ::-1]
    ema = u[:, 0].copy()
    for t in range(1, num_classes):
        ema = alpha * u[:, t] + (1 - alpha) * ema
    return ema


def reference_softmin(scores: np.ndarray, temperature: float) -> np.ndarray:
    """sum_k s_k w_k with w = softmax((1 - s) / max(T, 1e-6)), shifted by the row maximum."""
    x = (1 - scores) / max(temperature, 1e-6)
    x = x - x.max(axis=1, keepdims=True)
    w = np.exp(x)
    w = w / w.sum(axis=1, keepdims=True)
    return (scores * w).sum(axis=1)


def reference_aggregate(scores: np.ndarray, aggregator_kwargs: dict[str, Any]) -> np.ndarray:
    kwargs = dict(aggregator_kwargs)
    method = kwargs.pop("method")
    if callable(method):
        kwargs["axis"] = 1
        return method(scores, **kwargs)
    if method == "exponential_moving_average":
        return reference_ema(scores, kwargs.get("alpha"))
    assert method == "softmin"
    return reference_softmin(scores, kwargs.get("temperature", 0.1))


def oracle_scores(
    labels: list[list[int]],
    probs: np.ndarray,
    method: str,
    adjust: bool,
    aggregator_kwargs: dict[str, Any],
) -> np.ndarray:
    if cleanlab_refuses(labels, probs.shape[1]):
        return reference_aggregate(oracle_per_class(labels, probs, method, adjust), aggregator_kwargs)
    return cleanlab_scores(
        labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
    )


# ---------------------------------------------------------------------------------------------
# Our entry points
# ---------------------------------------------------------------------------------------------


def frame(labels: list[list[int]], probs: np.ndarray, layout: str) -> pl.DataFrame:
    pred = pl.Series("pred_probs", probs)  # Array(Float32/Float64, K)
    assert isinstance(pred.dtype, pl.Array)
    if layout == "list":
        pred = pred.arr.to_list()
    return pl.DataFrame([pl.Series("labels", labels, dtype=pl.List(pl.Int64)), pred])


def our_scores(labels: list[list[int]], probs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
    """Aggregated scores from every public entry point, by name."""
    out = {"numpy": mlq.get_label_quality_scores(labels, probs, **options)}
    for layout in ("list", "array"):
        df = frame(labels, probs, layout)
        out[f"df.mlq/{layout}"] = df.mlq.label_quality(**options)["label_quality"].to_numpy()
    lazy = frame(labels, probs, "array").lazy()
    streamed = lazy.select(mlq.label_quality(**options)).collect(engine="streaming")
    out["expr/streaming"] = streamed["label_quality"].to_numpy()
    return out


def our_scores_per_class(labels: list[list[int]], probs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
    """Per-class (N, K) scores from every public entry point, by name."""
    out = {"numpy": mlq.get_label_quality_scores_per_class(labels, probs, **options)}
    column = "label_quality_per_class"
    for layout in ("list", "array"):
        df = frame(labels, probs, layout)
        out[f"df.mlq/{layout}"] = df.mlq.label_quality_per_class(**options)[column].to_numpy()
    lazy = frame(labels, probs, "list").lazy()
    expr = mlq.label_quality_per_class(num_classes=probs.shape[1], **options)
    out["expr/streaming"] = lazy.select(expr).collect(engine="streaming")[column].to_numpy()
    return out


def assert_all_close(ours: dict[str, np.ndarray], desired: np.ndarray, atol: float) -> None:
    for path, actual in ours.items():
        assert_close(actual, np.asarray(desired, dtype=np.float64), atol, f"entry point: {path}")


# ---------------------------------------------------------------------------------------------
# 1. Hand examples from the spec
# ---------------------------------------------------------------------------------------------

L3 = [[0], [1, 2], [0, 2], []]
P3 = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.7], [0.6, 0.3, 0.9], [0.1, 0.2, 0.3]])
EMA = "exponential_moving_average"


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
    ours = our_scores(
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
    assert_all_close(our_scores_per_class(L3, P3), expected_per_class, EXACT)


def test_baseline_float32():
    # float32 without adjustment, self_confidence: must match to 1e-12 (values carry float32 rounding).
    check_hand_example(L3, P3.astype(np.float32))
    assert_all_close(
        our_scores_per_class(L3, P3.astype(np.float32)),
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
    check_hand_example(
        L3, P3, [0.9, 0.8, 0.9, 0.9], aggregator_kwargs={"method": EMA, "alpha": 5e-324}
    )


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
        L3, P3, [0.842388, 0.742388, 0.636485, 0.742479], expected_atol=1e-6,
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
    check_hand_example(
        L3, P3, list(expected), aggregator_kwargs={"method": power_mean, "power": power}
    )


@pytest.mark.parametrize("method", [SC, NM])
def test_adjust_on_a_never_labelled_class(method):
    labels = [[0], [1], [0, 1], []]  # class 2 is never labelled: its present-threshold is 2
    p = P3[:, 2]
    # Unadjusted, class 2 is scored as "absent": 1 - p.
    plain = our_scores_per_class(labels, P3, method=method)
    assert_all_close({k: v[:, 2] for k, v in plain.items()}, 1 - p, EXACT)
    # Adjusted: a0 = (1 - p + t1 - t0) / (1 + t1 - t0) with t1 = 2, t0 = mean(1 - p).
    t0 = np.mean(1 - p)
    closed_form = (3 - p - t0) / (3 - t0)
    assert_close(closed_form, np.array([0.9208, 0.7228, 0.6436, 0.8812]), 1e-4, "the spec's numbers")
    theirs = cleanlab_scores_per_class(labels, P3, method=method, adjust_pred_probs=True)
    assert_close(theirs[:, 2], closed_form, EXACT, "cleanlab vs the closed form")
    ours = our_scores_per_class(labels, P3, method=method, adjust_pred_probs=True)
    assert_all_close(ours, theirs, EXACT)
    check_hand_example(labels, P3, method=method, adjust=True)


def test_single_row():
    probs = np.array([[0.9, 0.2, 0.1]])
    check_hand_example([[0]], probs, [0.82])
    assert_all_close(our_scores_per_class([[0]], probs), [[0.9, 0.8, 0.9]], EXACT)
    check_hand_example([[0]], probs, [0.917749], expected_atol=1e-6, adjust=True)


def test_one_class():
    # cleanlab's aggregated function refuses K = 1; its per-class function accepts it.
    labels, probs = [[0], [], [0], []], P3[:, :1]
    theirs = cleanlab_scores_per_class(labels, probs)
    assert_close(theirs, np.array([[0.9], [0.8], [0.6], [0.9]]), EXACT, "cleanlab vs the spec")
    assert_all_close(our_scores_per_class(labels, probs), theirs, EXACT)
    for aggregator_kwargs in ({"method": EMA, "alpha": 0.8}, {"method": "softmin"}, {"method": np.mean}):
        # With one class every aggregator returns that class's score.
        check_hand_example(labels, probs, [0.9, 0.8, 0.6, 0.9], aggregator_kwargs=aggregator_kwargs)


def test_every_class_in_every_row():
    labels = [[0, 1, 2]] * 4
    assert_all_close(our_scores_per_class(labels, P3), cleanlab_scores_per_class(labels, P3), EXACT)
    check_hand_example(labels, P3, list(reference_ema(P3, 0.8)))


def test_every_row_unlabelled():
    labels: list[list[int]] = [[]] * 4
    theirs = oracle_per_class(labels, P3, SC, False)
    assert_close(theirs, 1 - P3, EXACT, "cleanlab's scorer vs 1 - p")
    assert_all_close(our_scores_per_class(labels, P3), theirs, EXACT)
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
    assert_all_close(our_scores_per_class(EXACT_LABELS, probs, method=method), theirs, atol)
    check_hand_example(EXACT_LABELS, probs, method=method)


def test_confidence_weighted_entropy_near_zero_and_one():
    tiny, near_one = 1e-12, 1 - 1e-12
    probs = np.array(
        [[near_one, tiny, 0.5], [tiny, near_one, 0.5], [near_one, near_one, tiny], [tiny, tiny, near_one]]
    )
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
    assert_all_close(our_scores_per_class(EXACT_LABELS, probs, method=CWE), theirs, EXACT)
    check_hand_example(EXACT_LABELS, probs, method=CWE)
    check_hand_example(EXACT_LABELS, probs, method=CWE, aggregator_kwargs={"method": "softmin"})


# ---------------------------------------------------------------------------------------------
# 2. Generated data
# ---------------------------------------------------------------------------------------------


def _specials(dtype: type) -> np.ndarray:
    """Exact 0 and 1, and values at or near the ends of [0, 1] in this dtype."""
    info = np.finfo(dtype)
    one = dtype(1)
    values = [0, 1, 0.5, info.smallest_subnormal, info.tiny, 1e-12, 1e-7, 1e-6]
    values += [1 - 1e-6, 1 - 1e-7, 1 - 1e-12, np.nextafter(one, dtype(0))]
    return np.unique(np.array(values, dtype=dtype))


SPECIALS = {np.float64: _specials(np.float64), np.float32: _specials(np.float32)}


def generate(
    n: int,
    k: int,
    dtype: type,
    *,
    seed: int,
    label_style: str,
    empty_frac: float,
    dup_frac: float,
    prob_style: str,
    special_frac: float,
) -> tuple[list[list[int]], np.ndarray]:
    """Deterministic data from a seed; the hypothesis-drawn Dataset prints this call to reproduce it."""
    rng = np.random.default_rng(seed)
    density = {
        "sparse": lambda: rng.uniform(0.0, 0.2, k),
        "dense": lambda: rng.uniform(0.5, 1.0, k),
        "mixed": lambda: rng.choice([0.0, 0.05, 0.3, 0.7, 1.0], k),  # some never / always labelled
        "none": lambda: np.zeros(k),
        "all": lambda: np.ones(k),
    }[label_style]()
    y = rng.random((n, k)) < density
    y[rng.random(n) < empty_frac] = False
    labels = []
    for row in y:
        classes = np.flatnonzero(row).tolist()
        if classes and rng.random() < dup_frac:
            classes += rng.choice(classes, size=int(rng.integers(1, 4))).tolist()
        rng.shuffle(classes)
        labels.append(classes)
    if prob_style == "uniform":
        probs = rng.random((n, k))
    elif prob_style == "informative":  # a sigmoid model: values pile up near (and at) 0 and 1
        mu, sigma = rng.uniform(0, 4), rng.choice([0.5, 2.0, 8.0, 30.0])
        logits = rng.normal(np.where(y, mu, -mu), sigma)
        probs = 1 / (1 + np.exp(-logits))
    elif prob_style == "saturated":  # a confident model: exactly 1 for the labels, 0 elsewhere, mostly
        probs = np.where(rng.random((n, k)) < 0.1, rng.random((n, k)), y.astype(np.float64))
    else:  # "grid": many ties
        probs = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], (n, k))
    probs = probs.astype(dtype)
    special = rng.random((n, k)) < special_frac
    probs[special] = rng.choice(SPECIALS[dtype], int(special.sum()))
    return labels, probs


@dataclass(frozen=True)
class Dataset:
    labels: list[list[int]]
    probs: np.ndarray
    recipe: str

    def __repr__(self) -> str:
        return f"Dataset({self.recipe})"


@st.composite
def datasets(draw: st.DrawFn, max_n: int = 300, max_k: int = 50, min_k: int = 1) -> Dataset:
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    if draw(st.integers(0, 3)) == 0:
        # Small, every value drawn by hypothesis (so failures shrink to a few numbers).
        n, k = draw(st.integers(1, 5)), draw(st.integers(min_k, 5))
        value = st.one_of(
            st.sampled_from(SPECIALS[dtype].tolist()),
            st.floats(0, 1, width=32 if dtype is np.float32 else 64),
        )
        probs = np.array(draw(st.lists(st.lists(value, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=dtype)
        labels = draw(st.lists(st.lists(st.integers(0, k - 1), max_size=k + 2), min_size=n, max_size=n))
        recipe = f"labels={labels}, probs=np.array({probs.tolist()}, dtype=np.{dtype.__name__})"
        return Dataset(labels, probs, recipe)
    n = draw(st.one_of(st.integers(1, 20), st.integers(21, max_n)))
    # K = 1 (which cleanlab's aggregated function refuses) in about 1 in 10 of these examples.
    k = min_k if draw(st.integers(0, 9)) == 0 else draw(st.integers(max(min_k, 2), max_k))
    params = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "label_style": draw(st.sampled_from(["sparse", "sparse", "dense", "mixed", "mixed", "none", "all"])),
        "empty_frac": draw(st.sampled_from([0.0, 0.2, 0.6])),
        "dup_frac": draw(st.sampled_from([0.0, 0.3])),
        "prob_style": draw(st.sampled_from(["uniform", "informative", "saturated", "grid"])),
        "special_frac": draw(st.sampled_from([0.0, 0.02, 0.3])),
    }
    labels, probs = generate(n, k, dtype, **params)
    args = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return Dataset(labels, probs, f"generate({n}, {k}, np.{dtype.__name__}, {args})")


def describe(data: Dataset) -> None:
    """Hypothesis statistics (pytest --hypothesis-show-statistics): what the examples covered."""
    n, k = data.probs.shape
    refuses = cleanlab_refuses(data.labels, k)
    note(f"cleanlab refuses these data: {refuses}")
    event(f"dtype={data.probs.dtype}")
    event(f"cleanlab refuses={refuses}")
    event("K=1" if k == 1 else "K<=5" if k <= 5 else "K>5")
    event("N=1" if n == 1 else "N<=20" if n <= 20 else "N>20")
    event(f"has 0.0 and 1.0: {bool((data.probs == 0).any() and (data.probs == 1).any())}")
    event(f"has a duplicated label: {any(len(set(row)) < len(row) for row in data.labels)}")


AGGREGATOR_KINDS = ["ema_alpha_0.8", "ema_alpha_none", "ema_random_alpha", "softmin_random_temperature", "np.mean"]


def aggregators(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "ema_alpha_0.8":
        return st.just({"method": EMA, "alpha": 0.8})
    if kind == "ema_alpha_none":
        return st.sampled_from([{"method": EMA, "alpha": None}, {"method": EMA}])
    if kind == "ema_random_alpha":
        return st.floats(0, 1).map(lambda alpha: {"method": EMA, "alpha": alpha})
    if kind == "softmin_random_temperature":
        temperature = st.one_of(
            st.sampled_from([1e-12, 1e-6, 0.1, 1.0, 1e6]),
            st.floats(-12, 6).map(lambda e: 10.0**e),
            st.floats(1e-12, 1e6),
        )
        return temperature.map(lambda t: {"method": "softmin", "temperature": t})
    assert kind == "np.mean"
    return st.just({"method": np.mean})


@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets())
def test_per_class_matches_cleanlab(method, adjust, data):
    describe(data)
    theirs = oracle_per_class(data.labels, data.probs, method, adjust)
    ours = our_scores_per_class(data.labels, data.probs, method=method, adjust_pred_probs=adjust)
    assert_all_close(ours, theirs, tolerance(data.probs.dtype, method, adjust))


@pytest.mark.parametrize("kind", AGGREGATOR_KINDS)
@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets(), draw=st.data())
def test_scores_match_cleanlab(method, adjust, kind, data, draw):
    aggregator_kwargs = draw.draw(aggregators(kind), label="aggregator_kwargs")
    describe(data)
    theirs = oracle_scores(data.labels, data.probs, method, adjust, aggregator_kwargs)
    ours = our_scores(
        data.labels,
        data.probs,
        method=method,
        adjust_pred_probs=adjust,
        aggregator_kwargs=aggregator_kwargs,
    )
    assert_all_close(ours, theirs, tolerance(data.probs.dtype, method, adjust))


@pytest.mark.parametrize("kind", AGGREGATOR_KINDS)
@given(data=datasets(min_k=2), draw=st.data())
def test_reference_aggregate_matches_cleanlab(kind, data, draw):
    """The fallback oracle (cleanlab per-class + our reference aggregator) is cleanlab's aggregation."""
    aggregator_kwargs = draw.draw(aggregators(kind), label="aggregator_kwargs")
    method = draw.draw(st.sampled_from(METHODS), label="method")
    if cleanlab_refuses(data.labels, data.probs.shape[1]):
        # Every row unlabelled, or every class in every row (K >= 2 here): make the label matrix
        # hold both a 0 and a 1 so that cleanlab accepts it.
        labels = [list(row) for row in data.labels]
        labels[0], labels[-1] = [], [0]
        if len(labels) == 1:
            labels[0] = [0]
        data = Dataset(labels, data.probs, data.recipe + " (rows 0 and -1 relabelled)")
    per_class = cleanlab_scores_per_class(data.labels, data.probs, method=method)
    theirs = cleanlab_scores(data.labels, data.probs, method=method, aggregator_kwargs=aggregator_kwargs)
    assert_close(reference_aggregate(per_class, aggregator_kwargs), theirs, EXACT, "reference vs cleanlab")


HANDPICKED_AGGREGATORS = [
    {"method": EMA, "alpha": 0.8},
    {"method": EMA, "alpha": 0.3},
    {"method": EMA, "alpha": None},
    {"method": "softmin", "temperature": 0.01},
    {"method": np.mean},
]


@pytest.mark.parametrize("prob_style", ["uniform", "informative"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
def test_many_classes(method, adjust, dtype, prob_style):
    """K = 500: beyond the generated K <= 50, where only the smallest scores of a row carry weight."""
    labels, probs = generate(
        60, 500, dtype, seed=7, label_style="mixed", empty_frac=0.2, dup_frac=0.3,
        prob_style=prob_style, special_frac=0.3,
    )
    atol = tolerance(dtype, method, adjust)
    theirs = cleanlab_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust)
    assert_all_close(our_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust), theirs, atol)
    for aggregator_kwargs in HANDPICKED_AGGREGATORS:
        theirs = cleanlab_scores(
            labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
        )
        ours = our_scores(
            labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
        )
        assert_all_close(ours, theirs, atol)


# ---------------------------------------------------------------------------------------------
# 3. Properties
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets(), draw=st.data())
def test_scores_are_probabilities(method, adjust, data, draw):
    kind = draw.draw(st.sampled_from(AGGREGATOR_KINDS), label="kind")
    aggregator_kwargs = draw.draw(aggregators(kind), label="aggregator_kwargs")
    per_class = mlq.get_label_quality_scores_per_class(
        data.labels, data.probs, method=method, adjust_pred_probs=adjust
    )
    scores = mlq.get_label_quality_scores(
        data.labels, data.probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
    )
    n, k = data.probs.shape
    assert per_class.shape == (n, k) and per_class.dtype == np.float64
    assert scores.shape == (n,) and scores.dtype == np.float64
    for name, values in (("per class", per_class), ("aggregated", scores)):
        outside = values[~((values >= 0) & (values <= 1))]
        assert outside.size == 0, f"{name} scores outside [0, 1]: {outside[:5].tolist()}"


@pytest.mark.parametrize("num_classes", [2, 13, 50])
@pytest.mark.parametrize("aggregator_kwargs", HANDPICKED_AGGREGATORS, ids=str)
def test_perfect_rows_score_at_most_one(num_classes, aggregator_kwargs):
    """Rows whose every label is right with p exactly 1 (and 0 elsewhere): every per-class score is 1."""
    labels = [list(range(num_classes)), [0], []]
    probs = np.zeros((3, num_classes))
    probs[0] = 1
    probs[1, 0] = 1
    theirs = cleanlab_scores(labels, probs, aggregator_kwargs=aggregator_kwargs)
    ours = our_scores(labels, probs, aggregator_kwargs=aggregator_kwargs)
    assert_all_close(ours, theirs, EXACT)
    for path, scores in ours.items():
        assert scores.max() <= 1, f"{path}: {scores.tolist()} exceeds 1 (cleanlab: {theirs.tolist()})"


@given(data=datasets())
def test_self_confidence_is_p_for_labelled_classes_and_1_minus_p_otherwise(data):
    y = multi_hot(data.labels, data.probs.shape[1])
    # 1 - p is taken in the dtype of p (float32 stays float32), then stored as float64.
    expected = np.where(y, data.probs, 1 - data.probs).astype(np.float64)
    for path, actual in our_scores_per_class(data.labels, data.probs).items():
        np.testing.assert_array_equal(actual, expected, strict=True, err_msg=f"entry point: {path}")
