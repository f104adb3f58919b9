"""Run the differential fuzzing properties against cleanlab for a chosen number of minutes.

The properties are those of tests/reliability/test_fuzz_cleanlab.py (scoring, confident thresholds, issue
finding, summaries; every public path against cleanlab or, where cleanlab refuses valid data, the
spec), the same functions CI runs a bounded number of examples of. Here they run round-robin, in
rounds of a few dozen examples (``--chunk``, scaled by each property's cost) with fresh seeds,
until the time is up; then the number of examples each property ran is printed. The first failure
stops the run with hypothesis's shrunk falsifying example (and a ``@reproduce_failure`` blob) and
exit code 1.

    python benchmarks/fuzz.py --minutes 10
    python benchmarks/fuzz.py --minutes 60 --max-n 2000 --max-k 200 --only scoring --only "issue finding"

Needs the test extra (``pip install -e ".[test]"``): cleanlab, hypothesis, pytest, pyarrow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run (default: 5)")
    parser.add_argument(
        "--chunk", type=int, default=25, help="examples per round, scaled by each property's cost (default: 25)"
    )
    parser.add_argument(
        "--max-n", type=int, default=300, help="largest number of rows generated (default: 300; CI: 150)"
    )
    parser.add_argument("--max-k", type=int, default=64, help="largest number of classes generated (default: 64)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this property (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first round (default: random)")
    args = parser.parse_args(argv)

    # The generators read these when the test module is imported.
    os.environ["MLQ_FUZZ_MAX_N"] = str(args.max_n)
    os.environ["MLQ_FUZZ_MAX_K"] = str(args.max_k)
    sys.path[:0] = [str(TESTS), str(TESTS / "reliability")]  # helpers.py, and the properties
    from hypothesis import HealthCheck, Phase, seed, settings

    # Loaded before the test module is imported: its properties scale this profile's example
    # count by their cost (``scaled``: 4x for scoring, 2x for the properties calling cleanlab's
    # issue finders), as they scale the "ci" profile's 25 in the test suite.
    settings.register_profile(
        "fuzz-run",
        max_examples=args.chunk,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=True,
        phases=[Phase.generate, Phase.shrink, Phase.explain],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    settings.load_profile("fuzz-run")
    import test_fuzz_cleanlab as fuzz

    properties = dict(fuzz.PROPERTIES)
    if args.only:
        unknown = set(args.only) - set(properties)
        if unknown:
            parser.error(f"unknown properties {sorted(unknown)}; known: {sorted(properties)}")
        properties = {name: properties[name] for name in args.only}

    warnings.simplefilter("error")  # as the test suite (pyproject: filterwarnings = error)
    first_seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    start = time.monotonic()
    stop = start + 60 * args.minutes
    limits = f"N <= {args.max_n}, K <= {args.max_k}, first seed {first_seed}"
    print(f"fuzzing {', '.join(properties)} for {args.minutes:g} min ({limits})")
    rounds = 0
    while time.monotonic() < stop:
        for name, prop in properties.items():
            if time.monotonic() >= stop:
                break
            run = seed(first_seed + rounds)(prop)
            try:
                run()
            except Exception:
                traceback.print_exc()
                print(f"\nFAILED: {name} (round {rounds}, seed {first_seed + rounds}); the falsifying example is above")
                report(fuzz.EXAMPLES, start, failed=True)
                return 1
            rounds += 1
    report(fuzz.EXAMPLES, start)
    return 0


def report(examples: dict[str, int], start: float, *, failed: bool = False) -> None:
    elapsed = time.monotonic() - start
    outcome = "stopped at a failure" if failed else "no failure"
    print(f"\n{sum(examples.values()):,} examples in {elapsed / 60:.1f} min, {outcome}:")
    for name, count in examples.items():
        print(f"  {name:<22} {count:>9,} examples")


if __name__ == "__main__":
    raise SystemExit(main())
