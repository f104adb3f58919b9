"""Every way of computing scores gives the numbers of the numpy API.

The numpy API (``mlq.get_label_quality_scores`` / ``get_label_quality_scores_per_class``) is
checked against cleanlab elsewhere; here it is the reference for the Polars paths: eager
DataFrame, LazyFrame (in-memory and streaming engines), a bare expression, ``sink_parquet``,
over List/Array pred_probs, Float32/Float64 and integer label dtypes of every width.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

import polars_mlq as mlq
import polars_mlq.expressions as mlq_expressions
import polars_mlq.core.frames as mlq_frames

N_ROWS = 600
K = 5
#: Small enough that the streaming engine cuts 600 rows into about ten batches.
CHUNK = 64
#: Adjusted scores divide by sums of thresholds accumulated in another order: allow a few ulps.
ADJUST_ATOL = 1e-12


# --------------------------------------------------------------------------------------------
# data and helpers
# --------------------------------------------------------------------------------------------


def make_data(seed: int, n: int = N_ROWS, k: int = K) -> tuple[list[list[int]], np.ndarray]:
    """Labels with empty rows, duplicates and unsorted rows; probabilities with exact 0s and 1s."""
    rng = np.random.default_rng(seed)
    labels: list[list[int]] = []
    for _ in range(n):
        row = rng.integers(0, k, size=int(rng.integers(0, 4))).tolist()  # may repeat a class
        labels.append(row)
    probs = rng.random((n, k))
    probs[rng.random((n, k)) < 0.03] = 0.0
    probs[rng.random((n, k)) < 0.03] = 1.0
    return labels, probs


def make_frame(
    labels: list[list[int]],
    probs: np.ndarray,
    *,
    label_dtype: pl.DataType = pl.Int64(),
    kind: str = "list",
    float_dtype: pl.DataType = pl.Float64(),
) -> pl.DataFrame:
    """A frame with the two inputs between two other columns, which must come through untouched."""
    k = probs.shape[1]
    if kind == "array":
        pred = pl.Series("pred_probs", probs, dtype=pl.Array(float_dtype, k))
    else:
        pred = pl.Series("pred_probs", probs.tolist(), dtype=pl.List(float_dtype))
    return pl.DataFrame(
        [
            pl.Series("id", np.arange(len(labels)), dtype=pl.Int64),
            pl.Series("labels", labels, dtype=pl.List(label_dtype)),
            pred,
            pl.Series("tag", [f"r{i}" for i in range(len(labels))]),
        ]
    )


def np_probs(probs: np.ndarray, float_dtype: pl.DataType) -> np.ndarray:
    return probs.astype(np.float32) if float_dtype == pl.Float32 else probs


def chunked(df: pl.DataFrame) -> pl.DataFrame:
    """The same rows in three chunks, so the in-memory engine calls the UDF once per chunk."""
    third = df.height // 3
    out = pl.concat([df[:third], df[third : 2 * third], df[2 * third :]], rechunk=False)
    assert out.n_chunks() == 3 or df.height < 3
    return out


def score_eager(df: pl.DataFrame, per_class: bool, **kw: Any) -> pl.DataFrame:
    return df.mlq.label_quality_per_class(**kw) if per_class else df.mlq.label_quality(**kw)


def score_lazy(df: pl.DataFrame, per_class: bool, engine: str, **kw: Any) -> pl.DataFrame:
    lf = df.lazy()
    out = lf.mlq.label_quality_per_class(**kw) if per_class else lf.mlq.label_quality(**kw)
    assert isinstance(out, pl.LazyFrame)
    return out.collect(engine=engine)


def bare_expr(per_class: bool, k: int, **kw: Any) -> pl.Expr:
    name = kw.pop("name", None)
    if per_class:
        expr = mlq.label_quality_per_class(num_classes=k, **kw)
    else:
        expr = mlq.label_quality(**kw)
    return expr if name is None else expr.alias(name)


PATHS: dict[str, Callable[..., pl.DataFrame]] = {
    "eager": lambda df, pc, k, **kw: score_eager(df, pc, **kw),
    "eager-chunked": lambda df, pc, k, **kw: score_eager(chunked(df), pc, **kw),
    "lazy-in-memory": lambda df, pc, k, **kw: score_lazy(df, pc, "in-memory", **kw),
    "lazy-in-memory-chunked": lambda df, pc, k, **kw: score_lazy(chunked(df), pc, "in-memory", **kw),
    "lazy-streaming": lambda df, pc, k, **kw: score_lazy(df, pc, "streaming", **kw),
    "expr-eager": lambda df, pc, k, **kw: df.with_columns(bare_expr(pc, k, **kw)),
    "expr-eager-chunked": lambda df, pc, k, **kw: chunked(df).with_columns(bare_expr(pc, k, **kw)),
    "expr-lazy-streaming": lambda df, pc, k, **kw: df.lazy()
    .with_columns(bare_expr(pc, k, **kw))
    .collect(engine="streaming"),
}
CORE_PATHS = ["eager", "lazy-in-memory-chunked", "lazy-streaming", "expr-eager-chunked", "expr-lazy-streaming"]


def run_path(path: str, df: pl.DataFrame, *, per_class: bool = False, **kw: Any) -> pl.DataFrame:
    k = kw.pop("k", K)
    return PATHS[path](df, per_class, k, **kw)


def check_frame(out: pl.DataFrame, df: pl.DataFrame, name: str, dtype: pl.DataType) -> np.ndarray:
    """The input columns come back unchanged and in order, plus ``name``; returns its values."""
    assert out.columns == [*df.columns, name]
    assert out.schema[name] == dtype
    assert_frame_equal(out.drop(name), df)
    return out[name].to_numpy()


def ema_reference(scores: np.ndarray, alpha: float) -> np.ndarray:
    """cleanlab's recursion: sort descending, E = u_1, E = alpha * u_t + (1 - alpha) * E."""
    rows = -np.sort(-scores, axis=1)
    out = rows[:, 0].copy()
    for t in range(1, rows.shape[1]):
        out = alpha * rows[:, t] + (1 - alpha) * out
    return out


