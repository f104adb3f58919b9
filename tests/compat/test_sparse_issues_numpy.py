"""The NumPy issue finders and summaries on a CSR-like pred_probs: the densified arrays' answers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_mlq as mlq
from helpers import FILTERS, top_k_frame


def as_csr(frame: pl.DataFrame, k: int) -> SimpleNamespace:
    """What scipy.sparse.csr_array((data, indices, indptr), shape=(n, k)) holds (SciPy is not needed)."""
    lengths = frame["classes"].list.len().to_numpy()
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = frame["classes"].explode().to_numpy()
    data = frame["probs"].explode().to_numpy()
    return SimpleNamespace(indptr=indptr, indices=indices, data=data, shape=(frame.height, k))


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("fill", [0.0, 0.02])
def test_flags_are_the_densified_arrays(filter_by: str, fill: float) -> None:
    frame, dense, labels = top_k_frame(21, 300, 10, 4, fill=fill)
    expected = mlq.find_label_issues(labels, dense, filter_by=filter_by)
    assert 0 < expected.sum() < 300
    got = mlq.find_label_issues(labels, as_csr(frame, 10), filter_by=filter_by, fill_value=fill)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "options",
    [{"frac_noise": 0.5}, {"num_to_remove_per_class": [2] * 10}, {"confident_joint": "own"}, {"n_jobs": 1}],
)
def test_options_are_those_of_the_densified_arrays(options: dict[str, Any]) -> None:
    frame, dense, labels = top_k_frame(22, 300, 10, 4, fill=0.0)
    if options.get("confident_joint") == "own":  # a supplied joint, here the densified data's own
        joint = np.full((10, 2, 2), 5)
        joint[:, 1, 0] = 2
        options = {"confident_joint": joint}
    expected = mlq.find_label_issues(labels, dense, **options)
    got = mlq.find_label_issues(labels, as_csr(frame, 10), **options)
    np.testing.assert_array_equal(got, expected)


def test_summaries_are_those_of_the_densified_arrays() -> None:
    frame, dense, labels = top_k_frame(23, 300, 9, 3, fill=0.01)
    csr = as_csr(frame, 9)
    names = [f"c{i}" for i in range(9)]
    assert mlq.overall_multilabel_health_score(labels, csr, fill_value=0.01) == mlq.overall_multilabel_health_score(
        labels, dense
    )
    assert_frame_equal(
        mlq.common_multilabel_issues(labels, csr, class_names=names, fill_value=0.01),
        mlq.common_multilabel_issues(labels, dense, class_names=names),
    )
    assert_frame_equal(
        mlq.rank_classes_by_multilabel_quality(labels, csr, fill_value=0.01),
        mlq.rank_classes_by_multilabel_quality(labels, dense),
    )
    summary = mlq.multilabel_health_summary(labels, csr, verbose=False, fill_value=0.01)
    expected = mlq.multilabel_health_summary(labels, dense, verbose=False)
    assert summary["overall_multilabel_health_score"] == expected["overall_multilabel_health_score"]
    assert_frame_equal(summary["common_multilabel_issues"], expected["common_multilabel_issues"])


def test_rows_with_null_labels_are_left_out() -> None:
    frame, dense, labels = top_k_frame(24, 200, 8, 3, fill=0.0)
    series = pl.Series("labels", [None if i in (3, 50) else row for i, row in enumerate(labels)], dtype=pl.List(pl.Int64))
    got = mlq.find_label_issues(series, as_csr(frame, 8))
    keep = np.ones(200, dtype=bool)
    keep[[3, 50]] = False
    expected = mlq.find_label_issues([labels[i] for i in np.flatnonzero(keep)], dense[keep])
    assert not got[[3, 50]].any()
    np.testing.assert_array_equal(got[keep], expected)


def test_what_sparse_input_does_not_take_is_refused() -> None:
    frame, dense, labels = top_k_frame(25, 40, 6, 2, fill=0.0)
    csr = as_csr(frame, 6)
    with pytest.raises(ValueError, match="fill_value is for sparse"):
        mlq.find_label_issues(labels, dense, fill_value=0.1)
    with pytest.raises(ValueError, match=r"fill_value 0\.7 is above"):
        mlq.overall_multilabel_health_score(labels, csr, fill_value=0.7)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"filter_by": "low_self_confidence"},
        {"return_indices_ranked_by": "normalized_margin"},
        {"return_indices_ranked_by": "self_confidence", "rank_by_kwargs": {"adjust_pred_probs": True}},
    ],
)
def test_per_class_functions_densify_sparse_rows(options: dict[str, Any]) -> None:
    """Their answers are N x K: the sparse rows are densified (fill everywhere, the listed p at their classes)."""
    frame, dense, labels = top_k_frame(28, 300, 12, 4, fill=0.03)
    csr = as_csr(frame, 12)
    got = mlq.find_multilabel_issues_per_class(labels, csr, fill_value=0.03, **options)
    expected = mlq.find_multilabel_issues_per_class(labels, dense, **options)
    if "return_indices_ranked_by" in options:
        assert sum(r.size for r in expected[0]) > 10
        for ours, theirs in zip(got, expected, strict=True):
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(a, b)
    else:
        assert 10 < expected.sum() < expected.size
        np.testing.assert_array_equal(got, expected)
    for method, adjust in [("self_confidence", True), ("confidence_weighted_entropy", False)]:
        scores = mlq.get_label_quality_scores_per_class(
            labels, csr, method=method, adjust_pred_probs=adjust, fill_value=0.03
        )
        np.testing.assert_array_equal(
            scores, mlq.get_label_quality_scores_per_class(labels, dense, method=method, adjust_pred_probs=adjust)
        )


def test_per_class_functions_refuse_sparse_rows_too_many_to_densify(monkeypatch: pytest.MonkeyPatch) -> None:
    from polars_mlq.compat import scores

    frame, dense, labels = top_k_frame(29, 50, 8, 3, fill=0.0)
    monkeypatch.setattr(scores, "DENSE_RESULT_MAX_ENTRIES", 399)  # 50 x 8 = 400 entries
    with pytest.raises(ValueError, match=r"N x K = 50 x 8 is above the limit of 399 entries"):
        mlq.find_multilabel_issues_per_class(labels, as_csr(frame, 8))
    with pytest.raises(ValueError, match=r"get_label_quality_scores_per_class answers with N x K arrays"):
        mlq.get_label_quality_scores_per_class(labels, as_csr(frame, 8))
    monkeypatch.setattr(scores, "DENSE_RESULT_MAX_ENTRIES", 400)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores_per_class(labels, as_csr(frame, 8)), mlq.get_label_quality_scores_per_class(labels, dense)
    )
    with pytest.raises(ValueError, match="fill_value is for sparse"):
        mlq.find_multilabel_issues_per_class(labels, dense, fill_value=0.1)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "low_self_confidence"])
def test_ranked_rows_are_those_of_the_densified_arrays(method: str, filter_by: str) -> None:
    """Worst first by the EMA of the ranking method's scores, ties (rounded probabilities) in row order."""
    frame, dense, labels = top_k_frame(26, 300, 10, 4, fill=0.01)
    kwargs = {"return_indices_ranked_by": method, "filter_by": filter_by}
    expected = mlq.find_label_issues(labels, dense, **kwargs)
    assert expected.size > 5
    got = mlq.find_label_issues(labels, as_csr(frame, 10), fill_value=0.01, **kwargs)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "low_normalized_margin"])
