"""The range check of pred_probs inside the scoring kernels (``polars_mlq.scoring.kernel``).

The kernels defer the check: they read it off the sorted per-class scores (first and last
column), and send a block that fails to the full check, which names the first bad row. Values
within the tolerance outside [0, 1] pass and are clipped, in a copy.
"""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.input import TOLERANCE
from polars_mlq.scoring.aggregate import FLOAT_SORT_MIN_CLASSES, smallest_sorted, sorts_as_floats
from polars_mlq.scoring.kernel import _sorted_in_unit_interval
from polars_mlq.scoring.per_class import per_class_scores

CONFIGS = helpers.SCORING_OPTIONS
_SPECIAL = helpers.SPECIAL_VALUES


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("lazy", [False, True])
def test_a_bad_value_deep_in_a_threaded_batch_names_the_first_bad_row(lazy: bool) -> None:
    labels, probs = helpers.kernel_data(30_000, 12)
    probs[29_000, 3] = np.nan  # in the last thread's range
    probs[20_001, 5] = 1.5  # an earlier row, in another range
    df = pl.DataFrame({"labels": labels, "pred_probs": probs})
    frame = df.lazy() if lazy else df
    with pytest.raises(ValueError, match=r"column 'pred_probs', row 20001.*value 1\.5 at class 5"):
        out = frame.mlq.label_quality()
        if lazy:
            out.collect(engine="in-memory")


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("options", CONFIGS[:2] + CONFIGS[-2:], ids=str)
def test_values_within_the_tolerance_are_clipped_on_the_deferred_path(options: dict) -> None:
    labels, probs = helpers.kernel_data(20_000, 15)
    probs[17_000, 2] = 1 + 5e-7
    probs[18_000, 4] = -5e-7
    got = pl.DataFrame({"labels": labels, "pred_probs": probs}).mlq.label_quality(**options)["label_quality"].to_numpy()
    np.testing.assert_array_equal(got, mlq.get_label_quality_scores(labels, np.clip(probs, 0, 1), **options))
    assert probs[17_000, 2] == 1 + 5e-7  # the input is not mutated


def _sorted_scores(probs: np.ndarray, labelled: list[int], method: str) -> np.ndarray:
    """The scores of one row, sorted as the EMA kernels sort them (on their bits)."""
    scores = np.empty_like(probs)
    per_class_scores(probs, np.array(labelled, dtype=np.intp), method, None, scores)
    smallest_sorted(scores, scores.shape[1])
    return scores


_ANY_VALUE = st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, allow_infinity=True))


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "wide"])
@given(values=st.lists(_ANY_VALUE, min_size=1, max_size=4), labelled=st.sets(st.integers(0, 5)))
def test_sorted_margin_scores_pass_the_range_check_only_when_clipping_changes_nothing(
    method: str, dtype: type, wide: bool, values: list[float], labelled: set[int]
) -> None:
    """The kernels read the range check off sorted scores (first and last column). A row that
    passes must be one the full check would accept and clip, and its scores must equal those of
    the clipped row; a row with any value beyond the tolerance, NaN or inf must fail, whatever
    else it holds (-0.0 beside a negative value included: its bits sort first, and as floats the
    negative does). Wide float64 rows are sorted as floats (``sorts_as_floats``), where every NaN,
    -NaN included, sorts last."""
    pad = [0.5] * (FLOAT_SORT_MIN_CLASSES if wide else 0)
    with np.errstate(over="ignore"):
        probs = np.array([[0.25, *values, *pad, 0.75]], dtype=dtype)
    assert sorts_as_floats(probs.dtype, probs.shape[1]) == (wide and dtype == np.float64)
    positions = sorted(i for i in labelled if i < probs.shape[1])
    with np.errstate(invalid="ignore", over="ignore"):
        scores = _sorted_scores(probs, positions, method)
    passes = _sorted_in_unit_interval(scores)
    with np.errstate(invalid="ignore"):
        if not bool(np.all((probs >= -TOLERANCE) & (probs <= 1 + TOLERANCE))):  # an error (NaN too)
            assert not passes
    if passes:
        clipped = _sorted_scores(np.clip(probs, 0, 1), positions, method)
        np.testing.assert_array_equal(scores, clipped)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_a_labelled_minus_zero_scores_as_zero_and_hides_no_negative_value(lazy: bool, method: str) -> None:
    """-0.0 is a probability of 0 whose bits sort before every score: the deferred check sends
    its block to the full check, which scores it as 0; a negative value beside it is an error."""

    def scored(probs: list[list[float]], labels: list[list[int]]) -> list[float]:
        frame = pl.DataFrame({"labels": labels, "pred_probs": probs})
        frame = frame.lazy() if lazy else frame
        result = frame.mlq.label_quality(method=method)
        return (result.collect() if lazy else result)["label_quality"].to_list()

    labels = [[0], [1], [0, 2]]
    zero = [[0.0, 0.5, 0.2], [0.3, 0.6, 0.1], [0.9, 0.2, 0.7]]
    with_minus_zero = scored([[-0.0, *zero[0][1:]], *zero[1:]], labels)
    assert with_minus_zero == scored(zero, labels)
    assert with_minus_zero == pytest.approx(cleanlab_scores(labels, np.array(zero), method=method), abs=1e-12)
    with pytest.raises(ValueError, match=r"row 1\b.*: pred_probs value -0\.5 at class 2"):
        scored([[0.1, 0.5, 0.2], [-0.0, 0.6, -0.5], [0.9, 0.2, 0.7]], [[0], [0, 2], [1]])