def thresholds_reference(labels: list[list[int]], probs: np.ndarray) -> np.ndarray:
    """(K, 2) [absent, present]: mean of 1 - p over rows without k, mean of p over rows with k."""
    k = probs.shape[1]
    mask = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        mask[i, row] = True
    out = np.empty((k, 2))
    for c in range(k):
        present, absent = probs[mask[:, c], c], 1 - probs[~mask[:, c], c]
        out[c, 0] = absent.mean() if absent.size else 2.0
        out[c, 1] = present.mean() if present.size else 2.0
    return np.maximum(out, 2e-6)


def adjusted_reference(
    labels: list[list[int]], probs: np.ndarray, thresholds: np.ndarray, method: str
) -> np.ndarray:
    """Per-class scores on [1 - p, p] shifted by the thresholds (cleanlab's adjust_pred_probs)."""
    mask = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        mask[i, row] = True
    t0, t1 = thresholds[:, 0], thresholds[:, 1]
    shift = np.maximum(t0, t1)
    a1 = probs - t1 + shift
    a0 = (1 - probs) - t0 + shift
    total = a0 + a1
    a1, a0 = a1 / total, a0 / total
    given, other = np.where(mask, a1, a0), np.where(mask, a0, a1)
    if method == "self_confidence":
        return given
    return ((given - other) + 1) / 2


@pytest.fixture(autouse=True)
def small_streaming_chunks() -> Iterator[None]:
    previous = os.environ.get("POLARS_IDEAL_MORSEL_SIZE")
    pl.Config.set_streaming_chunk_size(CHUNK)
    yield
    pl.Config.set_streaming_chunk_size(None if previous is None else int(previous))


