"""Speed and memory of ``df.mlq.label_quality`` against cleanlab's ``get_label_quality_scores``.

    pip install -e ".[bench]"
    python benchmarks/bench.py --quick        # smoke run, about a minute; writes nothing
    python benchmarks/bench.py                # the full grid; writes docs/benchmarks.md,
                                              # docs/img/benchmark.png, benchmarks/results/bench.json
    python benchmarks/bench.py --report       # re-render the docs from the saved JSON

Speed. For every (N, K) and config the same deterministic dataset (``_data.py``) is scored, in
pairs run one after the other (A B A B ...): cleanlab on its ideal inputs (a list of lists of int
and a float64 ndarray, both built beforehand), then ``df.mlq.label_quality(...)`` on a DataFrame
with List(Int64) labels and List(Float64) pred_probs (the frame is built beforehand; reading the
List columns into numpy is inside the timed call). Each pair also times the floor, one read pass
over the same float64 array (``np.sum``). The table reports medians, the median of the per-pair
ratios cleanlab/ours, and ours/floor. Every pair checks that the two score vectors agree within
1e-12. Ratios, not absolute seconds, are the result: the machine is shared and noisy.

Peak extra memory. Each measured call runs in a fresh subprocess that builds only its own inputs,
warms up on 1 000 rows, then reads VmRSS, resets the kernel's high-water mark (``echo 5 >
/proc/self/clear_refs``), makes the one call and reads VmHWM: extra = VmHWM - VmRSS before the
call. That counts every allocation (numpy, Python objects, and polars' own jemalloc heap, which
tracemalloc does not see). So that memory freed earlier is not silently reused, the child runs
with jemalloc's decay at 0 and glibc's mmap/trim thresholds fixed at 128 KiB (freed memory goes
back to the kernel at once). As a cross-check the child repeats the call under ``tracemalloc``,
which sees numpy buffers and Python objects only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _data import make_dataset  # noqa: E402

TOLERANCE = 1e-12

CONFIGS: dict[str, dict] = {
    "default": {},
    "normalized_margin": {"method": "normalized_margin"},
    "confidence_weighted_entropy": {"method": "confidence_weighted_entropy"},
    "adjust_pred_probs": {"adjust_pred_probs": True},
    "softmin": {"aggregator_kwargs": {"method": "softmin", "temperature": 0.1}},
}
FULL_SIZES = [(10_000, 10), (100_000, 100), (1_000_000, 20), (200_000, 1000)]
QUICK_SIZES = [(2_000, 10), (20_000, 50)]

# Targets from the issue.
TARGET_DEFAULT = 30.0  # default config at (1e5, 100)
TARGET_OTHER = 10.0  # every other cell
TARGET_FLOOR = 10.0  # ours / np.sum floor at (1e5, 100) default
HEADLINE = (100_000, 100)

MEMORY_ENV = {
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0",  # polars' jemalloc
    "MALLOC_MMAP_THRESHOLD_": "131072",  # glibc: big buffers are mmapped, returned on free
    "MALLOC_TRIM_THRESHOLD_": "131072",
}


# --------------------------------------------------------------------------- the two sides


def cleanlab_scores(labels: list[list[int]], pred_probs: np.ndarray, config: str) -> np.ndarray:
    from cleanlab.multilabel_classification import get_label_quality_scores

    return get_label_quality_scores(labels, pred_probs, **CONFIGS[config])


def ours_scores(frame, config: str):  # frame: pl.DataFrame -> pl.DataFrame
    import polars_mlq  # noqa: F401  (registers .mlq)

    return frame.mlq.label_quality(**CONFIGS[config])


def _timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


# --------------------------------------------------------------------------- speed


def time_cell(data, labels, frame, config: str, pairs: int) -> dict:
    """Interleaved pairs: cleanlab, ours, floor; per-pair ratio and an equality check."""
    probs = data.pred_probs
    t_cl, t_ours, t_floor, max_diff = [], [], [], 0.0
    for _ in range(pairs):
        a, expected = _timed(cleanlab_scores, labels, probs, config)
        b, out = _timed(ours_scores, frame, config)
        c, _ = _timed(np.sum, probs)
        got = out["label_quality"].to_numpy()
        diff = float(np.max(np.abs(got - expected))) if len(got) else 0.0
        if not diff <= TOLERANCE:  # also catches NaN
            msg = f"{config} at {probs.shape}: scores differ from cleanlab by {diff:.3g} > {TOLERANCE}"
            raise AssertionError(msg)
        max_diff = max(max_diff, diff)
        t_cl.append(a)
        t_ours.append(b)
        t_floor.append(c)
    ratios = [a / b for a, b in zip(t_cl, t_ours)]
    return {
        "pairs": pairs,
        "cleanlab_s": t_cl,
        "ours_s": t_ours,
        "floor_s": t_floor,
        "cleanlab_median_s": statistics.median(t_cl),
        "ours_median_s": statistics.median(t_ours),
        "floor_median_s": statistics.median(t_floor),
        "ratio_per_pair": ratios,
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "ours_over_floor": statistics.median(b / c for b, c in zip(t_ours, t_floor)),
        "max_abs_diff": max_diff,
    }


def warm_up(data, labels, frame, config: str) -> None:
    """First calls import modules and fault in code pages; keep that out of the timings."""
    m = min(1000, len(labels))
    cleanlab_scores(labels[:m], np.ascontiguousarray(data.pred_probs[:m]), config)
    ours_scores(frame.head(m), config)


# --------------------------------------------------------------------------- memory


def _proc_status() -> dict[str, int]:
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024  # kB -> bytes
    return values


def _trim() -> None:
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass


def memory_child(side: str, n: int, k: int, config: str, seed: int) -> dict:
    """Run in a fresh process: build one side's inputs, then measure one call."""
    data = make_dataset(n, k, seed=seed)
    if side == "cleanlab":
        labels, probs = data.labels_list(), data.pred_probs
        args = (labels, probs)
        fn = cleanlab_scores
        cleanlab_scores(labels[:1000], np.ascontiguousarray(probs[:1000]), config)
    else:
        frame = data.frame()
        del data  # the frame may share the numpy buffers: either way they are in the baseline
        args = (frame,)
        fn = ours_scores
        ours_scores(frame.head(1000), config)
    _trim()
    before = _proc_status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
        f.write("5")
    result = fn(*args, config)
    peak = _proc_status()["VmHWM"]
    del result
    _trim()

    import tracemalloc

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = fn(*args, config)
    traced_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {
        "rss_before": before,
        "rss_peak": peak,
        "rss_extra": peak - before,
        "tracemalloc_extra": traced_peak,
    }


