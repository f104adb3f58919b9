"""Time polars_mlq's find_label_issues against cleanlab's (n_jobs=1), default filter_by.

Usage: python benchmarks/issues_speed.py [--rows 100000] [--classes 100] [--repeats 3]

Both get the same list-of-lists labels and (N, K) float64 pred_probs; runs are interleaved
(ours, cleanlab, ours, ...) so load on the machine affects both alike, and the medians are
compared. The flags are checked to be identical.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np


def make_data(rows: int, classes: int, seed: int = 0) -> tuple[list[list[int]], np.ndarray]:
    """Sparse multi-label data (about 2 labels per row) with 5% of rows given a wrong label set."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.005, 0.04, classes)
    truth = rng.random((rows, classes)) < rate
    logits = np.where(truth, rng.normal(2.0, 1.5, truth.shape), rng.normal(-3.0, 1.5, truth.shape))
    pred_probs = 1.0 / (1.0 + np.exp(-logits))
    labels = [np.flatnonzero(row).tolist() for row in truth]
    for i in rng.choice(rows, size=rows // 20, replace=False):
        labels[i] = sorted(set(labels[i]) ^ {int(rng.integers(classes))})
    return labels, pred_probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from cleanlab.multilabel_classification.filter import find_label_issues as cleanlab_find

    from polars_mlq.compat import find_label_issues as ours_find

    labels, pred_probs = make_data(args.rows, args.classes)
    print(f"N = {args.rows}, K = {args.classes}, {sum(map(len, labels)) / args.rows:.2f} labels per row")

    def ours() -> np.ndarray:
        return ours_find(labels, pred_probs)

    def theirs() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cleanlab_find(labels, pred_probs, n_jobs=1)

    ours()  # warm up imports and caches
    times: dict[str, list[float]] = {"polars_mlq": [], "cleanlab": []}
    results: dict[str, np.ndarray] = {}
    for repeat in range(args.repeats):
        for name, run in (("polars_mlq", ours), ("cleanlab", theirs)):
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
        print(
            f"repeat {repeat + 1}: polars_mlq {times['polars_mlq'][-1]:.3f} s, "
            f"cleanlab {times['cleanlab'][-1]:.3f} s"
        )
    same = np.array_equal(results["polars_mlq"], results["cleanlab"])
    ours_median = statistics.median(times["polars_mlq"])
    theirs_median = statistics.median(times["cleanlab"])
    print(f"flagged rows: {int(results['polars_mlq'].sum())} (identical to cleanlab: {same})")
    print(f"median polars_mlq {ours_median:.3f} s, cleanlab {theirs_median:.3f} s")
    print(f"speed-up: {theirs_median / ours_median:.1f}x")


if __name__ == "__main__":
    main()
