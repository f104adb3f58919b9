"""Many candidates (a weak or uniform model): cutoffs read column by column, flags as on few candidates.

When more than one entry in eight disagrees with its label, a batch's unlabelled candidates are
not listed (``candidates.Unlisted``, ``joint.ColumnEntries``): a prune cutoff reads them from the
batch's columns, and they are listed only when merged with another batch's. These tests pin that
path to cleanlab, to the listed path (several batches), and to ties going to the earliest rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq import core
from polars_mlq.core import candidates as candidates_module
from polars_mlq.core.joint import ColumnEntries, Entries, JointPartial

K = 6
PRUNE = list(core.PRUNE_FILTERS)


def uniform_frame(seed: int, n: int, *, ties: bool) -> pl.DataFrame:
    """Uniform probabilities (half the unlabelled entries disagree); with ``ties``, rounded to two
    decimals and with every row repeated once, so that many keys tie at each cutoff."""
    rng = np.random.default_rng(seed)
    probs = rng.random((n, K))
    given = rng.random((n, K)) < 0.3
    if ties:
        probs = np.round(probs, 2)
        probs, given = np.repeat(probs, 2, axis=0), np.repeat(given, 2, axis=0)
    labels = [np.flatnonzero(row).tolist() for row in given]
    return pl.DataFrame(
        {"labels": labels, "pred_probs": probs},
        schema={"labels": pl.List(pl.Int64), "pred_probs": pl.Array(pl.Float64, K)},
    )


def _chunk(df: pl.DataFrame, first_row: int = 0) -> core.Chunk:
    return core.read_chunk(df, num_classes=K, first_row=first_row)


def test_the_path_is_taken() -> None:
    """Uniform data leaves its unlabelled candidates unlisted; listing them gives every candidate."""
    df = uniform_frame(0, 400, ties=False)
    chunk = _chunk(df)
    thr = core.thresholds_of(lambda: [chunk], K)
    part = JointPartial.of(chunk, thr)
    assert isinstance(part.entries[0], ColumnEntries)
    listed = part.entries[0].listed()
    pb = chunk.problems
    lower = part.entries[0].unlisted.lower
    expected = (pb.probs > lower) & ~pb.given
    assert listed.grouped
    assert np.array_equal(np.sort(listed.rows * K + listed.cls), np.flatnonzero(expected))
    assert np.array_equal(listed.p, pb.probs[listed.rows, listed.cls])
    assert np.array_equal(np.bincount(listed.cls, minlength=K), expected.sum(axis=0))


@pytest.mark.parametrize("filter_by", PRUNE)
@pytest.mark.parametrize("seed", range(3))
def test_flags_equal_cleanlab(filter_by: str, seed: int) -> None:
    cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
    df = uniform_frame(seed, 500, ties=False)
    labels, probs = df["labels"].to_list(), df["pred_probs"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = cl_filter.find_label_issues(labels, probs, filter_by=filter_by, n_jobs=1)
        per_class = np.asarray(cl_filter.find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, n_jobs=1))
    assert np.array_equal(df.mlq.find_label_issues(filter_by=filter_by)["is_label_issue"].to_numpy(), rows)
    ours = df.mlq.find_label_issues_per_class(filter_by=filter_by)["is_label_issue_per_class"].to_numpy()
    assert np.array_equal(ours, per_class)


@pytest.mark.parametrize("filter_by", PRUNE)
@pytest.mark.parametrize("options", [{}, {"frac_noise": 0.4}, {"num_to_remove_per_class": [5, 0, 40, 3, 200, 1]}])
def test_ties_go_to_the_earliest_rows_on_every_split(filter_by: str, options: dict[str, Any]) -> None:
    """One batch (columns), many small batches (listed and merged) and cleanlab's per-class counts agree."""
    cl_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
    df = uniform_frame(7, 300, ties=True)
    eager = df.mlq.find_label_issues_per_class(filter_by=filter_by, **options)["is_label_issue_per_class"]
    for size in (37, 1000):
        with pl.Config(streaming_chunk_size=size):
            lazy = df.lazy().mlq.find_label_issues_per_class(filter_by=filter_by, **options).collect(engine="streaming")
        assert lazy["is_label_issue_per_class"].equals(eager), size
    labels, probs = df["labels"].to_list(), df["pred_probs"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(
            cl_filter.find_multilabel_issues_per_class(labels, probs, filter_by=filter_by, n_jobs=1, **options)
        )
    ours = eager.to_numpy()
    assert np.array_equal(ours.sum(axis=0), theirs.sum(axis=0))  # which tied rows: the earliest
    assert ours.any() or (filter_by == "both" and "num_to_remove_per_class" in options)  # as cleanlab


def test_merging_lists_the_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two batches merge into listed entries; the cutoffs equal those of one batch read by column."""
    df = uniform_frame(3, 400, ties=True)
    whole = _chunk(df)
    halves = [_chunk(df.slice(0, 333)), _chunk(df.slice(333), first_row=333)]
    options = core.IssueOptions(filter_by="both").for_classes(K)
    one = core.find(lambda: [whole], K, options)
    two = core.find(lambda: halves, K, options)
    assert two.joint is not None and isinstance(two.joint.entries[0], Entries)
    assert one.joint is not None and isinstance(one.joint.entries[0], ColumnEntries)
    for a, b in zip(one.rule.cutoffs, two.rule.cutoffs, strict=True):
        assert np.array_equal(a.values, b.values) and np.array_equal(a.rows, b.rows)
    assert np.array_equal(one.rule.class_mask(whole), np.vstack([two.rule.class_mask(h) for h in halves]))
    summaries = [core.find(source, K, options, summary=True).summary() for source in (lambda: [whole], lambda: halves)]
    assert np.array_equal(summaries[0][0], summaries[1][0]) and summaries[0][1] == summaries[1][1] > 0
    # with few candidates (the threshold raised) the listed path gives the same rule
    monkeypatch.setattr(candidates_module, "_DENSE", 1)
    listed = core.find(lambda: [whole], K, options)
    assert listed.joint is not None and isinstance(listed.joint.entries[0], Entries)
    for a, b in zip(one.rule.cutoffs, listed.rule.cutoffs, strict=True):
        assert np.array_equal(a.values, b.values) and np.array_equal(a.rows, b.rows)


def test_unlisted_entries_travel_to_another_process_listed() -> None:
    """Pickled (as Ray sends a block's partial to the caller), the entries are listed: the batch stays."""
    import pickle

    chunk = _chunk(uniform_frame(2, 300, ties=False), first_row=1000)
    thr = core.thresholds_of(lambda: [chunk], K)
    part = JointPartial.of(chunk, thr)
    assert isinstance(part.entries[0], ColumnEntries)
    sent = pickle.loads(pickle.dumps(part))
    assert isinstance(sent.entries[0], Entries)
    listed = part.entries[0].listed()
    for name in ("rows", "cls", "p"):
        np.testing.assert_array_equal(getattr(sent.entries[0], name), getattr(listed, name))
    assert sent.entries[0].grouped == listed.grouped
    assert b"Problems" in pickle.dumps(part.entries[0].chunk)  # (the check can fail)
    assert b"Problems" not in pickle.dumps(part)  # the batch (its probabilities) is not sent
    np.testing.assert_array_equal(sent.joint, part.joint)
