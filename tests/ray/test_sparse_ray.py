"""polars_mlq.ray on sparse (top-k) predictions: the namespace's sparse answers, block by block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import ray.data

import polars_mlq
import polars_mlq.ray as mlq_ray

pytestmark = pytest.mark.usefixtures("ray_cluster")

K = 300
SPARSE: dict[str, Any] = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": K, "fill_value": 0.01}


@pytest.fixture(scope="module")
def top_k() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    n, listed = 600, 8
    classes = np.stack([rng.choice(K, listed, replace=False) for _ in range(n)])
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "labels": [sorted({int(c) for c in rng.choice(row, 2)} | {int(rng.integers(K))}) for row in classes],
            "probs": rng.beta(0.5, 2.0, (n, listed)).tolist(),
            "classes": classes.tolist(),
        },
        schema_overrides={"labels": pl.List(pl.Int64)},
    )


def _blocks(frame: pl.DataFrame, blocks: int = 4) -> ray.data.Dataset:
    table = frame.to_arrow()
    step = -(-table.num_rows // blocks)
    return ray.data.from_arrow([table.slice(start, step) for start in range(0, table.num_rows, step)])


def _by_id(ds: ray.data.Dataset) -> pl.DataFrame:
    frame = pl.from_arrow(pa.concat_tables(ray.get(ds.to_arrow_refs())))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("id")


@pytest.mark.parametrize(
    "config", [{}, {"aggregator_kwargs": {"method": "softmin"}}, {"adjust_pred_probs": True, "method": "normalized_margin"}]
)
def test_sparse_label_quality_equals_the_namespace(top_k: pl.DataFrame, config: dict[str, Any]) -> None:
    expected = top_k.mlq.label_quality(**SPARSE, **config)["label_quality"]
    got = _by_id(mlq_ray.label_quality(_blocks(top_k), **SPARSE, **config))
    np.testing.assert_array_equal(got["label_quality"].to_numpy(), expected.to_numpy())  # whole-Dataset thresholds


def test_sparse_per_class_and_thresholds_equal_the_namespace(top_k: pl.DataFrame) -> None:
    expected = top_k.mlq.label_quality_per_class(**SPARSE)["label_quality_per_class"]
    got = _by_id(mlq_ray.label_quality_per_class(_blocks(top_k), **SPARSE))
    assert got["label_quality_per_class"].equals(expected)
    assert mlq_ray.confident_thresholds(_blocks(top_k, 5), **SPARSE).equals(polars_mlq.confident_thresholds(top_k, **SPARSE))


def test_a_bad_sparse_row_raises_the_namespaces_error(top_k: pl.DataFrame) -> None:
    broken = top_k.with_columns(
        pl.when(pl.col("id") == 400).then(pl.lit([5, 5, 1, 2, 3, 4, 6, 7])).otherwise(pl.col("classes")).alias("classes")
    )
    with pytest.raises(ValueError, match="column 'classes', row 400: class 5 is listed twice"):
        mlq_ray.confident_thresholds(_blocks(broken), **SPARSE)
    with pytest.raises(ValueError, match="class 5 is listed twice"):
        mlq_ray.label_quality(_blocks(broken), **SPARSE).take_all()


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "both", "confident_learning", "low_self_confidence"])
def test_sparse_issue_finders_equal_the_namespace(top_k: pl.DataFrame, filter_by: str) -> None:
    """Bounded passes in the workers (no candidate list reaches the caller), the namespace's flags, ties included."""
    rounded = top_k.with_columns(pl.col("probs").list.eval(pl.element().round(1)))  # ties at the cutoffs
    expected = rounded.mlq.find_label_issues(**SPARSE, filter_by=filter_by)["is_label_issue"]
    assert 0 < expected.sum() < rounded.height
    got = _by_id(mlq_ray.find_label_issues(_blocks(rounded, 5), **SPARSE, filter_by=filter_by))
    assert got["is_label_issue"].to_list() == expected.to_list()
    per_class = rounded.mlq.find_label_issues_per_class(**SPARSE, filter_by=filter_by)["is_label_issue_per_class"]
    got_per_class = _by_id(mlq_ray.find_label_issues_per_class(_blocks(rounded, 3), **SPARSE, filter_by=filter_by))
    assert got_per_class["is_label_issue_per_class"].to_list() == per_class.to_list()


def test_sparse_summaries_equal_the_namespace(top_k: pl.DataFrame) -> None:
    ds = _blocks(top_k, 4)
    assert mlq_ray.health_score(ds, **SPARSE) == top_k.mlq.health_score(**SPARSE)
    expected = top_k.mlq.health_summary(**SPARSE)
    summary = mlq_ray.health_summary(ds, **SPARSE)
    assert summary["overall_multilabel_health_score"] == expected["overall_multilabel_health_score"]
    assert summary["common_multilabel_issues"].equals(expected["common_multilabel_issues"])
    assert mlq_ray.rank_classes(ds, **SPARSE).equals(top_k.mlq.rank_classes(**SPARSE))


@pytest.mark.parametrize("call", ["confident_thresholds", "find_label_issues", "issue_counts", "label_quality"])
def test_a_bad_sparse_row_read_from_a_file_is_named_by_its_file_and_row(
    tmp_path: Path, top_k: pl.DataFrame, call: str
) -> None:
    """Read with Ray's ``include_paths`` and ``include_row_hash``: id 400 is row 100 of b.parquet,
    on every path (the passes made on the call, the lazy scoring when consumed)."""
    broken = top_k.with_columns(
        pl.when(pl.col("id") == 400).then(pl.lit([5, 5, 1, 2, 3, 4, 6, 7])).otherwise(pl.col("classes")).alias("classes")
    )
    broken.slice(0, 300).write_parquet(tmp_path / "a.parquet")
    broken.slice(300).write_parquet(tmp_path / "b.parquet")
    file = str(tmp_path / "b.parquet")
    with pytest.raises(ValueError) as expected:
        pl.read_parquet(file).mlq.label_quality(**SPARSE)
    assert "column 'classes', row 100: class 5 is listed twice" in str(expected.value)
    ds = ray.data.read_parquet(str(tmp_path), include_paths=True, include_row_hash=True)
    with pytest.raises(ValueError) as got:
        result = getattr(mlq_ray, call)(ds, **SPARSE)
        if isinstance(result, ray.data.Dataset):
            result.take_all()
    message = str(got.value)
    named = f"row 100 of file {file!r}"
    if call != "label_quality":  # a pass also names the row's place in the Dataset (files in order)
        named = rf"row 400 \({named}\)"
    assert re.search(re.escape(str(expected.value)).replace("row\\ 100", named), message), message


def test_a_bad_sparse_row_in_the_lazy_step_is_not_given_a_wrong_number(top_k: pl.DataFrame) -> None:
    """Without the file columns the lazy step cannot number a row in the Dataset: it says so."""
    broken = top_k.with_columns(
        pl.when(pl.col("id") == 400).then(pl.lit([5, 5, 1, 2, 3, 4, 6, 7])).otherwise(pl.col("classes")).alias("classes")
    )
    with pytest.raises(ValueError, match="class 5 is listed twice") as got:
        mlq_ray.label_quality(_blocks(broken), **SPARSE).take_all()
    assert "row 100 of a streamed batch of 150 rows" in str(got.value)
    assert "include_row_hash=True to name its file and row" in str(got.value)
