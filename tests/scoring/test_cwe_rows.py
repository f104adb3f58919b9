"""The o-sorted selection of confidence_weighted_entropy (``polars_mlq.scoring.cwe_rows``).

Its scores are the full path's, bit for bit, except that the last of the ``terms`` kept may
trade places with an entry an ulp away; and the EMA over them is cleanlab's, in both dtypes.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import polars as pl
import pytest
import helpers
from helpers import cleanlab_scores
from cleanlab.internal.multilabel_scorer import exponential_moving_average
from hypothesis import given, settings
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.input import Batch, read_batch
from polars_mlq.scoring import cwe_rows
from polars_mlq.scoring.aggregate import ema_weights

_values = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e-6),
    st.floats(1.0 - 1e-6, 1.0),
    st.sampled_from([0.0, 1.0, 1e-9, 3.8e-8, 2e-7, 0.5, 1.0 - 2e-7, 0.25, 0.75]),
)


def _batch(probs: np.ndarray, labels: list[list[int]]):  # -> Batch
    series = pl.Series("labels", labels, dtype=pl.List(pl.Int64))
    return read_batch(series, pl.Series("pred_probs", probs), num_classes=probs.shape[1])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(50, 90).flatmap(
        lambda k: st.tuples(
            st.lists(st.lists(_values, min_size=k, max_size=k), min_size=1, max_size=12),
            st.lists(st.lists(st.integers(0, k - 1), max_size=4), min_size=12, max_size=12),
        )
    ),
    st.sampled_from([np.float64, np.float32]),
)
def test_the_selection_keeps_the_full_paths_smallest_scores(case: tuple, dtype: type) -> None:
    values, labels = case
    probs = np.array(values, dtype=dtype)
    labels = [sorted(set(row)) for row in labels[: len(values)]]
    batch = _batch(probs, labels)
    rows = np.arange(probs.shape[0])
    terms = 22
    got = cwe_rows.smallest_cwe(batch, 0, rows, terms)
    expected = cwe_rows.in_full(*cwe_rows.block_rows(batch, 0, rows), terms)
    np.testing.assert_array_equal(got[:, :-1], expected[:, :-1])  # only the last kept may trade places
    np.testing.assert_allclose(got[:, -1], expected[:, -1], rtol=1e-12, atol=0)
    weights = ema_weights(0.8, terms)
    np.testing.assert_allclose(got @ weights, expected @ weights, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_float32_cwe_rows_match_cleanlab(seed: int) -> None:
    """float32 rows go to the selection directly: labelled p < 1/2, p near 0 and 1, both ends.

    cleanlab's per-class float32 entropy differs from ours by up to about 1e-7
    (docs/differences-from-cleanlab.md); its aggregation of our per-class scores is ours to 1e-12.
    """
    rng = np.random.default_rng(seed)
    n, k = 500, 80
    probs = rng.uniform(0.0, 1.0, (n, k)) ** rng.choice([1.0, 8.0], (n, 1))  # some rows near 0
    probs[rng.random((n, k)) < 0.05] = 1e-9  # rising-side entries in some rows
    labels = [sorted(set(rng.choice(k, rng.integers(0, 4), replace=False).tolist())) for _ in range(n)]
    labels[0], labels[1] = [0], []
    probs32 = probs.astype(np.float32)
    ours = mlq.get_label_quality_scores(labels, probs32, method="confidence_weighted_entropy")
    theirs = cleanlab_scores(labels, probs32, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-7)
    per_class = mlq.get_label_quality_scores_per_class(labels, probs32, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, exponential_moving_average(per_class, alpha=0.8), rtol=0, atol=1e-12)


def _confident_rows(seed: int, n: int, k: int, dtype: type, mid: float, ties: float, special: float):
    """Rows of a model sure of nearly every class: o mostly below 1e-6, a few wrong classes, ties,
    labelled p < 1/2 (scored apart), repeated labels; returns (probs, labels)."""
    rng = np.random.default_rng(seed)
    other = np.exp(rng.uniform(np.log(1e-13), np.log(1e-6), (n, k)))
    wrong = rng.random((n, k)) < mid
    other[wrong] = rng.uniform(0.0, 1.0, int(wrong.sum()))
    tied = rng.random((n, k)) < ties
    other[tied] = rng.choice([0.0, 1e-9, 3.8e-8, 2e-7], int(tied.sum()))
    labelled = rng.random((n, k)) < 0.05
    probs = np.where(labelled, 1.0 - other, other)
    apart = labelled & (rng.random((n, k)) < special)
    probs[apart] = rng.uniform(0.0, 0.5, int(apart.sum()))
    labels = []
    for row in labelled:
        classes = np.flatnonzero(row).tolist()
        labels.append(classes + classes[: int(rng.integers(0, 2))])  # a repeated label now and then
    return probs.astype(dtype), labels


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([40, 60, 90, 400]),
    st.sampled_from([np.float64, np.float32]),
    st.sampled_from([0.0, 0.02, 0.2]),
    st.sampled_from([0.0, 0.3]),
    st.sampled_from([0.0, 0.5]),
)
def test_the_ends_selection_is_the_full_path_bit_for_bit(
    seed: int, k: int, dtype: type, mid: float, ties: float, special: float
) -> None:
    """Blocks whose rows mostly have a rising side: both ends scored, the rest bounded by ENDS_MARGIN.

    No trade at the last kept score here: rows the margin cannot settle are scored in full.
    K = 400 partitions the rows instead of sorting them.
    """
    probs, labels = _confident_rows(seed, 40, k, dtype, mid, ties, special)
    batch = _batch(probs, labels)
    rows = np.arange(probs.shape[0])
    with mock.patch.object(cwe_rows, "_ends", wraps=cwe_rows._ends) as ends:
        got = cwe_rows.smallest_cwe(batch, 0, rows, 22)
    assert ends.called  # the ends' selection ran
    np.testing.assert_array_equal(got, cwe_rows.in_full(*cwe_rows.block_rows(batch, 0, rows), 22))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_confident_rows_match_cleanlab_and_check_their_range(dtype: type) -> None:
    """Whole blocks of confident rows go to the o-sorted selection without the self-confidence
    shortcut (``cwe_rows.mostly_rising``): cleanlab's scores, and a p outside [0, 1] still named."""
    probs, labels = _confident_rows(5, 3000, 100, dtype, 0.02, 0.1, 0.5)
    ours = mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12 if dtype is np.float64 else 2e-7)
    bad = probs.copy()
    bad[1234, 7] = 1.5
    with pytest.raises(ValueError, match="1234"):
        mlq.get_label_quality_scores(labels, bad, method="confidence_weighted_entropy")


