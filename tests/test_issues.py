"""Issue finding and dataset summaries, checked against the installed cleanlab.

cleanlab is the oracle wherever it gives an answer. Where it refuses valid data (a class present in
every row; ``predicted_neq_given`` with a class that is never labelled; rankings of degenerate
label sets), the expectation is built from the spec instead: the K binary problems are
independent, so the other classes are checked against cleanlab run without the refused column, and
the refused column against the spec's formulas.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from polars_mlq import core
from polars_mlq.compat.issues import (
    common_multilabel_issues,
    find_label_issues,
    find_multilabel_issues_per_class,
    multilabel_health_summary,
    overall_multilabel_health_score,
    rank_classes_by_multilabel_quality,
)
from polars_mlq.core import binary

cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
cl_dataset = pytest.importorskip("cleanlab.multilabel_classification.dataset")
cl_rank = pytest.importorskip("cleanlab.multilabel_classification.rank")

FILTERS = list(core.FILTERS)
PRUNE = list(core.PRUNE_FILTERS)
METHODS = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

# ---------------------------------------------------------------------------------------- helpers


def quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call cleanlab with its warnings silenced (pytest turns warnings into errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def dataset_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a cleanlab dataset function with its issue finders forced to one process (it offers
    no n_jobs; the default starts a process pool per class, which is only slower)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("find_label_issues", "find_multilabel_issues_per_class"):
            original = getattr(cl_filter, name)
            patch.setattr(cl_dataset, name, lambda *a, _f=original, **kw: _f(*a, **{**kw, "n_jobs": 1}))
        return quiet(function, *args, **kwargs)


def multi_hot(labels: list[list[int]], k: int) -> np.ndarray:
    y = np.zeros((len(labels), k), dtype=bool)
    for i, row in enumerate(labels):
        y[i, row] = True
    return y


def make_data(
    seed: int, n: int, k: int, *, ties: int = 0, float32: bool = False, noise: float = 0.15
) -> tuple[list[list[int]], np.ndarray]:
    """Multi-label data whose model mostly agrees with the truth, with label errors planted.

    ``ties`` > 0 rounds the probabilities to multiples of 1/ties (many equal values, and exact 0
    and 1 when ties is small).
    """
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < rng.uniform(0.05, 0.6, k)
    strength = rng.uniform(0.5, 3.0)
    logits = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, strength / 2, (n, k)) + rng.normal(0, 1, (n, k))
    probs = 1.0 / (1.0 + np.exp(-logits))
    if ties:
        probs = np.round(probs * ties) / ties
    flips = rng.random((n, k)) < noise * rng.random(k)
    given = truth ^ flips
    labels = [np.flatnonzero(row).tolist() for row in given]
    return labels, probs.astype(np.float32 if float32 else np.float64)


@st.composite
def datasets(draw: st.DrawFn, max_rows: int = 150, max_classes: int = 12) -> tuple[list[list[int]], np.ndarray]:
    n = draw(st.integers(1, max_rows))
    k = draw(st.integers(1, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.sampled_from([0, 0, 2, 5, 10, 20]))
    float32 = draw(st.booleans())
    noise = draw(st.sampled_from([0.05, 0.15, 0.4]))
    return make_data(seed, n, k, ties=ties, float32=float32, noise=noise)


def special_classes(labels: list[list[int]], k: int, filter_by: str) -> np.ndarray:
    """Classes cleanlab refuses: present in every row, or never labelled with predicted_neq_given."""
    y = multi_hot(labels, k)
    special = y.all(axis=0) & (len(labels) > 0)
    if filter_by == "predicted_neq_given":
        special |= ~y.any(axis=0)
    return special


def spec_special_column(labels: list[list[int]], probs: np.ndarray, c: int, filter_by: str) -> np.ndarray:
    """The flags of a refused class, from the spec: with no "absent" (or "present") group the
    prune filters and confident learning flag nothing; predicted_neq_given flags the rows where
    the model disagrees by more than 1e-6; low_* take as many rows as confident learning flags."""
    p = probs[:, c]
    a = np.subtract(probs.dtype.type(1), p)
    y = multi_hot(labels, probs.shape[1])[:, c]
    if filter_by != "predicted_neq_given":
        return np.zeros(len(labels), dtype=bool)
    slack = probs.dtype.type(1e-6)
    return np.where(y, p + slack <= a, p > a + slack)


def cleanlab_mask(labels: list[list[int]], probs: np.ndarray, **kw: Any) -> np.ndarray:
    """cleanlab's (N, K) per-class mask, with refused classes filled in from the spec."""
    n, k = probs.shape
    filter_by = kw.get("filter_by", "prune_by_noise_rate")
    special = special_classes(labels, k, filter_by)
    mask = np.zeros((n, k), dtype=bool)
    keep = np.flatnonzero(~special)
    if keep.size:
        index = {int(c): j for j, c in enumerate(keep)}
        sub_labels = [[index[c] for c in row if c in index] for row in labels]
        sub_kw = dict(kw)
        if kw.get("num_to_remove_per_class") is not None:
            sub_kw["num_to_remove_per_class"] = [kw["num_to_remove_per_class"][c] for c in keep]
        if kw.get("confident_joint") is not None:
            sub_kw["confident_joint"] = kw["confident_joint"][keep]
        sub = quiet(cl_filter.find_multilabel_issues_per_class, sub_labels, probs[:, keep], n_jobs=1, **sub_kw)
        mask[:, keep] = sub
    for c in np.flatnonzero(special):
        mask[:, c] = spec_special_column(labels, probs, int(c), filter_by)
    return mask


