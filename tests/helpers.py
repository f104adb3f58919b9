"""What several test modules share: data generators, the cleanlab oracles, comparisons, the entry points.

Plain functions, classes and constants; no tests and no fixtures (the fixtures are in conftest.py).
Every test folder imports it as ``import helpers`` (pyproject.toml: ``pythonpath = ["tests"]``).

Sections:

* data: the generators of labels and pred_probs the modules share, and the frames built from them;
* scores against cleanlab: the oracle of the scoring functions (cleanlab, or the spec where cleanlab
  refuses valid data), its tolerances, and the scores of every public entry point;
* issues against cleanlab: the oracle of the issue finders and summaries, the comparisons that
  allow for ties, and the checks that both the tests and the fuzzer run;
* entry points: ``EntryPoint``, one way into polars-mlq (eager, lazy, streamed, Parquet, bare
  expression, numpy function), which the ``every_path`` fixture hands to a test;
* the command line: the installed console script, in a subprocess or in-process;
* the bad-input catalogue: ``Case`` and the runner of tests/reliability/test_bad_*.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cleanlab.multilabel_classification.dataset as cl_dataset
import cleanlab.multilabel_classification.filter as cl_filter
import cleanlab.multilabel_classification.rank as cl_rank
import numpy as np
import polars as pl
import pytest
from cleanlab.internal.multilabel_scorer import ClassLabelScorer, MultilabelScorer
from cleanlab.multilabel_classification import get_label_quality_scores as cleanlab_scores
from cleanlab.multilabel_classification.rank import (
    get_label_quality_scores_per_class as cleanlab_scores_per_class,
)
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_mlq as mlq
from polars_mlq import cli, core
from polars_mlq.core.chunk import Chunk
from polars_mlq.compat import (
    common_multilabel_issues,
    find_label_issues,
    find_multilabel_issues_per_class,
    multilabel_health_summary,
    overall_multilabel_health_score,
    rank_classes_by_multilabel_quality,
)

#: The repository: README.md, docs/, polars_mlq/.
ROOT = Path(__file__).resolve().parent.parent

#: The number of classes of the fixed datasets (``labels_and_probs``, ``clean_data``).
K = 5
SC, NM, CWE = "self_confidence", "normalized_margin", "confidence_weighted_entropy"
METHODS = (SC, NM, CWE)
EMA = "exponential_moving_average"
# adjust_pred_probs=True with confidence_weighted_entropy is an error in both libraries.
METHOD_ADJUST = [(m, a) for m in METHODS for a in (False, True) if not (a and m == CWE)]

#: Rows per streamed batch (``pl.Config(streaming_chunk_size=...)``) on the streaming paths, unless
#: a test module sets its own ``CHUNK``: small enough that the streaming engine cuts 600 rows into
#: about ten batches.
CHUNK = 64
#: Rows per Parquet row group on the Parquet path, unless a test module sets its own ``ROW_GROUP``.
ROW_GROUP = 50

#: labels (a list of lists of class indices) and pred_probs (an (N, K) array).
Data = tuple[list[list[int]], np.ndarray]

#: The hand example of the spec: 4 rows, 3 classes.
L3 = [[0], [1, 2], [0, 2], []]
P3 = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.7], [0.6, 0.3, 0.9], [0.1, 0.2, 0.3]])


# ============================================================================================
# data
# ============================================================================================


def labels_and_probs(seed: int, n: int = 600, k: int = K) -> tuple[list[list[int]], np.ndarray]:
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


def scoring_frame(
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


def check_frame(out: pl.DataFrame, df: pl.DataFrame, name: str, dtype: pl.DataType) -> np.ndarray:
    """The input columns come back unchanged and in order, plus ``name``; returns its values."""
    assert out.columns == [*df.columns, name]
    assert out.schema[name] == dtype
    assert_frame_equal(out.drop(name), df)
    return out[name].to_numpy()


def multi_hot(labels: list[list[int]], k: int) -> np.ndarray:
    y = np.zeros((len(labels), k), dtype=bool)
    for i, row in enumerate(labels):
        y[i, row] = True
    return y


def reference_ema(scores: np.ndarray, alpha: float | None = 0.8) -> np.ndarray:
    """The spec's recursion: sort each row, largest first; E_1 = u_1, E_t = a*u_t + (1-a)*E_{t-1}."""
    num_classes = scores.shape[1]
    if alpha is None:
        alpha = 2 / (num_classes + 1)
    u = np.sort(scores, axis=1)[:, ::-1]
    ema = u[:, 0].copy()
    for t in range(1, num_classes):
        ema = alpha * u[:, t] + (1 - alpha) * ema
    return ema


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


#: Rows of ``clean_data``; BAD_ROW and LATER_BAD_ROW are where the bad-input tests corrupt it.
CLEAN_ROWS = 300
BAD_ROW = 137  # the first offending row
LATER_BAD_ROW = 250  # a second offending row: the message must name the first one


def clean_data() -> tuple[list[list[Any]], list[list[Any]]]:
    """Valid labels (with empty rows) and pred_probs, as Python lists to corrupt."""
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, K, size=int(rng.integers(0, 3))).tolist() for _ in range(CLEAN_ROWS)]
    probs = rng.random((CLEAN_ROWS, K)).tolist()
    return labels, probs