def test_a_repeated_label_scored_apart_counts_once() -> None:
    """A labelled p < 1/2 is scored apart from the sorted o; a label given twice is one entry
    (cleanlab's multi-hot), not two of the smallest scores. float32 rows take this path."""
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.3, 0.7, (4, 60)).astype(np.float32)
    labels = [[1, 1, 2], [3], [], [5, 9, 5]]
    probs[0, 1], probs[3, 5] = 0.01, 0.02
    ours = mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-7)
    assert abs(ours[0] - theirs[0]) < 1e-6  # counted twice, it was 0.03 lower


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("seed", range(2))
def test_q_sorted_blocks_send_their_few_rising_rows_to_the_selection(seed: int) -> None:
    """float64 blocks of 60 classes are sorted by q, and only rows that the q shortcut cannot
    score leave for the o-sorted selection: a tenth of the rows with a rising side (an unlabelled
    p of 1e-9, its q the row's largest), a tenth whose smallest q is above 1 - 1e-3 (there q alone
    would be off by up to 1e-9), a few with a labelled p of 1e-7 (a q below 2e-6). Too few rising rows for the block to skip q, so
    each is sorted by q first, then by o; every row must score as cleanlab scores it, and as the
    EMA of the per-class scores."""
    rng = np.random.default_rng(seed)
    n, k = 3_000, 60
    probs = rng.uniform(0.0, 1.0, (n, k))
    labels = [sorted(set(rng.choice(k, rng.integers(0, 4), replace=False).tolist())) for _ in range(n)]
    kinds = rng.choice(4, n, p=[0.75, 0.1, 0.1, 0.05])
    for row in np.flatnonzero(kinds == 1):
        free = sorted(set(range(k)) - set(labels[row]))
        probs[row, free[0]] = 1e-9  # a rising side
    for row in np.flatnonzero(kinds == 2):  # no label, every q in [1 - 1e-5, 1 - 3e-7]: too near 1 for q alone
        labels[row] = []
        probs[row] = rng.uniform(3e-7, 1e-5, k)
    for row in np.flatnonzero(kinds == 3):
        labels[row] = [int(rng.integers(k))]
        probs[row, labels[row][0]] = 1e-7  # a q below CWE_RISING_LOW
    assert not cwe_rows.mostly_rising(probs[:32])
    ours = mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    per_class = mlq.get_label_quality_scores_per_class(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, exponential_moving_average(per_class, alpha=0.8), rtol=0, atol=1e-12)
    frame = pl.DataFrame({"labels": labels, "pred_probs": probs})
    np.testing.assert_array_equal(frame.mlq.label_quality(method="confidence_weighted_entropy")["label_quality"], ours)