@pytest.mark.parametrize("bad", [-0.25, 1.25])
def test_cwe_rows_near_one_that_skip_the_sort_are_still_range_checked(bad: float) -> None:
    """A row whose largest q is within 2e-7 of 1 goes to the full path before any sort; a value
    outside [0, 1] in it must still fail the range check (labelled -0.25, or unlabelled 1.25:
    both give a negative q), and the rows around it must score as cleanlab scores them."""
    labels, probs = helpers.kernel_data(400, 60)
    probs[:, 1:] = np.minimum(probs[:, 1:], 1e-9)  # q of the unlabelled classes within 1e-9 of 1
    labels = [[0] for _ in labels]
    good = probs.copy()
    probs[123, 0 if bad < 0 else 7] = bad
    df = pl.DataFrame({"labels": labels, "pred_probs": probs})
    with pytest.raises(ValueError, match=rf"column 'pred_probs', row 123.*value {bad}"):
        df.mlq.label_quality(method="confidence_weighted_entropy")
    ours = pl.DataFrame({"labels": labels, "pred_probs": good}).mlq.label_quality(method="confidence_weighted_entropy")
    expected = cleanlab_scores(labels, good, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
@pytest.mark.parametrize("bad", [-np.nan, np.nan, -0.25, 1.25])
def test_wide_rows_sorted_as_floats_still_refuse_every_bad_value(method: str, bad: float) -> None:
    """With 60 float64 classes the rows (scores, or q for confidence_weighted_entropy) are sorted
    as floats: a -NaN sorts last there, not first as on its bits, and must still be refused,
    naming its row; a labelled -0.0 is a valid 0 and scores as +0.0 does (as cleanlab scores 0)."""
    labels, probs = helpers.kernel_data(3_000, 60)
    assert sorts_as_floats(probs.dtype, probs.shape[1])
    bad_probs = probs.copy()
    bad_probs[2_345, 7] = bad
    frame = pl.DataFrame({"labels": labels, "pred_probs": bad_probs})
    with pytest.raises(ValueError, match=r"column 'pred_probs', row 2345\b"):
        frame.mlq.label_quality(method=method)
    zero, minus_zero = probs.copy(), probs.copy()
    row = 1_234
    cls = int(labels[row][0]) if len(labels[row]) else 0
    labels[row] = [cls]
    zero[row, cls], minus_zero[row, cls] = 0.0, -0.0
    got = pl.DataFrame({"labels": labels, "pred_probs": minus_zero}).mlq.label_quality(method=method)["label_quality"]
    want = pl.DataFrame({"labels": labels, "pred_probs": zero}).mlq.label_quality(method=method)["label_quality"]
    np.testing.assert_array_equal(got.to_numpy().view(np.int64), want.to_numpy().view(np.int64))
    expected = cleanlab_scores([list(x) for x in labels], zero, method=method)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)


