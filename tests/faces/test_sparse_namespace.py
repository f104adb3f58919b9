"""df.mlq.label_quality on sparse predictions (pred_probs and pred_classes list columns, num_classes, fill_value)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_mlq  # noqa: F401 - the .mlq namespace


def sparse_frame(seed: int, n: int, k: int, listed: int, *, fill: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A frame of top-``listed`` predictions (classes in no particular order) and its densified twin."""
    rng = np.random.default_rng(seed)
    classes = np.stack([rng.choice(k, listed, replace=False) for _ in range(n)])
    probs = rng.beta(0.5, 0.5, (n, listed))
    labels = [sorted(set(rng.choice(row, rng.integers(0, 3), replace=False).tolist()) | ({int(rng.integers(k))} if i % 5 == 0 else set())) for i, row in enumerate(classes)]
    dense = np.full((n, k), fill)
    dense[np.repeat(np.arange(n), listed), classes.reshape(-1)] = probs.reshape(-1)
    sparse = pl.DataFrame(
        {"id": np.arange(n), "labels": labels, "probs": probs.tolist(), "classes": classes.tolist()},
        schema_overrides={"labels": pl.List(pl.Int64)},
    )
    densified = pl.DataFrame({"labels": labels, "pred_probs": dense}, schema_overrides={"labels": pl.List(pl.Int64)})
    return sparse, densified


CONFIGS: list[dict[str, Any]] = [
    {},
    {"method": "normalized_margin", "aggregator_kwargs": {"method": "softmin", "temperature": 0.3}},
    {"method": "confidence_weighted_entropy", "aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None}},
    {"adjust_pred_probs": True},
    {"adjust_pred_probs": True, "aggregator_kwargs": {"method": "softmin"}},
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("fill", [0.0, 0.01])
def test_scores_equal_the_densified_frames(config: dict[str, Any], fill: float) -> None:
    sparse, dense = sparse_frame(1, 400, 50, 7, fill=fill)
    expected = dense.mlq.label_quality(**config)["label_quality"]
    kwargs = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": 50, "fill_value": fill, **config}
    eager = sparse.mlq.label_quality(**kwargs)
    assert eager.columns == [*sparse.columns, "label_quality"]
    np.testing.assert_allclose(eager["label_quality"].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    with pl.Config(streaming_chunk_size=64):
        lazy = sparse.lazy().mlq.label_quality(**kwargs, name="q").collect(engine="streaming")
    assert lazy["q"].equals(eager["label_quality"].alias("q"))  # batch by batch: the same numbers


def test_null_rows_score_null() -> None:
    sparse, dense = sparse_frame(2, 30, 10, 3, fill=0.0)
    sparse = sparse.with_columns(
        pl.when(pl.col("id") == 3).then(None).otherwise(pl.col("labels")).alias("labels"),
        pl.when(pl.col("id") == 7).then(None).otherwise(pl.col("probs")).alias("probs"),
    )
    got = sparse.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=10)["label_quality"]
    assert got.is_null().to_list() == [i in (3, 7) for i in range(30)]
    expected = dense.mlq.label_quality()["label_quality"]
    np.testing.assert_allclose(got.drop_nulls().to_numpy(), expected.gather([i for i in range(30) if i not in (3, 7)]).to_numpy(), atol=1e-12)


def _frame(classes: list[Any], probs: list[Any]) -> pl.LazyFrame:
    return pl.LazyFrame({"labels": [[0]] * len(classes), "probs": probs, "classes": classes})


@pytest.mark.parametrize(
    ("classes", "probs", "kwargs", "error", "match"),
    [
        ([[0, 1], [2]], [[0.5, 0.2], [0.3, 0.1]], {}, ValueError, r"column 'classes', row 1: 1 classes listed but 'probs' holds 2"),
        ([[0, 1], [2, 9]], [[0.5, 0.2], [0.3, 0.1]], {}, ValueError, r"column 'classes', row 1: class 9 is outside \[0, 3\]"),
        ([[0, 1], [2, 2]], [[0.5, 0.2], [0.3, 0.1]], {}, ValueError, "column 'classes', row 1: class 2 is listed twice"),
        ([[0, 1], [2, 3]], [[0.5, 0.2], [float("nan"), 0.1]], {}, ValueError, "column 'probs', row 1: value nan"),
        ([[0, 1], [2, 3]], [[0.5, 0.2], [0.3, 0.1]], {"fill_value": -0.5}, ValueError, r"fill_value must be in \[0, 1\]"),
        ([[0, 1], [2, 3]], [[0.5, 0.2], [0.3, 0.1]], {"num_classes": None}, ValueError, "need num_classes=K"),
        ([["a"], ["b"]], [[0.5], [0.3]], {}, TypeError, "column 'classes' holds class names: pass class_names="),
        ([[0.5], [1.5]], [[0.5], [0.3]], {}, TypeError, "column 'classes': sparse pred_probs need a List of class indices"),
        ([[0, 1], [2, 3]], [[0.5, 0.2], [0.3, None]], {}, ValueError, "column 'probs', row 1: pred_probs contains a null"),
    ],
)
def test_bad_sparse_columns_name_the_column_row_and_value(
    classes: list[Any], probs: list[Any], kwargs: dict[str, Any], error: type, match: str
) -> None:
    options = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": 4, **kwargs}
    with pytest.raises(error, match=match):
        _frame(classes, probs).collect().mlq.label_quality(**options)
    with pytest.raises(error, match=match):  # lazily: when the query runs, naming the frame's row
        _frame(classes, probs).mlq.label_quality(**options).collect()


def test_a_lazy_error_names_the_frames_row() -> None:
    sparse, _ = sparse_frame(4, 300, 20, 4, fill=0.0)
    broken = sparse.with_columns(
        pl.when(pl.col("id") == 250).then(pl.lit([1, 1, 2, 3])).otherwise(pl.col("classes")).alias("classes")
    )
    with pl.Config(streaming_chunk_size=64), pytest.raises(ValueError, match="column 'classes', row 250: class 1 is listed twice"):
        broken.lazy().mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=20).collect(engine="streaming")


@pytest.mark.parametrize("config", CONFIGS)
def test_the_bare_expression_equals_the_namespace(config: dict[str, Any]) -> None:
    sparse, _ = sparse_frame(5, 200, 30, 5, fill=0.0)
    expected = sparse.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=30, **config)
    expr = polars_mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=30, **config)
    got = sparse.with_columns(expr)  # adjusting without thresholds=: the column's own, seen whole
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy(), atol=1e-15)


