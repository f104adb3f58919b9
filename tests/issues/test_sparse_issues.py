"""find_label_issues and the summaries on sparse predictions: those of the densified rows, and cleanlab's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import polars_mlq  # noqa: F401 - the .mlq namespace
from polars_mlq import core
from polars_mlq.core import engine, parse_issue_options
from polars_mlq.core.problems import problems
from polars_mlq.core.scores import ema, plain_scores
from polars_mlq.core.sparse_chunk import rank_scores
from polars_mlq.input import LabelSpec, read_batch
from polars_mlq.input.sparse_columns import read_sparse_columns
from helpers import FILTERS, Elsewhere, cl_filter, densified, quiet, sparse_kwargs, top_k_frame

@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize(("seed", "fill"), [(0, 0.0), (1, 0.03), (2, 0.0)])
def test_flags_are_cleanlabs_on_the_densified_rows(filter_by: str, seed: int, fill: float) -> None:
    """Without ties cleanlab's flags; with ties (which cleanlab breaks by its sort) the dense path's."""
    tied, tied_dense, tied_labels = top_k_frame(seed, 300, 14, 4, fill=fill)
    dense_flags = densified(tied_labels, tied_dense).mlq.find_label_issues(filter_by=filter_by)["is_label_issue"]
    assert tied.mlq.find_label_issues(**sparse_kwargs(14, fill), filter_by=filter_by)["is_label_issue"].equals(
        dense_flags
    )
    frame, dense, labels = top_k_frame(seed, 300, 14, 4, fill=fill, decimals=None)
    expected = quiet(cl_filter.find_label_issues, labels, dense, filter_by=filter_by, n_jobs=1)
    assert 0 < expected.sum() < len(labels)  # a test that can fail
    got = frame.mlq.find_label_issues(**sparse_kwargs(14, fill), filter_by=filter_by)
    assert got.columns == [*frame.columns, "is_label_issue"]
    np.testing.assert_array_equal(got["is_label_issue"].to_numpy(), expected)
    lazy = frame.lazy().mlq.find_label_issues(**sparse_kwargs(14, fill), filter_by=filter_by, name="f").collect()
    np.testing.assert_array_equal(lazy["f"].to_numpy(), expected)


@pytest.mark.parametrize(
    "options",
    [
        {"frac_noise": 0.4},
        {"num_to_remove_per_class": [3] * 14},
        {"min_examples_per_class": 40, "filter_by": "prune_by_class"},
        {"filter_by": "both", "frac_noise": 0.7},
    ],
)
def test_prune_options_are_cleanlabs(options: dict[str, Any]) -> None:
    frame, dense, labels = top_k_frame(3, 300, 14, 5, fill=0.01, decimals=None)
    expected = quiet(cl_filter.find_label_issues, labels, dense, n_jobs=1, **options)
    got = frame.mlq.find_label_issues(**sparse_kwargs(14, 0.01), **options)["is_label_issue"].to_numpy()
    np.testing.assert_array_equal(got, expected)
    tied, tied_dense, tied_labels = top_k_frame(3, 300, 14, 5, fill=0.01)  # ties: the dense path's flags
    dense_flags = densified(tied_labels, tied_dense).mlq.find_label_issues(**options)["is_label_issue"]
    assert tied.mlq.find_label_issues(**sparse_kwargs(14, 0.01), **options)["is_label_issue"].equals(dense_flags)


def test_many_classes_take_one_sort_for_their_cutoffs_and_match_cleanlab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 256 classes with a cutoff to find: the cutoffs come from one lexicographic sort."""
    frame, dense, labels = top_k_frame(4, 1200, 300, 12, fill=0.0, decimals=None)
    calls: list[int] = []
    grouped = engine._grouped_cutoffs

    def spy(*args: Any) -> None:
        calls.append(int(np.count_nonzero(args[3][0])))
        grouped(*args)

    monkeypatch.setattr(engine, "_grouped_cutoffs", spy)
    expected = quiet(cl_filter.find_label_issues, labels, dense, filter_by="both", n_jobs=1)
    got = frame.mlq.find_label_issues(**sparse_kwargs(300, 0.0), filter_by="both")["is_label_issue"]
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert calls and max(calls) > 256
    dense_frame = densified(labels, dense)
    loop = dense_frame.mlq.find_label_issues(filter_by="both")["is_label_issue"].to_numpy()
    np.testing.assert_array_equal(loop, expected)


def test_grouped_cutoffs_equal_the_per_class_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, dense, labels = top_k_frame(5, 400, 12, 4, fill=0.0)
    dense_frame = densified(labels, dense)
    for filter_by in ("prune_by_noise_rate", "prune_by_class", "both"):
        looped = dense_frame.mlq.find_label_issues(filter_by=filter_by)["is_label_issue"]
        with monkeypatch.context() as patch:
            patch.setattr(engine, "_LOOP_CLASSES", 0)
            sorted_once = dense_frame.mlq.find_label_issues(filter_by=filter_by)["is_label_issue"]
            sparse = frame.mlq.find_label_issues(**sparse_kwargs(12, 0.0), filter_by=filter_by)["is_label_issue"]
        assert looped.sum() > 0
        assert sorted_once.equals(looped)
        assert sparse.equals(looped)


