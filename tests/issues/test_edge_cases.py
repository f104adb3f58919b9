"""Issue finding at the edges (``polars_mlq.issues.arrays``): tiny and narrow inputs, no rows, a class in
every row or in none, a singleton label, ties at a cutoff; checked against cleanlab where it
answers, against the spec where it refuses (``helpers.cleanlab_mask`` fills those classes in)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import P3, PRUNE, assert_flags_like_cleanlab, cleanlab_mask, quiet, refused, special_classes

from polars_mlq import core
from polars_mlq.compat import (
    find_label_issues,
    find_multilabel_issues_per_class,
    overall_multilabel_health_score,
)

cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")

FILTERS = list(core.FILTERS)


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
            assert_flags_like_cleanlab(ours, labels, probs, {"filter_by": filter_by, "frac_noise": frac})
            chosen = np.flatnonzero(ours[tied, 1])
            assert chosen.tolist() == list(range(chosen.size))  # a prefix of the tied rows
            assert 0 < chosen.size


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