@pytest.mark.parametrize(("dtype", "fill"), [(np.float64, 0.01), (np.float64, 0.0), (np.float32, 0.02)])
def test_rows_ranked_by_adjusted_scores_are_those_of_the_densified_arrays(
    method: str, filter_by: str, dtype: type, fill: float
) -> None:
    """rank_by_kwargs={'adjust_pred_probs': True}: every class scores a constant of its own, so K = 60
    puts most rows' EMA on the two-ended steps; a low_* filter takes the thresholds of the ranked
    rows alone. Rounded probabilities give ties; float32 keeps the thresholds' classes in float32."""
    frame, dense, labels = top_k_frame(27, 600, 60, 6, fill=fill)
    kwargs = {"return_indices_ranked_by": method, "filter_by": filter_by, "rank_by_kwargs": {"adjust_pred_probs": True}}
    expected = mlq.find_label_issues(labels, dense.astype(dtype), **kwargs)
    assert expected.size > 20
    csr = as_csr(frame, 60)
    csr.data = csr.data.astype(dtype)
    got = mlq.find_label_issues(labels, csr, fill_value=fill, **kwargs)
    np.testing.assert_array_equal(got, expected)
    plain = mlq.find_label_issues(labels, csr, fill_value=fill, **{**kwargs, "rank_by_kwargs": {}})
    assert not np.array_equal(plain, got)  # the adjustment changes the order


@pytest.mark.parametrize("rank_by", [None, "self_confidence", "normalized_margin", "confidence_weighted_entropy"])
@pytest.mark.parametrize("fill", [0.0, 0.02, 0.3])
def test_low_memory_flags_and_ranks_as_on_the_densified_arrays(rank_by: str | None, fill: float) -> None:
    """cleanlab's batched filter over 2.5 batches of 10,000 rows, with ties (rounded probabilities,
    labels on classes a row does not list) and rows without labels; ranked by
    confidence_weighted_entropy at fill 0, every implicit entry scores 0, as a labelled p of 0 does."""
    frame, dense, labels = top_k_frame(31, 25_000, 10, 4, fill=fill)
    for i in range(3, 25_000, 997):
        labels[i] = None
    expected = mlq.find_label_issues(labels, dense, low_memory=True, return_indices_ranked_by=rank_by)
    got = mlq.find_label_issues(
        labels, as_csr(frame, 10), low_memory=True, return_indices_ranked_by=rank_by, fill_value=fill
    )
    assert 100 < (expected.size if rank_by else expected.sum()) < 20_000
    np.testing.assert_array_equal(got, expected)


def test_low_memory_on_sparse_rows_is_cleanlabs() -> None:
    from cleanlab.multilabel_classification.filter import find_label_issues

    frame, dense, labels = top_k_frame(32, 12_000, 8, 3, fill=0.01, decimals=None)
    expected = find_label_issues(labels, dense, low_memory=True)
    got = mlq.find_label_issues(labels, as_csr(frame, 8), low_memory=True, fill_value=0.01)
    assert 10 < expected.sum() < 6_000
    np.testing.assert_array_equal(got, expected)

