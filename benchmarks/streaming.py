"""Streaming memory: ``pl.scan_parquet(f).mlq.label_quality().sink_parquet(g)``.

    python benchmarks/streaming.py                 # 4e6 x 100 (~3 GB in /tmp), 2 threads
    python benchmarks/streaming.py --double        # also 8e6 x 100 (~6 GB more): does the peak grow?
    python benchmarks/streaming.py --rows 200000   # a quick check

A Parquet file of N x K (List(Int64) labels, List(Float64) pred_probs, an id; row groups of
125 000 rows) is generated piecewise in a temporary directory, so generating it does not need N x K
in memory. Each query then runs in a fresh process under ``/usr/bin/time -v`` with
``POLARS_MAX_THREADS``: the figure is that process's maximum resident set size (the whole Python
process: interpreter, polars, numpy and all buffers). The queries:

* ``passthrough``: ``scan_parquet(f).sink_parquet(g)``, no scoring (the floor for this file);
* ``default``: ``scan_parquet(f).mlq.label_quality().sink_parquet(g)``;
* ``thresholds``: ``mlq.confident_thresholds(pl.scan_parquet(f))``, pass 1 of the next one alone;
* ``adjust_pred_probs``: the same with ``adjust_pred_probs=True``: building the query streams the
  file once for the confident thresholds, then the sink scores it on a second pass.

Each child also samples its own RSS every 20 ms (``/proc/self/statm``) and reports the highest
value in the first and in the second half of the sink (of the whole run for ``thresholds``): memory
that grew with the rows processed would show there within one run, free of run-to-run noise.

After each run the output is checked: N rows, no null score, every score in [0, 1], and (default
config) the first 20 000 scores equal cleanlab's on the same rows within 1e-12. The generated files
are deleted at the end unless ``--keep``. Results go to ``benchmarks/results/streaming.json``,
which ``bench.py`` folds into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CASES = ("passthrough", "default", "thresholds", "adjust_pred_probs")
QUERIES = {
    "passthrough": "pl.scan_parquet(f).sink_parquet(g)",
    "thresholds": "mlq.confident_thresholds(pl.scan_parquet(f))",
    "default": "pl.scan_parquet(f).mlq.label_quality().sink_parquet(g)",
    "adjust_pred_probs": "pl.scan_parquet(f).mlq.label_quality(adjust_pred_probs=True).sink_parquet(g)",
}
LIMIT = 1.5 * 2**30
CHECK_ROWS = 20_000


class RssSampler:
    """The process's resident set size every ``interval`` seconds, from /proc/self/statm, on a
    daemon thread: the trajectory of one run, whose halves show growth that the peak of a whole
    run hides in run-to-run noise."""

    def __init__(self, interval: float = 0.02) -> None:
        self.samples: list[tuple[float, int]] = []
        self._interval = interval
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with open("/proc/self/statm") as statm:
            while not self._stop.wait(self._interval):
                statm.seek(0)
                self.samples.append((time.perf_counter(), int(statm.read().split()[1]) * self._page))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def halves(self, start: float, stop: float) -> tuple[int, int] | None:
        """The highest RSS sampled in the first and in the second half of [start, stop]."""
        middle = (start + stop) / 2
        first = [rss for t, rss in self.samples if start <= t <= middle]
        second = [rss for t, rss in self.samples if middle < t <= stop]
        return (max(first), max(second)) if first and second else None


def child(case: str, source: str, target: str) -> None:
    """The measured process: one query, then its own figures as JSON on stdout."""
    import resource

    import polars as pl

    import polars_mlq  # noqa: F401

    figures: dict = {}
    with RssSampler() as sampler:
        start = time.perf_counter()
        lf = pl.scan_parquet(source)
        if case == "thresholds":
            table = polars_mlq.confident_thresholds(lf)
            planned = done = time.perf_counter()
            assert table.height > 0
            work = (start, planned)  # the whole run is pass 1
        else:
            if case == "passthrough":
                query = lf
            elif case == "default":
                query = lf.mlq.label_quality()
            else:
                query = lf.mlq.label_quality(adjust_pred_probs=True)  # pass 1 runs here
            planned = time.perf_counter()
            query.sink_parquet(target)
            done = time.perf_counter()
            work = (planned, done)  # the sink
    halves = sampler.halves(*work)
    if halves is not None:
        figures["first_half_peak_bytes"], figures["second_half_peak_bytes"] = halves
    figures.update({
        "plan_s": planned - start,  # pass 1 (the thresholds) for adjust_pred_probs
        "sink_s": done - planned,
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    })
    print(json.dumps(figures))


def _parse_time_v(stderr: str) -> dict:
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", stderr)
    if not rss or not wall:
        msg = f"could not parse /usr/bin/time -v output:\n{stderr[-2000:]}"
        raise RuntimeError(msg)
    h, m, s = wall.groups()
    return {"max_rss_bytes": int(rss.group(1)) * 1024,
            "wall_s": int(h or 0) * 3600 + int(m) * 60 + float(s)}


def measure(case: str, source: Path, target: Path, threads: int, timeout: float) -> dict:
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()),
           "--child", case, str(source), str(target)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        msg = f"{case} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    figures = _parse_time_v(proc.stderr)
    figures.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return figures


def check_output(case: str, source: Path, target: Path, rows: int) -> str:
    import numpy as np
    import polars as pl

    if case == "thresholds":
        return "K rows of thresholds"
    if case == "passthrough":
        n = pl.scan_parquet(target).select(pl.len()).collect().item()
        assert n == rows, (n, rows)
        return f"{n:,} rows"
    stats = pl.scan_parquet(target).select(
        n=pl.len(), nulls=pl.col("label_quality").null_count(),
        lo=pl.col("label_quality").min(), hi=pl.col("label_quality").max(),
    ).collect().row(0, named=True)
    assert stats["n"] == rows and stats["nulls"] == 0, stats
    assert 0.0 <= stats["lo"] <= stats["hi"] <= 1.0, stats
    note = f"{stats['n']:,} rows, scores in [{stats['lo']:.3f}, {stats['hi']:.3f}]"
    if case == "default":
        from cleanlab.multilabel_classification import get_label_quality_scores

        head = pl.scan_parquet(target).head(CHECK_ROWS).collect()
        expected = get_label_quality_scores(head["labels"].to_list(),
                                            np.vstack(head["pred_probs"].to_numpy()))
        diff = float(np.max(np.abs(head["label_quality"].to_numpy() - expected)))
        assert diff <= 1e-12, diff
        note += f"; first {CHECK_ROWS:,} = cleanlab (max diff {diff:.1e})"
    return note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=float, default=4e6)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--double", action="store_true", help="also run on a file with twice the rows")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="run each query this many times")
    p.add_argument("--row-group-rows", type=int, default=125_000)
    p.add_argument("--cases", nargs="*", choices=CASES, default=list(CASES))
    p.add_argument("--dir", type=Path, help="where to write the Parquet files (default: a new dir in /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per query")
    p.add_argument("--json", type=Path, default=HERE / "results" / "streaming.json")
    p.add_argument("--child", nargs=3, metavar=("CASE", "SOURCE", "TARGET"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    from _data import write_parquet
    from bench import code_version

    base = int(args.rows)
    sizes = [base, 2 * base] if args.double else [base]
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="mlq-streaming-", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    need = sum(sizes) * args.k * 8 * 2.1  # input + output, float64, with some slack
    free = shutil.disk_usage(workdir).free
    if need > free:
        print(f"not enough disk in {workdir}: need ~{need / 2**30:.1f} GiB, have {free / 2**30:.1f} GiB")
        return 1
    results = {
        "command": "python benchmarks/streaming.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "polars_mlq": code_version(),
        "k": args.k,
        "threads": args.threads,
        "row_group_rows": args.row_group_rows,
        "runs": [],
    }
    failures = 0
    try:
        for rows in sizes:
            source = workdir / f"input_{rows}x{args.k}.parquet"
            if not source.exists():
                t = time.perf_counter()
                write_parquet(str(source), rows, args.k, row_group_rows=args.row_group_rows)
                print(f"generated {source} ({source.stat().st_size / 2**30:.2f} GiB) in "
                      f"{time.perf_counter() - t:.0f}s", flush=True)
            for case, _ in ((c, r) for c in args.cases for r in range(args.repeat)):
                target = workdir / f"output_{case}.parquet"
                run = {"rows": rows, "case": case, "query": f"`{QUERIES[case]}`",
                       "file_bytes": source.stat().st_size}
                run.update(measure(case, source, target, args.threads, args.timeout))
                run["check"] = check_output(case, source, target, rows)
                target.unlink(missing_ok=True)
                results["runs"].append(run)
                ok = run["max_rss_bytes"] < LIMIT or case == "passthrough"
                failures += not ok
                halves = ""
                if "first_half_peak_bytes" in run:
                    halves = (f" halves {run['first_half_peak_bytes'] / 2**20:,.0f} -> "
                              f"{run['second_half_peak_bytes'] / 2**20:,.0f} MiB")
                print(f"N={rows:>11,} {case:<18} peak RSS {run['max_rss_bytes'] / 2**20:7,.0f} MiB "
                      f"(ru_maxrss {run['ru_maxrss_bytes'] / 2**20:,.0f}){halves}  wall {run['wall_s']:6.1f}s "
                      f"(plan {run['plan_s']:.1f}s + sink {run['sink_s']:.1f}s)  "
                      f"{'< 1.5 GiB' if ok else '>= 1.5 GiB !'}  [{run['check']}]", flush=True)
            if not args.keep:
                source.unlink()
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.double:
        for case in args.cases:
            for name, pick in (("median", statistics.median), ("highest", max)):
                a, b = (pick([r["max_rss_bytes"] for r in results["runs"] if r["case"] == case and r["rows"] == n])
                        for n in sizes)
                print(f"{case}: {name} peak {a / 2**20:,.0f} MiB at N={sizes[0]:,} -> {b / 2**20:,.0f} MiB at "
                      f"N={sizes[1]:,} ({(b / a - 1) * 100:+.1f}%)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