def test_sparse_thresholds_equal_the_densified_frames_and_score_batch_by_batch() -> None:
    sparse, dense = sparse_frame(6, 300, 25, 4, fill=0.02)
    options = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": 25, "fill_value": 0.02}
    fitted = polars_mlq.confident_thresholds(sparse.lazy(), **options)
    assert fitted.equals(polars_mlq.confident_thresholds(dense))  # exact sums: bit for bit
    expr = polars_mlq.label_quality(**options, adjust_pred_probs=True, thresholds=fitted)
    with pl.Config(streaming_chunk_size=50):
        got = sparse.lazy().with_columns(expr).collect(engine="streaming")["label_quality"]
    expected = dense.mlq.label_quality(adjust_pred_probs=True)["label_quality"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="thresholds have 25 classes but num_classes is 30"):
        polars_mlq.label_quality(**{**options, "num_classes": 30}, adjust_pred_probs=True, thresholds=fitted)


@pytest.mark.parametrize(
    "config",
    [{}, {"method": "normalized_margin"}, {"method": "confidence_weighted_entropy"}, {"adjust_pred_probs": True}],
)
def test_per_class_scores_are_the_densified_entries_of_listed_and_labelled_classes(config: dict[str, Any]) -> None:
    k = 40
    sparse, dense = sparse_frame(7, 300, k, 5, fill=0.01)
    sparse = sparse.with_columns(pl.when(pl.col("id") == 4).then(None).otherwise(pl.col("labels")).alias("labels"))
    dense = dense.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("labels")).alias("labels"))
    expected = np.stack(dense.mlq.label_quality_per_class(**config)["label_quality_per_class"].to_numpy())
    options = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": k, "fill_value": 0.01, **config}
    eager = sparse.mlq.label_quality_per_class(**options)["label_quality_per_class"]
    with pl.Config(streaming_chunk_size=64):
        lazy = sparse.lazy().mlq.label_quality_per_class(**options).collect(engine="streaming")
    assert lazy["label_quality_per_class"].equals(eager)
    rows = eager.to_list()
    assert rows[4] is None  # a null labels row
    explicit = np.zeros(expected.shape, dtype=bool)
    for i, row in enumerate(rows):
        if i == 4:
            continue
        listed = sorted(set(sparse["classes"][i].to_list()) | set(sparse["labels"][i].to_list()))
        assert [e["class"] for e in row] == listed  # every listed or labelled class, ascending
        np.testing.assert_allclose([e["score"] for e in row], expected[i][listed], rtol=0, atol=1e-12)
        explicit[i, listed] = True
    explicit[4] = True
    for c in range(k):  # every other entry of a class scores one constant, whatever the row
        others = expected[~explicit[:, c], c]
        assert others.size and np.ptp(others) == 0


def test_pred_classes_as_class_names() -> None:
    """Names with class_names= (K from them), or an Enum whose categories are the classes."""
    sparse, dense = sparse_frame(8, 120, 12, 4, fill=0.0)
    names = [f"c{i:02d}" for i in range(12)]
    named = sparse.with_columns(
        pl.col("classes").list.eval(pl.element().map_elements(lambda i: names[i], return_dtype=pl.String)),
        pl.col("labels").list.eval(pl.element().map_elements(lambda i: names[i], return_dtype=pl.String)),
    )
    expected = dense.mlq.label_quality()["label_quality"].to_numpy()
    got = named.mlq.label_quality(pred_probs="probs", pred_classes="classes", class_names=names)
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)
    enum = named.with_columns(pl.col("classes").cast(pl.List(pl.Enum(names))))
    got = enum.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=12, class_names=names)
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="column 'classes', row 5: class 'zz' is not one of the 12 class_names"):
        named.with_columns(
            pl.when(pl.col("id") == 5).then(pl.lit(["zz", "c01", "c02", "c03"])).otherwise(pl.col("classes")).alias("classes")
        ).mlq.label_quality(pred_probs="probs", pred_classes="classes", class_names=names)
    with pytest.raises(ValueError, match="num_classes is 13 but class_names holds 12 names"):
        named.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=13, class_names=names)
    with pytest.raises(TypeError, match="holds class names: pass class_names="):
        named.with_columns(pl.Series("labels", [[0]] * 120, dtype=pl.List(pl.Int64))).mlq.label_quality(
            pred_probs="probs", pred_classes="classes", num_classes=12
        )