#: Options of the scoring functions, one of each kind, for the kernel tests.
SCORING_OPTIONS: list[dict[str, Any]] = [
    {},
    {"method": "normalized_margin"},
    {"method": "confidence_weighted_entropy"},
    {"adjust_pred_probs": True},
    {"adjust_pred_probs": True, "method": "normalized_margin"},
    {"aggregator_kwargs": {"method": "softmin", "temperature": 0.1}},
    {"aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None}},
]


#: Floats at and beyond the ends of [0, 1], NaN and infinities: the range checks' hard cases.
SPECIAL_VALUES = [
    0.0,
    -0.0,
    1.0,
    0.5,
    1e-320,
    5e-324,
    -1e-300,
    1 + 2**-52,
    1 + 1e-7,
    -1e-7,
    np.nan,
    np.inf,
    -np.inf,
    2.0,
]


def yprobs_frame(
    labels: list[list[Any]],
    probs: list[list[Any]],
    *,
    kind: str = "list",
    label_dtype: pl.DataType = pl.Int64(),
    float_dtype: pl.DataType = pl.Float64(),
) -> pl.DataFrame:
    """id, then the labels as ``y`` and the pred_probs (a List or an Array of K) as ``probs``."""
    probs_dtype = pl.Array(float_dtype, K) if kind == "array" else pl.List(float_dtype)
    return pl.DataFrame(
        [
            pl.Series("id", range(len(labels))),
            pl.Series("y", labels, dtype=pl.List(label_dtype)),
            pl.Series("probs", probs, dtype=probs_dtype),
        ]
    )


def kernel_data(n: int, k: int, seed: int = 0, dtype: type = np.float64) -> tuple[list[list[int]], np.ndarray]:
    """A confident model's probabilities; rows 0 and 1 make cleanlab's label matrix hold a 0 and a 1."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < 1.5 / k
    logits = np.where(truth, 2.5, -2.5) + rng.normal(0, 1.5, (n, k))
    probs = (1 / (1 + np.exp(-logits))).astype(dtype)
    labels = [np.flatnonzero(row).tolist() for row in truth]
    labels[0], labels[1] = [0], []  # cleanlab needs both a 0 and a 1 in the label matrix
    return labels, probs


def issue_data(
    seed: int, n: int, k: int, *, ties: int = 0, float32: bool = False, noise: float = 0.15
) -> tuple[list[list[int]], np.ndarray]:
    """Multi-label data whose model mostly agrees with the truth, with label errors planted.

    ``ties`` > 0 rounds the probabilities to multiples of 1/ties (many equal values, and exact 0
    and 1 when ties is small).
    """
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < rng.uniform(0.05, 0.6, k)
    strength = rng.uniform(0.5, 3.0)
    logits = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, strength / 2, (n, k)) + rng.normal(0, 1, (n, k))
    probs = 1.0 / (1.0 + np.exp(-logits))
    if ties:
        probs = np.round(probs * ties) / ties
    flips = rng.random((n, k)) < noise * rng.random(k)
    given = truth ^ flips
    labels = [np.flatnonzero(row).tolist() for row in given]
    return labels, probs.astype(np.float32 if float32 else np.float64)


@st.composite
def issue_datasets(draw: st.DrawFn, max_rows: int = 150, max_classes: int = 12) -> tuple[list[list[int]], np.ndarray]:
    """``issue_data`` drawn by hypothesis: up to 150 rows and 12 classes, ties, float32."""
    n = draw(st.integers(1, max_rows))
    k = draw(st.integers(1, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.sampled_from([0, 0, 2, 5, 10, 20]))
    float32 = draw(st.booleans())
    noise = draw(st.sampled_from([0.05, 0.15, 0.4]))
    return issue_data(seed, n, k, ties=ties, float32=float32, noise=noise)


# -------------------------------------------------------------------- generated for the parity


def _specials(dtype: type) -> np.ndarray:
    """Exact 0 and 1, and values at or near the ends of [0, 1] in this dtype."""
    info = np.finfo(dtype)
    one = dtype(1)
    values = [0, 1, 0.5, info.smallest_subnormal, info.tiny, 1e-12, 1e-7, 1e-6]
    values += [1 - 1e-6, 1 - 1e-7, 1 - 1e-12, np.nextafter(one, dtype(0))]
    return np.unique(np.array(values, dtype=dtype))


SPECIALS = {np.float64: _specials(np.float64), np.float32: _specials(np.float32)}


def generate(
    n: int,
    k: int,
    dtype: type,
    *,
    seed: int,
    label_style: str,
    empty_frac: float,
    dup_frac: float,
    prob_style: str,
    special_frac: float,
) -> tuple[list[list[int]], np.ndarray]:
    """Deterministic data from a seed; the hypothesis-drawn Dataset prints this call to reproduce it."""
    rng = np.random.default_rng(seed)
    density = {
        "sparse": lambda: rng.uniform(0.0, 0.2, k),
        "dense": lambda: rng.uniform(0.5, 1.0, k),
        "mixed": lambda: rng.choice([0.0, 0.05, 0.3, 0.7, 1.0], k),  # some never / always labelled
        "none": lambda: np.zeros(k),
        "all": lambda: np.ones(k),
    }[label_style]()
    y = rng.random((n, k)) < density
    y[rng.random(n) < empty_frac] = False
    labels = []
    for row in y:
        classes = np.flatnonzero(row).tolist()
        if classes and rng.random() < dup_frac:
            classes += rng.choice(classes, size=int(rng.integers(1, 4))).tolist()
        rng.shuffle(classes)
        labels.append(classes)
    if prob_style == "uniform":
        probs = rng.random((n, k))
    elif prob_style == "informative":  # a sigmoid model: values pile up near (and at) 0 and 1
        mu, sigma = rng.uniform(0, 4), rng.choice([0.5, 2.0, 8.0, 30.0])
        logits = rng.normal(np.where(y, mu, -mu), sigma)
        probs = 1 / (1 + np.exp(-logits))
    elif prob_style == "saturated":  # a confident model: exactly 1 for the labels, 0 elsewhere, mostly
        probs = np.where(rng.random((n, k)) < 0.1, rng.random((n, k)), y.astype(np.float64))
    else:  # "grid": many ties
        probs = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], (n, k))
    probs = probs.astype(dtype)
    special = rng.random((n, k)) < special_frac
    probs[special] = rng.choice(SPECIALS[dtype], int(special.sum()))
    return labels, probs


@dataclass(frozen=True)
class Dataset:
    labels: list[list[int]]
    probs: np.ndarray
    recipe: str

    def __repr__(self) -> str:
        return f"Dataset({self.recipe})"


@st.composite
def datasets(draw: st.DrawFn, max_n: int = 300, max_k: int = 50, min_k: int = 1) -> Dataset:
    """K = 1..50, N = 1..300, float32 and float64, exact 0 and 1 and values next to them, rows
    with no labels and with every label, classes never labelled or labelled in every row,
    duplicated labels; a quarter of the examples small and drawn value by value."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    if draw(st.integers(0, 3)) == 0:
        # Small, every value drawn by hypothesis (so failures shrink to a few numbers).
        n, k = draw(st.integers(1, 5)), draw(st.integers(min_k, 5))
        value = st.one_of(
            st.sampled_from(SPECIALS[dtype].tolist()),
            st.floats(0, 1, width=32 if dtype is np.float32 else 64),
        )
        probs = np.array(draw(st.lists(st.lists(value, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=dtype)
        labels = draw(st.lists(st.lists(st.integers(0, k - 1), max_size=k + 2), min_size=n, max_size=n))
        recipe = f"labels={labels}, probs=np.array({probs.tolist()}, dtype=np.{dtype.__name__})"
        return Dataset(labels, probs, recipe)
    n = draw(st.one_of(st.integers(1, 20), st.integers(21, max_n)))
    # K = 1 (which cleanlab's aggregated function refuses) in about 1 in 10 of these examples.
    k = min_k if draw(st.integers(0, 9)) == 0 else draw(st.integers(max(min_k, 2), max_k))
    params = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "label_style": draw(st.sampled_from(["sparse", "sparse", "dense", "mixed", "mixed", "none", "all"])),
        "empty_frac": draw(st.sampled_from([0.0, 0.2, 0.6])),
        "dup_frac": draw(st.sampled_from([0.0, 0.3])),
        "prob_style": draw(st.sampled_from(["uniform", "informative", "saturated", "grid"])),
        "special_frac": draw(st.sampled_from([0.0, 0.02, 0.3])),
    }
    labels, probs = generate(n, k, dtype, **params)
    args = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return Dataset(labels, probs, f"generate({n}, {k}, np.{dtype.__name__}, {args})")


def describe(data: Dataset) -> None:
    """Hypothesis statistics (pytest --hypothesis-show-statistics): what the examples covered."""
    n, k = data.probs.shape
    refuses = cleanlab_refuses(data.labels, k)
    note(f"cleanlab refuses these data: {refuses}")
    event(f"dtype={data.probs.dtype}")
    event(f"cleanlab refuses={refuses}")
    event("K=1" if k == 1 else "K<=5" if k <= 5 else "K>5")
    event("N=1" if n == 1 else "N<=20" if n <= 20 else "N>20")
    event(f"has 0.0 and 1.0: {bool((data.probs == 0).any() and (data.probs == 1).any())}")
    event(f"has a duplicated label: {any(len(set(row)) < len(row) for row in data.labels)}")


AGGREGATOR_KINDS = ["ema_alpha_0.8", "ema_alpha_none", "ema_random_alpha", "softmin_random_temperature", "np.mean"]


def aggregators(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "ema_alpha_0.8":
        return st.just({"method": EMA, "alpha": 0.8})
    if kind == "ema_alpha_none":
        return st.sampled_from([{"method": EMA, "alpha": None}, {"method": EMA}])
    if kind == "ema_random_alpha":
        return st.floats(0, 1).map(lambda alpha: {"method": EMA, "alpha": alpha})
    if kind == "softmin_random_temperature":
        temperature = st.one_of(
            st.sampled_from([1e-12, 1e-6, 0.1, 1.0, 1e6]),
            st.floats(-12, 6).map(lambda e: 10.0**e),
            st.floats(1e-12, 1e6),
        )
        return temperature.map(lambda t: {"method": "softmin", "temperature": t})
    assert kind == "np.mean"
    return st.just({"method": np.mean})


def probs_frame(labels: list[list[int]], probs: np.ndarray, layout: str) -> pl.DataFrame:
    """labels and pred_probs: a List or an Array of the probabilities' float dtype."""
    pred = pl.Series("pred_probs", probs)  # Array(Float32/Float64, K)
    assert isinstance(pred.dtype, pl.Array)
    if layout == "list":
        pred = pred.arr.to_list()
    return pl.DataFrame([pl.Series("labels", labels, dtype=pl.List(pl.Int64)), pred])


# ============================================================================================
# scores against cleanlab
# ============================================================================================

EXACT = 1e-12
LOOSE = 1e-6


def tolerance(dtype: np.dtype | type, method: str, adjust: bool) -> float:
    """atol for comparing with cleanlab.

    Two deliberate differences, both only for float32 pred_probs:

    * adjust_pred_probs=True: polars_mlq computes the confident thresholds and the adjusted
      probabilities in float64, cleanlab accumulates the thresholds (and adjusts) in float32.
    * confidence_weighted_entropy: cleanlab's entropy uses scipy's float32 ``xlogy`` (C ``logf``)
      before promoting to float64, polars_mlq takes the logarithms in float64.

    Both differ at float32 precision (~1e-7); every other float32 combination must match to 1e-12.
    """
    if np.dtype(dtype) == np.float32 and (adjust or method == CWE):
        return LOOSE
    return EXACT


def assert_close(actual: np.ndarray, desired: np.ndarray, atol: float, what: str) -> None:
    np.testing.assert_allclose(actual, desired, rtol=0, atol=atol, strict=True, err_msg=what)


def assert_all_close(ours: dict[str, np.ndarray], desired: np.ndarray, atol: float) -> None:
    for path, actual in ours.items():
        assert_close(actual, np.asarray(desired, dtype=np.float64), atol, f"entry point: {path}")


def cleanlab_refuses(labels: list[list[int]], num_classes: int) -> bool:
    """True where cleanlab's aggregated function raises although the data are valid."""
    y = multi_hot(labels, num_classes)
    return num_classes == 1 or not y.any() or bool(y.all())


def oracle_per_class(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    if any(labels):
        return cleanlab_scores_per_class(labels, probs, method=method, adjust_pred_probs=adjust)
    # Every row unlabelled: cleanlab's public functions stop in input validation (max() of an
    # empty sequence), so call its per-class scorer on the all-zero label matrix directly.
    scorer = MultilabelScorer(base_scorer=ClassLabelScorer.from_str(method))
    return scorer.get_class_label_quality_scores(
        labels=np.zeros(probs.shape, dtype=np.int64),
        pred_probs=probs,
        base_scorer_kwargs={"adjust_pred_probs": adjust},
    )


def reference_softmin(scores: np.ndarray, temperature: float) -> np.ndarray:
    """sum_k s_k w_k with w = softmax((1 - s) / max(T, 1e-6)), shifted by the row maximum."""
    x = (1 - scores) / max(temperature, 1e-6)
    x = x - x.max(axis=1, keepdims=True)
    w = np.exp(x)
    w = w / w.sum(axis=1, keepdims=True)
    return (scores * w).sum(axis=1)


def reference_aggregate(scores: np.ndarray, aggregator_kwargs: dict[str, Any]) -> np.ndarray:
    kwargs = dict(aggregator_kwargs)
    method = kwargs.pop("method")
    if callable(method):
        kwargs["axis"] = 1
        return method(scores, **kwargs)
    if method == "exponential_moving_average":
        return reference_ema(scores, kwargs.get("alpha"))
    assert method == "softmin"
    return reference_softmin(scores, kwargs.get("temperature", 0.1))


def oracle_scores(
    labels: list[list[int]],
    probs: np.ndarray,
    method: str,
    adjust: bool,
    aggregator_kwargs: dict[str, Any],
) -> np.ndarray:
    if cleanlab_refuses(labels, probs.shape[1]):
        return reference_aggregate(oracle_per_class(labels, probs, method, adjust), aggregator_kwargs)
    return cleanlab_scores(labels, probs, method=method, adjust_pred_probs=adjust, aggregator_kwargs=aggregator_kwargs)


def entry_point_scores(labels: list[list[int]], probs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
    """Aggregated scores from every public entry point, by name (one oracle call checks them all)."""
    out = {"numpy": mlq.get_label_quality_scores(labels, probs, **options)}
    for layout in ("list", "array"):
        df = probs_frame(labels, probs, layout)
        out[f"df.mlq/{layout}"] = df.mlq.label_quality(**options)["label_quality"].to_numpy()
    lazy = probs_frame(labels, probs, "array").lazy()
    streamed = lazy.select(mlq.label_quality(**options)).collect(engine="streaming")
    out["expr/streaming"] = streamed["label_quality"].to_numpy()
    return out


def entry_point_scores_per_class(labels: list[list[int]], probs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
    """Per-class (N, K) scores from every public entry point, by name."""
    out = {"numpy": mlq.get_label_quality_scores_per_class(labels, probs, **options)}
    column = "label_quality_per_class"
    for layout in ("list", "array"):
        df = probs_frame(labels, probs, layout)
        out[f"df.mlq/{layout}"] = df.mlq.label_quality_per_class(**options)[column].to_numpy()
    lazy = probs_frame(labels, probs, "list").lazy()
    expr = mlq.label_quality_per_class(num_classes=probs.shape[1], **options)
    out["expr/streaming"] = lazy.select(expr).collect(engine="streaming")[column].to_numpy()
    return out


# ============================================================================================
# issues against cleanlab
# ============================================================================================

FILTERS = list(core.FILTERS)
PRUNE = list(core.PRUNE_FILTERS)
#: The hypothesis settings of the tests that call cleanlab's issue finders.
CLEANLAB_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call cleanlab with its warnings silenced (pytest turns warnings into errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def dataset_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a cleanlab dataset function with its issue finders forced to one process (it offers
    no n_jobs; the default starts a process pool per class, which is only slower)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("find_label_issues", "find_multilabel_issues_per_class"):
            original = getattr(cl_filter, name)
            patch.setattr(cl_dataset, name, lambda *a, _f=original, **kw: _f(*a, **{**kw, "n_jobs": 1}))
        return quiet(function, *args, **kwargs)


def special_classes(labels: list[list[int]], k: int, filter_by: str) -> np.ndarray:
    """Classes cleanlab refuses: present in every row, or never labelled with predicted_neq_given."""
    y = multi_hot(labels, k)
    special = y.all(axis=0) & (len(labels) > 0)
    if filter_by == "predicted_neq_given":
        special |= ~y.any(axis=0)
    return special


def spec_special_column(labels: list[list[int]], probs: np.ndarray, c: int, filter_by: str) -> np.ndarray:
    """The flags of a refused class, from the spec: with no "absent" (or "present") group the
    prune filters and confident learning flag nothing; predicted_neq_given flags the rows where
    the model disagrees by more than 1e-6; low_* take as many rows as confident learning flags."""
    p = probs[:, c]
    a = np.subtract(probs.dtype.type(1), p)
    y = multi_hot(labels, probs.shape[1])[:, c]
    if filter_by != "predicted_neq_given":
        return np.zeros(len(labels), dtype=bool)
    slack = probs.dtype.type(1e-6)
    return np.where(y, p + slack <= a, p > a + slack)


def cleanlab_mask(labels: list[list[int]], probs: np.ndarray, **kw: Any) -> np.ndarray:
    """cleanlab's (N, K) per-class mask, with refused classes filled in from the spec."""
    n, k = probs.shape
    filter_by = kw.get("filter_by", "prune_by_noise_rate")
    special = special_classes(labels, k, filter_by)
    mask = np.zeros((n, k), dtype=bool)
    keep = np.flatnonzero(~special)
    if keep.size:
        index = {int(c): j for j, c in enumerate(keep)}
        sub_labels = [[index[c] for c in row if c in index] for row in labels]
        sub_kw = dict(kw)
        if kw.get("num_to_remove_per_class") is not None:
            sub_kw["num_to_remove_per_class"] = [kw["num_to_remove_per_class"][c] for c in keep]
        if kw.get("confident_joint") is not None:
            sub_kw["confident_joint"] = kw["confident_joint"][keep]
        sub = quiet(cl_filter.find_multilabel_issues_per_class, sub_labels, probs[:, keep], n_jobs=1, **sub_kw)
        mask[:, keep] = sub
    for c in np.flatnonzero(special):
        mask[:, c] = spec_special_column(labels, probs, int(c), filter_by)
    return mask


def refused(error: ValueError) -> bool:
    """cleanlab's refusals of valid data: no 0 or no 1 in the label matrix, or no labels at all."""
    return "multi-label format" in str(error) or "empty sequence" in str(error)


def cleanlab_scores_or_spec(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    """cleanlab's aggregated scores; where it refuses (K = 1, or no 0 or no 1 in the label
    matrix) the spec's EMA over its per-class scores."""
    try:
        return quiet(cl_rank.get_label_quality_scores, labels, probs, method=method, adjust_pred_probs=adjust)
    except ValueError as error:
        assert refused(error)
    return reference_ema(cleanlab_per_class_scores(labels, probs, method, adjust))


def cleanlab_per_class_scores(labels: list[list[int]], probs: np.ndarray, method: str, adjust: bool) -> np.ndarray:
    """cleanlab's per-class scores. It refuses labels that are all empty; the columns are scored
    independently, so we then add a labelled dummy column and drop its scores."""
    k = probs.shape[1]
    if not any(labels):
        labels = [[k]] + [list(row) for row in labels[1:]]
        probs = np.hstack([probs, np.full((len(labels), 1), 0.5, dtype=probs.dtype)])
    scores = quiet(cl_rank.get_label_quality_scores_per_class, labels, probs, method=method, adjust_pred_probs=adjust)
    return scores[:, :k]


def ranking_tolerance(dtype: np.dtype[Any], method: str | None, adjust: bool) -> float:
    """How far apart two rows' cleanlab scores may be and still swap in our ranking: 1e-12, or
    for float32 what docs/differences-from-cleanlab.md allows (``adjust_pred_probs``: thresholds
    and shifts in float64, about 1e-6; confidence_weighted_entropy: float64 logarithms, 1e-7)."""
    if np.dtype(dtype) != np.float32:
        return 1e-12
    if adjust:
        return 2e-6
    return 2e-7 if method == "confidence_weighted_entropy" else 1e-12


def assert_ranked(
    ours: np.ndarray, expected: np.ndarray, scores: np.ndarray, method: str, tolerance: float = 1e-12
) -> None:
    """The same rows, ordered by their cleanlab scores. Rows whose scores are within ``tolerance``
    may swap: rows with equal scores come in row order here (cleanlab's argsort order is arbitrary),
    adjusted scores use exact threshold means (cleanlab: numpy's float sum, a few ulps away), and
    confidence_weighted_entropy takes its logarithms with numpy (cleanlab: scipy)."""
    assert ours.dtype == np.int64
    assert sorted(ours.tolist()) == sorted(expected.tolist())
    assert np.all(np.diff(scores[ours]) >= -tolerance)


def sort_keys(filter_by: str, p: np.ndarray, given: bool) -> np.ndarray:
    """What cleanlab sorts the rows of one class and given label by (the spec, section 5.2 B6):
    the probability of the given label for ``prune_by_class``, minus the margin
    (other - given) for ``prune_by_noise_rate``; ``both`` uses the two, as pairs. Equal keys can
    come from different p where ``1 - p`` rounds (p below about 1e-16)."""
    a = np.subtract(p.dtype.type(1), p)
    own, other = (p, a) if given else (a, p)
    by_class = own.astype(np.float64)
    by_margin = (-(other - own)).astype(np.float64)
    if filter_by == "prune_by_class":
        return by_class
    if filter_by == "prune_by_noise_rate":
        return by_margin
    if filter_by == "both":
        return np.stack([by_class, by_margin], axis=1)
    return p.astype(np.float64)


def _sorted_rows(keys: np.ndarray) -> np.ndarray:
    return keys[np.lexsort(keys.T[::-1])] if keys.ndim == 2 else np.sort(keys)


def assert_same_up_to_ties(
    ours: np.ndarray,
    theirs: np.ndarray,
    labels: list[list[int]],
    probs: np.ndarray,
    filter_by: str = "prune_by_noise_rate",
) -> None:
    """Per-class masks that agree but for which of several tied entries is flagged: per class
    and given label, the same number of flags, with the same sort keys (``sort_keys``)."""
    y = multi_hot(labels, probs.shape[1])
    assert ours.shape == theirs.shape
    for c in range(probs.shape[1]):
        for label in (False, True):
            subset = y[:, c] == label
            np.testing.assert_array_equal(
                _sorted_rows(sort_keys(filter_by, probs[ours[:, c] & subset, c], label)),
                _sorted_rows(sort_keys(filter_by, probs[theirs[:, c] & subset, c], label)),
            )


def assert_flags_like_cleanlab(ours: np.ndarray, labels: list[list[int]], probs: np.ndarray, kw: dict[str, Any]) -> None:
    """Per-class masks of ``find_multilabel_issues_per_class(labels, probs, **kw)``: cleanlab's up
    to ties (``assert_same_up_to_ties``). ``filter_by="both"`` is the intersection of the class and
    noise-rate filters, and ties in one (margins equal because 1 - p rounds, p below about 1e-16)
    change which entries the intersection keeps: so each component must be cleanlab's up to ties,
    and ours their intersection."""
    filter_by = kw["filter_by"]
    if filter_by != "both":
        assert_same_up_to_ties(ours, cleanlab_mask(labels, probs, **kw), labels, probs, filter_by)
        return
    parts = []
    for part_filter in ("prune_by_class", "prune_by_noise_rate"):
        part_kw = {**kw, "filter_by": part_filter}
        part = find_multilabel_issues_per_class(labels, probs, **part_kw)
        assert_same_up_to_ties(part, cleanlab_mask(labels, probs, **part_kw), labels, probs, part_filter)
        parts.append(part)
    np.testing.assert_array_equal(ours, parts[0] & parts[1])


def assert_same_scores(ours: np.ndarray, theirs: np.ndarray, scores: np.ndarray) -> None:
    """Row masks that flag rows with the same scores (tied rows may differ)."""
    np.testing.assert_array_equal(np.sort(scores[ours]), np.sort(scores[theirs]))


def spread(rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """Scores of a subset of rows, placed at those rows of an (n,) array (NaN elsewhere)."""
    out = np.full(n, np.nan)
    out[rows] = scores
    return out


@st.composite
def issue_options(draw: st.DrawFn, k: int) -> dict[str, Any]:
    """Options of find_label_issues: a filter, its parameters, and sometimes a ranking."""
    filter_by = draw(st.sampled_from(FILTERS))
    kw: dict[str, Any] = {"filter_by": filter_by}
    if filter_by in PRUNE:
        if draw(st.booleans()):
            kw["frac_noise"] = draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7]))
        if draw(st.booleans()):
            kw["min_examples_per_class"] = draw(st.integers(0, 6))
        if draw(st.integers(0, 3)) == 0:
            kw["num_to_remove_per_class"] = draw(st.lists(st.integers(0, 4), min_size=k, max_size=k))
    if draw(st.booleans()):
        method = draw(st.sampled_from(METHODS))
        kw["return_indices_ranked_by"] = method
        if method != "confidence_weighted_entropy" and draw(st.booleans()):
            kw["rank_by_kwargs"] = {"adjust_pred_probs": True}
    return kw


def check_find_label_issues(labels: list[list[int]], probs: np.ndarray, kw: dict[str, Any]) -> None:
    """``find_label_issues(labels, probs, **kw)`` is cleanlab's answer (the spec's where it refuses)."""
    filter_by = kw["filter_by"]
    method = kw.get("return_indices_ranked_by")
    adjust = kw.get("rank_by_kwargs", {}).get("adjust_pred_probs", False)
    ours = find_label_issues(labels, probs, **kw)
    kw_mask = {key: value for key, value in kw.items() if key not in ("return_indices_ranked_by", "rank_by_kwargs")}
    ours_mask = find_label_issues(labels, probs, **kw_mask)

    special = special_classes(labels, probs.shape[1], filter_by)
    if filter_by in core.LOW_FILTERS:
        # rows with the lowest default score, as many as confident learning flags
        default = cleanlab_scores_or_spec(labels, probs, "self_confidence", False)
        try:
            if special.any():
                raise ValueError("refused")
            mask = quiet(cl_filter.find_label_issues, labels, probs, filter_by=filter_by, n_jobs=1)
        except ValueError:  # also cleanlab's stricter label checks on this path
            count = int(cleanlab_mask(labels, probs, filter_by="confident_learning").any(axis=1).sum())
            mask = np.zeros(len(labels), dtype=bool)
            mask[np.argsort(default)[:count]] = True
        assert_same_scores(ours_mask, mask, default)
        if method is None:
            return
        # ranked on the chosen rows alone (cleanlab pairs those scores with a reordered index
        # array, scrambling its ranking; we rank the rows by their scores)
        rows = np.flatnonzero(ours_mask)
        if rows.size == 0:
            assert ours.size == 0
            return
        scores = cleanlab_scores_or_spec([labels[i] for i in rows], probs[rows], method, adjust)
        tolerance = ranking_tolerance(probs.dtype, method, adjust)
        assert_ranked(ours, rows, spread(rows, scores, len(labels)), method, tolerance)
        return

    ours_per_class = find_multilabel_issues_per_class(labels, probs, **kw_mask)
    assert_flags_like_cleanlab(ours_per_class, labels, probs, kw_mask)
    np.testing.assert_array_equal(ours_mask, ours_per_class.any(axis=1))
    if method is None:
        return
    scores = cleanlab_scores_or_spec(labels, probs, method, adjust)
    assert_ranked(ours, np.flatnonzero(ours_mask), scores, method, ranking_tolerance(probs.dtype, method, adjust))


def check_issues_per_class(labels: list[list[int]], probs: np.ndarray, kw: dict[str, Any]) -> None:
    """``find_multilabel_issues_per_class(labels, probs, **kw)`` is cleanlab's answer (the spec's
    where it refuses), and so is its ranking."""
    kw = dict(kw)
    k = probs.shape[1]
    method = kw.pop("return_indices_ranked_by", None)
    adjust = kw.pop("rank_by_kwargs", {}).get("adjust_pred_probs", False)
    if kw["filter_by"] in core.LOW_FILTERS and special_classes(labels, k, "predicted_neq_given").any():
        # cleanlab refuses classes in every row or in none here; per class: the lowest binary
        # scores, as many as confident learning flags in the class
        counts = cleanlab_mask(labels, probs, filter_by="confident_learning").sum(axis=0)
        name = "self_confidence" if kw["filter_by"] == "low_self_confidence" else "normalized_margin"
        per_class = cleanlab_per_class_scores(labels, probs, name, False)
        expected = np.zeros(probs.shape, dtype=bool)
        for c in range(k):
            expected[np.argsort(per_class[:, c])[: counts[c]], c] = True
    else:
        expected = cleanlab_mask(labels, probs, **kw)
    ours = find_multilabel_issues_per_class(labels, probs, **kw)
    if kw["filter_by"] in core.LOW_FILTERS:  # ties between equal binary scores
        name = "self_confidence" if kw["filter_by"] == "low_self_confidence" else "normalized_margin"
        binary = cleanlab_per_class_scores(labels, probs, name, False)
        for c in range(k):
            np.testing.assert_array_equal(np.sort(binary[ours[:, c], c]), np.sort(binary[expected[:, c], c]))
    else:
        assert_flags_like_cleanlab(ours, labels, probs, kw)

    if method is None:
        return
    ranked, given_list, binary_list = find_multilabel_issues_per_class(
        labels, probs, return_indices_ranked_by=method, rank_by_kwargs={"adjust_pred_probs": adjust}, **kw
    )
    per_class = cleanlab_per_class_scores(labels, probs, method, adjust)
    y = multi_hot(labels, k)
    for c in range(k):
        assert_ranked(
            ranked[c], np.flatnonzero(ours[:, c]), per_class[:, c], method, ranking_tolerance(probs.dtype, method, adjust)
        )
        np.testing.assert_array_equal(given_list[c], y[:, c].astype(np.int64))
        np.testing.assert_array_equal(binary_list[c], np.stack([1 - probs[:, c], probs[:, c]], axis=1))
    low = kw["filter_by"] in core.LOW_FILTERS
    refused = special_classes(labels, k, "predicted_neq_given" if low else kw["filter_by"])
    if not refused.any() and method != "confidence_weighted_entropy" and not low:
        theirs = quiet(
            cl_filter.find_multilabel_issues_per_class,
            labels,
            probs,
            return_indices_ranked_by=method,
            rank_by_kwargs={"adjust_pred_probs": adjust},
            n_jobs=1,
            **kw,
        )
        tolerance = ranking_tolerance(probs.dtype, method, adjust)
        for c in range(k):  # the same scores flagged, in the same order of scores
            if not np.array_equal(ours[:, c], expected[:, c]):
                # Tied entries flagged otherwise (checked above, up to ties): with filter_by="both"
                # the two filters' ties can leave the class another count; our order is checked above.
                continue
            np.testing.assert_allclose(
                per_class[ranked[c], c], np.sort(per_class[theirs[0][c], c]), rtol=0, atol=tolerance
            )


def _pandas_rows(frame: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def check_summaries_match_cleanlab(labels: list[list[int]], probs: np.ndarray, named: bool) -> None:
    """The dataset summaries are cleanlab's, on data it accepts (no class in every row)."""
    k = probs.shape[1]
    names = [f"class {c}" for c in range(k)] if named else None
    n = len(labels)

    ours = common_multilabel_issues(labels, probs, class_names=names)
    theirs = dataset_call(cl_dataset.common_multilabel_issues, labels, probs, class_names=names)
    assert ours.columns == list(theirs.columns)
    assert ours.rows() == _pandas_rows(theirs)  # the same row order, ties included
    assert ours.schema["Class Index"] == pl.Int64 and ours.schema["Num Examples"] == pl.Int64

    ours_q = rank_classes_by_multilabel_quality(labels, probs, class_names=names)
    theirs_q = dataset_call(cl_dataset.rank_classes_by_multilabel_quality, labels, probs, class_names=names)
    assert ours_q.columns == list(theirs_q.columns)
    skip = {"Label Issues", "Inverse Label Issues"}
    for column in ours_q.columns:
        if column not in skip:
            assert ours_q[column].to_list() == theirs_q[column].tolist(), column
    # cleanlab truncates rate * n to get the counts; ours are the counts themselves
    for column, rate in (("Label Issues", "Label Noise"), ("Inverse Label Issues", "Inverse Label Noise")):
        assert ours_q[column].to_list() == [round(r * n) for r in theirs_q[rate]]
        assert theirs_q[column].tolist() == [int(r * n) for r in theirs_q[rate]]

    score = overall_multilabel_health_score(labels, probs)
    flags = find_multilabel_issues_per_class(labels, probs)
    assert score == 1.0 - np.count_nonzero(flags.any(axis=1)) / n
    if np.array_equal(flags, cleanlab_mask(labels, probs)):  # otherwise tied rows may make the union differ
        assert score == dataset_call(cl_dataset.overall_multilabel_health_score, labels, probs)

    summary = multilabel_health_summary(labels, probs, class_names=names, verbose=False)
    keys = {"overall_multilabel_health_score", "classes_by_multilabel_quality", "common_multilabel_issues"}
    assert set(summary) == keys
    assert summary["overall_multilabel_health_score"] == score
    assert summary["common_multilabel_issues"].equals(ours)
    assert summary["classes_by_multilabel_quality"].equals(ours_q)


# ============================================================================================
# entry points
# ============================================================================================

#: The .mlq methods that return a frame (a LazyFrame on a LazyFrame), and the column they add.
NEW_COLUMN = {
    "label_quality": "label_quality",
    "label_quality_per_class": "label_quality_per_class",
    "find_label_issues": "is_label_issue",
    "find_label_issues_per_class": "is_label_issue_per_class",
}
#: The bare expression of a .mlq method.
EXPRESSIONS: dict[str, Callable[..., pl.Expr]] = {
    "label_quality": mlq.label_quality,
    "label_quality_per_class": mlq.label_quality_per_class,
}
#: The cleanlab-signature numpy function of a .mlq method.
NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "label_quality": mlq.get_label_quality_scores,
    "label_quality_per_class": mlq.get_label_quality_scores_per_class,
    "find_label_issues": mlq.find_label_issues,
    "find_label_issues_per_class": mlq.find_multilabel_issues_per_class,
}

#: Every entry point, by name (see ``EntryPoint``).
PATHS = (
    "eager",
    "eager-chunked",
    "lazy-in-memory",
    "lazy-in-memory-chunked",
    "lazy-streaming",
    "parquet",
    "expr",
    "expr-chunked",
    "expr-streaming",
    "numpy",
)
#: The ``every_path`` fixture's paths: a DataFrame, a LazyFrame streamed in small batches, a Parquet
#: scan of small row groups, the bare expression and the numpy function.
EVERY_PATH = ("eager", "lazy-streaming", "parquet", "expr", "numpy")
#: The paths of a frame, whole (not in chunks): eager, lazy on each engine, Parquet, the expression.
FRAME_PATHS = ("eager", "lazy-in-memory", "lazy-streaming", "parquet", "expr", "expr-streaming")
#: One path of each kind: eager, lazy over chunks, streamed, Parquet, an expression over chunks and streamed.
CORE_PATHS = ("eager", "lazy-in-memory-chunked", "lazy-streaming", "parquet", "expr-chunked", "expr-streaming")


def num_classes_of(df: pl.DataFrame, pred_probs: Any) -> int | None:
    """K of the pred_probs argument: the width of its Array, of its first List row, or its columns."""
    if isinstance(pred_probs, (list, tuple)):
        return len(pred_probs)
    column = df[pred_probs] if isinstance(pred_probs, str) else df.select(pred_probs).to_series()
    if isinstance(column.dtype, pl.Array):
        return column.dtype.size
    if isinstance(column.dtype, pl.List):
        rows = column.drop_nulls()
        return int(rows.list.len()[0]) if len(rows) else None
    return None


@dataclass(frozen=True)
class EntryPoint:
    """One way into polars-mlq. ``run(df, op, **kwargs)`` calls ``df.mlq.<op>(**kwargs)``
    through it and returns what the user gets (a LazyFrame's result collected); ``op`` is the
    method's name (``label_quality`` by default), and the keyword arguments are its own:

    * ``eager``: on the DataFrame; ``eager-chunked``: on its rows cut into three chunks;
    * ``lazy-in-memory``, ``lazy-in-memory-chunked``: on ``df.lazy()``, collected by the in-memory engine;
    * ``lazy-streaming``: on ``df.lazy()``, collected by the streaming engine in batches of ``chunk`` rows;
    * ``parquet``: ``df`` written to Parquet in row groups of ``row_group`` rows, on
      ``pl.scan_parquet``, sunk to Parquet by the streaming engine (batches of ``chunk`` rows) and
      read back;
    * ``expr``, ``expr-chunked``: the bare expression (``mlq.label_quality(...)``) in
      ``df.with_columns``; ``expr-streaming``: in ``df.lazy().with_columns``, streamed;
    * ``numpy``: the cleanlab-signature function on the two columns (labels as lists, pred_probs
      as a 2-D array), its result appended to ``df`` as the method's column.

    ``name=`` names the new column on every path (an ``alias`` of a bare expression); a per-class
    expression is given ``num_classes`` from the frame unless the test gives it or ``thresholds=``.
    """

    name: str
    chunk: int = CHUNK
    row_group: int = ROW_GROUP

    def __repr__(self) -> str:
        return self.name

    @property
    def base(self) -> str:
        return self.name.removesuffix("-chunked")

    def run(self, df: pl.DataFrame, op: str = "label_quality", /, **kwargs: Any) -> Any:
        if self.name.endswith("-chunked"):
            df = chunked(df)
        if self.base == "numpy":
            return self._numpy(df, op, dict(kwargs))
        if self.base.startswith("expr"):
            return self._expression(df, op, dict(kwargs))
        if self.base == "eager":
            return getattr(df.mlq, op)(**kwargs)
        with pl.Config(streaming_chunk_size=self.chunk):
            if self.base == "parquet":
                return self._parquet(df, op, kwargs)
            out = getattr(df.lazy().mlq, op)(**kwargs)
            if op in NEW_COLUMN:
                assert isinstance(out, pl.LazyFrame)
            if not isinstance(out, pl.LazyFrame):
                return out
            return out.collect(engine="streaming" if self.base == "lazy-streaming" else "in-memory")

    def _parquet(self, df: pl.DataFrame, op: str, kwargs: dict[str, Any]) -> Any:
        with tempfile.TemporaryDirectory(prefix="mlq-path-") as folder:
            source, target = Path(folder) / "in.parquet", Path(folder) / "out.parquet"
            df.write_parquet(source, row_group_size=self.row_group)
            out = getattr(pl.scan_parquet(source).mlq, op)(**kwargs)
            if op in NEW_COLUMN:
                assert isinstance(out, pl.LazyFrame)
            if not isinstance(out, pl.LazyFrame):
                return out
            out.sink_parquet(target)
            return pl.read_parquet(target)

    def _expression(self, df: pl.DataFrame, op: str, kwargs: dict[str, Any]) -> pl.DataFrame:
        name = kwargs.pop("name", None)
        if op == "label_quality_per_class" and "num_classes" not in kwargs and "thresholds" not in kwargs:
            k = num_classes_of(df, kwargs.get("pred_probs", "pred_probs"))
            if k is not None:
                kwargs["num_classes"] = k
        expr = EXPRESSIONS[op](**kwargs)
        if name is not None:
            expr = expr.alias(name)
        if self.base == "expr":
            return df.with_columns(expr)
        with pl.Config(streaming_chunk_size=self.chunk):
            return df.lazy().with_columns(expr).collect(engine="streaming")

    def _numpy(self, df: pl.DataFrame, op: str, kwargs: dict[str, Any]) -> pl.DataFrame:
        name = kwargs.pop("name", NEW_COLUMN[op])
        labels_arg, probs_arg = kwargs.pop("labels", "labels"), kwargs.pop("pred_probs", "pred_probs")
        labels = (df[labels_arg] if isinstance(labels_arg, str) else df.select(labels_arg).to_series()).to_list()
        if isinstance(probs_arg, (list, tuple)):
            probs = df.select(probs_arg).to_numpy()
        else:
            column = df[probs_arg] if isinstance(probs_arg, str) else df.select(probs_arg).to_series()
            if isinstance(column.dtype, pl.List):
                column = column.list.to_array(num_classes_of(df, probs_arg) or 0)
            probs = column.to_numpy()
        return df.with_columns(pl.Series(name, NUMPY_FUNCTIONS[op](labels, probs, **kwargs)))


# ============================================================================================
# the command line
# ============================================================================================


def console_script() -> str:
    """The ``polars-mlq`` script installed beside this interpreter (or else on PATH)."""
    bin_dir = Path(sys.executable).parent
    for name in ("polars-mlq", "polars-mlq.exe"):
        if (bin_dir / name).exists():
            return str(bin_dir / name)
    found = shutil.which("polars-mlq")
    if found is None:
        pytest.fail("the polars-mlq console script is not installed; run: pip install -e '.[test]'")
    return found


def run_script(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``polars-mlq ARGS`` in a subprocess, as a user runs it."""
    command = [console_script(), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def run_cli_main(argv: list[str]) -> tuple[int, str]:
    """``polars-mlq ARGV`` in-process: the exit code and what it wrote to stderr."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse refuses its own options this way
            code = int(exc.code or 0)
    return code, err.getvalue()


def as_json_text(column: pl.Series) -> pl.Series:
    """A List/Array column as the JSON text a CSV file holds: [0, 2] -> "[0,2]"."""
    return pl.Series(column.name, [None if v is None else json.dumps(list(v)) for v in column.to_list()])


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("polars-mlq: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def leftovers(directory: Path) -> list[str]:
    """Temporary files an interrupted or failed write would leave behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def run_on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run the script with stderr on a pseudo-terminal; return its exit code and what it drew there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([console_script(), *map(str, args)], stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the script exited and closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return process.wait(timeout=120), drawn.decode()


# ============================================================================================
# the bad-input catalogue (tests/reliability/test_bad_data.py and test_bad_options.py)
# ============================================================================================

NAMES = ["cat", "dog", "fox", "owl", "yak"]
#: The two columns of a bad input are called ``y`` and ``probs`` so that a message naming the
#: default column names ("labels", "pred_probs") by accident does not pass.
COLUMNS = {"labels": "y", "pred_probs": "probs"}
CLI_COLUMNS = ("--labels", "y", "--pred-probs", "probs")
OPS = ("score", "issues", "summary")
BAD_INPUT_PATHS = ("eager", "lazy-in-memory", "lazy-streaming", "numpy", "cli")
ANY_ROW = "any"
NAMESPACE_METHOD = {"score": "label_quality", "issues": "find_label_issues", "summary": "health_summary"}
NUMPY_FUNCTION = {
    "score": mlq.get_label_quality_scores,
    "issues": mlq.find_label_issues,
    "summary": mlq.multilabel_health_summary,
}


def user_frame(
    labels: list[Any],
    probs: list[Any],
    *,
    labels_dtype: pl.DataType | None = pl.List(pl.Int64),
    probs_dtype: pl.DataType | None = pl.List(pl.Float64),
) -> pl.DataFrame:
    """The two inputs between two other columns, as a user's frame would have them."""
    return pl.DataFrame(
        [
            pl.Series("id", range(len(labels)), dtype=pl.Int64),
            pl.Series("y", labels, dtype=labels_dtype, strict=False),
            pl.Series("probs", probs, dtype=probs_dtype, strict=False),
            pl.Series("note", [f"row {i}" for i in range(len(labels))]),
        ]
    )


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, row_group_size=ROW_GROUP)  # six streamed batches of clean_data


@dataclass(frozen=True)
class Case:
    """One bad input and what every path must say about it."""

    name: str
    error: type[BaseException]
    words: str  # regex: what to fix, after "column '...', row N: " when those are given
    column: str | None = None  # the column the message names
    row: int | str | None = None  # BAD_ROW, ANY_ROW (some row) or None (no row: a whole-column problem)
    data: Callable[[], pl.DataFrame] = lambda: user_frame(*clean_data())
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments beyond the two columns
    ops: tuple[str, ...] = OPS
    numpy: bool = True  # expressible through the numpy API
    cli: tuple[str, ...] | None = ()  # extra command-line arguments; None: not expressible there
    cli_code: int = 1
    cli_words: str | None = None  # when the command line says it in its own words
    file: Callable[[pl.DataFrame, Path], None] | None = None  # the input is this broken file


def applies(case: Case, op: str, path: str) -> bool:
    if op not in case.ops:
        return False
    if path == "numpy":
        return case.numpy
    if path == "cli":
        return case.cli is not None
    return True


def catalogue_params(catalogue: dict[str, Case]) -> list[Any]:
    """(name, op, path) for every path and op a case applies to."""
    return [
        pytest.param(name, op, path, id=f"{name}-{op}-{path}")
        for name, case in catalogue.items()
        for op in OPS
        for path in BAD_INPUT_PATHS
        if applies(case, op, path)
    ]


def check_the_catalogue_is_broad(
    catalogue: dict[str, Case], params: list[Any], at_least: int, ops: tuple[str, ...] = OPS
) -> None:
    """At least ``at_least`` distinct bad inputs, each through at least two paths, covering every
    path and the ``ops``."""
    assert len(catalogue) >= at_least
    runs: dict[str, set[str]] = {}
    for name, op, path in (p.values for p in params):
        runs.setdefault(name, set()).add(path)
    assert all(len(paths) >= 2 for paths in runs.values()), runs
    assert {p.values[2] for p in params} == set(BAD_INPUT_PATHS)
    assert {p.values[1] for p in params} == set(ops)


def library_kwargs(case: Case) -> dict[str, Any]:
    return {**COLUMNS, **case.kwargs}


def run_namespace(target: pl.DataFrame | pl.LazyFrame, op: str, engine: str | None, kwargs: dict[str, Any]) -> Any:
    result = getattr(target.mlq, NAMESPACE_METHOD[op])(**kwargs)
    if isinstance(result, pl.LazyFrame):
        return result.collect(engine=engine or "auto")
    return result


def input_file(case: Case, tmp_path: Path) -> Path:
    path = tmp_path / "in.parquet"
    if case.file is not None:
        case.file(case.data(), path)
    else:
        write_parquet(case.data(), path)
    return path


def run_library(case: Case, op: str, path: str, tmp_path: Path) -> None:
    kwargs = library_kwargs(case)
    if path == "lazy-streaming":
        run_namespace(pl.scan_parquet(input_file(case, tmp_path)), op, "streaming", kwargs)
        return
    df = pl.read_parquet(input_file(case, tmp_path)) if case.file is not None else case.data()
    if path == "eager":
        run_namespace(df, op, None, kwargs)
    elif path == "lazy-in-memory":
        run_namespace(df.lazy(), op, "in-memory", kwargs)
    else:
        assert path == "numpy"
        labels, pred_probs = df[kwargs.pop("labels")], df[kwargs.pop("pred_probs")]
        NUMPY_FUNCTION[op](labels, pred_probs, **kwargs)


def cli_argv(case: Case, op: str, source: Path, out: Path) -> list[str]:
    assert case.cli is not None
    command = [op, str(source)] + (["-o", str(out)] if op != "summary" else [])
    columns = CLI_COLUMNS[:2] if "--pred-probs-prefix" in case.cli else CLI_COLUMNS
    return [*command, *columns, *case.cli]


def exact_row(path: str) -> bool:
    """Whether the message names the row's number in the user's frame or file: on every path
    (eagerly; on a LazyFrame and on the command line the ``.mlq`` methods number the rows)."""
    return path in ("eager", "numpy", "lazy-in-memory", "lazy-streaming", "cli")


def expected_message(case: Case, op: str, path: str, *, cli_line: bool = False) -> str:
    if cli_line and case.cli_words is not None:
        return case.cli_words
    where = ""
    if case.column is not None:
        where = rf"column '{case.column}'"
        if case.row is not None:
            if case.row == ANY_ROW or not exact_row(path):
                where += r", row \d+\b.*"
            else:
                where += rf", row {case.row}\b(?! of a streamed batch).*"
        else:
            where += r".*"
    return where + case.words


def check_bad_input(case: Case, op: str, path: str, tmp_path: Path) -> None:
    """The exception type and the words that tell the user what to fix; on the command line exit
    code 1 and one line ``polars-mlq: error: ...`` (2 and argparse's usage message for an option
    argparse itself refuses), and no output file left behind."""
    name = case.name
    if path != "cli":
        with pytest.raises(case.error) as info:
            run_library(case, op, path, tmp_path)
        pattern = expected_message(case, op, path)
        assert re.search(pattern, str(info.value)), (
            f"{name} through {path}/{op}: the message\n  {info.value}\ndoes not match\n  {pattern}"
        )
        return
    source = input_file(case, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.parquet"
    code, stderr = run_cli_main(cli_argv(case, op, source, out))
    lines = stderr.splitlines()
    assert code == case.cli_code, (code, stderr)
    if case.cli_code == 1:
        assert len(lines) == 1 and lines[0].startswith("polars-mlq: error: "), stderr
    else:  # argparse: the usage, then one line naming the option
        assert lines and lines[0].startswith("usage: polars-mlq"), stderr
    pattern = expected_message(case, op, "cli", cli_line=True)
    assert re.search(pattern, lines[-1]), (
        f"{name} through the command line ({op}): the message\n  {lines[-1]}\ndoes not match\n  {pattern}"
    )
    assert "Traceback" not in stderr
    remaining = sorted(p.name for p in out_dir.iterdir())
    assert remaining == [], "a failed command leaves no output (nor a .part file) behind"


def check_console_script_says_the_same(case: Case, tmp_path: Path) -> None:
    """The installed script, in a subprocess, says exactly what cli.main says in-process."""
    op = case.ops[0]
    source = input_file(case, tmp_path)
    out = tmp_path / "out.parquet"
    argv = cli_argv(case, op, source, out)
    code, stderr = run_cli_main(argv)
    result = subprocess.run([console_script(), *argv], capture_output=True, text=True, timeout=120, check=False)
    assert (result.returncode, result.stderr) == (code, stderr)
    assert result.stdout == ""
    assert not out.exists()


# --------------------------------------------------------------------------- sparse (top-k) data


def tagged_top_k(seed: int, n: int, k: int, listed: int, unlisted_every: int) -> pl.DataFrame:
    """Top-``listed`` predictions rounded to 2 decimals (ties), as the command line reads them.

    Columns id, tags (the listed classes above 1/2, and in every ``unlisted_every``-th row one
    random class, often unlisted), probs and classes.
    """
    rng = np.random.default_rng(seed)
    classes = np.sort(rng.integers(0, k - listed + 1, (n, listed)), axis=1) + np.arange(listed)
    probs = np.round(rng.beta(0.6, 0.6, (n, listed)), 2)
    tags = [
        sorted({int(c) for c in row[p > 0.5]} | ({int(rng.integers(k))} if i % unlisted_every == 0 else set()))
        for i, (row, p) in enumerate(zip(classes, probs, strict=True))
    ]
    return pl.DataFrame({"id": np.arange(n), "tags": tags, "probs": probs.tolist(), "classes": classes.tolist()})


def top_k_frame(
    seed: int, n: int, k: int, listed: int, *, fill: float, decimals: int | None = 2
) -> tuple[pl.DataFrame, np.ndarray, list[list[int]]]:
    """Top-``listed`` predictions, labels that mostly follow them, and the dense twin.

    With ``decimals`` the probabilities are rounded (many ties) and some labels are classes the
    row does not list (p = fill: ties again); without, there is no tie, so cleanlab's flags
    (which break ties by its sort) are the answer.
    """
    rng = np.random.default_rng(seed)
    classes = np.stack([rng.choice(k, listed, replace=False) for _ in range(n)])
    probs = rng.uniform(0.0, 1.0, (n, listed))
    if decimals is not None:
        probs = np.round(probs, decimals)
    labels = []
    for i in range(n):
        if rng.random() < 0.75:  # the model's confident classes, perhaps one missing or one extra
            row = set(classes[i][probs[i] > 0.5].tolist())
            if row and rng.random() < 0.3:
                row.discard(next(iter(row)))
            if rng.random() < 0.2:
                row.add(int(rng.integers(k)))  # often a class the row does not list (p = fill)
        else:
            row = set(rng.choice(k, int(rng.integers(0, 3)), replace=False).tolist())
        if decimals is None:
            row &= set(classes[i].tolist())
        labels.append(sorted(row))
    labels[0], labels[-1] = [int(classes[0][0])], []  # cleanlab wants both a 0 and a 1 in the label matrix
    dense = np.full((n, k), fill)
    dense[np.repeat(np.arange(n), listed), classes.reshape(-1)] = probs.reshape(-1)
    frame = pl.DataFrame(
        {"id": np.arange(n), "labels": labels, "probs": probs.tolist(), "classes": classes.tolist()},
        schema_overrides={"labels": pl.List(pl.Int64)},
    )
    return frame, dense, labels


def sparse_kwargs(k: int, fill: float) -> dict[str, Any]:
    return {"pred_probs": "probs", "pred_classes": "classes", "num_classes": k, "fill_value": fill}


def densified(labels: list[list[int]], dense: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"labels": labels, "pred_probs": dense}, schema_overrides={"labels": pl.List(pl.Int64)})


T = TypeVar("T")


class Elsewhere:
    """A source whose rows "live elsewhere": every step goes through ``map_chunks``, never ``__call__``."""

    def __init__(self, parts: list[Chunk]) -> None:
        self.parts = parts
        self.results: list[Any] = []

    def __call__(self) -> Iterator[Chunk]:
        raise AssertionError("the rows were asked for")

    def map_chunks(self, step: Callable[[Chunk], T]) -> list[T]:
        out = [step(chunk) for chunk in self.parts]
        self.results.extend(out)
        return out
