"""Row scores of sparse predictions: a few explicit entries a row, every other class a per-class constant.

A row of top-k predictions lists k classes with their probabilities; every other class has the
fill value. Its per-class scores are then the scores of its *explicit* entries (listed, or
labelled without being listed) and, for every other class c, a constant ``constants[c]`` that does
not depend on the row (the score of the fill value for an unlabelled class; per class when
``adjust_pred_probs`` makes it so). The aggregators are sums of weights over the row's sorted
scores, so each row's score follows from its explicit entries and O(K) sums over the sorted
constants computed once: the cost grows with the entries listed, not with K.

- ``rows``: the explicit entries, row by row (``ExplicitRows``), and their padded per-row layout;
- ``ema``: the exponential moving average;
- ``softmin``: the softmin.
"""

from polars_mlq.scoring.sparse.ema import sparse_ema
from polars_mlq.scoring.sparse.rows import ExplicitRows
from polars_mlq.scoring.sparse.softmin import sparse_softmin

__all__ = ["ExplicitRows", "sparse_ema", "sparse_softmin"]