@pytest.fixture
def udf_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of rows of every batch the scoring UDF reads."""
    sizes: list[int] = []
    original = mlq_expressions.read_batch

    def recording(labels: pl.Series, pred_probs: pl.Series, **kw: Any) -> Any:
        sizes.append(len(labels))
        return original(labels, pred_probs, **kw)

    monkeypatch.setattr(mlq_expressions, "read_batch", recording)
    return sizes


DATA = make_data(0)


# --------------------------------------------------------------------------------------------
# parity with the numpy API
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label_dtype", [pl.Int8, pl.UInt16, pl.Int64], ids=str)
@pytest.mark.parametrize("float_dtype", [pl.Float32, pl.Float64], ids=str)
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", list(PATHS))
def test_scores_match_numpy_api(path: str, kind: str, float_dtype: pl.DataType, label_dtype: pl.DataType) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, label_dtype=label_dtype(), kind=kind, float_dtype=float_dtype())
    expected = mlq.get_label_quality_scores(labels, np_probs(probs, float_dtype))
    got = check_frame(run_path(path, df), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    assert np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize("float_dtype", [pl.Float32, pl.Float64], ids=str)
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", list(PATHS))
def test_per_class_scores_match_numpy_api(path: str, kind: str, float_dtype: pl.DataType) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, label_dtype=pl.UInt8(), kind=kind, float_dtype=float_dtype())
    expected = mlq.get_label_quality_scores_per_class(labels, np_probs(probs, float_dtype))
    assert expected.shape == (N_ROWS, K)
    out = run_path(path, df, per_class=True)
    got = check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "label_dtype",
    [pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64],
    ids=str,
)
@pytest.mark.parametrize("path", ["eager", "lazy-streaming", "expr-lazy-streaming"])
def test_every_integer_label_dtype(path: str, label_dtype: pl.DataType) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, label_dtype=label_dtype(), kind="array")
    expected = mlq.get_label_quality_scores(labels, probs, method="normalized_margin")
    got = check_frame(run_path(path, df, method="normalized_margin"), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)


AGGREGATORS: dict[str, dict[str, Any] | None] = {
    "default": None,
    "ema-0.3": {"method": "exponential_moving_average", "alpha": 0.3},
    "ema-none": {"method": "exponential_moving_average", "alpha": None},
    "ema-0": {"method": "exponential_moving_average", "alpha": 0.0},
    "ema-1": {"method": "exponential_moving_average", "alpha": 1.0},
    "softmin-0.1": {"method": "softmin", "temperature": 0.1},
    "softmin-2": {"method": "softmin", "temperature": 2.0},
    "np.mean": {"method": np.mean},
    "np.quantile": {"method": np.quantile, "q": 0.25},
}
METHODS = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]


@pytest.mark.parametrize("aggregator", list(AGGREGATORS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", CORE_PATHS)
def test_methods_and_aggregators_match_numpy_api(path: str, method: str, aggregator: str) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind="array")
    kwargs = AGGREGATORS[aggregator]
    if kwargs is None:
        expected = mlq.get_label_quality_scores(labels, probs, method=method)
        out = run_path(path, df, method=method)
    else:
        expected = mlq.get_label_quality_scores(labels, probs, method=method, aggregator_kwargs=kwargs)
        out = run_path(path, df, method=method, aggregator_kwargs=kwargs)
    got = check_frame(out, df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)


def test_numpy_api_aggregators_hand_checked() -> None:
    """The reference itself: hand-worked rows, and EMA/softmin/callable against direct formulas."""
    labels = [[1], [0, 2]]
    probs = np.array([[0.1, 0.9, 0.1], [0.4, 0.1, 0.9]])
    # per-class self-confidence: row 0 [0.9, 0.9, 0.9], row 1 [0.4, 0.9, 0.9]
    np.testing.assert_allclose(
        mlq.get_label_quality_scores_per_class(labels, probs), [[0.9, 0.9, 0.9], [0.4, 0.9, 0.9]], atol=1e-15
    )
    # EMA(0.8) of [0.9, 0.9, 0.4]: 0.8 * 0.4 + 0.16 * 0.9 + 0.04 * 0.9 = 0.5
    np.testing.assert_allclose(mlq.get_label_quality_scores(labels, probs), [0.9, 0.5], atol=1e-15)
    # the softmin of row 1: weights exp((1 - s) / T), normalised
    s = np.array([0.4, 0.9, 0.9])
    w = np.exp((1 - s) / 0.5)
    np.testing.assert_allclose(
        mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": "softmin", "temperature": 0.5}),
        [0.9, (s * w).sum() / w.sum()],
        atol=1e-15,
    )
    lab, p = DATA
    per_class = mlq.get_label_quality_scores_per_class(lab, p)
    for alpha in (0.8, 0.3, 0.0, 1.0):
        agg = {"method": "exponential_moving_average", "alpha": alpha}
        np.testing.assert_allclose(
            mlq.get_label_quality_scores(lab, p, aggregator_kwargs=agg), ema_reference(per_class, alpha), atol=1e-14
        )
    np.testing.assert_allclose(
        mlq.get_label_quality_scores(lab, p, aggregator_kwargs={"method": np.min}), per_class.min(axis=1), atol=0
    )


def test_many_classes_partial_sort_path() -> None:
    """K = 40 > the number of EMA terms kept at alpha 0.8: the partial-sort branch, on every path."""
    labels, probs = make_data(7, n=300, k=40)
    df = make_frame(labels, probs, kind="list", float_dtype=pl.Float32())
    p32 = probs.astype(np.float32)
    expected = mlq.get_label_quality_scores(labels, p32)
    np.testing.assert_allclose(expected, ema_reference(mlq.get_label_quality_scores_per_class(labels, p32), 0.8), atol=1e-14)
    for path in PATHS:
        got = check_frame(run_path(path, df, k=40), df, "label_quality", pl.Float64())
        # the weighted sum is a BLAS matrix-vector product, whose last bit depends on the batch
        # shape: allow a couple of ulps (the EMA is not bitwise cleanlab's recursion either)
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0, err_msg=path)


def test_numpy_api_accepts_polars_series() -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    p32 = probs.astype(np.float32)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(df["labels"], df["pred_probs"]), mlq.get_label_quality_scores(labels, p32)
    )
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores_per_class(df["labels"], df["pred_probs"]),
        mlq.get_label_quality_scores_per_class(labels, p32),
    )


# --------------------------------------------------------------------------------------------
# inputs as expressions, name=, dtypes, row order
# --------------------------------------------------------------------------------------------


def test_inputs_given_as_expressions() -> None:
    labels, probs = DATA
    base = make_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    df = base.rename({"labels": "y", "pred_probs": "p"})
    y = pl.col("y").alias("labels")
    p = pl.col("p").cast(pl.List(pl.Float64)).alias("probs")
    p64 = probs.astype(np.float32).astype(np.float64)
    expected = mlq.get_label_quality_scores(labels, p64, method="normalized_margin")
    expected_pc = mlq.get_label_quality_scores_per_class(labels, p64, method="normalized_margin")
    kw = {"method": "normalized_margin"}

    got = check_frame(df.mlq.label_quality(y, p, name="q", **kw), df, "q", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    got = check_frame(df.lazy().mlq.label_quality(y, p, name="q", **kw).collect(engine="streaming"), df, "q", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    got = check_frame(df.with_columns(mlq.label_quality(y, p, **kw)), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    selected = df.lazy().select(mlq.label_quality(y, p, **kw)).collect(engine="streaming")
    assert selected.schema == pl.Schema({"label_quality": pl.Float64()})
    np.testing.assert_array_equal(selected["label_quality"].to_numpy(), expected)
    out = df.lazy().mlq.label_quality_per_class(y, p, name="pc", **kw).collect(engine="streaming")
    np.testing.assert_array_equal(check_frame(out, df, "pc", pl.Array(pl.Float64, K)), expected_pc)
    out = df.with_columns(mlq.label_quality_per_class(y, p, num_classes=K, **kw))
    np.testing.assert_array_equal(check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K)), expected_pc)


def test_computed_expressions_as_inputs() -> None:
    """Expressions that compute new values (not just rename) are what gets scored."""
    df = pl.DataFrame({"y": [[2], [0, 1]], "p": [[0.2, 0.4, 0.6], [0.8, 0.6, 0.4]]})
    labels = pl.col("y").list.eval(pl.element() - 0)  # same labels, computed
    halved = pl.col("p").list.eval(pl.element() / 2)
    # halved rows: [0.1, 0.2, 0.3] with label 2 -> per-class [0.9, 0.8, 0.3]; EMA(0.8) =
    # 0.8 * 0.3 + 0.16 * 0.8 + 0.04 * 0.9 = 0.404. [0.4, 0.3, 0.2] with {0, 1} -> [0.4, 0.3, 0.8]:
    # 0.8 * 0.3 + 0.16 * 0.4 + 0.04 * 0.8 = 0.336
    got = df.mlq.label_quality(labels, halved)["label_quality"].to_numpy()
    np.testing.assert_allclose(got, [0.404, 0.336], atol=1e-15)
    got = df.lazy().mlq.label_quality(labels, halved).collect(engine="streaming")["label_quality"].to_numpy()
    np.testing.assert_allclose(got, [0.404, 0.336], atol=1e-15)


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_name_argument(engine: str) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs)
    expected = mlq.get_label_quality_scores(labels, probs)
    out = df.mlq.label_quality(name="score")
    assert "label_quality" not in out.columns
    np.testing.assert_array_equal(check_frame(out, df, "score", pl.Float64()), expected)
    out = df.lazy().mlq.label_quality(name="score").collect(engine=engine)
    np.testing.assert_array_equal(check_frame(out, df, "score", pl.Float64()), expected)
    lf = df.lazy().mlq.label_quality_per_class(name="per_class")
    assert lf.collect_schema()["per_class"] == pl.Array(pl.Float64, K)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs)
    np.testing.assert_array_equal(check_frame(lf.collect(engine=engine), df, "per_class", pl.Array(pl.Float64, K)), expected_pc)
    out = df.mlq.label_quality_per_class(name="per_class")
    np.testing.assert_array_equal(check_frame(out, df, "per_class", pl.Array(pl.Float64, K)), expected_pc)


@pytest.mark.parametrize("kind", ["list", "array"])
def test_lazy_schema_matches_collected(kind: str) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind=kind, float_dtype=pl.Float32())
    for lf in (
        df.lazy().mlq.label_quality(),
        df.lazy().mlq.label_quality_per_class(),
        df.lazy().mlq.label_quality(adjust_pred_probs=True),
        df.lazy().with_columns(mlq.label_quality(), mlq.label_quality_per_class(num_classes=K)),
    ):
        schema = lf.collect_schema()
        assert schema == lf.collect(engine="streaming").schema
        assert schema.get("label_quality", pl.Float64) == pl.Float64
        assert schema.get("label_quality_per_class", pl.Array(pl.Float64, K)) == pl.Array(pl.Float64, K)


def test_streaming_uses_several_batches_and_keeps_row_order(udf_batches: list[int]) -> None:
    labels, probs = DATA
    order = np.random.default_rng(3).permutation(N_ROWS)
    shuffled_labels = [labels[i] for i in order]
    df = make_frame(shuffled_labels, probs[order]).with_columns(pl.Series("id", order))
    out = df.lazy().mlq.label_quality().collect(engine="streaming")
    assert len(udf_batches) > 3, udf_batches
    assert sum(udf_batches) == N_ROWS
    assert max(udf_batches) <= CHUNK
    assert out["id"].to_list() == order.tolist()
    expected = mlq.get_label_quality_scores(labels, probs)[order]
    np.testing.assert_array_equal(check_frame(out, df, "label_quality", pl.Float64()), expected)


# --------------------------------------------------------------------------------------------
# adjust_pred_probs and thresholds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", list(PATHS))
def test_adjusted_scores_match_numpy_api(path: str, kind: str, method: str) -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind=kind, label_dtype=pl.Int16())
    expected = mlq.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=True)
    got = check_frame(run_path(path, df, method=method, adjust_pred_probs=True), df, "label_quality", pl.Float64())
    np.testing.assert_allclose(got, expected, rtol=0, atol=ADJUST_ATOL)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs, method=method, adjust_pred_probs=True)
    out = run_path(path, df, per_class=True, method=method, adjust_pred_probs=True)
    got_pc = check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    np.testing.assert_allclose(got_pc, expected_pc, rtol=0, atol=ADJUST_ATOL)


def test_adjusted_float32_matches_numpy_api() -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    expected = mlq.get_label_quality_scores(labels, probs.astype(np.float32), adjust_pred_probs=True)
    for path in CORE_PATHS:
        got = run_path(path, df, adjust_pred_probs=True)["label_quality"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=path)


def test_adjusted_reference_is_the_numpy_api() -> None:
    """The independent formula used below for thresholds from another frame agrees with the API."""
    labels, probs = DATA
    t = thresholds_reference(labels, probs)
    for method in ("self_confidence", "normalized_margin"):
        pc = adjusted_reference(labels, probs, t, method)
        np.testing.assert_allclose(
            mlq.get_label_quality_scores_per_class(labels, probs, method=method, adjust_pred_probs=True),
            pc,
            rtol=0,
            atol=ADJUST_ATOL,
        )
        np.testing.assert_allclose(
            mlq.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=True),
            ema_reference(pc, 0.8),
            rtol=0,
            atol=ADJUST_ATOL,
        )


@pytest.fixture
def threshold_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of rows of every batch the threshold pass (pass 1) reads."""
    sizes: list[int] = []
    original = mlq_frames.read_batch

    def recording(labels: pl.Series, pred_probs: pl.Series, **kw: Any) -> Any:
        sizes.append(len(labels))
        return original(labels, pred_probs, **kw)

    monkeypatch.setattr(mlq_frames, "read_batch", recording)
    return sizes