def test_streamed_batches_flag_the_rows_of_the_whole_frame(tmp_path: Path) -> None:
    """Ties at a cutoff go to the earliest rows across Parquet row groups, as on the DataFrame."""
    frame, _, _ = top_k_frame(6, 900, 10, 3, fill=0.0, decimals=1)
    path = tmp_path / "top_k.parquet"
    frame.write_parquet(path, row_group_size=64)
    for filter_by in ("prune_by_noise_rate", "low_self_confidence", "both"):
        eager = frame.mlq.find_label_issues(**sparse_kwargs(10, 0.0), filter_by=filter_by)
        lazy = pl.scan_parquet(path).mlq.find_label_issues(**sparse_kwargs(10, 0.0), filter_by=filter_by)
        assert_frame_equal(lazy.collect(engine="streaming"), eager)


def test_summaries_are_those_of_the_densified_frame() -> None:
    frame, dense, labels = top_k_frame(7, 400, 9, 3, fill=0.02)
    dense_frame = densified(labels, dense)
    kwargs = sparse_kwargs(9, 0.02)
    for view in (frame, frame.lazy()):
        assert view.mlq.health_score(**kwargs) == dense_frame.mlq.health_score()
        assert_frame_equal(view.mlq.common_issues(**kwargs), dense_frame.mlq.common_issues())
        assert_frame_equal(view.mlq.rank_classes(**kwargs), dense_frame.mlq.rank_classes())
        summary, expected = view.mlq.health_summary(**kwargs), dense_frame.mlq.health_summary()
        assert summary["overall_multilabel_health_score"] == expected["overall_multilabel_health_score"]
    assert 0 < dense_frame.mlq.health_score() < 1


def test_null_rows_get_null_flags_and_are_left_out() -> None:
    frame, dense, labels = top_k_frame(8, 200, 8, 3, fill=0.0)
    with_nulls = frame.with_columns(pl.when(pl.col("id") == 5).then(None).otherwise(pl.col("probs")).alias("probs"))
    got = with_nulls.mlq.find_label_issues(**sparse_kwargs(8, 0.0))["is_label_issue"]
    assert got.is_null().to_list() == [i == 5 for i in range(200)]
    keep = np.arange(200) != 5
    expected = quiet(cl_filter.find_label_issues, [labels[i] for i in np.flatnonzero(keep)], dense[keep], n_jobs=1)
    np.testing.assert_array_equal(got.drop_nulls().to_numpy(), expected)


def test_a_fill_value_above_one_half_is_refused() -> None:
    frame, _, _ = top_k_frame(9, 20, 5, 2, fill=0.0)
    with pytest.raises(ValueError, match=r"fill_value 0\.6 is above"):
        frame.mlq.find_label_issues(**sparse_kwargs(5, 0.6))
    with pytest.raises(ValueError, match=r"fill_value 0\.6 is above"):
        frame.lazy().mlq.health_score(**sparse_kwargs(5, 0.6))


def test_bad_input_names_the_column_and_row() -> None:
    frame, _, _ = top_k_frame(10, 20, 5, 2, fill=0.0)
    bad = frame.with_columns(
        pl.when(pl.col("id") == 4).then(pl.lit([0, 9])).otherwise(pl.col("classes")).alias("classes")
    )
    with pytest.raises(ValueError, match=r"column 'classes', row 4.*class 9 is outside"):
        bad.mlq.find_label_issues(**sparse_kwargs(5, 0.0))
    with pytest.raises(ValueError, match=r"column 'classes', row 4"):
        bad.lazy().mlq.find_label_issues(**sparse_kwargs(5, 0.0)).collect()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.tuples(
                    st.lists(st.integers(0, k - 1), max_size=k, unique=True),
                    st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.9]), min_size=k, max_size=k),
                    st.lists(st.integers(0, k - 1), max_size=3),
                ),
                min_size=1,
                max_size=12,
            ),
            st.sampled_from([0.0, 0.1, 0.25]),
        )
    )
)
def test_rank_scores_are_the_dense_ema_bit_for_bit(case: tuple[int, list[Any], float]) -> None:
    """The low_* filters' row scores: cleanlab's EMA in its order of operations, ties included."""
    k, rows, fill = case
    classes = [listed for listed, _, _ in rows]
    probs = [values[: len(listed)] for listed, values, _ in rows]
    labels = [sorted(set(lab)) for _, _, lab in rows]
    sparse = pl.DataFrame(
        {"labels": labels, "probs": probs, "classes": classes},
        schema={"labels": pl.List(pl.Int64), "probs": pl.List(pl.Float64), "classes": pl.List(pl.Int64)},
    )
    batch, _ = read_sparse_columns(
        sparse["labels"], sparse["probs"], sparse["classes"], num_classes=k, fill_value=fill, spec=LabelSpec()
    )
    dense = np.full((len(rows), k), fill)
    for i, (listed, values) in enumerate(zip(classes, probs, strict=True)):
        dense[i, listed] = values
    dense_batch = read_batch(pl.Series(labels, dtype=pl.List(pl.Int64)), pl.Series(list(dense)), num_classes=k)
    expected = ema(plain_scores(problems(dense_batch), "self_confidence"))
    np.testing.assert_array_equal(rank_scores(batch), expected)


