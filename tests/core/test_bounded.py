"""Bounded passes: the prune cutoffs and summary counts found without keeping the candidates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polars_mlq import core
from polars_mlq.core import bounded, engine
from polars_mlq.core.chunk import Chunk

from helpers import Elsewhere
from tests.core.test_many_candidates import K, PRUNE, _chunk, uniform_frame
from tests.core.test_partials import chunks, split_data

def _same_rules(a: core.IssueRule, b: core.IssueRule) -> None:
    assert len(a.cutoffs) == len(b.cutoffs)
    for x, y in zip(a.cutoffs, b.cutoffs, strict=True):
        assert x.by == y.by
        np.testing.assert_array_equal(x.values, y.values)
        np.testing.assert_array_equal(x.rows, y.rows)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=split_data(),
    filter_by=st.sampled_from(PRUNE),
    frac_noise=st.sampled_from([1.0, 0.5, 0.3]),
)
def test_bounded_passes_give_the_kept_candidates_answer(
    data: tuple[list[list[int]], np.ndarray, list[int], int], filter_by: str, frac_noise: float
) -> None:
    labels, probs, cuts, seed = data
    k = probs.shape[1]
    options = core.parse_issue_options(k, filter_by=filter_by, frac_noise=frac_noise)
    parts = chunks(labels, probs, cuts)
    np.random.default_rng(seed).shuffle(parts)
    kept = core.find(lambda: parts, k, options, summary=True)
    dropped = core.find(lambda: parts, k, options, summary=True, budget=-1)
    remote = core.find(Elsewhere(parts), k, options, summary=True)
    assert kept.counts is None
    for found in (dropped, remote):
        assert found.counts is not None
        _same_rules(kept.rule, found.rule)
        counts, rows = found.summary()
        np.testing.assert_array_equal(counts, kept.summary()[0])
        assert rows == kept.summary()[1]


@pytest.mark.parametrize("filter_by", PRUNE)
@pytest.mark.parametrize("options", [{}, {"frac_noise": 0.1}, {"num_to_remove_per_class": [5, 0, 40, 3, 200, 1]}])
def test_what_travels_is_bounded_by_the_flag_counts(filter_by: str, options: dict[str, Any]) -> None:
    """Uniform, tied data (half the unlabelled entries are candidates): each batch's partial holds at
    most sum(nums) pairs (how many entries the filter flags, per sort key), never a candidate
    list, and the flags are those of one batch. (With frac_noise=1 nearly every candidate of this
    data is flagged, so the bound only bites with fewer flags.)"""
    df = uniform_frame(5, 600, ties=True)
    whole = _chunk(df)
    parts = [_chunk(df.slice(lo, 150), first_row=lo) for lo in range(0, df.height, 150)]
    opts = core.parse_issue_options(K, filter_by=filter_by, **options)
    one = core.find(lambda: [whole], K, opts, summary=True)
    source = Elsewhere(parts)
    far = core.find(source, K, opts, summary=True)
    _same_rules(one.rule, far.rule)
    assert np.array_equal(far.summary()[0], one.summary()[0])
    assert far.summary()[1] == one.summary()[1]
    assert far.joint is not None
    nums = engine.flag_nums(far.joint, far.thresholds, opts)  # type: ignore[arg-type]
    bound = sum(int(n.sum()) for per_label in nums for n in per_label.values())
    candidates = sum(e.rows.size for part in parts for e in bounded.chunk_entries(part))
    for result in source.results:
        if isinstance(result, core.JointPartial):
            assert all(e.empty for e in result.entries)
        if isinstance(result, bounded.PrunePartial):
            assert result.size <= bound
    if options:
        assert bound < candidates // 4
        if isinstance(result, bounded.FlagCounts):
            assert result.counts.shape == (K, 2)


def test_a_stream_over_budget_drops_its_candidates() -> None:
    df = uniform_frame(9, 400, ties=False)
    parts = [_chunk(df.slice(lo, 100), first_row=lo) for lo in range(0, df.height, 100)]
    opts = core.IssueOptions(filter_by="both").for_classes(K)
    listed = sum(e.rows.size for part in parts[:2] for e in bounded.chunk_entries(part))
    under = core.find(lambda: parts, K, opts, summary=True, budget=10 * listed)
    over = core.find(lambda: parts, K, opts, summary=True, budget=listed // 2)
    assert under.joint is not None and not under.joint.dropped and under.counts is None
    assert over.joint is not None and over.joint.dropped and over.counts is not None
    assert all(e.empty for e in over.joint.entries)
    _same_rules(under.rule, over.rule)
    assert np.array_equal(under.summary()[0], over.summary()[0])


@pytest.mark.parametrize("filter_by", PRUNE)
def test_a_streamed_lazyframe_over_budget_gives_the_eager_flags(monkeypatch: pytest.MonkeyPatch, filter_by: str) -> None:
    import polars as pl

    import polars_mlq  # noqa: F401  (registers .mlq)

    df = uniform_frame(11, 400, ties=True)
    eager = df.mlq.find_label_issues_per_class(filter_by=filter_by)["is_label_issue_per_class"]
    summary = df.mlq.health_summary()
    monkeypatch.setattr(engine, "STREAM_BUDGET", 0)
    calls: list[int] = []
    real = bounded.prune_pass
    monkeypatch.setattr(engine, "prune_pass", lambda *a: calls.append(1) or real(*a))
    with pl.Config(streaming_chunk_size=64):
        lazy = df.lazy().mlq.find_label_issues_per_class(filter_by=filter_by).collect(engine="streaming")
        assert lazy["is_label_issue_per_class"].equals(eager)
        assert calls
        streamed = df.lazy().mlq.health_summary()
    assert streamed["overall_multilabel_health_score"] == summary["overall_multilabel_health_score"]
    for key in ("classes_by_multilabel_quality", "common_multilabel_issues"):
        assert streamed[key].equals(summary[key])
