"""Per-call latency on small inputs: what a call costs over scoring the same NumPy arrays directly.

    python benchmarks/latency.py [--rounds 200] [--k 10]

For N = 1e2, 1e3 and 1e4 rows (K = 10, the ``base`` distribution, default config), interleaved
rounds time, each after ``gc.collect()``:

* ``bare numpy``: the least numpy work we know of for the default score on arrays already in hand
  (label positions, ``1 - p`` with the labelled entries scattered in, one row sort on the bits,
  one weighted row sum), as in ``small_input.py``: no checks, no options;
* ``numpy function``: ``polars_mlq.get_label_quality_scores(labels, pred_probs)`` on the same
  arrays (labels given as CSR ``offsets``/``values`` would need no Python list; cleanlab's
  signature takes a list of lists, which is what is timed);
* ``DataFrame call``: ``df.mlq.label_quality()`` on a DataFrame with List columns;
* ``cleanlab``: ``get_label_quality_scores`` on its ideal inputs.

The overhead of a call is its median minus the bare numpy median. Results go to
``benchmarks/results/latency.json`` (``--json``), which ``bench.py`` folds into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _data import make_dataset  # noqa: E402
from bench import cleanlab_scores, machine_info  # noqa: E402

SIZES = (100, 1_000, 10_000)
#: Issue 17: a (1e4, 10) call should cost at most about this much over scoring the arrays directly.
GOAL_OVERHEAD_S = 1e-3


def bare_default_score(probs: np.ndarray, offsets: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The least numpy work for the default score on arrays in hand (``small_input.py`` times it too)."""
    n, k = probs.shape
    positions = np.repeat(np.arange(0, n * k, k), np.diff(offsets))
    positions += values
    scores = np.subtract(1, probs)
    scores.reshape(-1)[positions] = probs.reshape(-1)[positions]
    scores.view(np.int64).sort(axis=1)  # scores >= 0: their bits sort as they do
    return np.einsum("ij,j->i", scores[:, : weights.size], weights)


def measure(n: int, k: int, rounds: int) -> dict:
    import polars_mlq
    from polars_mlq.input.options import parse_options
    from polars_mlq.scoring.aggregate import ema_alpha, ema_terms, ema_weights

    data = make_dataset(n, k)
    labels, frame = data.labels_list(), data.frame()
    probs, offsets, values = data.pred_probs, data.label_offsets, data.label_values
    options = parse_options("self_confidence", False, None, per_class=False)  # the default: alpha 0.8
    assert options.aggregator is not None
    alpha = ema_alpha(options.aggregator.alpha, k)
    weights = ema_weights(alpha, ema_terms(alpha, k))
    steps = {
        "bare numpy": lambda: bare_default_score(probs, offsets, values, weights),
        "numpy function": lambda: polars_mlq.get_label_quality_scores(labels, probs),
        "DataFrame call": lambda: frame.mlq.label_quality()["label_quality"],
        "cleanlab": lambda: cleanlab_scores(labels, probs, "default"),
    }
    expected = np.asarray(steps["cleanlab"]())
    for name, step in steps.items():  # warm up, and check every step computes the same scores
        got = step()
        got = got.to_numpy() if hasattr(got, "to_numpy") else np.asarray(got)
        assert np.allclose(got, expected, rtol=0, atol=1e-12), f"{name} differs from cleanlab"
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            gc.collect()
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {"n": n, "k": k, "rounds": rounds, "median_s": medians,
            "overhead_s": {name: medians[name] - medians["bare numpy"] for name in ("numpy function", "DataFrame call")}}


def render_latency(latency: dict) -> list[str]:
    """The docs/benchmarks.md section."""
    lines = [
        "## Small inputs: per-call latency (`benchmarks/latency.py`)",
        "",
        f"Command `{latency['command']}`, polars-mlq at {latency['machine'].get('polars_mlq', '?')}, "
        f"started {latency['started']}; K = {latency['cells'][0]['k']}, default config, medians of "
        f"{latency['cells'][0]['rounds']} interleaved rounds, each call after `gc.collect()`. *Over bare numpy* "
        "is what a call costs beyond the least numpy work on the same arrays (no checks, no options); "
        "issue 17's goal: at most about 1 ms at (1e4, 10).",
        "",
        "| N | bare numpy | numpy function | DataFrame call | DataFrame over bare numpy | cleanlab | cleanlab / DataFrame |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in latency["cells"]:
        m, o = c["median_s"], c["overhead_s"]
        lines.append(
            f"| {c['n']:,} | {m['bare numpy'] * 1e3:.3f} ms | {m['numpy function'] * 1e3:.3f} ms | "
            f"{m['DataFrame call'] * 1e3:.3f} ms | {o['DataFrame call'] * 1e3:.3f} ms | "
            f"{m['cleanlab'] * 1e3:.2f} ms | {m['cleanlab'] / m['DataFrame call']:.1f}× |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--json", type=Path, default=HERE / "results" / "latency.json")
    args = p.parse_args()
    results = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/latency.py", *sys.argv[1:]]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "cells": [measure(n, args.k, args.rounds) for n in SIZES],
    }
    args.json.write_text(json.dumps(results, indent=1))
    print("\n".join(render_latency(results)))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
