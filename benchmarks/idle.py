"""Back to back against after an idle pause: what fresh memory costs a call on this machine.

On a virtual machine that hands idle memory back to its host (a balloon driver's free page
reporting), pages a process freed a few seconds ago must be backed by the host again when they
are touched: about 10 us a 4 KiB page here, against 0.25 us for a page freed a moment ago. A call
that follows another one at once reuses warm pages; a call after a pause (or after cleanlab's
long call, as in ``spread.py``) pays for every page above what it already holds. So here a
call's peak memory is time, and this script shows how much: each config is timed back to back
(after one untimed call) and then after ``--idle`` seconds of sleep, a few times each.

    python benchmarks/idle.py                 # (1e6, 20), many_labels and base, ~3 min
    python benchmarks/idle.py --kinds weak --sizes 1e5x100
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import KINDS, make_dataset  # noqa: E402
from bench import CONFIGS, machine_info  # noqa: E402

ISSUES = "find_label_issues"


def _call(frame, config: str) -> None:
    import polars_mlq  # noqa: F401  (registers .mlq)

    if config == ISSUES:
        frame.mlq.find_label_issues()
    else:
        frame.mlq.label_quality(**CONFIGS[config])


def _timed(frame, config: str) -> float:
    gc.collect()
    start = time.perf_counter()
    _call(frame, config)
    return time.perf_counter() - start


def measure(frame, config: str, repeat: int, idle: float) -> dict:
    _call(frame, config)  # untimed: imports, thread pool, scratch buffers
    warm = [_timed(frame, config) for _ in range(repeat)]
    cold = []
    for _ in range(repeat):
        time.sleep(idle)
        cold.append(_timed(frame, config))
    return {
        "back_to_back_s": warm,
        "after_idle_s": cold,
        "back_to_back_median_s": statistics.median(warm),
        "after_idle_median_s": statistics.median(cold),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="*", default=["1e6x20"])
    p.add_argument("--kinds", nargs="*", choices=list(KINDS), default=["many_labels", "base"])
    p.add_argument("--configs", nargs="*", choices=[*CONFIGS, ISSUES],
                   default=["default", "adjust_pred_probs", ISSUES])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--idle", type=float, default=6.0, help="seconds of sleep before each idle call")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "idle.json")
    args = p.parse_args()
    results = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/idle.py", *sys.argv[1:]]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "idle_s": args.idle,
        "cells": [],
    }
    for size in args.sizes:
        n, k = (int(float(v)) for v in size.split("x"))
        for kind in args.kinds:
            frame = make_dataset(n, k, kind=kind).frame()
            for config in args.configs:
                cell = {"kind": kind, "n": n, "k": k, "config": config,
                        **measure(frame, config, args.repeat, args.idle)}
                print(f"{kind:<12} ({n:.0e}, {k}) {config:<28} back to back "
                      f"{cell['back_to_back_median_s'] * 1e3:7.1f} ms  after {args.idle:g} s idle "
                      f"{cell['after_idle_median_s'] * 1e3:7.1f} ms", flush=True)
                results["cells"].append(cell)
            del frame
            gc.collect()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