def test_a_row_of_minus_zero_scores_scores_plus_zero() -> None:
    """Every score of the row is -0.0 (every class labelled, p = -0.0): the EMA is +0.0
    whether the row is sorted on bits (10 classes) or as floats (60): the EMA's sum starts from
    +0.0."""
    for k in (10, 60):
        probs = np.ones((2, k))
        probs[1, 0] = 0.5
        probs[0] = -0.0  # every class labelled with p = -0.0: every score is -0.0
        frame = pl.DataFrame({"labels": [list(range(k)), [1]], "pred_probs": probs})
        got = frame.mlq.label_quality()["label_quality"].to_numpy()
        assert got[0] == 0.0
        assert not np.signbit(got[0]), k


_CWE_IN_FULL = [  # every class carries weight (K <= 22 at alpha 0.8): each entry is scored, nothing selected
    {"method": "confidence_weighted_entropy"},
    {"method": "confidence_weighted_entropy", "aggregator_kwargs": {"method": "softmin", "temperature": 0.1}},
    {
        "method": "confidence_weighted_entropy",
        "aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None},
    },
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(values=st.lists(_ANY_VALUE, min_size=1, max_size=4), labelled=st.sets(st.integers(0, 5)))
def test_cwe_reads_the_range_off_its_minima(dtype: type, values: list[float], labelled: set[int]) -> None:
    """confidence_weighted_entropy scored in full takes min p and min (1 - p) for its floors and
    says from them whether every p lies in [0, 1], instead of a range pass of its own: it must
    say True exactly then (NaN, inf and every value beyond the ends, however close, say False;
    -0.0 is a valid 0), and then score the row bit for bit as the same row with +0.0."""
    with np.errstate(over="ignore"):
        probs = np.array([[0.25, *values, 0.75]], dtype=dtype)
    positions = np.array(sorted(i for i in labelled if i < probs.shape[1]), dtype=np.intp)
    scores = np.empty(probs.shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        in_range = per_class_scores(probs, positions, "confidence_weighted_entropy", None, scores)
        assert in_range == bool(np.all((probs >= 0) & (probs <= 1)))
    if in_range:
        plus_zero = np.empty(probs.shape)
        assert per_class_scores(probs + dtype(0), positions, "confidence_weighted_entropy", None, plus_zero)
        np.testing.assert_array_equal(scores.view(np.int64), plus_zero.view(np.int64))
    assert per_class_scores(probs.clip(0, 1), positions, "self_confidence", None, np.empty(probs.shape)) is None


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("options", _CWE_IN_FULL, ids=str)
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("bad", [-0.5, 1.5])
def test_cwe_in_full_clips_within_the_tolerance_and_names_the_first_bad_row(
    options: dict, lazy: bool, bad: float
) -> None:
    """With no range pass before it, a block of confidence_weighted_entropy scored in full must
    still send a value beyond [0, 1] to the full check: within the tolerance it is clipped (the
    scores of the clipped input, bit for bit, the input untouched), beyond it the first bad row
    is named, in whichever thread's range it lies."""
    labels, probs = helpers.kernel_data(20_000, 15)
    probs[17_000, 2] = 1 + 5e-7
    probs[18_000, 4] = -5e-7
    frame = pl.DataFrame({"labels": labels, "pred_probs": probs})
    got = (frame.lazy() if lazy else frame).mlq.label_quality(**options)
    got = (got.collect() if lazy else got)["label_quality"].to_numpy()
    np.testing.assert_array_equal(got, mlq.get_label_quality_scores(labels, np.clip(probs, 0, 1), **options))
    assert probs[17_000, 2] == 1 + 5e-7  # the input is not mutated
    probs[19_500, 6] = np.nan  # in the last thread's range
    probs[12_345, 1] = bad  # an earlier row, in another range
    frame = pl.DataFrame({"labels": labels, "pred_probs": probs})
    with pytest.raises(ValueError, match=rf"column 'pred_probs', row 12345\b.*value {bad} at class 1"):
        out = (frame.lazy() if lazy else frame).mlq.label_quality(**options)
        if lazy:
            out.collect()