def refused(error: ValueError) -> bool:
    """cleanlab's refusals of valid data: no 0 or no 1 in the label matrix, or no labels at all."""
    return "multi-label format" in str(error) or "empty sequence" in str(error)


def reference_ema(scores: np.ndarray, alpha: float = 0.8) -> np.ndarray:
    """The spec's recursion: sort each row, then fold from the largest score down."""
    ordered = np.sort(scores, axis=1)
    result = ordered[:, -1].copy()
    for j in range(scores.shape[1] - 2, -1, -1):
        result = alpha * ordered[:, j] + (1 - alpha) * result
    return result


def cleanlab_scores(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    """cleanlab's aggregated scores; where it refuses (K = 1, or no 0 or no 1 in the label
    matrix) the spec's EMA over its per-class scores."""
    try:
        return quiet(cl_rank.get_label_quality_scores, labels, probs, method=method, adjust_pred_probs=adjust)
    except ValueError as error:
        assert refused(error)
    return reference_ema(cleanlab_per_class_scores(labels, probs, method, adjust))


def cleanlab_per_class_scores(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    """cleanlab's per-class scores. It refuses labels that are all empty; the columns are scored
    independently, so we then add a labelled dummy column and drop its scores."""
    k = probs.shape[1]
    if not any(labels):
        labels = [[k]] + [list(row) for row in labels[1:]]
        probs = np.hstack([probs, np.full((len(labels), 1), 0.5, dtype=probs.dtype)])
    scores = quiet(cl_rank.get_label_quality_scores_per_class, labels, probs, method=method, adjust_pred_probs=adjust)
    return scores[:, :k]


def assert_ranked(ours: np.ndarray, expected: np.ndarray, scores: np.ndarray, method: str) -> None:
    """The same rows, ordered by their cleanlab scores. Rows whose scores are within 1e-12 may
    swap: rows with equal scores come in row order here (cleanlab's argsort order is arbitrary),
    adjusted scores use exact threshold means (cleanlab: numpy's float sum, a few ulps away), and
    confidence_weighted_entropy takes its logarithms with numpy (cleanlab: scipy)."""
    assert ours.dtype == np.int64
    assert sorted(ours.tolist()) == sorted(expected.tolist())
    assert np.all(np.diff(scores[ours]) >= -1e-12)


def assert_same_up_to_ties(ours: np.ndarray, theirs: np.ndarray, labels: list[list[int]], probs: np.ndarray) -> None:
    """Per-class masks that agree but for which of several tied entries is flagged: per class
    and given label, the same number of flags, at the same probabilities."""
    y = multi_hot(labels, probs.shape[1])
    assert ours.shape == theirs.shape
    for c in range(probs.shape[1]):
        for label in (False, True):
            subset = y[:, c] == label
            np.testing.assert_array_equal(
                np.sort(probs[ours[:, c] & subset, c]), np.sort(probs[theirs[:, c] & subset, c])
            )


def assert_same_scores(ours: np.ndarray, theirs: np.ndarray, scores: np.ndarray) -> None:
    """Row masks that flag rows with the same scores (tied rows may differ)."""
    np.testing.assert_array_equal(np.sort(scores[ours]), np.sort(scores[theirs]))


def _spread(rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """Scores of a subset of rows, placed at those rows of an (n,) array (NaN elsewhere)."""
    out = np.full(n, np.nan)
    out[rows] = scores
    return out


# ------------------------------------------------------------------------- find_label_issues


@st.composite
def issue_options(draw: st.DrawFn, k: int) -> dict[str, Any]:
    filter_by = draw(st.sampled_from(FILTERS))
    kw: dict[str, Any] = {"filter_by": filter_by}
    if filter_by in PRUNE:
        if draw(st.booleans()):
            kw["frac_noise"] = draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7]))
        if draw(st.booleans()):
            kw["min_examples_per_class"] = draw(st.integers(0, 6))
        if draw(st.integers(0, 3)) == 0:
            kw["num_to_remove_per_class"] = draw(st.lists(st.integers(0, 4), min_size=k, max_size=k))
    if draw(st.booleans()):
        method = draw(st.sampled_from(METHODS))
        kw["return_indices_ranked_by"] = method
        if method != "confidence_weighted_entropy" and draw(st.booleans()):
            kw["rank_by_kwargs"] = {"adjust_pred_probs": True}
    return kw


