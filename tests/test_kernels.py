"""The scoring kernels' machinery: threads, row blocks, the integer range check, the deferred range
check, the q-sorted confidence_weighted_entropy shortcut and the unshifted softmin.

Each test compares against cleanlab, against the same computation on one thread, or against a
plain numpy definition; none of them times anything.
"""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import polars as pl
import pytest
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq as mlq
from polars_mlq.input import TOLERANCE, all_probabilities
from polars_mlq.scoring import threads as _threads
from polars_mlq.scoring.aggregate import smallest_sorted, use_partition
from polars_mlq.scoring.kernel import _sorted_in_unit_interval
from polars_mlq.scoring.per_class import (
    CWE_FROM_CONFIDENCE_HIGH,
    CWE_RISING_LOW,
    confidence_weighted_entropy,
    cwe_of,
    cwe_of_confidence,
    entropy_bits,
    per_class_scores,
    self_confidence,
)

CONFIGS = [
    {},
    {"method": "normalized_margin"},
    {"method": "confidence_weighted_entropy"},
    {"adjust_pred_probs": True},
    {"adjust_pred_probs": True, "method": "normalized_margin"},
    {"aggregator_kwargs": {"method": "softmin", "temperature": 0.1}},
    {"aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None}},
]


def dataset(n: int, k: int, seed: int = 0, dtype: type = np.float64) -> tuple[list[list[int]], np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < 1.5 / k
    logits = np.where(truth, 2.5, -2.5) + rng.normal(0, 1.5, (n, k))
    probs = (1 / (1 + np.exp(-logits))).astype(dtype)
    labels = [np.flatnonzero(row).tolist() for row in truth]
    labels[0], labels[1] = [0], []  # cleanlab needs both a 0 and a 1 in the label matrix
    return labels, probs


@pytest.fixture
def always_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_threads, "thread_count", lambda: 3)


@pytest.fixture
def never_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 62)


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: str(o) or "default")
@pytest.mark.parametrize("k", [3, 40, 400])
def test_threads_give_the_single_thread_scores_bit_for_bit(options: dict, k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    labels, probs = dataset(2_000, k, seed=k)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 62)
    single = mlq.get_label_quality_scores(labels, probs, **options)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_threads, "thread_count", lambda: 3)
    threaded = mlq.get_label_quality_scores(labels, probs, **options)
    np.testing.assert_array_equal(threaded, single)
    np.testing.assert_allclose(threaded, cleanlab_scores(labels, probs, **options), rtol=0, atol=1e-12)


@pytest.mark.usefixtures("always_threads")
def test_per_class_scores_on_threads_match_cleanlab() -> None:
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    labels, probs = dataset(1_500, 30)
    for method in ("self_confidence", "normalized_margin", "confidence_weighted_entropy"):
        ours = mlq.get_label_quality_scores_per_class(labels, probs, method=method)
        np.testing.assert_allclose(ours, get_label_quality_scores_per_class(labels, probs, method=method), rtol=0, atol=1e-12)


@given(st.integers(0, 10_000), st.integers(1, 9))
def test_split_rows_covers_every_row_once_in_order(n_rows: int, parts: int) -> None:
    ranges = _threads.split_rows(n_rows, parts)
    assert [a for a, _ in ranges[1:]] == [b for _, b in ranges[:-1]]
    assert (ranges[0][0], ranges[-1][1]) == (0, n_rows) if n_rows else ranges == []
    assert len(ranges) == min(parts, n_rows)
    sizes = [b - a for a, b in ranges]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_run_ranges_raises_the_earliest_ranges_error_after_every_range_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "thread_count", lambda: 4)
    finished: list[int] = []
    lock = threading.Lock()

    def fill(start: int, stop: int) -> None:
        if start > 0:
            with lock:
                finished.append(start)
            raise ValueError(f"range at {start}")

    with pytest.raises(ValueError, match="range at 25"):
        _threads.run_ranges(100, 1 << 20, fill)
    assert sorted(finished) == [25, 50, 75]


def test_scratch_is_reused_per_thread_and_not_shared() -> None:
    first = _threads.scratch("t", (10, 4), np.float64)
    again = _threads.scratch("t", (5, 4), np.float64)
    assert np.shares_memory(first, again)
    assert not np.shares_memory(first, _threads.scratch("u", (10, 4), np.float64))
    assert _threads.scratch("t", (3, 3), np.float32).dtype == np.float32
    other: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: other.append(_threads.scratch("t", (10, 4), np.float64)))
    thread.start()
    thread.join()
    assert not np.shares_memory(first, other[0])


