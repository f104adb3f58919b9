"""Speed on every distribution of ``_data.py``: cleanlab and polars-mlq paired, cell by cell.

    python benchmarks/spread.py                        # every kind at (1e5, 100) and (1e6, 20)
    python benchmarks/spread.py --quick                # (2e4, 50), 1 pair a cell: a smoke run
    python benchmarks/spread.py --kinds weak ties --sizes 1e5x100 --configs default find_label_issues

A cell is one (distribution, N x K, config). As in ``bench.py``, each pair runs cleanlab on its
ideal inputs (a list of lists and an ndarray), then ``df.mlq.label_quality(...)`` on a DataFrame
with List columns (reading them is inside the timed call), then the floor (``np.sum`` over the
same array), each after ``gc.collect()``. The scores must agree with cleanlab's within 1e-12
(float32: within 2e-6 for ``adjust_pred_probs`` and ``confidence_weighted_entropy``, whose float32
precision differs by design, docs/differences-from-cleanlab.md). The ``find_label_issues`` config
times ``df.mlq.find_label_issues()`` against cleanlab's ``find_label_issues(labels, pred_probs,
n_jobs=1)`` and records whether the flags are identical; if not, how many rows differ and whether
every class flags as many entries as cleanlab's does (``find_multilabel_issues_per_class``, run
once, untimed): of entries tied exactly at a cutoff, which ones are flagged is a documented
choice (docs/differences-from-cleanlab.md), so a row can differ while every class's count holds.

Results go to ``benchmarks/results/spread.json`` (``--json``), which ``bench.py`` folds into
docs/benchmarks.md: per config the worst and the median cell, and every cell.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _data import KINDS, make_dataset  # noqa: E402
from bench import CONFIGS, TOLERANCE, _size, machine_info  # noqa: E402

SIZES = [(100_000, 100), (1_000_000, 20)]
QUICK_SIZES = [(20_000, 50)]
ISSUES = "find_label_issues"
#: float32 configs whose precision differs from cleanlab's by design.
FLOAT32_LOOSE = {"adjust_pred_probs": 2e-6, "confidence_weighted_entropy": 2e-6}
#: Goals (issue 17): default at (1e5, 100) and the rest everywhere; ours / floor for default.
GOAL_DEFAULT, GOAL_OTHER, GOAL_FLOOR = 30.0, 20.0, 6.0


def _timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _cleanlab(labels, probs, config: str):
    if config == ISSUES:
        from cleanlab.multilabel_classification.filter import find_label_issues

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return find_label_issues(labels, probs, n_jobs=1)
    from cleanlab.multilabel_classification import get_label_quality_scores

    return get_label_quality_scores(labels, probs, **CONFIGS[config])


def _ours(frame, config: str) -> np.ndarray:
    import polars_mlq  # noqa: F401  (registers .mlq)

    if config == ISSUES:
        return frame.mlq.find_label_issues()["is_label_issue"].to_numpy()
    return frame.mlq.label_quality(**CONFIGS[config])["label_quality"].to_numpy()


def _per_class_counts_equal(labels, probs) -> bool:
    """Whether every class flags as many entries as cleanlab's (which tied entries may differ)."""
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class

    from polars_mlq.compat import find_multilabel_issues_per_class as ours

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(find_multilabel_issues_per_class(labels, probs, n_jobs=1))
    return bool(np.array_equal(np.asarray(ours(labels, probs)).sum(axis=0), theirs.sum(axis=0)))  # (N, K) masks


def time_cell(data, labels, frame, config: str, pairs: int) -> dict:
    probs = data.pred_probs
    tolerance = FLOAT32_LOOSE.get(config, TOLERANCE) if probs.dtype == np.float32 else TOLERANCE
    m = min(1000, len(labels))
    _cleanlab(labels[:m], np.ascontiguousarray(probs[:m]), config)  # warm-up
    _ours(frame.head(m), config)
    t_cl, t_ours, t_floor, check = [], [], [], {}
    for _ in range(pairs):
        a, expected = _timed(_cleanlab, labels, probs, config)
        b, got = _timed(_ours, frame, config)
        c, _ = _timed(np.sum, probs)
        t_cl.append(a)
        t_ours.append(b)
        t_floor.append(c)
        if config == ISSUES:
            differ = int(np.count_nonzero(got != expected))
            check = {"flags_identical": differ == 0, "rows_differing": differ,
                     "flagged_ours": int(got.sum()), "flagged_cleanlab": int(expected.sum())}
        else:
            diff = float(np.max(np.abs(got - expected))) if len(got) else 0.0
            if not diff <= tolerance:  # also catches NaN
                msg = f"{config} at {probs.shape}: scores differ from cleanlab by {diff:.3g} > {tolerance}"
                raise AssertionError(msg)
            check = {"max_abs_diff": max(diff, check.get("max_abs_diff", 0.0))}
    if check.get("rows_differing"):  # once, untimed
        check["per_class_counts_equal"] = _per_class_counts_equal(labels, probs)
    ratios = [a / b for a, b in zip(t_cl, t_ours, strict=True)]
    return {
        "pairs": pairs,
        "cleanlab_median_s": statistics.median(t_cl),
        "ours_median_s": statistics.median(t_ours),
        "floor_median_s": statistics.median(t_floor),
        "ratio_per_pair": ratios,
        "ratio_median": statistics.median(ratios),
        "ours_over_floor": statistics.median(b / c for b, c in zip(t_ours, t_floor, strict=True)),
        **check,
    }