@SETTINGS
@given(data=datasets(), choice=st.data())
def test_find_label_issues_matches_cleanlab(data: tuple[list[list[int]], np.ndarray], choice: st.DataObject) -> None:
    labels, probs = data
    kw = choice.draw(issue_options(probs.shape[1]))
    filter_by = kw["filter_by"]
    method = kw.get("return_indices_ranked_by")
    adjust = kw.get("rank_by_kwargs", {}).get("adjust_pred_probs", False)
    ours = find_label_issues(labels, probs, **kw)
    kw_mask = {key: value for key, value in kw.items() if key not in ("return_indices_ranked_by", "rank_by_kwargs")}
    ours_mask = find_label_issues(labels, probs, **kw_mask)

    special = special_classes(labels, probs.shape[1], filter_by)
    if filter_by in core.LOW_FILTERS:
        # rows with the lowest default score, as many as confident learning flags
        default = cleanlab_scores(labels, probs, "self_confidence", False)
        try:
            if special.any():
                raise ValueError("refused")
            mask = quiet(cl_filter.find_label_issues, labels, probs, filter_by=filter_by, n_jobs=1)
        except ValueError:  # also cleanlab's stricter label checks on this path
            count = int(cleanlab_mask(labels, probs, filter_by="confident_learning").any(axis=1).sum())
            mask = np.zeros(len(labels), dtype=bool)
            mask[np.argsort(default)[:count]] = True
        assert_same_scores(ours_mask, mask, default)
        if method is None:
            return
        # ranked on the chosen rows alone (cleanlab pairs those scores with a reordered index
        # array, scrambling its ranking; we rank the rows by their scores)
        rows = np.flatnonzero(ours_mask)
        if rows.size == 0:
            assert ours.size == 0
            return
        scores = cleanlab_scores([labels[i] for i in rows], probs[rows], method, adjust)
        assert_ranked(ours, rows, _spread(rows, scores, len(labels)), method)
        return

    ours_per_class = find_multilabel_issues_per_class(labels, probs, **kw_mask)
    assert_same_up_to_ties(ours_per_class, cleanlab_mask(labels, probs, **kw_mask), labels, probs)
    np.testing.assert_array_equal(ours_mask, ours_per_class.any(axis=1))
    if method is None:
        return
    scores = cleanlab_scores(labels, probs, method, adjust)
    assert_ranked(ours, np.flatnonzero(ours_mask), scores, method)


# -------------------------------------------------------------- find_multilabel_issues_per_class