def _sum_ranges() -> np.ndarray:
    out = np.zeros(1_000)
    data = np.arange(1_000.0)

    def fill(start: int, stop: int) -> None:
        out[start:stop] = np.sort(data[start:stop])[::-1] * 2

    _threads.run_ranges(1_000, 1 << 20, fill)
    return out


def _ranges_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(_sum_ranges())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads (Python >= 3.12)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # polars' warning about fork
def test_a_forked_child_runs_ranges_on_threads_after_the_parent_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "thread_count", lambda: 2)
    expected = _sum_ranges()  # the parent's pool and its threads now exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_ranges_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)  # a child that kept the parent's dead pool would hang here
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- the range check


_SPECIAL = [0.0, -0.0, 1.0, 0.5, 1e-320, 5e-324, -1e-300, 1 + 2**-52, 1 + 1e-7, -1e-7, np.nan, np.inf, -np.inf, 2.0]


def _in_zero_one(array: np.ndarray) -> bool:
    return bool(np.all((array >= 0) & (array <= 1) & ~np.signbit(array)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", _SPECIAL + [float(np.nextafter(np.float32(1), np.float32(2)))])
def test_the_integer_range_check_on_each_special_value(value: float, dtype: type) -> None:
    with np.errstate(over="ignore"):
        array = np.array([[0.25, value, 0.75]], dtype=dtype)
    assert all_probabilities(array) == _in_zero_one(array)


@given(st.lists(st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=30))
def test_the_integer_range_check_accepts_exactly_the_values_in_zero_one(values: list[float]) -> None:
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=dtype).reshape(1, -1)
        assert all_probabilities(array) == _in_zero_one(array)


@pytest.mark.usefixtures("always_threads")
@pytest.mark.parametrize("lazy", [False, True])
def test_a_bad_value_deep_in_a_threaded_batch_names_the_first_bad_row(lazy: bool) -> None:
    labels, probs = dataset(30_000, 12)
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
    labels, probs = dataset(20_000, 15)
    probs[17_000, 2] = 1 + 5e-7
    probs[18_000, 4] = -5e-7
    got = pl.DataFrame({"labels": labels, "pred_probs": probs}).mlq.label_quality(**options)["label_quality"].to_numpy()
    np.testing.assert_array_equal(got, mlq.get_label_quality_scores(labels, np.clip(probs, 0, 1), **options))
    assert probs[17_000, 2] == 1 + 5e-7  # the input is not mutated


# --------------------------------------------------------------------------- CWE from q


def test_cwe_from_the_confidence_is_close_to_the_score_from_p_up_to_its_bound() -> None:
    rng = np.random.default_rng(3)
    p = np.exp(rng.uniform(np.log(1.0 - CWE_FROM_CONFIDENCE_HIGH), np.log(0.5), 400_000))  # unlabelled, p < 0.5
    q = 1.0 - p
    exact = cwe_of(entropy_bits(p), q)
    assert np.abs(cwe_of_confidence(q) - exact).max() <= 2.5e-13
    labelled = rng.uniform(CWE_RISING_LOW, CWE_FROM_CONFIDENCE_HIGH, 400_000)  # q = p: bit for bit
    np.testing.assert_array_equal(cwe_of_confidence(labelled), cwe_of(entropy_bits(labelled), labelled))


@pytest.mark.parametrize("seed", range(4))
def test_cwe_rows_near_the_shortcuts_limit_match_cleanlab(seed: int) -> None:
    """Unlabelled classes with p between 1e-6 and 1e-2 put a row's m-th smallest q on either side
    of 1 - 1e-3: both the shortcut and the full path run, and both must match cleanlab."""
    rng = np.random.default_rng(seed)
    n, k = 400, 60
    high = rng.choice([1e-4, 1e-2], size=(n, 1))  # half the rows beyond the limit
    probs = np.exp(rng.uniform(np.log(1e-6), np.log(high), (n, k)))
    labels = [rng.choice(k, size=rng.integers(0, 3), replace=False).tolist() for _ in range(n)]
    labels[0], labels[1] = [0], []
    for i, row in enumerate(labels):
        probs[i, row] = rng.uniform(0.05, 0.99, len(row))
    for alpha in (0.8, 0.6):  # 22 and 38 terms of 60
        aggregator = {"method": "exponential_moving_average", "alpha": alpha}
        ours = mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator)
        theirs = cleanlab_scores(labels, probs, method="confidence_weighted_entropy", aggregator_kwargs=aggregator)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- softmin


