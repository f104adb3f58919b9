"""The arguments of the namespace methods and the expressions: inputs given as expressions (renamed or
computed), ``name=``, and the schema a LazyFrame announces before it is collected."""

from __future__ import annotations

import helpers
import numpy as np
import polars as pl
import pytest

import polars_mlq as mlq

pytestmark = pytest.mark.usefixtures("small_batches")

K = helpers.K


def test_inputs_given_as_expressions(scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    base = helpers.scoring_frame(labels, probs, kind="array", float_dtype=pl.Float32())
    df = base.rename({"labels": "y", "pred_probs": "p"})
    y = pl.col("y").alias("labels")
    p = pl.col("p").cast(pl.List(pl.Float64)).alias("probs")
    p64 = probs.astype(np.float32).astype(np.float64)
    expected = mlq.get_label_quality_scores(labels, p64, method="normalized_margin")
    expected_pc = mlq.get_label_quality_scores_per_class(labels, p64, method="normalized_margin")
    kw = {"method": "normalized_margin"}

    got = helpers.check_frame(df.mlq.label_quality(y, p, name="q", **kw), df, "q", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    got = helpers.check_frame(
        df.lazy().mlq.label_quality(y, p, name="q", **kw).collect(engine="streaming"), df, "q", pl.Float64()
    )
    np.testing.assert_array_equal(got, expected)
    got = helpers.check_frame(df.with_columns(mlq.label_quality(y, p, **kw)), df, "label_quality", pl.Float64())
    np.testing.assert_array_equal(got, expected)
    selected = df.lazy().select(mlq.label_quality(y, p, **kw)).collect(engine="streaming")
    assert selected.schema == pl.Schema({"label_quality": pl.Float64()})
    np.testing.assert_array_equal(selected["label_quality"].to_numpy(), expected)
    out = df.lazy().mlq.label_quality_per_class(y, p, name="pc", **kw).collect(engine="streaming")
    np.testing.assert_array_equal(helpers.check_frame(out, df, "pc", pl.Array(pl.Float64, K)), expected_pc)
    out = df.with_columns(mlq.label_quality_per_class(y, p, num_classes=K, **kw))
    np.testing.assert_array_equal(
        helpers.check_frame(out, df, "label_quality_per_class", pl.Array(pl.Float64, K)), expected_pc
    )


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
def test_name_argument(engine: str, scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs)
    expected = mlq.get_label_quality_scores(labels, probs)
    out = df.mlq.label_quality(name="score")
    assert "label_quality" not in out.columns
    np.testing.assert_array_equal(helpers.check_frame(out, df, "score", pl.Float64()), expected)
    out = df.lazy().mlq.label_quality(name="score").collect(engine=engine)
    np.testing.assert_array_equal(helpers.check_frame(out, df, "score", pl.Float64()), expected)
    lf = df.lazy().mlq.label_quality_per_class(name="per_class")
    assert lf.collect_schema()["per_class"] == pl.Array(pl.Float64, K)
    expected_pc = mlq.get_label_quality_scores_per_class(labels, probs)
    np.testing.assert_array_equal(
        helpers.check_frame(lf.collect(engine=engine), df, "per_class", pl.Array(pl.Float64, K)), expected_pc
    )
    out = df.mlq.label_quality_per_class(name="per_class")
    np.testing.assert_array_equal(helpers.check_frame(out, df, "per_class", pl.Array(pl.Float64, K)), expected_pc)


@pytest.mark.parametrize("kind", ["list", "array"])
def test_lazy_schema_matches_collected(kind: str, scoring_data: helpers.Data) -> None:
    labels, probs = scoring_data
    df = helpers.scoring_frame(labels, probs, kind=kind, float_dtype=pl.Float32())
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