@SETTINGS
@given(data=datasets(), choice=st.data())
def test_per_class_matches_cleanlab(data: tuple[list[list[int]], np.ndarray], choice: st.DataObject) -> None:
    labels, probs = data
    k = probs.shape[1]
    kw = choice.draw(issue_options(k))
    method = kw.pop("return_indices_ranked_by", None)
    adjust = kw.pop("rank_by_kwargs", {}).get("adjust_pred_probs", False)
    if kw["filter_by"] in core.LOW_FILTERS and special_classes(labels, k, "predicted_neq_given").any():
        # cleanlab refuses classes in every row or in none here; per class: the lowest binary
        # scores, as many as confident learning flags in the class
        counts = cleanlab_mask(labels, probs, filter_by="confident_learning").sum(axis=0)
        name = "self_confidence" if kw["filter_by"] == "low_self_confidence" else "normalized_margin"
        per_class = cleanlab_per_class_scores(labels, probs, name, False)
        expected = np.zeros(probs.shape, dtype=bool)
        for c in range(k):
            expected[np.argsort(per_class[:, c])[: counts[c]], c] = True
    else:
        expected = cleanlab_mask(labels, probs, **kw)
    ours = find_multilabel_issues_per_class(labels, probs, **kw)
    if kw["filter_by"] in core.LOW_FILTERS:  # ties between equal binary scores
        name = "self_confidence" if kw["filter_by"] == "low_self_confidence" else "normalized_margin"
        binary = cleanlab_per_class_scores(labels, probs, name, False)
        for c in range(k):
            np.testing.assert_array_equal(np.sort(binary[ours[:, c], c]), np.sort(binary[expected[:, c], c]))
    else:
        assert_same_up_to_ties(ours, expected, labels, probs)

    if method is None:
        return
    ranked, given_list, binary_list = find_multilabel_issues_per_class(
        labels, probs, return_indices_ranked_by=method, rank_by_kwargs={"adjust_pred_probs": adjust}, **kw
    )
    per_class = cleanlab_per_class_scores(labels, probs, method, adjust)
    y = multi_hot(labels, k)
    for c in range(k):
        assert_ranked(ranked[c], np.flatnonzero(ours[:, c]), per_class[:, c], method)
        np.testing.assert_array_equal(given_list[c], y[:, c].astype(np.int64))
        np.testing.assert_array_equal(binary_list[c], np.stack([1 - probs[:, c], probs[:, c]], axis=1))
    low = kw["filter_by"] in core.LOW_FILTERS
    refused = special_classes(labels, k, "predicted_neq_given" if low else kw["filter_by"])
    if not refused.any() and method != "confidence_weighted_entropy" and not low:
        theirs = quiet(
            cl_filter.find_multilabel_issues_per_class,
            labels,
            probs,
            return_indices_ranked_by=method,
            rank_by_kwargs={"adjust_pred_probs": adjust},
            n_jobs=1,
            **kw,
        )
        for c in range(k):  # the same scores flagged, in the same order of scores
            np.testing.assert_allclose(per_class[ranked[c], c], np.sort(per_class[theirs[0][c], c]), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ exact paths


def test_boundaries_agree_with_the_tests_they_replace() -> None:
    """p <= boundary exactly when cleanlab's test on [1 - p, p] holds, around every boundary."""
    for dtype in (np.float32, np.float64):
        b = binary.boundaries(np.dtype(dtype))
        one, slack = dtype(1), dtype(1e-6)
        for boundary, test in (
            (b.absent_wins, lambda x: x <= one - x),
            (b.missing, lambda x: ~(x > (one - x) + slack)),
            (b.extra, lambda x: x + slack <= one - x),
        ):
            x = dtype(boundary)
            near = [x]
            for _ in range(50):
                near.append(np.nextafter(near[-1], dtype(1)))
            below = [x]
            for _ in range(50):
                below.append(np.nextafter(below[-1], dtype(0)))
            values = np.array(near + below, dtype=dtype)
            np.testing.assert_array_equal(values <= boundary, test(values))
        cuts = np.array([2e-6 - 1e-6, 0.3, 0.7, 0.999999, 1.999999])
        limits = binary.absent_reach(np.dtype(dtype), cuts)
        values = np.concatenate([np.linspace(0, 1, 2001), limits[(limits >= 0) & (limits <= 1)]]).astype(dtype)
        for cut, limit in zip(cuts, limits, strict=True):
            np.testing.assert_array_equal(values <= limit, (one - values) >= cut)


def test_ties_at_a_cutoff_go_to_the_earliest_rows() -> None:
    """Equal keys across the cut: cleanlab's count, and of the tied rows the earliest."""
    rng = np.random.default_rng(3)
    n = 400
    probs = np.full((n, 2), 0.9)
    probs[:, 1] = 0.1
    labels = [[0] for _ in range(n)]
    bad = rng.choice(n, 60, replace=False)
    for i in bad:
        labels[i] = [1]  # labelled 1 where the model says 0.1: many identical candidates
    probs[bad[:30], 1] = 0.2
    tied = np.sort(bad[30:])  # labelled 1, p = 0.1: the smallest key, all equal
    for filter_by in PRUNE:
        for frac in (1.0, 0.5, 0.3):
            ours = find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, frac_noise=frac)
            theirs = cleanlab_mask(labels, probs, filter_by=filter_by, frac_noise=frac)
            assert_same_up_to_ties(ours, theirs, labels, probs)
            chosen = np.flatnonzero(ours[tied, 1])
            assert chosen.tolist() == list(range(chosen.size))  # a prefix of the tied rows
            assert 0 < chosen.size