@pytest.mark.parametrize("temperature", [1e-7, 1e-4, 1 / 650, 1 / 600, 1 / 550, 0.01, 0.1, 3.0])
def test_softmin_with_and_without_the_per_row_shift_matches_cleanlab(temperature: float) -> None:
    labels, probs = dataset(800, 25, seed=7)
    aggregator = {"method": "softmin", "temperature": temperature}
    ours = mlq.get_label_quality_scores(labels, probs, aggregator_kwargs=aggregator)
    np.testing.assert_allclose(ours, cleanlab_scores(labels, probs, aggregator_kwargs=aggregator), rtol=0, atol=1e-12)


@pytest.mark.usefixtures("never_threads")
def test_float32_is_scored_in_float32_on_blocks() -> None:
    labels, probs = dataset(5_000, 50, dtype=np.float32)
    for options in CONFIGS[:2]:
        ours = mlq.get_label_quality_scores(labels, probs, **options)
        np.testing.assert_allclose(ours, cleanlab_scores(labels, probs, **options), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- the range check on sorted scores


def _sorted_scores(probs: np.ndarray, labelled: list[int], method: str) -> np.ndarray:
    """The scores of one row, sorted as the EMA kernels sort them (on their bits)."""
    scores = np.empty_like(probs)
    per_class_scores(probs, np.array(labelled, dtype=np.intp), method, None, scores)
    smallest_sorted(scores, scores.shape[1])
    return scores


_ANY_VALUE = st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, allow_infinity=True))


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(values=st.lists(_ANY_VALUE, min_size=1, max_size=4), labelled=st.sets(st.integers(0, 5)))
def test_sorted_margin_scores_pass_the_range_check_only_when_clipping_changes_nothing(
    method: str, dtype: type, values: list[float], labelled: set[int]
) -> None:
    """The kernels read the range check off sorted scores (first and last column). A row that
    passes must be one the full check would accept and clip, and its scores must equal those of
    the clipped row; a row with any value beyond the tolerance, NaN or inf must fail, whatever
    else it holds (-0.0 beside a negative value included: its bits sort first)."""
    with np.errstate(over="ignore"):
        probs = np.array([[0.25, *values, 0.75]], dtype=dtype)
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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(st.lists(st.one_of(st.sampled_from([0.0, -0.0, 1.0, 5e-324, 1e-300, 0.5]), st.floats(0, 1)), min_size=1, max_size=40))
def test_sorting_on_bits_orders_scores_as_floats(dtype: type, values: list[float]) -> None:
    """Every score is >= +0 or -0.0: sorted on their bits, rows come out in float order, with
    the same multiset of values; the partition path (wide rows) gives the same smallest ones."""
    row = np.array(values, dtype=dtype)
    expected = np.sort(row)
    ours = smallest_sorted(row[None, :].copy(), len(row))[0]
    np.testing.assert_array_equal(ours, expected)  # -0.0 == +0.0, and each sorts first of its kind
    wide = np.resize(row, 400)[None, :]
    terms = 20
    assert use_partition(terms, wide.shape[1])
    np.testing.assert_array_equal(smallest_sorted(wide.copy(), terms)[0], np.sort(wide[0])[:terms])


@given(
    st.lists(st.one_of(st.sampled_from([0.0, 1.0, 5e-324, 1e-300, 1e-7, 0.5, 1 - 1e-12]), st.floats(0, 1)), min_size=6, max_size=60),
    st.integers(1, 3),
)
def test_the_in_place_cwe_kernel_equals_the_definition_bit_for_bit(values: list[float], width: int) -> None:
    n = len(values) // width
    probs = np.array(values[: n * width], dtype=np.float64).reshape(n, width)
    positions = np.arange(0, probs.size, 2, dtype=np.intp)  # every other entry labelled
    confidence = np.empty_like(probs)
    self_confidence(probs, positions, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = cwe_of(entropy_bits(probs), confidence.copy())
    out = np.empty_like(probs)
    confidence_weighted_entropy(probs, positions, out)  # the float64 path, with buffers
    np.testing.assert_array_equal(out, expected)


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