def test_lazy_adjust_is_two_pass_and_streams(udf_batches: list[int], threshold_batches: list[int]) -> None:
    """Pass 1 (when the plan is built) reads every row for the thresholds; pass 2 scores batch by batch."""
    labels, probs = DATA
    df = make_frame(labels, probs, kind="list")
    lf = df.lazy().mlq.label_quality(adjust_pred_probs=True)
    assert sum(threshold_batches) == N_ROWS, threshold_batches
    assert udf_batches == []  # building the plan scores nothing
    out = lf.collect(engine="streaming")
    assert len(udf_batches) > 3 and max(udf_batches) <= CHUNK, udf_batches
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    np.testing.assert_allclose(check_frame(out, df, "label_quality", pl.Float64()), expected, rtol=0, atol=ADJUST_ATOL)
    # per-batch thresholds would give other numbers: the adjustment is not row-local
    alone = mlq.get_label_quality_scores(labels[:CHUNK], probs[:CHUNK], adjust_pred_probs=True)
    assert np.abs(alone - expected[:CHUNK]).max() > 1e-3


def test_confident_thresholds_eager_lazy_and_by_hand() -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind="list")
    eager = mlq.confident_thresholds(df)
    lazy = mlq.confident_thresholds(df.lazy())
    assert eager.columns == ["class", "threshold_absent", "threshold_present"]
    assert eager["class"].to_list() == list(range(K))
    assert lazy["class"].to_list() == list(range(K))
    np.testing.assert_allclose(
        lazy.select("threshold_absent", "threshold_present").to_numpy(),
        eager.select("threshold_absent", "threshold_present").to_numpy(),
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        eager.select("threshold_absent", "threshold_present").to_numpy(),
        thresholds_reference(labels, probs),
        rtol=0,
        atol=1e-12,
    )
    arr = make_frame(labels, probs, kind="array")
    np.testing.assert_allclose(
        mlq.confident_thresholds(arr.lazy(), pl.col("labels"), pl.col("pred_probs")).drop("class").to_numpy(),
        thresholds_reference(labels, probs),
        rtol=0,
        atol=1e-12,
    )