def measure_memory(side: str, n: int, k: int, config: str, seed: int, timeout: float) -> dict:
    env = {**os.environ, **MEMORY_ENV}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", side,
           "--n", str(n), "--k", str(k), "--config", config, "--seed", str(seed)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        msg = f"memory child {cmd} failed:\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the run


def code_version() -> str:
    """Which polars_mlq was measured: its git commit (and whether polars_mlq/ had local changes).

    A snapshot made with ``git archive`` has no .git: a ``.git-rev`` file beside the package says.
    """
    import polars_mlq

    package = Path(polars_mlq.__file__).resolve().parent
    marker = package.parent / ".git-rev"
    if marker.exists():
        return f"{marker.read_text().strip()} (snapshot)"
    try:
        rev = subprocess.run(["git", "-C", str(package), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(package), "status", "--porcelain", "."],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{polars_mlq.__version__} (not a git checkout)"
    return f"{rev}{' + local changes' if dirty else ''}"


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            mem_gib = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    import cleanlab
    import polars as pl

    return {
        "polars_mlq": code_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "numpy": np.__version__,
        "cleanlab": cleanlab.__version__,
        "polars_threads": pl.thread_pool_size(),
    }


def pairs_for(n: int, k: int, quick: bool, pairs: int | None, big_pairs: int | None) -> int:
    if quick:
        return pairs or 2
    if n * k >= 5e7:  # cleanlab takes tens of seconds a call here
        return big_pairs or 3
    return pairs or 7


def run(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    if args.sizes:
        sizes = [tuple(int(float(v)) for v in s.split("x")) for s in args.sizes]
    configs = args.configs or list(CONFIGS)
    results = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/bench.py", *sys.argv[1:]]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "seed": args.seed,
        "quick": args.quick,
        "cells": [],
    }
    for n, k in sizes:
        t0 = time.perf_counter()
        data = make_dataset(n, k, seed=args.seed)
        labels = data.labels_list()
        frame = data.frame()
        print(f"== N={n:,} K={k}  (pred_probs {data.pred_probs.nbytes / 2**20:,.0f} MiB, "
              f"{len(data.label_values) / n:.2f} labels/row, {data.n_flipped} rows flipped; "
              f"built in {time.perf_counter() - t0:.1f}s)", flush=True)
        for config in configs:
            pairs = pairs_for(n, k, args.quick, args.pairs, args.big_pairs)
            warm_up(data, labels, frame, config)
            cell = {"n": n, "k": k, "config": config, "pred_probs_bytes": data.pred_probs.nbytes,
                    **time_cell(data, labels, frame, config, pairs)}
            line = (f"  {config:<28} cleanlab {cell['cleanlab_median_s']:8.3f}s  ours "
                    f"{cell['ours_median_s']:7.4f}s  floor {cell['floor_median_s']:7.4f}s  "
                    f"speed-up {cell['ratio_median']:6.1f}x [{cell['ratio_min']:.1f}-{cell['ratio_max']:.1f}]"
                    f"  ours/floor {cell['ours_over_floor']:5.1f}  diff {cell['max_abs_diff']:.1e}")
            print(line, flush=True)
            results["cells"].append(cell)
        del data, labels, frame
        gc.collect()
        if args.memory:
            memory_configs = configs if args.memory_all_configs else configs[:1]
            for config in memory_configs:
                cell = next(c for c in results["cells"] if (c["n"], c["k"], c["config"]) == (n, k, config))
                for side in ("cleanlab", "ours"):
                    cell[f"memory_{side}"] = measure_memory(side, n, k, config, args.seed, args.memory_timeout)
                mc, mo = cell["memory_cleanlab"], cell["memory_ours"]
                print(f"  memory {config:<21} cleanlab +{mc['rss_extra'] / 2**20:,.0f} MiB "
                      f"(tracemalloc {mc['tracemalloc_extra'] / 2**20:,.0f})  ours "
                      f"+{mo['rss_extra'] / 2**20:,.0f} MiB (tracemalloc {mo['tracemalloc_extra'] / 2**20:,.0f})"
                      f"  pred_probs {cell['pred_probs_bytes'] / 2**20:,.0f} MiB", flush=True)
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return results


# --------------------------------------------------------------------------- report


def _size(n: int, k: int) -> str:
    exp = int(np.log10(n))
    mantissa = n / 10**exp
    return f"({mantissa:g}e{exp}, {k})" if mantissa != 1 else f"(1e{exp}, {k})"


def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB" if b >= 2**20 else f"{b / 2**10:,.0f} KiB"


def target_for(cell: dict) -> float:
    if cell["config"] == "default" and (cell["n"], cell["k"]) == HEADLINE:
        return TARGET_DEFAULT
    return TARGET_OTHER


def verdicts(results: dict) -> list[tuple[str, bool, str]]:
    out = []
    cells = results["cells"]
    for cell in cells:
        target = target_for(cell)
        ok = cell["ratio_median"] >= target
        out.append((f"{cell['config']} at {_size(cell['n'], cell['k'])}: ≥ {target:g}× faster",
                    ok, f"{cell['ratio_median']:.1f}×"))
    head = next((c for c in cells if (c["n"], c["k"]) == HEADLINE and c["config"] == "default"), None)
    if head:
        out.append((f"within {TARGET_FLOOR:g}× of the np.sum floor at {_size(*HEADLINE)} default",
                    head["ours_over_floor"] <= TARGET_FLOOR, f"{head['ours_over_floor']:.1f}×"))
    for cell in cells:
        if "memory_ours" in cell:
            extra = cell["memory_ours"]["rss_extra"]
            out.append((f"eager peak extra memory ≤ pred_probs size, {cell['config']} at {_size(cell['n'], cell['k'])}",
                        extra <= cell["pred_probs_bytes"], f"{_mib(extra)} vs {_mib(cell['pred_probs_bytes'])}"))
    return out


def render_markdown(
    results: dict, streaming: dict | None, chart: str | None, spread: dict | None = None, latency: dict | None = None,
    stream_rate: dict | None = None, ray_scale: dict | None = None,
) -> str:
    m = results["machine"]
    cells = results["cells"]
    sizes = list(dict.fromkeys((c["n"], c["k"]) for c in cells))
    configs = list(dict.fromkeys(c["config"] for c in cells))
    lines = [
        "# Benchmarks: polars-mlq against cleanlab",
        "",
        "`df.mlq.label_quality(...)` on a polars DataFrame with List columns, against cleanlab "
        "2.9's `cleanlab.multilabel_classification.get_label_quality_scores` on its ideal inputs "
        "(a Python list of lists and a float64 ndarray). **Compare ratios, not seconds**: both sides "
        "ran on the same shared machine, interleaved pair by pair.",
        "",
    ]
    if chart:
        lines += [f"![speed-up over cleanlab]({chart})", ""]
    lines += [
        "## How it was measured",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, polars {m['polars']} ({m['polars_threads']} threads), numpy "
        f"{m['numpy']}, cleanlab {m['cleanlab']}; polars-mlq at {m.get('polars_mlq', '?')}. A virtual "
        "machine whose speed varies from minute to minute, so absolute times are noisy.",
        f"- Command: `{results['command']}` (started {results['started']}, finished "
        f"{results.get('finished', '?')}).",
        "- Data (`benchmarks/_data.py`, seeded): imbalanced Zipf-like class priors (~1.5 labels "
        "per row, some rows with none); pred_probs from a noisy model correlated with the true "
        "labels; in ~5% of rows one class is toggled (the label errors to find).",
        "- Each cell is a series of pairs run A B A B: cleanlab, then ours, then the floor "
        "(`np.sum` over the same float64 (N, K) array: one read pass). Inputs are built before "
        "the timed region; reading our List columns into numpy is inside it. `gc.collect()` "
        "runs before each timed call; one warm-up call on 1 000 rows precedes each cell.",
        "- Every pair checks the two score vectors agree within 1e-12 (the largest difference "
        "seen is in the table).",
        "- Speed-up = median of the per-pair ratios cleanlab / ours (range in brackets); "
        "ours/floor = median of the per-pair ratios ours / np.sum.",
    ]
    pair_counts = sorted({c["pairs"] for c in cells})
    if len(pair_counts) > 1:
        big = [(_size(c["n"], c["k"])) for c in cells if c["pairs"] == pair_counts[0]]
        lines.append(f"- Pairs per cell: {pair_counts[-1]}, reduced to {pair_counts[0]} for "
                     f"{', '.join(dict.fromkeys(big))} to keep the run under ~40 minutes.")
    else:
        lines.append(f"- Pairs per cell: {pair_counts[0]}.")
    lines += [
        "",
        "## Speed-up over cleanlab (median of per-pair ratios)",
        "",
        "| config | " + " | ".join(_size(n, k) for n, k in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    by = {(c["n"], c["k"], c["config"]): c for c in cells}
    for config in configs:
        row = [f"`{config}`"]
        for n, k in sizes:
            c = by.get((n, k, config))
            if c is None:
                row.append("–")
                continue
            mark = "" if c["ratio_median"] >= target_for(c) else " ✗"
            row.append(f"**{c['ratio_median']:.1f}×**{mark} <sub>[{c['ratio_min']:.1f}–{c['ratio_max']:.1f}]</sub>")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"✗: below the target ({TARGET_DEFAULT:g}× for default at {_size(*HEADLINE)}, "
              f"{TARGET_OTHER:g}× elsewhere).", "", "## Medians and the floor", "",
              "| N, K | config | cleanlab | ours | np.sum floor | ours / floor | max abs diff | pairs |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for c in cells:
        lines.append(
            f"| {_size(c['n'], c['k'])} | `{c['config']}` | {c['cleanlab_median_s']:.3f} s | "
            f"{c['ours_median_s'] * 1e3:.1f} ms | {c['floor_median_s'] * 1e3:.2f} ms | "
            f"{c['ours_over_floor']:.1f}× | {c['max_abs_diff']:.1e} | {c['pairs']} |")
    mem_cells = [c for c in cells if "memory_ours" in c]
    if mem_cells:
        lines += [
            "",
            "## Peak extra memory (eager)",
            "",
            "Each call in a fresh subprocess: extra = peak RSS during the call (VmHWM after "
            "resetting it through `/proc/self/clear_refs`) − RSS just before it, with the "
            "allocators set to return freed memory at once (jemalloc decay 0, glibc mmap/trim "
            "thresholds 128 KiB). The tracemalloc column counts numpy buffers and Python objects "
            "only (not polars' Rust heap): as a check of the method, a polars-side copy of the "
            "(1e5, 100) pred_probs (`list.eval(pl.element() * 2)`) shows +76 MiB in RSS and 0 in "
            "tracemalloc, and a numpy-side copy +76 MiB in both. What peaks on our side: the output "
            "(8 bytes a row), the label positions (8 bytes a label) and one block buffer per thread "
            "(up to 2^19 entries, 4 MiB, and at most an eighth of the batch), plus for "
            "adjust_pred_probs two per-class tiles of one block (and, on a batch under 2^18 "
            "entries, the threshold pass's own 256 KiB block, freed before scoring) and for "
            "confidence_weighted_entropy "
            "a few block-sized temporaries; no (N, K) array (docs/how-it-works.md).",
            "",
            "| N, K | config | pred_probs float64 | cleanlab (RSS) | cleanlab (tracemalloc) | ours (RSS) | ours (tracemalloc) | ours ≤ pred_probs |",
            "|---|---|---:|---:|---:|---:|---:|:-:|",
        ]
        for c in mem_cells:
            mc, mo = c["memory_cleanlab"], c["memory_ours"]
            ok = "yes" if mo["rss_extra"] <= c["pred_probs_bytes"] else "**no**"
            lines.append(
                f"| {_size(c['n'], c['k'])} | `{c['config']}` | {_mib(c['pred_probs_bytes'])} | "
                f"{_mib(mc['rss_extra'])} | {_mib(mc['tracemalloc_extra'])} | {_mib(mo['rss_extra'])} | "
                f"{_mib(mo['tracemalloc_extra'])} | {ok} |")
    if spread:
        from spread import render_spread  # spread.py imports this module

        lines += ["", *render_spread(spread)]
    if latency:
        from latency import render_latency  # latency.py imports this module

        lines += ["", *render_latency(latency)]
    if streaming:
        lines += ["", render_streaming(streaming)]
    if stream_rate:
        from stream_rate import render_stream_rate  # stream_rate.py imports this module

        lines += ["", *render_stream_rate(stream_rate)]
    if ray_scale:
        from ray_scale import render_ray_scale  # ray_scale.py imports this module

        lines += ["", *render_ray_scale(ray_scale)]
    lines += ["", "## Targets", "", "| target | met | measured |", "|---|:-:|---:|"]
    for name, ok, value in verdicts(results):
        lines.append(f"| {name} | {'yes' if ok else '**no**'} | {value} |")
    if streaming:
        for name, ok, value in streaming_verdicts(streaming):
            lines.append(f"| {name} | {'yes' if ok else '**no**'} | {value} |")
    if stream_rate:
        from stream_rate import stream_rate_verdicts

        for name, ok, value in stream_rate_verdicts(stream_rate):
            lines.append(f"| {name} | {'yes' if ok else '**no**'} | {value} |")
    if ray_scale:
        from ray_scale import ray_scale_verdicts

        for name, ok, value in ray_scale_verdicts(ray_scale):
            lines.append(f"| {name} | {'yes' if ok else '**no**'} | {value} |")
    lines += [
        "",
        "## Reading the misses",
        "",
        "- **Small inputs, (1e4, 10).** Fixed costs decide here. Every timed call follows "
        "cleanlab's and a `gc.collect()`, which leave caches and branch predictors cold: the same "
        "call repeated in a loop takes about half as long. `benchmarks/small_input.py` times the "
        "steps of one default call under these conditions. In its run on this machine (60 rounds, "
        "on e3a1c28) cleanlab took 10.9 ms; the least numpy can do on arrays already in hand "
        "(label positions, `1 - p` with the labels scattered in, one row sort, one weighted row "
        "sum) 1.17 ms (9.3×); our kernel on read arrays 0.92 ms; reading the two columns "
        "0.53 ms; and the whole call 1.84 ms (5.9×). Its *least call* goes from the DataFrame to "
        "a DataFrame with the new column with no check at all (both columns read zero-copy from "
        "their Arrow buffers, no dtype, width, label or range check, no options): 1.60 ms, "
        "6.9×. We know of no numpy and polars way to do less, so 10× at this size is out of "
        "reach under these conditions without compiled code, which this project leaves out "
        "(numpy and polars only); our checks and options cost the remaining 0.25 ms.",
        "- **Streaming no-growth, measured two ways.** The peak RSS of one query varies by about "
        "±10% from run to run (polars decodes several 100 MB row groups ahead, and how many are "
        "in flight at the peak depends on timing; the passthrough query alone ranged over 652–769 "
        "MiB here). The doubling check compares the medians of five runs at N and 2N (the "
        "earlier rule, the highest of three runs, missed by 0.4 points in the previous run while "
        "O(N) growth would be +100%); the within-run check compares the highest RSS sampled in "
        "the second half of each sink with the first half, which run-to-run noise cannot reach.",
        "- **confidence_weighted_entropy on saturated and float32 probabilities, and at K = 20.** "
        "A score from *p* takes three logarithms (about 0.9 ns each here) and a dozen elementwise "
        "passes per entry. Selections avoid them for all but a few entries of a row: the *q*-sorted "
        "shortcut (float64 rows whose entries all have *q* ≤ 1 − 2e-7); an *o*-sorted one "
        "(`scoring/cwe_rows.py`: each entry's other probability *o* decides its score exactly, so a "
        "row sorted by *o* is scored only at its two ends) for float32 rows and the float64 rows the "
        "shortcut leaves; and for the rows of a confident model (most entries within 2e-7 of 0 or "
        "1, where the score rises along *o* before it falls), *m* entries at the low end and 4 at "
        "the high end, the rest bounded by a margin of 2e-9 below the two boundary entries' scores "
        "(rows the margin cannot settle are scored in full, so the scores are the full path's bit "
        "for bit). At (1e5, 100) what is left is mostly numpy's row sort by *o* (about 0.5 ms of "
        "a block's 2 ms on one thread). None helps where every entry counts (K ≤ 22, as at (1e6, "
        "20)): there each entry costs the three logarithms, about 12 passes and numpy's row sort; "
        "since fa4f4ff a floor no entry of a block reaches is read off a minimum instead of taken "
        "(one thread: 298–302 → 283–286 ms at (1e6, 20), base). Since d7b897f the entropy of "
        "[1 − *p*, *p*] is taken densely from *p* and *c* = 1 − *p*, which are the pair {*q*, *o*} "
        "whether or not the class is labelled (the sum of the two terms commutes), so nothing is "
        "gathered or scattered for it at the labels, and the floors are decided from the minima "
        "of *p*, *c* and the labelled *p* (one thread, (1e6, 20): base 289–298 → 279 ms, "
        "many_labels 392 → 307 ms, saturated 331 → 298 ms; bit for bit as before). Since c65af16 "
        "float64 rows of 40 classes or more are sorted as floats, not on their bits: numpy 2.4's "
        "float64 row sort is 5–30% faster than its int64 one there on this machine (1.65 against "
        "2.25 ns an entry at K = 100, on uniform, tied, saturated and sorted rows alike; below 40 "
        "classes and for float32 the integer sort stays the faster). Paired with the code before, "
        "seven calls each, at (1e5, 100): default 30.6–34.3 → 28.6–30.0 ms, saturated "
        "confidence_weighted_entropy 99 → 92 ms; bit for bit. Since 5bb0202 a row block holds 2^19 "
        "entries instead of 2^18 (see two threads, below): confidence_weighted_entropy at (1e5, "
        "100) saturated 72 → 62 ms, float32 58 → 51 ms, at (1e6, 20) base 204 → 172 ms, medians "
        "of seven interleaved in one process. Since 6eabf1f the full path reads the range check "
        "off the minima of *p* and 1 − *p* it takes for its floors (no range pass of its own: "
        "(1e6, 20) base 184.6 → 171.3 ms, many_labels 206.5 → 193.2 ms), and since 03dc6fc the "
        "*q*-sorted blocks at K > 22 sort every row first and read a rising side off the last "
        "column instead of a row-maximum pass, and the shortcut's logarithms run on a contiguous "
        "copy ((1e5, 100): base 46.9 → 39.1 ms, weak 45.2 → 37.5, uniform 54.0 → 49.0; all bit "
        "for bit, interleaved medians). What is left at K = 20: each of the 20 million entries "
        "takes three logarithms (about 1 ns each here), three divisions (0.65 ns each, the "
        "divider's throughput) and about eight more passes, 15 ns on one thread with the row "
        "sort, and the two threads give 1.8× (below); the order of those operations is fixed, "
        "for the scores must stay bit for bit what they were.",
        "- **Two threads on this machine.** At 5bb0202 the scoring kernel ran 1.34× (default) and 1.48× "
        "(confidence_weighted_entropy) faster on two threads than on one at (1e6, 20), where "
        "numpy's own loops on large arrays give 1.4–1.8×; at 6eabf1f, in a quieter spell, 1.83× "
        "(117 → 64 ms) and 1.80× (298 → 166 ms), and 1.60–1.73× for confidence_weighted_entropy "
        "at (1e5, 100). Since dd5aa48 the threads take the next block as they free up instead of "
        "one fixed half of the rows each, so a thread slowed by the other process on its core "
        "takes fewer blocks instead of holding up the end: (1e6, 20) base, interleaved, "
        "confidence_weighted_entropy 208.5 → 188.7 ms, default 94.4 → 89.6 ms; with a busy-loop "
        "process running beside them 291.3 → 282.5 and 119.3 → 111.5 ms. Each numpy call releases the GIL and "
        "takes it back, and on this virtual machine a thread that finds it held sleeps until the "
        "other wakes it: calls on arrays of about 20,000 values ran slower on two threads than on "
        "one (0.7–1.0× the throughput). `py-spy --gil` on confidence_weighted_entropy at (1e6, 20) "
        "found the GIL held about 14% of the time, most of it by `np.repeat` building each block's "
        "label positions and by the range check's reductions. With the positions built "
        "beforehand (outside the timing), the default config's kernel took 67–70 ms instead of "
        "83–88 ms; they are built per block because a kept list costs 8 bytes a label of fresh "
        "memory (above) and building it once holds the GIL as long. "
        "Fewer, larger calls help: blocks of 2^19 entries (5bb0202) were 1–14% faster than 2^18 "
        "on every config and distribution measured but one (within 2%), at the price of larger "
        "per-thread buffers (extra memory of an eager call, (1e6, 20): 13.3–29.9 → 17.7–38.9 MiB).",
        "- **Labels.** Label-heavy data (many_labels: 8.6 labels a row of 20) paid for every label "
        "in serial passes before the threads started. Since 995c216 each block builds its own "
        "label positions on its thread, the adjustment takes the labels' classes instead of "
        "dividing positions by K (2.8 ns a label), and the thresholds' exact sums read a labelled "
        "*p* as 1 − fl(1 − *p*) + *e* from the int64 lanes they already keep (*e*, the rounding "
        "error of 1 − *p*, is 0 for *p* ≥ 1/2), so only the errors of *p* < 1/2 are gathered "
        "(thresholds at (1e6, 20), many_labels: 144 → 107 ms). Same machine, three pairs, "
        "eb5e3a0 → fa4f4ff at (1e6, 20) many_labels: default 28.4× → 46.9×, adjust_pred_probs "
        "18.7× → 21.4×, confidence_weighted_entropy 19.7× → 22.5× (and 19.7× / 19.3× in the full "
        "run above).",
        "- **Fresh pages cost time on this machine (`benchmarks/idle.py`).** It is a virtual "
        "machine with a balloon driver that hands memory idle for a few seconds back to its host; "
        "a page touched again then costs about 10 µs (4 KiB) instead of 0.25 µs (filling a fresh "
        "69 MB array: 13 ms back to back, 191 ms after 6 s of sleep). A call that follows "
        "cleanlab's long call, as every timed call here does, pays for each page above what it "
        "already holds, so a call's peak memory is time. `find_label_issues` at (1e6, 20) on "
        "many_labels measured 15.2× in the full run at c9c30de (23.0× in the run above): 0.95 s, against 0.58–0.65 s back "
        "to back. The label lists were the peak: positions kept twice (unsorted and sorted), a row "
        "array per labelled entry, numpy's `bincount` copying its input to 8 bytes a value first, "
        "and the confident joint's two (n, K) masks plus the multi-hot mask. Since 79bf876, f16f657 and "
        "d8746c1 a label's row is computed where needed, the unsorted positions are freed once "
        "sorted, class counts are taken 65,536 labels at a time, and the joint's masks are a row "
        "block's. `benchmarks/results/idle.json` (d8746c1) and `idle_57c0d3a.json` (the code "
        "before), run one after the other, medians of three after 6 s idle: find_label_issues "
        "many_labels 1370 → 801 ms, base 559 → 428 ms; adjust_pred_probs many_labels 538 → 354 "
        "ms; back to back find_label_issues many_labels 825 → 695 ms and the rest within noise "
        "(the default config, whose code did not change, 104 and 98 ms). Tried and dropped: per-block label positions in the "
        "thresholds' pass (no list of 8 bytes a label; 30–40 ms slower back to back at 2.5 labels "
        "a row), the candidates' mask by row blocks (no gain), the sorting bitmap reused as the "
        "multi-hot mask, and the split into rows and classes on both threads.",
        "- **The floor at (1e6, 20).** numpy's row sort of 20 values alone takes 94 ms on one "
        "thread of this machine where one `np.sum` takes 9.1 ms (10×; 43 against 6.4 ms, 6.8×, "
        "on the AMD machine of the previous runs); with both threads sorting, the default config "
        "measured 7.0–8.4× the floor on base, ties, weak, uniform and saturated in the run above "
        "(6.3–7.0× in a quieter spell at 00908bc), and 10.0× on many_labels and float32 (whose "
        "floor sums float32, half the bytes). The goal of 6× cannot be met with numpy's sort. At "
        "(1e5, 100) it is met on every distribution (at most 5.8×).",
        "- **This machine's spells.** Our times move by up to a third between spells of this "
        "machine, cleanlab's by about a tenth: on the same code (00908bc), a partial run at the "
        "start of this stop measured confidence_weighted_entropy at (1e6, 20) at 20.4–21.7× on "
        "base, weak, uniform and ties (164–170 ms) and 19.5× on saturated; the three full runs "
        "that followed, on faster code, 16.9–21.4× (6eabf1f), 14.0–16.9× (03dc6fc) and "
        "16.0–18.3× (the one above, dd5aa48) on those five (169–257 ms), while interleaved pairs "
        "of the old and new code put every change of this stop at 5–17% faster. (No steal time "
        "shows in /proc/stat; a busy process beside ours slowed it by 27–40%.) So single cells "
        "just under a goal (confidence_weighted_entropy and adjust_pred_probs at (1e6, 20), "
        "float32 and saturated confidence_weighted_entropy at (1e5, 100)) may land either side "
        "of it from run to run: compare the medians and the paired runs before reading a change "
        "into them. Against the run at 5bb0202: confidence_weighted_entropy's median at (1e5, "
        "100) 19.4× → 25.2× (worst 17.0× → 17.0×, float32), at (1e6, 20) worst 14.2× → 16.0×; "
        "adjust_pred_probs' worst 18.9× / 16.5× → 19.3× / 19.0×; the default config's floor at "
        "(1e5, 100) 6.6× → 5.8×.",
        "- **The floor, (1e5, 100).** One `np.sum` reads the (N, K) array once; the score reads it "
        "once too, but also sorts every row (numpy's vectorised sort, the largest part) and sums "
        "its smallest entries. Two threads overlap the sorts; the per-block bookkeeping still holds "
        "the GIL.",
        "",
        "## Reproduce",
        "",
        "```sh",
        'pip install -e ".[bench]"',
        "python benchmarks/bench.py --quick   # smoke run",
        "python benchmarks/bench.py           # full grid, rewrites this page and the chart",
        "python benchmarks/streaming.py --double --repeat 5  # streaming memory (~9 GB in /tmp, ~25 min)",
        "python benchmarks/spread.py          # every distribution at (1e5, 100) and (1e6, 20), ~25 min",
        "python benchmarks/latency.py         # per-call latency at 1e2, 1e3, 1e4 rows, ~1 min",
        "python benchmarks/idle.py            # back to back against after 6 s idle, (1e6, 20), ~4 min",
        "python benchmarks/stream_rate.py     # streaming rows/s against a passthrough, every distribution, ~15 min",
        "python benchmarks/ray_scale.py       # local Polars against Ray with 1 and 2 CPUs, 2e6 x 100, ~10 min",
        "python benchmarks/bench.py --report  # re-render this page from benchmarks/results/*.json",
        "```",
        "",
    ]
    return "\n".join(lines)


STREAM_LIMIT = 1.5 * 2**30


def _streaming_peaks(streaming: dict, case: str, rows: int) -> list[int]:
    return [r["max_rss_bytes"] for r in streaming["runs"] if r["case"] == case and r["rows"] == rows]


def _halves_growth(streaming: dict, case: str) -> list[float]:
    """Second-half peak / first-half peak of each run of ``case`` that sampled its RSS."""
    return [r["second_half_peak_bytes"] / r["first_half_peak_bytes"] for r in streaming["runs"]
            if r["case"] == case and "first_half_peak_bytes" in r]


def streaming_verdicts(streaming: dict) -> list[tuple[str, bool, str]]:
    """< 1.5 GiB at the base N (the highest run); no growth when N doubles (medians of the runs,
    within 10%, against +100% for O(N)); no growth within a run (the second half of the sink
    peaks within 10% of the first, in the median run)."""
    out = []
    base_n = min(r["rows"] for r in streaming["runs"])
    for case in ("default", "adjust_pred_probs"):
        at_n, at_2n = _streaming_peaks(streaming, case, base_n), _streaming_peaks(streaming, case, 2 * base_n)
        if at_n:
            out.append((f"streaming {case}, {base_n:,.0f} × {streaming['k']}, {streaming['threads']} threads: "
                        f"peak RSS < 1.5 GiB (highest of {len(at_n)} runs)",
                        max(at_n) < STREAM_LIMIT, f"{max(at_n) / 2**20:,.0f} MiB"))
        if at_n and at_2n:
            a, b = statistics.median(at_n), statistics.median(at_2n)
            out.append((f"streaming {case}: peak does not grow when N doubles (median of {len(at_n)} runs "
                        "within 10%)", b <= a * 1.10,
                        f"{a / 2**20:,.0f} → {b / 2**20:,.0f} MiB ({(b / a - 1) * 100:+.0f}%; highest "
                        f"{max(at_n) / 2**20:,.0f} → {max(at_2n) / 2**20:,.0f} MiB)"))
        growth = _halves_growth(streaming, case)
        if growth:
            g = statistics.median(growth)
            out.append((f"streaming {case}: peak does not grow within a run (second half of the sink "
                        "against the first, median run, within 10%)", g <= 1.10,
                        f"{(g - 1) * 100:+.0f}% (runs: {min(growth) * 100 - 100:+.0f}% to {max(growth) * 100 - 100:+.0f}%)"))
    return out


def render_streaming(streaming: dict) -> str:
    lines = [
        "## Streaming memory",
        "",
        f"`{streaming['command']}`: a generated Parquet file of N × {streaming['k']} "
        f"(List(Int64) labels, List(Float64) pred_probs, an id; row groups of "
        f"{streaming['row_group_rows']:,} rows), each query in a fresh process with "
        f"POLARS_MAX_THREADS={streaming['threads']}, peak RSS from `/usr/bin/time -v` "
        "(maximum resident set size of the whole process, Python and libraries included). Each "
        "process also samples its own RSS every 20 ms; *halves* are the highest samples in the "
        "first and the second half of the sink (of the whole run for the thresholds alone), so "
        "memory that grew with the rows processed would show within one run.",
        "",
        f"polars-mlq at {streaming.get('polars_mlq', '?')}. Wall times are from a shared, busy "
        "machine; the memory figures are what this section is for.",
        "",
        "| N | file | query | peak RSS | halves | wall time (building the query + sink) | output check |",
        "|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in streaming["runs"]:
        halves = (f"{r['first_half_peak_bytes'] / 2**20:,.0f} → {r['second_half_peak_bytes'] / 2**20:,.0f} MiB"
                  if "first_half_peak_bytes" in r else "–")
        lines.append(f"| {r['rows']:,} | {r['file_bytes'] / 2**30:.2f} GiB | {r['query']} | "
                     f"**{r['max_rss_bytes'] / 2**20:,.0f} MiB** | {halves} | {r['wall_s']:.1f} s "
                     f"({r['plan_s']:.1f} + {r['sink_s']:.1f}) | {r.get('check', '')} |")
    lines += ["", "With `adjust_pred_probs=True`, building the query is pass 1 (a streaming read of "
              "the whole file for the confident thresholds); the sink is pass 2. Python, polars and "
              "numpy (after `import polars_mlq`) take about 60 MiB of it."]
    return "\n".join(lines)


def render_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = results["cells"]
    sizes = list(dict.fromkeys((c["n"], c["k"]) for c in cells))
    configs = list(dict.fromkeys(c["config"] for c in cells))
    by = {(c["n"], c["k"], c["config"]): c for c in cells}
    mem_cells = [c for c in cells if "memory_ours" in c]
    if mem_cells:  # one config per size in the chart: the first one measured (default)
        shown = mem_cells[0]["config"]
        mem_cells = [c for c in mem_cells if c["config"] == shown]
    ncols = 2 if mem_cells else 1
    fig, axes = plt.subplots(1, ncols, figsize=(13 if mem_cells else 9, 4.8),
                             gridspec_kw={"width_ratios": [2, 1]} if mem_cells else None)
    ax = axes[0] if mem_cells else axes
    width = 0.8 / len(configs)
    x = np.arange(len(sizes))
    for i, config in enumerate(configs):
        med = np.array([by[(n, k, config)]["ratio_median"] if (n, k, config) in by else np.nan for n, k in sizes])
        lo = np.array([by[(n, k, config)]["ratio_min"] if (n, k, config) in by else np.nan for n, k in sizes])
        hi = np.array([by[(n, k, config)]["ratio_max"] if (n, k, config) in by else np.nan for n, k in sizes])
        ax.bar(x + (i - (len(configs) - 1) / 2) * width, med, width, label=config,
               yerr=[med - lo, hi - med], capsize=2)
    ax.axhline(TARGET_OTHER, color="k", ls="--", lw=1)
    ax.axhline(TARGET_DEFAULT, color="k", ls=":", lw=1)
    ax.text(len(sizes) - 0.5, TARGET_OTHER, f" {TARGET_OTHER:g}×", va="bottom", ha="right", fontsize=8)
    ax.text(len(sizes) - 0.5, TARGET_DEFAULT, f" {TARGET_DEFAULT:g}× (default, 1e5×100)", va="bottom", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(x, [f"N={n:,}\nK={k}" for n, k in sizes])
    ax.set_ylabel("speed-up over cleanlab (×, median of pairs)")
    ax.set_title("df.mlq.label_quality vs cleanlab get_label_quality_scores")
    ax.legend(fontsize=8, loc="upper left")
    if mem_cells:
        ax2 = axes[1]
        labels = [f"N={c['n']:,}\nK={c['k']}" for c in mem_cells]
        xm = np.arange(len(mem_cells))
        w = 0.27
        ax2.bar(xm - w, [c["pred_probs_bytes"] / 2**20 for c in mem_cells], w, label="pred_probs float64", color="0.7")
        ax2.bar(xm, [max(c["memory_cleanlab"]["rss_extra"], 0) / 2**20 for c in mem_cells], w, label="cleanlab")
        ax2.bar(xm + w, [max(c["memory_ours"]["rss_extra"], 0) / 2**20 for c in mem_cells], w, label="polars-mlq")
        ax2.set_yscale("log")
        ax2.set_xticks(xm, labels, fontsize=8)
        ax2.set_ylabel("peak extra RSS during the call (MiB)")
        ax2.set_title(f"eager memory ({mem_cells[0]['config']} config)")
        ax2.legend(fontsize=8)
    m = results["machine"]
    fig.text(0.01, 0.01, f"{m['cpu']}, {m['cores']} cores; polars {m['polars']}, cleanlab {m['cleanlab']}; "
             f"{results['started'][:10]}", fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, streaming: dict | None, out: Path, chart: Path | None,
                 spread: dict | None = None, latency: dict | None = None, stream_rate: dict | None = None,
                 ray_scale: dict | None = None) -> None:
    for cell in results["cells"]:  # recomputed, so that older JSON renders the same way
        cell["ours_over_floor"] = statistics.median(b / c for b, c in zip(cell["ours_s"], cell["floor_s"]))
    chart_ref = None
    if chart is not None:
        render_chart(results, chart)
        chart_ref = os.path.relpath(chart, out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(results, streaming, chart_ref, spread, latency, stream_rate, ray_scale))
    print(f"wrote {out}" + (f" and {chart}" if chart else ""))


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, 2 pairs, writes nothing unless --out")
    p.add_argument("--sizes", nargs="*", help="override the grid, e.g. 1e5x100 2e5x1000 (writes nothing unless --out/--json)")
    p.add_argument("--configs", nargs="*", choices=list(CONFIGS), help="a subset of the configs (writes nothing unless --out/--json)")
    p.add_argument("--pairs", type=int, help="pairs per cell (default 7; 2 with --quick)")
    p.add_argument("--big-pairs", type=int, help="pairs for cells with N*K >= 5e7 (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory subprocesses")
    p.add_argument("--memory-all-configs", action="store_true", help="measure memory for every config, not only the first")
    p.add_argument("--memory-timeout", type=float, default=900)
    p.add_argument("--out", type=Path, help="markdown report (default docs/benchmarks.md for a full run)")
    p.add_argument("--chart", type=Path, help="chart image (default docs/img/benchmark.png for a full run)")
    p.add_argument("--json", type=Path, help="raw results (default benchmarks/results/bench.json for a full run)")
    p.add_argument("--streaming-json", type=Path, default=HERE / "results" / "streaming.json",
                   help="streaming.py's results, included in the report if the file exists")
    p.add_argument("--spread-json", type=Path, default=HERE / "results" / "spread.json",
                   help="spread.py's results, included in the report if the file exists")
    p.add_argument("--latency-json", type=Path, default=HERE / "results" / "latency.json",
                   help="latency.py's results, included in the report if the file exists")
    p.add_argument("--stream-rate-json", type=Path, default=HERE / "results" / "stream_rate.json",
                   help="stream_rate.py's results, included in the report if the file exists")
    p.add_argument("--ray-scale-json", type=Path, default=HERE / "results" / "ray_scale.json",
                   help="ray_scale.py's results, included in the report if the file exists")
    p.add_argument("--report", action="store_true", help="only re-render the report from --json")
    p.add_argument("--memory-only", type=Path, metavar="JSON",
                   help="only measure polars-mlq's extra memory on the full grid, every config, into JSON")
    p.add_argument("--memory-child", choices=["cleanlab", "ours"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.n, args.k, args.config, args.seed)))
        return 0

    if args.memory_only:
        memory = {"command": " ".join(["python benchmarks/bench.py", *(argv or sys.argv[1:])]),
                  "polars_mlq": code_version(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "cells": []}
        for n, k in FULL_SIZES:
            for config in CONFIGS:
                extra = measure_memory("ours", n, k, config, args.seed, args.memory_timeout)["rss_extra"]
                memory["cells"].append({"n": n, "k": k, "config": config, "rss_extra": extra})
                print(f"{_size(n, k)} {config}: {_mib(extra)} extra", flush=True)
        args.memory_only.write_text(json.dumps(memory, indent=1))
        return 0

    full = not (args.quick or args.sizes or args.configs)  # only the whole grid rewrites the docs
    out = args.out or (ROOT / "docs" / "benchmarks.md" if full else None)
    chart = args.chart or (ROOT / "docs" / "img" / "benchmark.png" if full else None)
    json_path = args.json or (HERE / "results" / "bench.json" if full else None)
    if args.report:
        json_path = json_path or HERE / "results" / "bench.json"
        write_report(json.loads(json_path.read_text()), _load(args.streaming_json),
                     out or ROOT / "docs" / "benchmarks.md", chart or ROOT / "docs" / "img" / "benchmark.png",
                     _load(args.spread_json), _load(args.latency_json), _load(args.stream_rate_json),
                     _load(args.ray_scale_json))
        return 0

    results = run(args)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1))
        print(f"wrote {json_path}")
    if out:
        write_report(results, _load(args.streaming_json), out, chart, _load(args.spread_json),
                     _load(args.latency_json), _load(args.stream_rate_json), _load(args.ray_scale_json))
    print()
    for name, ok, value in verdicts(results):
        print(f"{'MET   ' if ok else 'MISSED'} {name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
