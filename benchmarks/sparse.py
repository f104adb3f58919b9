"""Extreme multi-label: sparse (top-k) predictions at a million classes, against the np.sort floor.

    python benchmarks/sparse.py                      # N = 1e6, K = 1e6, 20 listed, ~3 labels a row
    python benchmarks/sparse.py --rows 2e5 --repeat 1   # a quick check

Each row lists 20 classes (distinct, drawn uniformly from K) with probabilities and carries about
3 labels, 80% of them among its listed classes. Three distributions of the listed probabilities:
``confident`` (one class near 1, the rest near 0), ``weak`` (Beta(0.7, 0.7): spread over [0, 1])
and ``ties`` (``weak`` rounded to 2 decimals). Cases, each the median of ``--repeat`` runs after
``gc.collect()``:

* ``floor``: one ``np.sort`` of the listed values (a copy), the floor of issue 19;
* ``numpy``: ``polars_mlq.get_label_quality_scores(labels, csr)`` (labels a polars Series, pred_probs
  a CSR-like object of NumPy arrays);
* ``frame``: ``df.mlq.label_quality(pred_probs=, pred_classes=, num_classes=K)`` on a DataFrame of
  List columns (reading them is inside the timed call); ``frame softmin``, ``frame adjusted``
  (``adjust_pred_probs=True``: exact thresholds, then per-class constants); ``frame issues``
  (``df.mlq.find_label_issues``, default filter: one run);
* peak extra memory of the ``frame`` call (tracemalloc, which sees NumPy's allocations);
* ``--streaming`` (on by default): ``scan_parquet -> label_quality -> sink_parquet`` over files of
  N, 2N and 4N rows (``weak``), each in a fresh process, next to the same scan and sink without
  scoring: time and peak RSS (VmHWM), which must not grow with N (``--streaming-only``: just this).

Next to it, at K = 1,000 on the first ``--dense-rows`` rows (1e5 by default: the dense matrix of
1e6 rows would be 8 GB before cleanlab's own copies), the same rows' listed classes drawn from
1,000: the sparse path, the dense path (an Array column) and cleanlab on the dense matrix.

Results go to ``benchmarks/results/sparse.json`` (``--json``); docs/guide/extreme-multilabel.md
shows them.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from polars_mlq.input.sparse import CsrArrays

HERE = Path(__file__).resolve().parent
LISTED = 20
#: Issue 19's goals for the default label_quality at N = K = 1e6.
GOAL_FLOOR_RATIO = 10.0
GOAL_SECONDS = 5.0


Csr = CsrArrays  # the least a sparse matrix needs to be (no SciPy)


def make(n: int, k: int, kind: str, seed: int = 0) -> tuple[pl.Series, Csr, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    classes = np.sort(rng.integers(0, k - LISTED + 1, (n, LISTED)), axis=1) + np.arange(LISTED)  # distinct
    if kind == "confident":
        probs = rng.beta(0.3, 12.0, (n, LISTED))
        probs[np.arange(n), rng.integers(0, LISTED, n)] = rng.beta(12.0, 0.3, n)
    else:
        probs = rng.beta(0.7, 0.7, (n, LISTED))
        if kind == "ties":
            probs = np.round(probs, 2)
    counts = rng.integers(1, 6, n)
    rows = np.repeat(np.arange(n), counts)
    listed = classes[rows, rng.integers(0, LISTED, rows.size)]
    labels_flat = np.where(rng.random(rows.size) < 0.8, listed, rng.integers(0, k, rows.size))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    labels = pl.Series("labels", labels_flat).to_frame().with_columns(pl.Series("row", rows))
    labels_col = labels.group_by("row", maintain_order=True).agg(pl.col("labels"))["labels"]
    csr = Csr(np.arange(n + 1, dtype=np.int64) * LISTED, classes.reshape(-1), probs.reshape(-1), (n, k))
    frame = pl.DataFrame(
        {
            "labels": labels_col,
            "probs": pl.Series(probs.reshape(-1)).reshape((n, LISTED)).arr.to_list(),
            "classes": pl.Series(classes.reshape(-1)).reshape((n, LISTED)).arr.to_list(),
        }
    )
    return labels_col, csr, frame


def timed(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_extra(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def dense_comparison(kind: str, rows: int, repeat: int) -> dict[str, float]:
    import polars_mlq
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as cleanlab_scores

    k = 1_000
    labels, csr, frame = make(rows, k, kind, seed=1)
    dense = np.zeros((rows, k))
    dense[np.repeat(np.arange(rows), LISTED), csr.indices] = csr.data
    dense_frame = pl.DataFrame({"labels": labels, "pred_probs": dense})
    label_lists = labels.to_list()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cleanlab_scores(label_lists, dense)
        out = {
            "sparse_s": timed(lambda: frame.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=k), repeat),
            "dense_s": timed(lambda: dense_frame.mlq.label_quality(), repeat),
            "cleanlab_s": timed(lambda: cleanlab_scores(label_lists, dense), repeat),
        }
    got = frame.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=k)["label_quality"].to_numpy()
    out["max_abs_diff_vs_cleanlab"] = float(np.abs(got - expected).max())
    del polars_mlq
    return out


def _stream_child(path: str, out: str, k: int, score: bool) -> None:
    """In a fresh process: scan -> sparse label_quality (or nothing) -> sink; print the peak RSS (KiB) and the time.

    The peak is this process's VmHWM: ``ru_maxrss`` would report the parent's peak, which a child
    inherits across fork and exec.
    """
    import polars_mlq  # noqa: F401

    start = time.perf_counter()
    query = pl.scan_parquet(path)
    if score:
        query = query.mlq.label_quality(pred_probs="probs", pred_classes="classes", num_classes=k)
    query.sink_parquet(out)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    peak = int(status["VmHWM"].split()[0])
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_kib": peak}))


def streaming(rows: int, k: int, factors: tuple[int, ...] = (1, 2, 4)) -> list[dict[str, Any]]:
    """Peak RSS of a streamed scan -> label_quality -> sink over Parquet files of N, 2N and 4N rows."""
    import subprocess
    import tempfile

    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (factor * rows for factor in factors):
            _, _, frame = make(n, k, "weak", seed=2)
            path = str(Path(tmp) / f"top_k_{n}.parquet")
            frame.write_parquet(path, row_group_size=100_000)
            del frame
            gc.collect()
            cell: dict[str, Any] = {"rows": n, "file_bytes": Path(path).stat().st_size}
            for label, score in (("passthrough", False), ("scored", True)):
                code = (
                    f"import sys; sys.path.insert(0, {str(HERE)!r}); from sparse import _stream_child; "
                    f"_stream_child({path!r}, {path + '.out'!r}, {k}, {score})"
                )
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                cell[label] = json.loads(done.stdout.strip().splitlines()[-1])
            found.append(cell)
            print(
                f"streaming {n:,} rows: scored {cell['scored']['seconds']:.2f}s, peak RSS "
                f"{cell['scored']['peak_rss_kib'] / 2**10:,.0f} MiB (passthrough {cell['passthrough']['seconds']:.2f}s, "
                f"{cell['passthrough']['peak_rss_kib'] / 2**10:,.0f} MiB)"
            )
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    import polars_mlq

    n, k = int(args.rows), int(args.k)
    results: dict[str, Any] = {"rows": n, "k": k, "listed": LISTED, "repeat": args.repeat, "kinds": {}}
    for kind in args.kinds:
        labels, csr, frame = make(n, k, kind)
        sparse = {"pred_probs": "probs", "pred_classes": "classes", "num_classes": k}
        cell = {
            "floor_s": timed(lambda: np.sort(csr.data), args.repeat),
            "numpy_s": timed(lambda: polars_mlq.get_label_quality_scores(labels, csr), args.repeat),
            "frame_s": timed(lambda: frame.mlq.label_quality(**sparse), args.repeat),
            "frame_softmin_s": timed(
                lambda: frame.mlq.label_quality(**sparse, aggregator_kwargs={"method": "softmin"}), args.repeat
            ),
            "frame_adjusted_s": timed(lambda: frame.mlq.label_quality(**sparse, adjust_pred_probs=True), 1),
            "frame_issues_s": timed(lambda: frame.mlq.find_label_issues(**sparse), 1),
            "frame_peak_extra_bytes": peak_extra(lambda: frame.mlq.label_quality(**sparse)),
            "input_bytes": int(csr.data.nbytes + csr.indices.nbytes),
        }
        cell["dense_k1000"] = dense_comparison(kind, min(args.dense_rows, n), args.repeat)
        results["kinds"][kind] = cell
        print(
            f"{kind:10s} floor {cell['floor_s']:.2f}s  numpy {cell['numpy_s']:.2f}s  frame {cell['frame_s']:.2f}s "
            f"({cell['frame_s'] / cell['floor_s']:.1f}x floor)  softmin {cell['frame_softmin_s']:.2f}s  "
            f"adjusted {cell['frame_adjusted_s']:.2f}s  issues {cell['frame_issues_s']:.2f}s  peak +{cell['frame_peak_extra_bytes'] / 2**20:,.0f} MiB"
        )
        d = cell["dense_k1000"]
        print(
            f"{'':10s} K=1000 on {min(args.dense_rows, n):,} rows: sparse {d['sparse_s']:.3f}s  dense "
            f"{d['dense_s']:.3f}s  cleanlab {d['cleanlab_s']:.3f}s  (max |diff| {d['max_abs_diff_vs_cleanlab']:.1e})"
        )
        del labels, csr, frame
    return results


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.2f} s"


def render(results: dict[str, Any]) -> list[str]:
    """Return the markdown table of a run (for docs/guide/extreme-multilabel.md)."""
    n, k = results["rows"], results["k"]
    lines = [
        f"N = {n:,} rows, K = {k:,} classes, {results['listed']} listed a row, about 3 labels a row; "
        f"median of {results['repeat']} runs; polars-mlq at {results.get('polars_mlq', '?')}.",
        "",
        "| distribution | np.sort floor | NumPy (CSR) | DataFrame | × floor | softmin | adjust_pred_probs "
        "| find_label_issues | peak extra |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, c in results["kinds"].items():
        lines.append(
            f"| {kind} | {c['floor_s']:.2f} s | {c['numpy_s']:.2f} s | {c['frame_s']:.2f} s | "
            f"{c['frame_s'] / c['floor_s']:.1f}× | {c['frame_softmin_s']:.2f} s | {c['frame_adjusted_s']:.2f} s | "
            f"{_seconds(c.get('frame_issues_s'))} | {c['frame_peak_extra_bytes'] / 2**20:,.0f} MiB |"
        )
    if results.get("streaming"):
        lines += [
            "",
            "| streamed scan → sink, rows | passthrough | peak RSS | scored | peak RSS |",
            "|---:|---:|---:|---:|---:|",
        ]
        for c in results["streaming"]:
            p, q = c["passthrough"], c["scored"]
            lines.append(
                f"| {c['rows']:,} | {p['seconds']:.2f} s | {p['peak_rss_kib'] / 2**10:,.0f} MiB | "
                f"{q['seconds']:.2f} s | {q['peak_rss_kib'] / 2**10:,.0f} MiB |"
            )
    lines += ["", "| distribution, K = 1,000 | rows | sparse path | dense path | cleanlab | cleanlab ÷ sparse |", "|---|---:|---:|---:|---:|---:|"]
    for kind, c in results["kinds"].items():
        d = c["dense_k1000"]
        lines.append(
            f"| {kind} | {results['dense_rows']:,} | {d['sparse_s']:.3f} s | {d['dense_s']:.3f} s | "
            f"{d['cleanlab_s']:.3f} s | {d['cleanlab_s'] / d['sparse_s']:.1f}× |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=float, default=1e6)
    p.add_argument("--k", type=float, default=1e6)
    p.add_argument("--dense-rows", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--kinds", nargs="*", default=["confident", "weak", "ties"], choices=["confident", "weak", "ties"])
    p.add_argument("--json", type=Path, default=HERE / "results" / "sparse.json")
    p.add_argument("--streaming", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure a streamed scan -> score -> sink at N, 2N and 4N rows (peak RSS)")
    p.add_argument("--streaming-only", action="store_true", help="only the streaming measurement")
    args = p.parse_args(argv)
    import subprocess

    only = {"rows": int(args.rows), "k": int(args.k), "listed": LISTED, "repeat": args.repeat, "kinds": {}}
    results = only if args.streaming_only else run(args)
    if args.streaming or args.streaming_only:
        results["streaming"] = streaming(int(args.rows), int(args.k))
    results["dense_rows"] = min(args.dense_rows, int(args.rows))
    results["command"] = " ".join(["python benchmarks/sparse.py", *(argv if argv is not None else sys.argv[1:])])
    results["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE, check=False)
    results["polars_mlq"] = head.stdout.strip() or "?"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    print("\n".join(render(results)))
    if not results["kinds"]:
        return 0
    worst = max(c["frame_s"] / c["floor_s"] for c in results["kinds"].values())
    slowest = max(c["frame_s"] for c in results["kinds"].values())
    print(f"\ndefault label_quality: worst {worst:.1f}x the floor (goal <= {GOAL_FLOOR_RATIO:g}x), slowest {slowest:.2f} s (goal < {GOAL_SECONDS:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