def _flagged_classes(dense_flags: pl.Series) -> list[list[int] | None]:
    return [None if row is None else np.flatnonzero(row.to_numpy()).tolist() for row in dense_flags]


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize(("seed", "fill"), [(11, 0.0), (12, 0.02)])
def test_per_class_flags_list_the_densified_rows_flagged_classes(filter_by: str, seed: int, fill: float) -> None:
    frame, dense, labels = top_k_frame(seed, 300, 11, 4, fill=fill)
    expected = densified(labels, dense).mlq.find_label_issues_per_class(filter_by=filter_by)["is_label_issue_per_class"]
    classes = _flagged_classes(expected)
    assert any(classes)  # a test that can fail
    got = frame.mlq.find_label_issues_per_class(**sparse_kwargs(11, fill), filter_by=filter_by)
    assert got["is_label_issue_per_class"].dtype == pl.List(pl.Int64)
    assert got["is_label_issue_per_class"].to_list() == classes
    lazy = frame.lazy().mlq.find_label_issues_per_class(**sparse_kwargs(11, fill), filter_by=filter_by, name="c")
    assert lazy.collect()["c"].to_list() == classes


def test_per_class_flags_are_cleanlabs_without_ties_and_null_rows_stay_null(tmp_path: Path) -> None:
    frame, dense, labels = top_k_frame(13, 300, 11, 4, fill=0.0, decimals=None)
    expected = quiet(cl_filter.find_multilabel_issues_per_class, labels, dense, n_jobs=1)
    by_row = [np.flatnonzero(np.asarray(expected)[i]).tolist() for i in range(300)]
    got = frame.mlq.find_label_issues_per_class(**sparse_kwargs(11, 0.0))["is_label_issue_per_class"]
    assert got.to_list() == by_row
    with_nulls = frame.with_columns(pl.when(pl.col("id") == 2).then(None).otherwise(pl.col("labels")).alias("labels"))
    path = tmp_path / "nulls.parquet"
    with_nulls.write_parquet(path, row_group_size=40)
    streamed = pl.scan_parquet(path).mlq.find_label_issues_per_class(**sparse_kwargs(11, 0.0)).collect()
    assert streamed["is_label_issue_per_class"][2] is None
    assert streamed["is_label_issue_per_class"].null_count() == 1


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "both", "low_normalized_margin"])
def test_rows_that_live_elsewhere_get_bounded_partials_and_the_same_flags(filter_by: str) -> None:
    """A source with ``map_chunks`` (Ray's blocks): no candidate list comes back, and the rules agree."""
    from polars_mlq.core import bounded
    from polars_mlq.core.frames import SparseInput

    frame, _, _ = top_k_frame(14, 600, 12, 4, fill=0.0, decimals=1)
    given = SparseInput.of((pl.col("labels"), pl.col("probs"), pl.col("classes")), 12, 0.0, LabelSpec())
    parts = [given.read(frame.slice(lo, 150).select("labels", "probs", "classes"), lo)[0] for lo in range(0, 600, 150)]
    options = parse_issue_options(12, filter_by=filter_by)
    here = engine.find(lambda: iter(parts), 12, options, per_class=True, summary=True, sparse=True)
    source = Elsewhere(parts)  # type: ignore[arg-type]
    there = engine.find(source, 12, options, per_class=True, summary=True, sparse=True)
    for part in parts:
        np.testing.assert_array_equal(there.rule.row_mask(part), here.rule.row_mask(part))
        for a, b in zip(there.rule.sparse_class_flags(part), here.rule.sparse_class_flags(part), strict=True):
            np.testing.assert_array_equal(np.sort(a), np.sort(b))
    if filter_by not in ("low_normalized_margin",):
        assert there.summary()[1] == here.summary()[1]
        np.testing.assert_array_equal(there.summary()[0], here.summary()[0])
    candidates = sum(e.rows.size for part in parts for e in bounded.chunk_entries(part))
    for result in source.results:
        if isinstance(result, core.JointPartial):
            assert all(e.empty for e in result.entries)
        if isinstance(result, bounded.PrunePartial):
            assert result.size < candidates