def test_confident_thresholds_hand_worked() -> None:
    # class 0: present in rows 0, 2 -> mean(0.8, 0.6) = 0.7; absent in row 1 -> 1 - 0.2 = 0.8
    # class 1: present in rows 1, 2 -> mean(0.6, 0.8) = 0.7; absent in row 0 -> 1 - 0.4 = 0.6
    # class 2: never present -> 2.0; absent everywhere -> mean(0.9, 0.5, 0.7) = 0.7
    df = pl.DataFrame(
        {"labels": [[0], [1], [0, 1]], "pred_probs": [[0.8, 0.4, 0.1], [0.2, 0.6, 0.5], [0.6, 0.8, 0.3]]}
    )
    expected = [[0.8, 0.7], [0.6, 0.7], [0.7, 2.0]]
    for frame in (df, df.lazy()):
        got = mlq.confident_thresholds(frame).select("threshold_absent", "threshold_present").to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("as_array", [False, True], ids=["frame", "ndarray"])
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_thresholds_fitted_on_one_frame_used_on_another(method: str, as_array: bool) -> None:
    train_labels, train_probs = DATA
    test_labels, test_probs = make_data(11, n=400)
    train = make_frame(train_labels, train_probs, kind="array")
    test = make_frame(test_labels, test_probs, kind="list", label_dtype=pl.UInt32())
    fitted = mlq.confident_thresholds(train.lazy())
    thresholds: Any = fitted.select("threshold_absent", "threshold_present").to_numpy() if as_array else fitted
    ref_t = thresholds_reference(train_labels, train_probs)
    expected_pc = adjusted_reference(test_labels, test_probs, ref_t, method)
    expected = ema_reference(expected_pc, 0.8)
    # the thresholds really matter: scoring the test frame on its own gives other numbers
    own = mlq.get_label_quality_scores(test_labels, test_probs, method=method, adjust_pred_probs=True)
    assert np.abs(own - expected).max() > 1e-3

    kw = {"method": method, "adjust_pred_probs": True, "thresholds": thresholds}
    outputs = {
        "eager": test.mlq.label_quality(**kw),
        "lazy-streaming": test.lazy().mlq.label_quality(**kw).collect(engine="streaming"),
        "lazy-in-memory": test.lazy().mlq.label_quality(**kw).collect(engine="in-memory"),
        "expr": test.with_columns(mlq.label_quality(**kw)),
        "expr-streaming": test.lazy().with_columns(mlq.label_quality(**kw)).collect(engine="streaming"),
    }
    for path, out in outputs.items():
        got = check_frame(out, test, "label_quality", pl.Float64())
        np.testing.assert_allclose(got, expected, rtol=0, atol=ADJUST_ATOL, err_msg=path)
    per_class = {
        "eager": test.mlq.label_quality_per_class(**kw),
        "lazy-streaming": test.lazy().mlq.label_quality_per_class(**kw).collect(engine="streaming"),
        "expr": test.with_columns(mlq.label_quality_per_class(**kw)),  # K comes from the thresholds
    }
    for path, out in per_class.items():
        got = check_frame(out, test, "label_quality_per_class", pl.Array(pl.Float64, K))
        np.testing.assert_allclose(got, expected_pc, rtol=0, atol=ADJUST_ATOL, err_msg=path)