# ------------------------------------------------------------------------------ edge cases

L3 = [[0], [1, 2], [0, 2], []]
P3 = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.7], [0.6, 0.3, 0.9], [0.1, 0.2, 0.3]])


@pytest.mark.parametrize("filter_by", FILTERS)
def test_tiny_and_narrow_inputs(filter_by: str) -> None:
    cases = [
        ([[0], [], [0], []], np.array([[0.9], [0.8], [0.6], [0.1]])),  # K = 1
        ([[0], [1], [0, 1], []], np.array([[0.9, 0.2], [0.2, 0.8], [0.6, 0.6], [0.1, 0.2]])),  # K = 2
        ([[]], np.array([[0.9, 0.2, 0.1]])),  # N = 1, nothing labelled
        ([[1], [0]], np.array([[0.9, 0.2], [0.3, 0.8]])),  # N = 2
        ([[]] * 4, P3),  # no labels at all
        ([[0, 0], [2, 1, 2], [2, 0], []], P3),  # duplicates and order within rows
    ]
    for labels, probs in cases:
        k = probs.shape[1]
        ours = find_label_issues(labels, probs, filter_by=filter_by)
        if filter_by in core.LOW_FILTERS and not special_classes(labels, k, "").any():
            try:
                expected = quiet(cl_filter.find_label_issues, labels, probs, filter_by=filter_by, n_jobs=1)
            except ValueError as error:  # cleanlab validates the labels of this path more strictly
                assert refused(error)
                continue
        elif filter_by in core.LOW_FILTERS:
            continue  # covered by the hypothesis tests
        else:
            expected = cleanlab_mask(labels, probs, filter_by=filter_by).any(axis=1)
        np.testing.assert_array_equal(ours, expected)


def test_empty_dataset() -> None:
    empty = np.zeros((0, 3))
    assert find_label_issues([], empty).shape == (0,)
    assert find_label_issues([], empty, return_indices_ranked_by="self_confidence").dtype == np.int64
    assert find_multilabel_issues_per_class([], empty).shape == (0, 3)
    with pytest.raises(ValueError, match="empty dataset"):
        overall_multilabel_health_score([], empty)


