"""The inputs and options of the cleanlab-signature issue functions (``polars_mlq.compat``):
polars Series, arrays per row, null rows, class names, multi-hot labels; and what they refuse."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from helpers import L3, P3, issue_data, multi_hot

from polars_mlq.compat import (
    common_multilabel_issues,
    find_label_issues,
    find_multilabel_issues_per_class,
    rank_classes_by_multilabel_quality,
)


def test_polars_inputs_and_null_rows() -> None:
    labels, probs = issue_data(5, 80, 4)
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
    from polars_mlq.compat import filter as issues_api
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
    labels, probs = issue_data(6, 90, 3)
    names = ["cat", "dog", "fox"]
    named = [[names[c] for c in row] for row in labels]
    hot = multi_hot(labels, 3)
    mask = find_multilabel_issues_per_class(labels, probs)
    np.testing.assert_array_equal(find_multilabel_issues_per_class(named, probs, class_names=names), mask)
    np.testing.assert_array_equal(find_multilabel_issues_per_class(hot, probs, labels_format="multi_hot"), mask)
    frame = common_multilabel_issues(named, probs, class_names=names)
    assert frame.drop("Class Name").equals(common_multilabel_issues(labels, probs))
    assert frame["Class Name"].to_list() == [names[c] for c in frame["Class Index"]]


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
        find_label_issues(L3, P3, confident_joint=np.ones((3, 4)))
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
