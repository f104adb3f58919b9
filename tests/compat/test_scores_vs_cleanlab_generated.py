"""Parity with cleanlab 2.9, the oracle: the scoring functions on generated data, and properties.

Every public entry point (the numpy API, ``df.mlq`` over List and Array columns, the bare
expression streamed) against ``helpers.oracle_scores`` / ``oracle_per_class`` (cleanlab, or
cleanlab's per-class scores aggregated by the spec's recursion where cleanlab refuses valid data;
see test_scores_vs_cleanlab_examples.py), within ``helpers.tolerance``.
"""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from cleanlab.multilabel_classification.rank import (
    get_label_quality_scores_per_class as cleanlab_scores_per_class,
)
from helpers import (
    AGGREGATOR_KINDS,
    EMA,
    EXACT,
    METHOD_ADJUST,
    METHODS,
    Dataset,
    aggregators,
    assert_all_close,
    assert_close,
    cleanlab_refuses,
    datasets,
    describe,
    entry_point_scores,
    entry_point_scores_per_class,
    generate,
    multi_hot,
    oracle_per_class,
    oracle_scores,
    reference_aggregate,
    tolerance,
)
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq

# ---------------------------------------------------------------------------------------------
# Generated data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets())
def test_per_class_matches_cleanlab(method, adjust, data):
    describe(data)
    theirs = oracle_per_class(data.labels, data.probs, method, adjust)
    ours = entry_point_scores_per_class(data.labels, data.probs, method=method, adjust_pred_probs=adjust)
    assert_all_close(ours, theirs, tolerance(data.probs.dtype, method, adjust))


@pytest.mark.parametrize("kind", AGGREGATOR_KINDS)
@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets(), draw=st.data())
def test_scores_match_cleanlab(method, adjust, kind, data, draw):
    aggregator_kwargs = draw.draw(aggregators(kind), label="aggregator_kwargs")
    describe(data)
    theirs = oracle_scores(data.labels, data.probs, method, adjust, aggregator_kwargs)
    ours = entry_point_scores(
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
        60,
        500,
        dtype,
        seed=7,
        label_style="mixed",
        empty_frac=0.2,
        dup_frac=0.3,
        prob_style=prob_style,
        special_frac=0.3,
    )
    atol = tolerance(dtype, method, adjust)
    theirs = cleanlab_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust)
    assert_all_close(entry_point_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust), theirs, atol)
    for aggregator_kwargs in HANDPICKED_AGGREGATORS:
        theirs = cleanlab_scores(
            labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
        )
        ours = entry_point_scores(
            labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs
        )
        assert_all_close(ours, theirs, atol)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "adjust"), METHOD_ADJUST)
@given(data=datasets(), draw=st.data())
def test_scores_are_probabilities(method, adjust, data, draw):
    kind = draw.draw(st.sampled_from(AGGREGATOR_KINDS), label="kind")
    aggregator_kwargs = draw.draw(aggregators(kind), label="aggregator_kwargs")
    per_class = mlq.get_label_quality_scores_per_class(data.labels, data.probs, method=method, adjust_pred_probs=adjust)
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
    ours = entry_point_scores(labels, probs, aggregator_kwargs=aggregator_kwargs)
    assert_all_close(ours, theirs, EXACT)
    for path, scores in ours.items():
        assert scores.max() <= 1, f"{path}: {scores.tolist()} exceeds 1 (cleanlab: {theirs.tolist()})"


@given(data=datasets())
def test_self_confidence_is_p_for_labelled_classes_and_1_minus_p_otherwise(data):
    y = multi_hot(data.labels, data.probs.shape[1])
    # 1 - p is taken in the dtype of p (float32 stays float32), then stored as float64.
    expected = np.where(y, data.probs, 1 - data.probs).astype(np.float64)
    for path, actual in entry_point_scores_per_class(data.labels, data.probs).items():
        np.testing.assert_array_equal(actual, expected, strict=True, err_msg=f"entry point: {path}")