def test_thresholds_of_a_frame_on_itself_equal_adjust() -> None:
    labels, probs = DATA
    df = make_frame(labels, probs, kind="array")
    fitted = mlq.confident_thresholds(df)
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    got = df.lazy().mlq.label_quality(adjust_pred_probs=True, thresholds=fitted).collect(engine="streaming")
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)


# --------------------------------------------------------------------------------------------
# sink_parquet
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "array"])
def test_sink_parquet_round_trip(
    tmp_path: Any, kind: str, udf_batches: list[int], threshold_batches: list[int]
) -> None:
    n = 20_000
    labels, probs = make_data(5, n=n, k=6)
    df = make_frame(labels, probs, kind=kind, label_dtype=pl.Int32())
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.write_parquet(source, row_group_size=2_500)
    assert pq.ParquetFile(source).num_row_groups == 8

    pl.scan_parquet(source).mlq.label_quality().sink_parquet(target)
    assert len(udf_batches) >= 8, udf_batches
    back = pl.read_parquet(target)
    expected = mlq.get_label_quality_scores(labels, probs)
    got = check_frame(back, pl.read_parquet(source), "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    assert back["id"].to_list() == list(range(n))

    udf_batches.clear()
    lf = pl.scan_parquet(source).mlq.label_quality(adjust_pred_probs=True, name="adj")
    assert len(threshold_batches) >= 8 and sum(threshold_batches) == n  # pass 1 streamed the file
    assert udf_batches == []
    lf.sink_parquet(target)
    assert len(udf_batches) >= 8 and sum(udf_batches) == n  # pass 2 too
    back = pl.read_parquet(target)
    expected = mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=True)
    np.testing.assert_allclose(back["adj"].to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)
    assert back["id"].to_list() == list(range(n))

    pl.scan_parquet(source).mlq.label_quality_per_class(method="normalized_margin").sink_parquet(target)
    back = pl.read_parquet(target)
    assert back.schema["label_quality_per_class"] == pl.Array(pl.Float64, 6)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs, method="normalized_margin")
    np.testing.assert_array_equal(back["label_quality_per_class"].to_numpy(), expected_pc)