def test_class_in_every_row_has_no_absent_group() -> None:
    labels = [[0, 2], [1, 2], [0, 2], [2]]
    with pytest.raises(ValueError, match="at least 2 classes"):
        quiet(cl_filter.find_label_issues, labels, P3, n_jobs=1)
    for filter_by in ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning"]:
        ours = find_multilabel_issues_per_class(labels, P3, filter_by=filter_by)
        assert not ours[:, 2].any()
        np.testing.assert_array_equal(ours, cleanlab_mask(labels, P3, filter_by=filter_by))
    # predicted_neq_given: labelled rows the model calls absent (p = 0.2 and 0.3)
    ours = find_multilabel_issues_per_class(labels, P3, filter_by="predicted_neq_given")
    np.testing.assert_array_equal(ours[:, 2], [True, False, False, True])
    # a single row: the class is in every row
    assert not find_label_issues([[0]], np.array([[0.9, 0.2, 0.1]])).any()


def test_never_labelled_class_with_predicted_neq_given() -> None:
    labels = [[0], [1], [0, 1], [], [0]]
    probs = np.array([[0.9, 0.2, 0.6], [0.2, 0.8, 0.3], [0.6, 0.6, 0.9], [0.1, 0.2, 0.4], [0.8, 0.1, 0.5]])
    with pytest.raises(ValueError, match="at least 2 classes"):
        quiet(cl_filter.find_label_issues, labels, probs, filter_by="predicted_neq_given", n_jobs=1)
    ours = find_multilabel_issues_per_class(labels, probs, filter_by="predicted_neq_given")
    np.testing.assert_array_equal(ours[:, 2], [True, False, True, False, False])  # 0.5 is a tie
    np.testing.assert_array_equal(ours, cleanlab_mask(labels, probs, filter_by="predicted_neq_given"))


def test_singleton_label_is_never_pruned() -> None:
    labels = [[0]] * 9 + [[0, 1]]
    probs = np.tile([0.9, 0.05], (10, 1))
    probs[9, 1] = 0.01
    for min_examples in (0, 1):
        ours = find_multilabel_issues_per_class(labels, probs, min_examples_per_class=min_examples)
        assert not ours[9, 1]
        np.testing.assert_array_equal(ours, cleanlab_mask(labels, probs, min_examples_per_class=min_examples))
    assert find_multilabel_issues_per_class(labels, probs, filter_by="confident_learning")[9, 1]


@SETTINGS
@given(data=datasets(max_rows=120, max_classes=8), filter_by=st.sampled_from(PRUNE), seed=st.integers(0, 1000))
def test_supplied_confident_joint(data: tuple[list[list[int]], np.ndarray], filter_by: str, seed: int) -> None:
    labels, probs = data
    k = probs.shape[1]
    assume(not special_classes(labels, k, filter_by).any())
    joint = np.random.default_rng(seed).integers(0, len(labels) + 1, (k, 2, 2))
    ours = find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, confident_joint=joint)
    expected = cleanlab_mask(labels, probs, filter_by=filter_by, confident_joint=joint)
    assert_same_up_to_ties(ours, expected, labels, probs)
    if filter_by == "prune_by_noise_rate":
        score = overall_multilabel_health_score(labels, probs, confident_joint=joint)
        assert score == 1.0 - np.count_nonzero(ours.any(axis=1)) / len(labels)
        if np.array_equal(ours, expected):  # otherwise tied rows may make the union differ
            theirs = dataset_call(cl_dataset.overall_multilabel_health_score, labels, probs, confident_joint=joint)
            assert score == theirs


def test_polars_inputs_and_null_rows() -> None:
    labels, probs = make_data(5, 80, 4)
    mask = find_label_issues(labels, probs)
    series = pl.Series("labels", labels, dtype=pl.List(pl.Int64))
    array = pl.Series("pred_probs", probs, dtype=pl.Array(pl.Float64, 4))
    np.testing.assert_array_equal(find_label_issues(series, array), mask)
    np.testing.assert_array_equal(find_label_issues([np.array(row) for row in labels], probs), mask)
    # a null labels row is left out: never flagged, and the others are as without it
    with_null = [*labels[:10], None, *labels[10:]]
    probs_null = np.insert(probs, 10, 0.5, axis=0)
    np.testing.assert_array_equal(find_label_issues(with_null, probs_null), np.insert(mask, 10, False))
    ranked = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence")
    ranked_null = find_label_issues(with_null, probs_null, return_indices_ranked_by="self_confidence")
    np.testing.assert_array_equal(ranked_null, np.where(ranked >= 10, ranked + 1, ranked))


