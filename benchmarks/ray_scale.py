"""Ray scaling: the same job locally (Polars) and on a local Ray cluster with 1 and 2 CPUs.

    python benchmarks/ray_scale.py                  # 2e6 x 100, 3 runs per case (~10 min)
    python benchmarks/ray_scale.py --rows 2e5 --repeat 1    # a quick check

A folder of Parquet files (``--files`` files of N / files rows, K classes, ``_data.write_parquet``,
distribution ``base``) is written to a temporary directory. Each case runs in a fresh process:

* ``local``: ``pl.scan_parquet(folder).mlq.<job>().sink_parquet(out)`` with POLARS_MAX_THREADS=2;
* ``ray1`` / ``ray2``: ``ray.init(num_cpus=1 or 2)`` (not timed), then
  ``polars_mlq.ray.<job>(ray.data.read_parquet(folder)).write_parquet(out)``. Every Ray worker
  runs Polars on one thread (``POLARS_MAX_THREADS=1`` in the job's runtime environment), one task
  a CPU, so the CPUs are not oversubscribed.

Jobs: ``label_quality`` (default options), ``find_label_issues`` (default filter), and
``passthrough`` (the same read and write, nothing scored: what Ray's own I/O costs). The time is
the job's wall time, from building the Dataset or query to the output written. The fixed overhead is
the same job on a folder of one file of ``--small`` rows. The goal of issue 18 is Ray with 2 CPUs at
>= 1.6 times the rows per second of Ray with 1 CPU, for both jobs (medians of the runs). Each output
is checked: its row count, and its scores or flags equal to the local job's, matched by id.

Results go to ``benchmarks/results/ray_scale.json``, which ``bench.py`` folds into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GOAL = 1.6
JOBS = ("passthrough", "label_quality", "find_label_issues")
GOAL_JOBS = ("label_quality", "find_label_issues")
CASES = ("local", "ray1", "ray2")
COLUMNS = {"passthrough": "labels", "label_quality": "label_quality", "find_label_issues": "is_label_issue"}


def run_case(case: str, job: str, folder: str, out: str) -> dict:
    """Run one case in this process; return its timings."""
    import polars as pl

    import polars_mlq  # noqa: F401 - the namespace

    if case == "local":
        start = time.perf_counter()
        query = pl.scan_parquet(f"{folder}/*.parquet")
        if job != "passthrough":
            query = getattr(query.mlq, job)()
        query.sink_parquet(f"{out}/part-0.parquet")
        return {"job_s": time.perf_counter() - start}
    import ray
    import ray.data

    import polars_mlq.ray as mlq_ray

    cpus = int(case.removeprefix("ray"))
    start = time.perf_counter()
    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"POLARS_MAX_THREADS": "1"}},
    )
    init_s = time.perf_counter() - start
    ray.data.DataContext.get_current().enable_progress_bars = False
    start = time.perf_counter()
    ds = ray.data.read_parquet(folder)
    (ds if job == "passthrough" else getattr(mlq_ray, job)(ds)).write_parquet(out)
    job_s = time.perf_counter() - start
    ray.shutdown()
    return {"job_s": job_s, "init_s": init_s}


def measure(case: str, job: str, folder: Path, out: Path, timeout: float) -> dict:
    """Run one case in a fresh process (POLARS_MAX_THREADS=2 for the caller's Polars)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ, POLARS_MAX_THREADS="2", PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE)]))
    code = (
        "import json, sys; sys.path.insert(0, %r); from ray_scale import run_case; "
        "print(json.dumps(run_case(%r, %r, %r, %r)))" % (str(HERE), case, job, str(folder), str(out))
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{case} {job} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_output(out: Path, job: str):  # noqa: ANN201 - a pl.DataFrame (polars imported lazily)
    import polars as pl

    return pl.read_parquet(out).select("id", COLUMNS[job]).sort("id")


def summary(results: dict) -> list[dict]:
    """Per job and case: median rows per second, its range, and the overhead."""
    rows = []
    for job in JOBS:
        for case in CASES:
            runs = [r for r in results["runs"] if r["job"] == job and r["case"] == case]
            if not runs:
                continue
            rates = [results["rows"] / r["job_s"] for r in runs]
            small = [r["job_s"] for r in results["small_runs"] if r["job"] == job and r["case"] == case]
            rows.append({
                "job": job, "case": case, "rate": statistics.median(rates), "range": (min(rates), max(rates)),
                "overhead_s": statistics.median(small) if small else float("nan"),
                "init_s": statistics.median([r.get("init_s", 0.0) for r in runs]),
            })
    return rows


def speedups(results: dict) -> dict[str, float]:
    rates = {(r["job"], r["case"]): r["rate"] for r in summary(results)}
    return {job: rates[(job, "ray2")] / rates[(job, "ray1")] for job in JOBS if (job, "ray1") in rates}


def marginal_speedups(results: dict) -> dict[str, float]:
    """Speed-up from 1 to 2 CPUs of the time beyond the fixed overhead (big job minus small job)."""
    rows = {(r["job"], r["case"]): r for r in summary(results)}
    out = {}
    for job in JOBS:
        if (job, "ray1") in rows and (job, "ray2") in rows:
            one, two = (results["rows"] / rows[(job, c)]["rate"] - rows[(job, c)]["overhead_s"] for c in ("ray1", "ray2"))
            out[job] = one / two
    return out


def render_ray_scale(results: dict) -> list[str]:
    lines = [
        "## Ray: one machine, 1 and 2 CPUs",
        "",
        f"`{results['command']}`: {results['rows']:,} rows × {results['k']} classes in {results['files']} "
        f"Parquet files; each case in a fresh process, {results['repeat']} runs; rows per second of the "
        "whole job (median, range in brackets). *local* is `pl.scan_parquet(...).mlq.<job>().sink_parquet(...)` "
        "on 2 threads; *ray1* / *ray2* is `polars_mlq.ray.<job>(ray.data.read_parquet(...)).write_parquet(...)` "
        "on a local cluster of 1 or 2 CPUs (Polars on one thread per task; `ray.init` not timed, shown apart); "
        "*passthrough* is the same read and write with nothing scored, Ray's own cost. "
        f"Fixed overhead: the same job on one file of {results['small']:,} rows. "
        f"polars-mlq at {results.get('polars_mlq', '?')}.",
        "",
        "| job | case | rows/s | fixed overhead (s) | ray.init (s) |",
        "|---|---|---:|---:|---:|",
    ]
    for row in summary(results):
        lo, hi = row["range"]
        init = f"{row['init_s']:.1f}" if row["case"] != "local" else "–"
        lines.append(f"| `{row['job']}` | {row['case']} | {row['rate']:,.0f} ({lo:,.0f}–{hi:,.0f}) | "
                     f"{row['overhead_s']:.2f} | {init} |")
    lines += ["", "Speed-up from 1 to 2 CPUs on Ray, rows per second of the whole job: " + ", ".join(
        f"`{job}` **{value:.2f}×**" for job, value in speedups(results).items()) + f" (goal ≥ {GOAL}× for "
        "`label_quality` and `find_label_issues`); of the time beyond the fixed overhead: " + ", ".join(
        f"`{job}` {value:.2f}×" for job, value in marginal_speedups(results).items()) + "."]
    rates = {(r["job"], r["case"]): r["rate"] for r in summary(results)}
    if ("passthrough", "ray1") in rates and ("label_quality", "ray1") in rates:
        share = rates[("label_quality", "ray1")] / rates[("passthrough", "ray1")]
        lines += ["", "Reading the figures: on Ray, `label_quality` runs at "
                  f"{share * 100:.0f}% of the rows per second of the passthrough (the same read and write, "
                  "nothing scored) on 1 CPU, so Ray's own reading, moving and writing of these List columns "
                  "takes most of the time, and it is what fails to scale here: the passthrough itself gains "
                  f"{speedups(results).get('passthrough', float('nan')):.2f}× from a second CPU. On this 2-core "
                  "machine the second CPU is shared with Ray's driver, raylet and object store; the fixed "
                  "overhead (worker start-up, scheduling, reading K from the first rows) is several seconds "
                  "a job."]
    return lines


def ray_scale_verdicts(results: dict) -> list[tuple[str, bool, str]]:
    return [(f"Ray with 2 CPUs ≥ {GOAL}× the rows per second of Ray with 1 CPU, `{job}` "
             f"({results['rows']:,} × {results['k']})", value >= GOAL, f"{value:.2f}×")
            for job, value in speedups(results).items() if job in GOAL_JOBS]


def main(argv: list[str] | None = None) -> int:
    from _data import write_parquet
    from bench import code_version

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=float, default=2e6)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--jobs", nargs="*", choices=JOBS, default=list(JOBS))
    p.add_argument("--timeout", type=float, default=1800, help="seconds per case")
    p.add_argument("--json", type=Path, default=HERE / "results" / "ray_scale.json")
    args = p.parse_args(argv)

    rows = int(args.rows)
    results = {
        "command": " ".join(["python benchmarks/ray_scale.py", *(argv if argv is not None else sys.argv[1:])]),
        "polars_mlq": code_version(),
        "rows": rows, "k": args.k, "files": args.files, "small": args.small, "repeat": args.repeat,
        "runs": [], "small_runs": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="mlq-ray-scale-", dir="/tmp"))
    try:
        big, small = workdir / "big", workdir / "small"
        big.mkdir()
        small.mkdir()
        t = time.perf_counter()
        per_file = rows // args.files
        for i in range(args.files):
            write_parquet(str(big / f"part-{i:03d}.parquet"), per_file, args.k, seed=1000 * i, first_id=i * per_file)
        write_parquet(str(small / "part-000.parquet"), args.small, args.k, seed=7)
        results["rows"] = rows = per_file * args.files
        print(f"generated {rows:,} x {args.k} in {args.files} files in {time.perf_counter() - t:.0f}s", flush=True)
        for job in args.jobs:
            expected = None
            for case in CASES:
                done = measure(case, job, small, workdir / "out", args.timeout)
                results["small_runs"].append({"job": job, "case": case, **done})
            for _ in range(args.repeat):
                for case in CASES:
                    done = measure(case, job, big, workdir / "out", args.timeout)
                    got = read_output(workdir / "out", job)
                    if expected is None:
                        expected = got
                    check = "ok" if got.height == rows and got.equals(expected) else "DIFFERENT FROM LOCAL"
                    results["runs"].append({"job": job, "case": case, "check": check, **done})
                    print(f"  {job:<18} {case:<6} {done['job_s']:7.2f}s  {rows / done['job_s']:>10,.0f} rows/s  "
                          f"[{check}]", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for row in summary(results):
        print(f"{row['job']:<18} {row['case']:<6} {row['rate']:>10,.0f} rows/s  overhead {row['overhead_s']:.2f}s")
    for job, value in speedups(results).items():
        print(f"speed-up 1 -> 2 CPUs, {job}: {value:.2f}x (goal >= {GOAL}x); "
              f"beyond the fixed overhead {marginal_speedups(results)[job]:.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