# --------------------------------------------------------------------------------------------
# nulls, empty frames, no mutation
# --------------------------------------------------------------------------------------------


def frame_with_null_rows(kind: str) -> tuple[pl.DataFrame, list[int]]:
    labels, probs = DATA
    df = make_frame(labels, probs, kind=kind)
    null_labels, null_probs = [0, 17, 301], [5, 17, 599]
    df = df.with_columns(
        pl.when(pl.col("id").is_in(null_labels)).then(None).otherwise(pl.col("labels")).alias("labels"),
        pl.when(pl.col("id").is_in(null_probs)).then(None).otherwise(pl.col("pred_probs")).alias("pred_probs"),
    )
    return df, sorted(set(null_labels) | set(null_probs))


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", CORE_PATHS + ["eager-chunked"])
def test_null_rows_score_null_and_leave_other_rows_alone(path: str, kind: str, adjust: bool) -> None:
    df, null_rows = frame_with_null_rows(kind)
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = DATA
    kept_labels, kept_probs = [labels[i] for i in kept], probs[kept]
    # the other rows score as if the null rows were not there (thresholds too, with adjust)
    expected = mlq.get_label_quality_scores(kept_labels, kept_probs, adjust_pred_probs=adjust)
    out = run_path(path, df, adjust_pred_probs=adjust)
    check_frame(out, df, "label_quality", pl.Float64())
    scores = out["label_quality"]
    assert scores.is_null().arg_true().to_list() == null_rows
    np.testing.assert_allclose(scores.gather(kept).to_numpy(), expected, rtol=0, atol=ADJUST_ATOL)


@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", ["eager", "lazy-streaming", "expr-eager"])
def test_null_rows_per_class(path: str, kind: str) -> None:
    df, null_rows = frame_with_null_rows(kind)
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = DATA
    expected = mlq.get_label_quality_scores_per_class([labels[i] for i in kept], probs[kept])
    out = run_path(path, df, per_class=True)
    check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K))
    scores = out["label_quality_per_class"]
    assert scores.is_null().arg_true().to_list() == null_rows
    np.testing.assert_array_equal(scores.gather(kept).to_numpy(), expected)


def test_null_rows_in_confident_thresholds_and_numpy_api() -> None:
    df, null_rows = frame_with_null_rows("list")
    kept = [i for i in range(N_ROWS) if i not in null_rows]
    labels, probs = DATA
    ref = thresholds_reference([labels[i] for i in kept], probs[kept])
    for frame in (df, df.lazy()):
        got = mlq.confident_thresholds(frame).select("threshold_absent", "threshold_present").to_numpy()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # the numpy API on Series: null rows score NaN
    got = mlq.get_label_quality_scores(df["labels"], df["pred_probs"])
    assert np.flatnonzero(np.isnan(got)).tolist() == null_rows
    np.testing.assert_array_equal(got[kept], mlq.get_label_quality_scores([labels[i] for i in kept], probs[kept]))


def test_first_row_null_list_pred_probs() -> None:
    """K of a List column is found past a leading null row."""
    df = pl.DataFrame({"labels": [[0], [1], [0, 2]], "pred_probs": [None, [0.3, 0.7, 0.1], [0.6, 0.2, 0.9]]})
    expected = [None, *mlq.get_label_quality_scores([[1], [0, 2]], np.array([[0.3, 0.7, 0.1], [0.6, 0.2, 0.9]]))]
    assert df.mlq.label_quality()["label_quality"].to_list() == expected
    assert df.lazy().mlq.label_quality().collect(engine="streaming")["label_quality"].to_list() == expected
    assert df.lazy().mlq.label_quality_per_class().collect_schema()["label_quality_per_class"] == pl.Array(pl.Float64, 3)


def empty_frame(kind: str) -> pl.DataFrame:
    dtype = pl.Array(pl.Float32, K) if kind == "array" else pl.List(pl.Float32)
    return pl.DataFrame(
        {
            "id": pl.Series([], dtype=pl.Int64),
            "labels": pl.Series([], dtype=pl.List(pl.Int64)),
            "pred_probs": pl.Series([], dtype=dtype),
        }
    )


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
@pytest.mark.parametrize("path", CORE_PATHS)
def test_empty_frame(path: str, kind: str, adjust: bool) -> None:
    df = empty_frame(kind)
    out = run_path(path, df, adjust_pred_probs=adjust)
    assert out.height == 0
    check_frame(out, df, "label_quality", pl.Float64())


