"""The NumPy issue finders and summaries on a sparse (CSR-like) ``pred_probs``.

The statistics core runs over one ``SparseChunk`` of the rows whose labels are not null (rows
with null labels are never flagged and are left out of every statistic, as for dense arrays).
"""

from __future__ import annotations

import numpy as np

from polars_mlq.compat.scores import sparse_batch
from polars_mlq.core import IssueOptions, engine, parse_issue_options
from polars_mlq.core.sparse_chunk import SparseChunk, check_fill, rank_scores
from polars_mlq.core.sparse_ranking import adjusted_ranking_scores
from polars_mlq.input import LabelSpec
from polars_mlq.input.sparse import SparseBatch
from polars_mlq.issues.frames import IssueCounts


def _chunk(labels: object, pred_probs: object, fill_value: object, spec: LabelSpec) -> tuple[SparseChunk, int]:
    """Return the chunk of the rows with labels (row numbers: their input rows), and N."""
    check_fill(fill_value, np.dtype(np.float64))
    batch, nulls = sparse_batch(labels, pred_probs, fill_value, spec)
    kept = np.flatnonzero(~nulls)
    if kept.size < nulls.size:  # keep the entries of the rows with labels
        listed = np.diff(batch.indptr)
        keep = np.repeat(~nulls, listed)
        indptr = np.zeros(kept.size + 1, dtype=np.int64)
        np.cumsum(listed[kept], out=indptr[1:])
        offsets = np.zeros(kept.size + 1, dtype=np.int64)
        np.cumsum(np.diff(batch.label_offsets)[kept], out=offsets[1:])  # null rows hold no label
        batch = SparseBatch(
            indptr, batch.classes[keep], batch.probs[keep], batch.fill, batch.num_classes, offsets, batch.label_values
        )
    return SparseChunk.of(batch, kept), int(nulls.size)


def find_sparse_issues(
    labels: object, pred_probs: object, fill_value: object, spec: LabelSpec, options: IssueOptions
) -> np.ndarray:
    """Return the (N,) flags of sparse pred_probs (rows with null labels: False), or the flagged rows ranked.

    Ranked (``options.rank_by``), the flagged rows come worst first by their EMA (alpha 0.8) of
    the ranking method's binary scores (adjusted with ``rank_by_kwargs={'adjust_pred_probs':
    True}``), as for dense rows, equal scores in row order.
    """
    chunk, n = _chunk(labels, pred_probs, fill_value, spec)
    options = options.for_classes(chunk.num_classes)
    found = engine.find(lambda: iter((chunk,)), chunk.num_classes, options, sparse=True)
    flags = np.zeros(n, dtype=bool)
    mask = found.rule.row_mask(chunk)
    flags[chunk.rows] = mask
    if options.rank_by is None:
        return flags
    if options.rank_adjust:
        scores = adjusted_ranking_scores(chunk.batch, np.flatnonzero(mask), options.rank_by, options.filter_by)
    else:
        scores = rank_scores(chunk.batch, method=options.rank_by)[mask]
    flagged: np.ndarray = chunk.rows[mask][np.argsort(scores, kind="stable")]
    return flagged.astype(np.int64)


def sparse_counts(
    labels: object, pred_probs: object, fill_value: object, spec: LabelSpec, confident_joint: np.ndarray | None
) -> tuple[IssueCounts, int]:
    """Return the counts behind the summaries (default filter) of sparse pred_probs, and K."""
    chunk, _ = _chunk(labels, pred_probs, fill_value, spec)
    options = parse_issue_options(chunk.num_classes, confident_joint=confident_joint).for_classes(chunk.num_classes)
    found = engine.find(lambda: iter((chunk,)), chunk.num_classes, options, summary=True, sparse=True)
    return IssueCounts.of_found(found), chunk.num_classes