def test_fast_label_reading_matches_the_general_reader() -> None:
    from polars_mlq.compat import issues as issues_api
    from polars_mlq.compat import scores as numpy_api

    labels = [[0, 2], [], [1], [2, 2, 0]]
    for variant in (labels, [[np.int64(v) for v in row] for row in labels]):
        fast, general = issues_api.read_inputs(variant, P3), numpy_api.read_inputs(variant, P3)
        np.testing.assert_array_equal(fast.label_offsets, general.label_offsets)
        np.testing.assert_array_equal(fast.label_values, general.label_values)
    with pytest.raises(ValueError, match="label 3 is not a class index"):
        issues_api.read_inputs([[0], [3], [], []], P3)
    with pytest.raises(TypeError, match="List of class indices"):
        issues_api.read_inputs([[True], [False], [], []], P3)


def test_class_name_and_multi_hot_labels() -> None:
    labels, probs = make_data(6, 90, 3)
    names = ["cat", "dog", "fox"]
    named = [[names[c] for c in row] for row in labels]
    hot = multi_hot(labels, 3)
    mask = find_multilabel_issues_per_class(labels, probs)
    np.testing.assert_array_equal(find_multilabel_issues_per_class(named, probs, class_names=names), mask)
    np.testing.assert_array_equal(find_multilabel_issues_per_class(hot, probs, labels_format="multi_hot"), mask)
    frame = common_multilabel_issues(named, probs, class_names=names)
    assert frame.drop("Class Name").equals(common_multilabel_issues(labels, probs))
    assert frame["Class Name"].to_list() == [names[c] for c in frame["Class Index"]]


def test_float32_matches_cleanlab() -> None:
    labels, probs = make_data(11, 300, 6, float32=True)
    for filter_by in FILTERS[:5]:
        np.testing.assert_array_equal(
            find_multilabel_issues_per_class(labels, probs, filter_by=filter_by),
            cleanlab_mask(labels, probs, filter_by=filter_by),
        )


# ------------------------------------------------------------------------------- errors & options


def test_invalid_data_raises() -> None:
    with pytest.raises(ValueError, match="label 3 is not a class index"):
        find_label_issues([[0], [1, 3], [0, 2], []], P3)
    with pytest.raises(ValueError, match="label -1 is not a class index"):
        find_label_issues([[0], [1, -1], [0, 2], []], P3)
    bad = P3.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="not a probability"):
        find_label_issues(L3, bad)
    with pytest.raises(ValueError, match="differ in length"):
        find_label_issues(L3[:3], P3)