def run(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = [tuple(int(float(v)) for v in s.split("x")) for s in args.sizes]
    kinds = args.kinds or list(KINDS)
    configs = args.configs or [*CONFIGS, ISSUES]
    pairs = args.pairs or (1 if args.quick else 3)
    results = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/spread.py", *sys.argv[1:]]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "cells": [],
    }
    for n, k in sizes:
        for kind in kinds:
            data = make_dataset(n, k, kind=kind)
            labels, frame = data.labels_list(), data.frame()
            print(f"== {kind} N={n:,} K={k} ({data.pred_probs.dtype}, "
                  f"{len(data.label_values) / n:.2f} labels/row)", flush=True)
            for config in configs:
                cell = {"kind": kind, "n": n, "k": k, "config": config,
                        **time_cell(data, labels, frame, config, pairs)}
                extra = (f"flags identical {cell['flags_identical']} ({cell['rows_differing']} differ, "
                         f"{cell['flagged_ours']} vs {cell['flagged_cleanlab']}; per-class counts equal "
                         f"{cell.get('per_class_counts_equal', True)})" if config == ISSUES
                         else f"diff {cell['max_abs_diff']:.1e}")
                print(f"  {config:<28} cleanlab {cell['cleanlab_median_s']:7.3f}s  ours "
                      f"{cell['ours_median_s']:7.4f}s  speed-up {cell['ratio_median']:6.1f}x  "
                      f"ours/floor {cell['ours_over_floor']:5.1f}  {extra}", flush=True)
                results["cells"].append(cell)
            del data, labels, frame
            gc.collect()
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return results


def goal_for(cell: dict) -> float:
    return GOAL_DEFAULT if cell["config"] == "default" and (cell["n"], cell["k"]) == (100_000, 100) else GOAL_OTHER


def render_spread(spread: dict) -> list[str]:
    """The docs/benchmarks.md section: worst and median cell per config, then every cell."""
    cells = spread["cells"]
    sizes = list(dict.fromkeys((c["n"], c["k"]) for c in cells))
    kinds = list(dict.fromkeys(c["kind"] for c in cells))
    configs = list(dict.fromkeys(c["config"] for c in cells))
    m = spread["machine"]
    lines = [
        "## Every distribution (`benchmarks/spread.py`)",
        "",
        f"Command `{spread['command']}`, polars-mlq at {m.get('polars_mlq', '?')}, started "
        f"{spread['started']}. Distributions (`benchmarks/_data.py`): " + ", ".join(f"`{k}`" for k in kinds)
        + ". Pairs as above (cleanlab, ours, floor), "
        f"{cells[0]['pairs'] if cells else 0} per cell; `find_label_issues` against cleanlab's "
        "with `n_jobs=1`. Goals: default ≥ 30× at (1e5, 100), every other cell ≥ 20×, default "
        "within 6× of the `np.sum` floor.",
        "",
        "| config | size | worst speed-up (distribution) | median speed-up | worst ours / floor |",
        "|---|---|---:|---:|---:|",
    ]
    for config in configs:
        for n, k in sizes:
            group = [c for c in cells if c["config"] == config and (c["n"], c["k"]) == (n, k)]
            if not group:
                continue
            worst = min(group, key=lambda c: c["ratio_median"])
            mark = "" if worst["ratio_median"] >= goal_for(worst) else " ✗"
            floor = max(c["ours_over_floor"] for c in group)
            lines.append(
                f"| `{config}` | {_size(n, k)} | {worst['ratio_median']:.1f}×{mark} ({worst['kind']}) | "
                f"{statistics.median(c['ratio_median'] for c in group):.1f}× | {floor:.1f}× |")
    lines += ["", "Every cell, speed-up (ours / floor):", ""]
    for n, k in sizes:
        lines += [f"**{_size(n, k)}**", "", "| config | " + " | ".join(kinds) + " |",
                  "|---|" + "---:|" * len(kinds)]
        by = {(c["kind"], c["config"]): c for c in cells if (c["n"], c["k"]) == (n, k)}
        for config in configs:
            row = [f"`{config}`"]
            for kind in kinds:
                c = by.get((kind, config))
                if c is None:
                    row.append("–")
                    continue
                flags = ""
                if config == ISSUES and not c["flags_identical"]:
                    same = "per-class counts equal" if c.get("per_class_counts_equal") else "per-class counts DIFFER"
                    flags = f", {c['rows_differing']} rows differ ({same})"
                row.append(f"{c['ratio_median']:.1f}× ({c['ours_over_floor']:.1f}){flags}")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", nargs="*")
    p.add_argument("--kinds", nargs="*", choices=list(KINDS))
    p.add_argument("--configs", nargs="*", choices=[*CONFIGS, ISSUES])
    p.add_argument("--pairs", type=int)
    p.add_argument("--json", type=Path, help="default benchmarks/results/spread.json for a full run")
    args = p.parse_args()
    results = run(args)
    out = args.json or (None if (args.quick or args.sizes or args.kinds or args.configs)
                        else HERE / "results" / "spread.json")
    if out:
        out.write_text(json.dumps(results, indent=1))
        print(f"wrote {out}")
    print("\n".join(render_spread(results)))


if __name__ == "__main__":
    main()
