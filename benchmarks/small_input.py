"""Where the time of a small call goes: (N, K) = (1e4, 10), default config, under the conditions
of ``bench.py`` (each timed call follows a cleanlab call and a ``gc.collect()``).

Times, interleaved, each after cleanlab + gc.collect():

* ``bare numpy``: the least numpy work we know of for the default score, on arrays
  already in hand: label positions, ``1 - p`` with the labelled entries scattered in, one row
  sort, one weighted row sum. One block, no checks. (The sort runs on the scores' bits as
  int64, which orders non-negative floats as they are ordered and is about 10% faster.)
* ``least call``: the same from the DataFrame to a DataFrame with the new column: both List
  columns read zero-copy through their Arrow buffers, no dtype, width, label or range check,
  no options. We know of no numpy and polars way to do less: its ratio is the ceiling for ours.
* ``our kernel``: ``row_scores`` on an already read ``Batch`` (row blocks, range check).
* ``reading``: ``read_batch`` on the two Series (dtype checks, Arrow buffers, label checks).
* ``whole call``: ``df.mlq.label_quality()``, as ``bench.py`` times it.

    python benchmarks/small_input.py [--pairs 40]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from _data import make_dataset  # benchmarks/ is the script's directory
from bench import cleanlab_scores, ours_scores, warm_up
from latency import bare_default_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--n", type=float, default=1e4)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    import polars as pl

    import polars_mlq  # noqa: F401
    from polars_mlq.scoring.aggregate import ema_alpha, ema_terms, ema_weights
    from polars_mlq.input.arrow import list_buffers
    from polars_mlq.input import read_batch
    from polars_mlq.input.options import parse_options
    from polars_mlq.scoring.kernel import row_scores

    n, k = int(args.n), args.k
    data = make_dataset(n, k, seed=0)
    labels, frame = data.labels_list(), data.frame()
    probs, offsets, values = data.pred_probs, data.label_offsets, data.label_values
    options = parse_options("self_confidence", False, None, per_class=False)
    alpha = ema_alpha(options.aggregator.alpha, k)
    terms = ema_terms(alpha, k)
    assert terms == k, "the bare version sums every sorted score"
    weights = ema_weights(alpha, terms)
    batch = read_batch(frame["labels"], frame["pred_probs"], num_classes=k)

    def default_score(probs: np.ndarray, offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
        return bare_default_score(probs, offsets, values, weights)

    def bare_numpy() -> np.ndarray:
        return default_score(probs, offsets, values)

    def least_call() -> pl.DataFrame:
        labels_ = list_buffers(frame.get_column("labels"))
        probs_ = list_buffers(frame.get_column("pred_probs"))
        assert labels_ is not None and probs_ is not None
        score = default_score(probs_.values.reshape(n, k), labels_.offsets, labels_.values)
        return frame.hstack([pl.Series("label_quality", score)])

    steps = {
        "bare numpy": bare_numpy,
        "least call": least_call,
        "our kernel": lambda: row_scores(batch, options),
        "reading": lambda: read_batch(frame["labels"], frame["pred_probs"], num_classes=k, defer_range_check=True),
        "whole call": lambda: ours_scores(frame, "default"),
    }
    expected = ours_scores(frame, "default")["label_quality"].to_numpy()
    assert np.allclose(bare_numpy(), expected, rtol=0, atol=1e-12), "bare numpy must compute the same score"
    least = least_call()["label_quality"].to_numpy()
    assert np.allclose(least, expected, rtol=0, atol=1e-12), "the least call must compute the same score"
    warm_up(data, labels, frame, "default")
    times: dict[str, list[float]] = {name: [] for name in steps}
    cleanlab: list[float] = []
    for _ in range(args.pairs):
        for name, step in steps.items():
            start = time.perf_counter()
            cleanlab_scores(labels, probs, "default")
            cleanlab.append(time.perf_counter() - start)
            gc.collect()
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(cleanlab)
    print(f"(N, K) = ({n:,}, {k}), default config, {args.pairs} rounds; each step timed after cleanlab + gc.collect()")
    print(f"{'step':<12} {'median':>10} {'cleanlab / step':>16}")
    print(f"{'cleanlab':<12} {base * 1e3:8.2f} ms {1.0:15.1f}x")
    for name, values_ in times.items():
        median = statistics.median(values_)
        print(f"{name:<12} {median * 1e3:8.2f} ms {base / median:15.1f}x")


if __name__ == "__main__":
    main()