def test_invalid_options_raise() -> None:
    with pytest.raises(ValueError, match="filter_by must be one of"):
        find_label_issues(L3, P3, filter_by="bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown method"):
        find_label_issues(L3, P3, return_indices_ranked_by="bogus")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rank_by_kwargs"):
        find_label_issues(L3, P3, return_indices_ranked_by="self_confidence", rank_by_kwargs={"foo": 1})
    with pytest.raises(ValueError, match="confidence_weighted_entropy"):
        find_label_issues(
            L3, P3, return_indices_ranked_by="confidence_weighted_entropy", rank_by_kwargs={"adjust_pred_probs": True}
        )
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        find_label_issues(L3, P3, frac_noise=1.5)
    with pytest.raises(ValueError, match="min_examples_per_class"):
        find_label_issues(L3, P3, min_examples_per_class=-1)
    with pytest.raises(ValueError, match="3 non-negative integers"):
        find_label_issues(L3, P3, num_to_remove_per_class=[1, 1])
    with pytest.raises(ValueError, match="only supported by filter_by"):
        find_label_issues(L3, P3, filter_by="confident_learning", num_to_remove_per_class=[1, 1, 1])
    with pytest.raises(ValueError, match=r"shape \(K, 2, 2\)"):
        find_label_issues(L3, P3, confident_joint=np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        find_label_issues(L3, P3, confident_joint=-np.ones((3, 2, 2)))
    with pytest.warns(UserWarning, match="frac_noise is only used"):
        find_label_issues(L3, P3, filter_by="confident_learning", frac_noise=0.5)
    with pytest.warns(UserWarning, match="confident_joint is only used"):
        find_label_issues(L3, P3, filter_by="predicted_neq_given", confident_joint=np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match="class_names has 2 names"):
        common_multilabel_issues(L3, P3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="at most one"):
        rank_classes_by_multilabel_quality(L3, P3, joint=np.ones((3, 2, 2)), confident_joint=np.ones((3, 2, 2)))


# ------------------------------------------------------------------------------- dataset summaries


def _pandas_rows(frame: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.itertuples(index=False)]


@SETTINGS
@given(data=datasets(max_rows=120, max_classes=10), named=st.booleans())
def test_summaries_match_cleanlab(data: tuple[list[list[int]], np.ndarray], named: bool) -> None:
    labels, probs = data
    k = probs.shape[1]
    assume(not special_classes(labels, k, "").any())
    names = [f"class {c}" for c in range(k)] if named else None
    n = len(labels)

    ours = common_multilabel_issues(labels, probs, class_names=names)
    theirs = dataset_call(cl_dataset.common_multilabel_issues, labels, probs, class_names=names)
    assert ours.columns == list(theirs.columns)
    assert ours.rows() == _pandas_rows(theirs)  # the same row order, ties included
    assert ours.schema["Class Index"] == pl.Int64 and ours.schema["Num Examples"] == pl.Int64

    ours_q = rank_classes_by_multilabel_quality(labels, probs, class_names=names)
    theirs_q = dataset_call(cl_dataset.rank_classes_by_multilabel_quality, labels, probs, class_names=names)
    assert ours_q.columns == list(theirs_q.columns)
    skip = {"Label Issues", "Inverse Label Issues"}
    for column in ours_q.columns:
        if column not in skip:
            assert ours_q[column].to_list() == theirs_q[column].tolist(), column
    # cleanlab truncates rate * n to get the counts; ours are the counts themselves
    for column, rate in (("Label Issues", "Label Noise"), ("Inverse Label Issues", "Inverse Label Noise")):
        assert ours_q[column].to_list() == [round(r * n) for r in theirs_q[rate]]
        assert theirs_q[column].tolist() == [int(r * n) for r in theirs_q[rate]]

    score = overall_multilabel_health_score(labels, probs)
    flags = find_multilabel_issues_per_class(labels, probs)
    assert score == 1.0 - np.count_nonzero(flags.any(axis=1)) / n
    if np.array_equal(flags, cleanlab_mask(labels, probs)):  # otherwise tied rows may make the union differ
        assert score == dataset_call(cl_dataset.overall_multilabel_health_score, labels, probs)

    summary = multilabel_health_summary(labels, probs, class_names=names)
    keys = {"overall_multilabel_health_score", "classes_by_multilabel_quality", "common_multilabel_issues"}
    assert set(summary) == keys
    assert summary["overall_multilabel_health_score"] == score
    assert summary["common_multilabel_issues"].equals(ours)
    assert summary["classes_by_multilabel_quality"].equals(ours_q)


def test_summary_prints_only_when_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = make_data(2, 60, 3)
    multilabel_health_summary(labels, probs)
    assert capsys.readouterr().out == ""
    multilabel_health_summary(labels, probs, verbose=True, num_examples=1234)
    out = capsys.readouterr().out
    assert "1234 examples" in out and "health score" in out


def test_rank_classes_uses_the_confident_joint() -> None:
    """cleanlab forwards ``joint`` (not ``confident_joint``) to the issue finder; we use whichever
    is given, so ``joint`` reproduces cleanlab and ``confident_joint`` is no longer ignored."""
    labels, probs = make_data(4, 100, 3)
    joint = np.random.default_rng(0).integers(0, 40, (3, 2, 2))
    theirs = dataset_call(cl_dataset.rank_classes_by_multilabel_quality, labels, probs, joint=joint)
    ours = rank_classes_by_multilabel_quality(labels, probs, joint=joint)
    assert ours["Label Noise"].to_list() == theirs["Label Noise"].tolist()
    np.testing.assert_array_equal(
        rank_classes_by_multilabel_quality(labels, probs, confident_joint=joint).to_numpy(), ours.to_numpy()
    )
