"""Issue finding (``find_label_issues``, ``find_multilabel_issues_per_class``) checked against the
installed cleanlab.

cleanlab is the oracle wherever it gives an answer. Where it refuses valid data (a class present in
every row; ``predicted_neq_given`` with a class that is never labelled; rankings of degenerate
label sets), the expectation is built from the spec instead: the K binary problems are
independent, so the other classes are checked against cleanlab run without the refused column, and
the refused column against the spec's formulas.

The checks themselves are ``helpers.check_find_label_issues`` and ``helpers.check_issues_per_class``,
which tests/reliability/test_fuzz_cleanlab.py runs on its own data too.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    CLEANLAB_SETTINGS,
    FILTERS,
    PRUNE,
    assert_flags_like_cleanlab,
    check_find_label_issues,
    check_issues_per_class,
    cleanlab_mask,
    dataset_call,
    generate,
    issue_data,
    issue_datasets,
    issue_options,
    special_classes,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from polars_mlq.compat import (
    find_multilabel_issues_per_class,
    overall_multilabel_health_score,
)

cl_dataset = pytest.importorskip("cleanlab.multilabel_classification.dataset")


@CLEANLAB_SETTINGS
@given(data=issue_datasets(), choice=st.data())
def test_find_label_issues_matches_cleanlab(data: tuple[list[list[int]], np.ndarray], choice: st.DataObject) -> None:
    labels, probs = data
    kw = choice.draw(issue_options(probs.shape[1]))
    check_find_label_issues(labels, probs, kw)


@CLEANLAB_SETTINGS
@given(data=issue_datasets(), choice=st.data())
def test_per_class_matches_cleanlab(data: tuple[list[list[int]], np.ndarray], choice: st.DataObject) -> None:
    labels, probs = data
    k = probs.shape[1]
    kw = choice.draw(issue_options(k))
    check_issues_per_class(labels, probs, kw)


@CLEANLAB_SETTINGS
@given(data=issue_datasets(max_rows=120, max_classes=8), filter_by=st.sampled_from(PRUNE), seed=st.integers(0, 1000))
def test_supplied_confident_joint(data: tuple[list[list[int]], np.ndarray], filter_by: str, seed: int) -> None:
    labels, probs = data
    k = probs.shape[1]
    assume(not special_classes(labels, k, filter_by).any())
    joint = np.random.default_rng(seed).integers(0, len(labels) + 1, (k, 2, 2))
    ours = find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, confident_joint=joint)
    expected = cleanlab_mask(labels, probs, filter_by=filter_by, confident_joint=joint)
    assert_flags_like_cleanlab(ours, labels, probs, {"filter_by": filter_by, "confident_joint": joint})
    if filter_by == "prune_by_noise_rate":
        score = overall_multilabel_health_score(labels, probs, confident_joint=joint)
        assert score == 1.0 - np.count_nonzero(ours.any(axis=1)) / len(labels)
        if np.array_equal(ours, expected):  # otherwise tied rows may make the union differ
            theirs = dataset_call(cl_dataset.overall_multilabel_health_score, labels, probs, confident_joint=joint)
            assert score == theirs


def test_float32_matches_cleanlab() -> None:
    labels, probs = issue_data(11, 300, 6, float32=True)
    for filter_by in FILTERS[:5]:
        np.testing.assert_array_equal(
            find_multilabel_issues_per_class(labels, probs, filter_by=filter_by),
            cleanlab_mask(labels, probs, filter_by=filter_by),
        )


@pytest.mark.parametrize("filter_by", PRUNE)
def test_keys_tied_by_rounding_of_tiny_probabilities(filter_by: str) -> None:
    """p = 5e-324 and p = 2.2e-308 differ, but 1 - p rounds to 1.0 for both, so their sort keys
    tie: either may be flagged (we take the earliest row), cleanlab's count is kept (found by the
    fuzzer)."""
    labels, probs = generate(
        118, 11, np.float64, seed=0, label_style="sparse", empty_frac=0.0, dup_frac=0.0, prob_style="uniform", special_frac=0.3
    )
    assert np.any((probs > 0) & (probs < 1e-300))
    for frac_noise in (0.1, 0.5, 1.0):
        check_find_label_issues(labels, probs, {"filter_by": filter_by, "frac_noise": frac_noise})
        check_issues_per_class(labels, probs, {"filter_by": filter_by, "frac_noise": frac_noise})
