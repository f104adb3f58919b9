"""Every drop-in function called as cleanlab 2.9 is called: its parameters (names, kinds, order,
defaults), its positional order, and every keyword it has, compared with cleanlab itself.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import assert_ranked, cleanlab_scores_or_spec, dataset_call, issue_data, multi_hot, quiet, spread

import polars_mlq
from polars_mlq import compat

cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
cl_rank = pytest.importorskip("cleanlab.multilabel_classification.rank")
cl_dataset = pytest.importorskip("cleanlab.multilabel_classification.dataset")
cl_binary_rank = pytest.importorskip("cleanlab.rank")

THEIRS: dict[str, Callable[..., Any]] = {
    "find_label_issues": cl_filter.find_label_issues,
    "find_multilabel_issues_per_class": cl_filter.find_multilabel_issues_per_class,
    "get_label_quality_scores": cl_rank.get_label_quality_scores,
    "get_label_quality_scores_per_class": cl_rank.get_label_quality_scores_per_class,
    "common_multilabel_issues": cl_dataset.common_multilabel_issues,
    "rank_classes_by_multilabel_quality": cl_dataset.rank_classes_by_multilabel_quality,
    "overall_multilabel_health_score": cl_dataset.overall_multilabel_health_score,
    "multilabel_health_summary": cl_dataset.multilabel_health_summary,
}

#: Defaults we differ on, on purpose (docs/differences-from-cleanlab.md): cleanlab's default
#: ``labels=list`` (the type) only ever leads to an error; ours is None, with a clear message.
DEFAULT_DIFFERENCES = {("common_multilabel_issues", "labels")}


@pytest.mark.parametrize("name", sorted(THEIRS))
def test_parameters_are_cleanlabs_then_keyword_only_extras(name: str) -> None:
    theirs = list(inspect.signature(THEIRS[name]).parameters.values())
    ours = list(inspect.signature(getattr(polars_mlq, name)).parameters.values())
    assert getattr(compat, name) is getattr(polars_mlq, name)
    assert [p.name for p in ours[: len(theirs)]] == [p.name for p in theirs]
    for mine, their in zip(ours, theirs, strict=False):
        assert mine.kind == their.kind, (name, mine.name)
        if (name, mine.name) not in DEFAULT_DIFFERENCES:
            assert mine.default == their.default, (name, mine.name, mine.default, their.default)
    for extra in ours[len(theirs) :]:
        assert extra.kind == inspect.Parameter.KEYWORD_ONLY
        assert extra.default is not inspect.Parameter.empty


def _data(seed: int = 0, n: int = 400, k: int = 4) -> tuple[list[list[int]], np.ndarray]:
    """Continuous probabilities (no ties), with label errors planted."""
    return issue_data(seed, n, k)


#: (filter_by, rank_by, rank_by_kwargs, frac_noise, num_to_remove_per_class, min_examples_per_class)
POSITIONAL = [
    ("prune_by_noise_rate", None, {}, 1.0, None, 1),
    ("prune_by_class", "self_confidence", {"adjust_pred_probs": True}, 0.5, None, 3),
    ("both", "normalized_margin", {}, 1.0, [2, 1, 0, 3], 1),
    ("confident_learning", "confidence_weighted_entropy", {}, 1.0, None, 1),
    ("predicted_neq_given", None, {"adjust_pred_probs": None}, 1.0, None, 1),
    ("low_self_confidence", "self_confidence", {"adjust_pred_probs": False}, 1.0, None, 1),
]


@pytest.mark.parametrize(("filter_by", "rank_by", "rank_kwargs", "frac", "remove", "min_examples"), POSITIONAL)
def test_find_label_issues_positionally(
    filter_by: str, rank_by: str | None, rank_kwargs: dict[str, Any], frac: float, remove: Any, min_examples: int
) -> None:
    labels, probs = _data()
    args = (labels, probs, rank_by, rank_kwargs, filter_by, frac, remove, min_examples, None, 1, False, False)
    theirs = quiet(cl_filter.find_label_issues, *args)
    ours = quiet(polars_mlq.find_label_issues, *args)
    if rank_by is None:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_array_equal(np.sort(ours), np.sort(theirs))
        scores = polars_mlq.get_label_quality_scores(
            labels, probs, method=rank_by, adjust_pred_probs=bool(rank_kwargs.get("adjust_pred_probs"))
        )
        if filter_by.startswith("low_"):
            # ranked by scores of the flagged rows alone, as cleanlab scores them (cleanlab then
            # pairs them with a reordered index array: docs/differences-from-cleanlab.md)
            rows = np.sort(ours)
            subset = cleanlab_scores_or_spec([labels[i] for i in rows], probs[rows], rank_by, False)
            assert_ranked(ours, theirs, spread(rows, subset, len(labels)), rank_by)
        else:
            assert_ranked(ours, theirs, scores, rank_by)
    per_class_theirs = quiet(cl_filter.find_multilabel_issues_per_class, *args)
    per_class_ours = quiet(polars_mlq.find_multilabel_issues_per_class, *args)
    if rank_by is None:
        np.testing.assert_array_equal(per_class_ours, per_class_theirs)
    else:
        for mine, their in zip(per_class_ours[0], per_class_theirs[0], strict=True):
            np.testing.assert_array_equal(np.sort(mine), np.sort(their))
        for mine, their in zip(per_class_ours[1:], per_class_theirs[1:], strict=True):
            for a, b in zip(mine, their, strict=True):
                np.testing.assert_array_equal(a, b)


def test_scores_positionally_and_by_keyword() -> None:
    labels, probs = _data(1)
    for kwargs in (
        {},
        {"method": "normalized_margin", "adjust_pred_probs": True},
        {"method": "confidence_weighted_entropy", "aggregator_kwargs": {"method": "softmin", "temperature": 0.2}},
        {"aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None}},
    ):
        np.testing.assert_allclose(
            polars_mlq.get_label_quality_scores(labels, probs, **kwargs),
            cl_rank.get_label_quality_scores(labels, probs, **kwargs),
            rtol=0,
            atol=1e-12,
        )
        per_class = {k: v for k, v in kwargs.items() if k != "aggregator_kwargs"}
        np.testing.assert_allclose(
            polars_mlq.get_label_quality_scores_per_class(labels, probs, **per_class),
            cl_rank.get_label_quality_scores_per_class(labels, probs, **per_class),
            rtol=0,
            atol=1e-12,
        )


@pytest.mark.parametrize("n_jobs", [None, 1, 2, np.int64(3)])
def test_n_jobs_never_changes_a_result(n_jobs: Any) -> None:
    labels, probs = _data(2, n=3000, k=30)  # large enough for the threads to be used
    expected = quiet(cl_filter.find_label_issues, labels, probs, n_jobs=1)
    np.testing.assert_array_equal(polars_mlq.find_label_issues(labels, probs, n_jobs=n_jobs), expected)
    ranked = polars_mlq.find_multilabel_issues_per_class(
        labels, probs, "self_confidence", {"adjust_pred_probs": True}, n_jobs=n_jobs
    )
    reference = polars_mlq.find_multilabel_issues_per_class(labels, probs, "self_confidence", {"adjust_pred_probs": True})
    for mine, ref in zip(ranked[0], reference[0], strict=True):
        np.testing.assert_array_equal(mine, ref)


@pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True])
def test_n_jobs_must_be_a_positive_integer(n_jobs: Any) -> None:
    labels, probs = _data()
    with pytest.raises(ValueError, match="n_jobs must be None"):
        polars_mlq.find_label_issues(labels, probs, n_jobs=n_jobs)


def test_verbose_prints_one_summary_line_and_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = _data(3)
    quiet_result = polars_mlq.find_label_issues(labels, probs)
    assert capsys.readouterr().out == ""
    loud = polars_mlq.find_label_issues(labels, probs, verbose=True)
    np.testing.assert_array_equal(loud, quiet_result)
    out = capsys.readouterr().out
    assert out == f"polars-mlq: {int(quiet_result.sum())} of {len(labels)} rows have a label issue (filter_by='prune_by_noise_rate')\n"
    per_class = polars_mlq.find_multilabel_issues_per_class(labels, probs, verbose=True, low_memory=True)
    line = capsys.readouterr().out
    assert line.startswith(f"polars-mlq: {int(per_class.sum())} (row, class) label issues over {len(labels)} rows")
    assert "low_memory=True" in line


def test_health_summary_prints_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = _data(4, n=80, k=3)
    shown = polars_mlq.multilabel_health_summary(labels, probs)
    out = capsys.readouterr().out
    assert f"{shown['overall_multilabel_health_score']:.4f}" in out
    silent = polars_mlq.multilabel_health_summary(labels, probs, verbose=False)
    assert capsys.readouterr().out == ""
    assert silent["overall_multilabel_health_score"] == shown["overall_multilabel_health_score"]


def test_dataset_functions_positionally_and_by_keyword() -> None:
    labels, probs = _data(5, n=200, k=3)
    joint = np.array([[[120, 5], [4, 30]], [[100, 9], [7, 40]], [[150, 3], [2, 20]]])
    names = ["a", "b", "c"]
    theirs = dataset_call(cl_dataset.common_multilabel_issues, labels, probs, class_names=names, confident_joint=joint)
    ours = polars_mlq.common_multilabel_issues(labels, probs, class_names=names, confident_joint=joint)
    assert sorted(ours.rows()) == sorted(map(tuple, theirs.itertuples(index=False)))
    score = dataset_call(cl_dataset.overall_multilabel_health_score, labels, probs, confident_joint=joint)
    assert polars_mlq.overall_multilabel_health_score(labels, probs, confident_joint=joint) == score
    ranked = dataset_call(cl_dataset.rank_classes_by_multilabel_quality, labels, probs, class_names=names, joint=joint)
    mine = polars_mlq.rank_classes_by_multilabel_quality(labels, probs, class_names=names, joint=joint)
    assert mine["Class Name"].to_list() == ranked["Class Name"].tolist()
    summary = dataset_call(cl_dataset.multilabel_health_summary, labels, probs, class_names=names, num_examples=7, verbose=False)
    got = polars_mlq.multilabel_health_summary(labels, probs, class_names=names, num_examples=7, verbose=False)
    assert got["overall_multilabel_health_score"] == summary["overall_multilabel_health_score"]


@pytest.mark.parametrize("function", ["common_multilabel_issues", "overall_multilabel_health_score"])
def test_dataset_functions_need_labels_and_pred_probs(function: str) -> None:
    with pytest.raises(ValueError, match="labels and pred_probs must be given"):
        getattr(polars_mlq, function)()


# --------------------------------------------------------------------------------------------
# low_memory=True: cleanlab's batched filter
# --------------------------------------------------------------------------------------------


def _binary_scores(labels: list[list[int]], probs: np.ndarray, method: str) -> np.ndarray:
    y = multi_hot(labels, probs.shape[1]).astype(int)
    return np.stack(
        [
            cl_binary_rank.get_label_quality_scores(y[:, c], np.stack([1 - probs[:, c], probs[:, c]], 1), method=method)
            for c in range(probs.shape[1])
        ],
        axis=1,
    )


LOW_MEMORY_DATA = [
    pytest.param(_data(6, n=300, k=4), False, id="small"),
    pytest.param(_data(7, n=25_000, k=3), False, id="three-batches"),
    pytest.param(issue_data(8, 400, 5, ties=10), True, id="ties"),
]


@pytest.mark.parametrize(("data", "ties"), LOW_MEMORY_DATA)
@pytest.mark.parametrize("rank_by", [None, "self_confidence", "normalized_margin", "confidence_weighted_entropy"])
def test_low_memory_is_cleanlabs_batched_filter(
    data: tuple[list[list[int]], np.ndarray], ties: bool, rank_by: str | None
) -> None:
    labels, probs = data
    theirs = quiet(cl_filter.find_multilabel_issues_per_class, labels, probs, rank_by, low_memory=True)
    ours = polars_mlq.find_multilabel_issues_per_class(labels, probs, rank_by, low_memory=True)
    scores = _binary_scores(labels, probs, rank_by or "self_confidence")
    for c in range(probs.shape[1]):
        if rank_by is None:
            flagged_ours, flagged_theirs = np.flatnonzero(ours[:, c]), np.flatnonzero(theirs[:, c])
        else:
            flagged_ours, flagged_theirs = ours[0][c], theirs[0][c]
        assert np.all(np.diff(flagged_ours) > 0)  # listed in row order, as cleanlab lists them
        if ties and rank_by == "confidence_weighted_entropy":
            # many rows score exactly 0 (p of 0 or 1); which of them are picked decides how many
            # the agreement filter keeps, so only the cut is the same
            assert scores[flagged_ours, c].max(initial=0) <= scores[flagged_theirs, c].max(initial=0)
            continue
        # the same scores are flagged (of tied rows, we flag the earliest)
        np.testing.assert_array_equal(np.sort(scores[flagged_ours, c]), np.sort(scores[flagged_theirs, c]))
        if not ties:
            np.testing.assert_array_equal(flagged_ours, flagged_theirs)
    rows_theirs = quiet(cl_filter.find_label_issues, labels, probs, rank_by, low_memory=True)
    rows_ours = polars_mlq.find_label_issues(labels, probs, rank_by, low_memory=True)
    if not ties:  # with ties, other tied rows may be flagged
        np.testing.assert_array_equal(rows_ours, rows_theirs)


def test_low_memory_uses_rank_by_kwargs_without_warning() -> None:
    """cleanlab warns that rank_by_kwargs is unused under low_memory, then ranks by it: we rank alike, quietly."""
    labels, probs = _data(9)
    kwargs = {"adjust_pred_probs": True}
    theirs = quiet(cl_filter.find_label_issues, labels, probs, "self_confidence", kwargs, low_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = polars_mlq.find_label_issues(labels, probs, "self_confidence", kwargs, low_memory=True)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("filter_by", "both"),
        ("frac_noise", 0.5),
        ("num_to_remove_per_class", [1, 1, 1, 1]),
        ("min_examples_per_class", 5),
        ("confident_joint", [[[10, 1], [1, 10]]] * 4),
    ],
)
def test_low_memory_warns_about_each_unused_argument(name: str, value: Any) -> None:
    labels, probs = _data(10)
    expected = quiet(cl_filter.find_label_issues, labels, probs, low_memory=True)
    with pytest.warns(UserWarning, match=rf"^{name} is not used when low_memory=True"):
        ours = polars_mlq.find_label_issues(labels, probs, low_memory=True, **{name: value})
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("as_array", [True, False])
def test_low_memory_with_a_numpy_confident_joint_or_counts(as_array: bool) -> None:
    """cleanlab crashes on a NumPy confident_joint or num_to_remove_per_class with low_memory=True
    (an elementwise ``!=`` in its warning code): we warn that it is unused, as for a list."""
    labels, probs = _data(11)
    joint = np.array([[[10, 1], [1, 10]]] * 4)
    remove = np.array([1, 2, 0, 1])
    with pytest.raises(ValueError, match="truth value of an array"):
        quiet(cl_filter.find_label_issues, labels, probs, confident_joint=joint, low_memory=True)
    expected = quiet(cl_filter.find_label_issues, labels, probs, low_memory=True)
    for kwargs in ({"confident_joint": joint if as_array else joint.tolist()}, {"num_to_remove_per_class": remove}):
        with pytest.warns(UserWarning, match="is not used when low_memory=True"):
            np.testing.assert_array_equal(polars_mlq.find_label_issues(labels, probs, low_memory=True, **kwargs), expected)


def test_low_memory_on_classes_in_no_row_and_in_every_row() -> None:
    """The batched filter gives a never-given class the threshold 2e-6 (so it flags rows where the
    model is sure the class is present) and does not refuse a class given in every row."""
    labels, probs = _data(12, n=300, k=4)
    labels = [[c for c in row if c != 1] + [3] for row in labels]  # class 1 in no row, class 3 in all
    theirs = quiet(cl_filter.find_multilabel_issues_per_class, labels, probs, low_memory=True)
    ours = polars_mlq.find_multilabel_issues_per_class(labels, probs, low_memory=True)
    np.testing.assert_array_equal(ours, theirs)
    assert ours[:, 1].any()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"frac_noise": 1.5}, "frac_noise must be in"),
        ({"num_to_remove_per_class": [1, 1, 1, 1, 9]}, "num_to_remove_per_class must hold 4"),
        ({"min_examples_per_class": 1.5}, "min_examples_per_class must be a non-negative integer"),
    ],
)
def test_values_cleanlab_accepts_and_we_refuse(kwargs: dict[str, Any], words: str) -> None:
    """Documented in docs/differences-from-cleanlab.md: each of these is most likely a mistake."""
    labels, probs = _data(13)
    quiet(cl_filter.find_label_issues, labels, probs, n_jobs=1, **kwargs)  # cleanlab answers
    with pytest.raises(ValueError, match=words):
        polars_mlq.find_label_issues(labels, probs, **kwargs)


def test_ranked_low_filters_are_ordered_by_their_scores() -> None:
    """cleanlab scores the flagged rows of a ``low_*`` filter, then pairs those scores with a
    reordered index array; we return the rows worst first by those same scores."""
    labels, probs = _data(14)
    ours = polars_mlq.find_label_issues(labels, probs, "self_confidence", filter_by="low_self_confidence")
    theirs = quiet(cl_filter.find_label_issues, labels, probs, "self_confidence", filter_by="low_self_confidence", n_jobs=1)
    assert sorted(ours.tolist()) == sorted(theirs.tolist())
    rows = np.sort(ours)
    subset = cl_rank.get_label_quality_scores([labels[i] for i in rows], probs[rows])
    by_row = dict(zip(rows.tolist(), subset.tolist(), strict=True))
    assert [by_row[r] for r in ours.tolist()] == sorted(subset.tolist())
    assert [by_row[r] for r in theirs.tolist()] != sorted(subset.tolist())  # cleanlab's order is not


def test_adjust_pred_probs_none_means_false() -> None:
    labels, probs = _data(15)
    for ours, theirs in (
        (polars_mlq.get_label_quality_scores, cl_rank.get_label_quality_scores),
        (polars_mlq.get_label_quality_scores_per_class, cl_rank.get_label_quality_scores_per_class),
    ):
        expected = theirs(labels, probs, adjust_pred_probs=None)
        np.testing.assert_allclose(ours(labels, probs, adjust_pred_probs=None), expected, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ours(labels, probs, adjust_pred_probs=None), ours(labels, probs))


def test_labels_as_an_object_array_or_a_pandas_series() -> None:
    """cleanlab's issue finders take an object array of rows or a pandas Series of lists too."""
    pd = pytest.importorskip("pandas")
    labels, probs = _data(16, n=200, k=3)
    expected = quiet(cl_filter.find_label_issues, labels, probs, n_jobs=1)
    as_objects = np.empty(len(labels), dtype=object)
    as_objects[:] = [np.array(row, dtype=np.int64) for row in labels]
    for variant in (as_objects, pd.Series(labels), tuple(tuple(row) for row in labels)):
        np.testing.assert_array_equal(quiet(cl_filter.find_label_issues, variant, probs, n_jobs=1), expected)
        np.testing.assert_array_equal(polars_mlq.find_label_issues(variant, probs), expected)
        np.testing.assert_allclose(
            polars_mlq.get_label_quality_scores(variant, probs),
            cl_rank.get_label_quality_scores(labels, probs),
            rtol=0,
            atol=1e-12,
        )


def test_a_single_label_confident_joint_is_ignored_with_a_warning() -> None:
    """cleanlab ignores a (K, K) confident joint (the single-label format) with a warning; so do we."""
    labels, probs = _data(17)
    joint = np.full((4, 4), 10)
    theirs = quiet(cl_filter.find_label_issues, labels, probs, confident_joint=joint, n_jobs=1)
    with pytest.warns(UserWarning, match="single-label format"):
        ours = polars_mlq.find_label_issues(labels, probs, confident_joint=joint)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, polars_mlq.find_label_issues(labels, probs))