_ANY_VALUE = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1e-9, -1e-9, 0.3, -0.3, 0.7, 1.7, 1 + 1e-7, np.nan, -np.nan, np.inf, -np.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(
    bad=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 69), _ANY_VALUE), min_size=1, max_size=4),
    labelled=st.lists(st.lists(st.integers(0, 69), max_size=5), min_size=6, max_size=6),
    dtype=st.sampled_from([np.float64, np.float32]),
    k=st.sampled_from([60, 70, 400]),
    saturated=st.booleans(),
)
def test_the_selection_reads_the_range_off_its_sort(
    bad: list[tuple[int, int, float]], labelled: list[list[int]], dtype: type, k: int, saturated: bool
) -> None:
    """With ``check`` the selection says None when some p lies outside [0, 1] (NaN, either sign;
    inf; a labelled or unlabelled value beyond either end, however close), whatever the path it
    takes (the rows sorted on bits or as floats, or partitioned at K = 400; the ends' selection for a saturated block). When
    it scores, the scores are those of the block with -0.0 made +0.0, bit for bit (a -0.0 may
    also say None: the whole block's check refuses it, and the full check then accepts it)."""
    rng = np.random.default_rng(len(bad))
    probs = rng.uniform(0, 1e-9, (6, k)) if saturated else rng.uniform(0.01, 0.99, (6, k))
    with np.errstate(over="ignore"):
        probs = probs.astype(dtype)
        for row, cls, value in bad:
            probs[row, cls % k] = value
    labels = [sorted({c % k for c in row}) for row in labelled]
    offsets = np.cumsum([0] + [len(row) for row in labels])
    values = np.array([c for row in labels for c in row], dtype=np.intp)
    batch = Batch(probs, offsets, values, None, 6)
    rows = np.arange(6)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        got = cwe_rows.smallest_cwe(batch, 0, rows, 22, check=True)
    valid = bool(np.all((probs >= 0) & (probs <= 1)))
    if not valid:
        assert got is None
        return
    plus_zero = Batch(probs + dtype(0), offsets, values, None, 6)
    expected = cwe_rows.smallest_cwe(plus_zero, 0, rows, 22)
    if got is None:
        assert np.signbit(probs[probs == 0]).any()  # only a -0.0 may be refused
    else:
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(("where", "bad"), [((4321, 9), -0.5), ((4321, 9), np.nan), ((4321, 3), 1.5), ((4321, 3), -1e-7)])
def test_float32_rows_with_a_bad_value_name_its_row_and_tolerated_ones_are_clipped(
    lazy: bool, where: tuple[int, int], bad: float
) -> None:
    """float32 rows at K = 40 go to the o-sorted selection, which reads the range off its sort:
    -0.5 (labelled: its o is a marker) and NaN are refused naming their row, as is 1.5 (unlabelled);
    -1e-7, within the tolerance, is clipped to 0 and the scores are those of the clipped input."""
    labels, probs = helpers.kernel_data(6_000, 40, dtype=np.float32)
    row, cls = where
    labels[row] = sorted({*labels[row], 9} - {3})
    probs[row, cls] = bad
    frame = pl.DataFrame({"labels": labels, "pred_probs": probs})
    frame = frame.lazy() if lazy else frame

    def scored() -> np.ndarray:
        out = frame.mlq.label_quality(method="confidence_weighted_entropy")
        return (out.collect() if lazy else out)["label_quality"].to_numpy()

    if abs(bad) < 1e-6:
        clipped = mlq.get_label_quality_scores(labels, np.clip(probs, 0, 1), method="confidence_weighted_entropy")
        np.testing.assert_array_equal(scored(), clipped)
        return
    with pytest.raises(ValueError, match=rf"column 'pred_probs', row {row}\b.*at class {cls}"):
        scored()