@pytest.mark.parametrize("path", ["eager", "lazy-streaming", "lazy-in-memory"])
def test_empty_frame_per_class(path: str) -> None:
    out = run_path(path, empty_frame("array"), per_class=True)
    assert out.height == 0
    check_frame(out, empty_frame("array"), "label_quality_per_class", pl.Array(pl.Float64, K))
    # with a List column K is unknowable; the column still exists and is an Array of Float64
    out = run_path(path, empty_frame("list"), per_class=True)
    assert out.height == 0
    dtype = out.schema["label_quality_per_class"]
    assert isinstance(dtype, pl.Array) and dtype.inner == pl.Float64


@pytest.mark.parametrize("kind", ["list", "array"])
def test_confident_thresholds_of_an_empty_frame(kind: str) -> None:
    """Eager and lazy agree; with an Array column every group is empty, so every threshold is 2.0."""
    df = empty_frame(kind)
    eager = mlq.confident_thresholds(df)
    lazy = mlq.confident_thresholds(df.lazy())
    assert_frame_equal(lazy, eager)
    if kind == "array":
        assert eager["class"].to_list() == list(range(K))
        assert eager.select("threshold_absent", "threshold_present").to_numpy().tolist() == [[2.0, 2.0]] * K


def test_empty_numpy_api() -> None:
    got = mlq.get_label_quality_scores([], np.zeros((0, K)))
    assert got.shape == (0,) and got.dtype == np.float64
    got = mlq.get_label_quality_scores_per_class([], np.zeros((0, K)))
    assert got.shape[0] == 0 and got.dtype == np.float64


def test_all_null_rows() -> None:
    df = pl.DataFrame(
        {"labels": [[0], [1]], "pred_probs": pl.Series([None, None], dtype=pl.List(pl.Float64))}
    )
    assert df.mlq.label_quality()["label_quality"].to_list() == [None, None]
    assert df.lazy().mlq.label_quality().collect(engine="streaming")["label_quality"].to_list() == [None, None]
    assert df.with_columns(mlq.label_quality())["label_quality"].to_list() == [None, None]
    assert df.mlq.label_quality(adjust_pred_probs=True)["label_quality"].to_list() == [None, None]
    got = df.lazy().mlq.label_quality(adjust_pred_probs=True).collect(engine="streaming")
    assert got["label_quality"].to_list() == [None, None]


@pytest.mark.parametrize("adjust", [False, True])
@pytest.mark.parametrize("kind", ["list", "array"])
def test_input_frames_not_mutated(kind: str, adjust: bool) -> None:
    labels, probs = DATA
    probs = probs.copy()
    probs[0, 0], probs[1, 1] = 1 + 5e-7, -5e-7  # clipped inside: the frame must keep them
    df = make_frame(labels, probs, kind=kind, float_dtype=pl.Float64())
    before = df.clone()
    df.mlq.label_quality(adjust_pred_probs=adjust)
    df.mlq.label_quality_per_class(adjust_pred_probs=adjust)
    df.lazy().mlq.label_quality(adjust_pred_probs=adjust).collect(engine="streaming")
    df.with_columns(mlq.label_quality(adjust_pred_probs=adjust))
    df.with_columns(mlq.label_quality_per_class(adjust_pred_probs=adjust, num_classes=K))
    mlq.confident_thresholds(df)
    mlq.get_label_quality_scores(df["labels"], df["pred_probs"], adjust_pred_probs=adjust)
    assert_frame_equal(df, before)
    assert df["pred_probs"].to_list()[0][0] == 1 + 5e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_arrays_not_mutated(dtype: type) -> None:
    labels, probs = DATA
    probs = probs.astype(dtype)
    probs[0, 0], probs[1, 1] = dtype(1 + 5e-7), dtype(-5e-7)  # inside the tolerance: clipped in a copy
    labels_before = [list(row) for row in labels]
    probs_before = probs.copy()
    for adjust in (False, True):
        mlq.get_label_quality_scores(labels, probs, adjust_pred_probs=adjust)
        mlq.get_label_quality_scores_per_class(labels, probs, adjust_pred_probs=adjust)
    mlq.get_label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    mlq.get_label_quality_scores(labels, probs, aggregator_kwargs={"method": np.median})
    np.testing.assert_array_equal(probs, probs_before)
    assert labels == labels_before
    # a read-only array is fine: nothing is written into the input
    readonly = probs_before.copy()
    readonly.setflags(write=False)
    np.testing.assert_array_equal(
        mlq.get_label_quality_scores(labels, readonly), mlq.get_label_quality_scores(labels, probs_before)
    )
