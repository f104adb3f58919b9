"""``polars-mlq score``: append a label_quality column to a file, streaming."""

from __future__ import annotations

import argparse

from polars_mlq import (
    cli,  # the package: its ``sink`` is looked up when a command writes
)
from polars_mlq.cli.common import PROG
from polars_mlq.cli.files import atomic_output
from polars_mlq.cli.inputs import check_new_column, check_sparse_column, output_path, read_input
from polars_mlq.cli.options import (
    Subparsers,
    add_engine_argument,
    add_input_arguments,
    add_output_argument,
    add_scoring_arguments,
    add_sparse_arguments,
    add_terminal_arguments,
    scoring_kwargs,
    sparse_kwargs,
)
from polars_mlq.cli.progress import Progress, progress_enabled
from polars_mlq.namespace import MlqLazyFrame


def add_score(subparsers: Subparsers) -> None:
    """Declare ``score`` and its arguments, handled by :func:`run_score`.

    Parameters
    ----------
    subparsers
        The main parser's subcommands.
    """
    parser = subparsers.add_parser(
        "score",
        help="append a label_quality column to a file, streaming (files larger than memory work)",
        description=(
            "Read IN, append a Float64 label-quality score per row (0: the labels look wrong,\n"
            "1: they look right; cleanlab's multi-label score) and write every column to OUT.\n"
            "Runs batch by batch in Polars' streaming engine, so IN may be larger than memory.\n"
            "OUT is written to a temporary file beside it and renamed when complete."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} score predictions.parquet -o scored.parquet\n"
            f"  {PROG} score data.csv -o scored.csv --labels tags --pred-probs-prefix p_\n"
            f"  {PROG} score big.parquet -o scored.parquet --adjust-pred-probs --aggregator softmin\n"
            f"  {PROG} score top_k.parquet -o scored.parquet --pred-classes classes --num-classes 1000000\n"
            "\n"
            "labels: a List of class indices ([0, 2]), or of names with --class-names; in CSV as\n"
            'JSON text ("[0, 2]"). pred_probs: a List/Array of floats, or one column per class.'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    add_output_argument(parser)
    add_scoring_arguments(parser)
    add_sparse_arguments(parser)
    add_engine_argument(parser)
    add_terminal_arguments(parser)
    parser.set_defaults(handler=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Score IN into OUT.

    Parameters
    ----------
    args
        The parsed arguments of ``score``.

    Returns
    -------
    int
        The exit code, 0 (errors are raised).
    """
    sparse = sparse_kwargs(args)
    if args.ray is not None:  # the same job on Ray (Ray itself is imported only then)
        from polars_mlq.cli import ray_jobs

        return ray_jobs.run_score(args)
    inp = read_input(args)
    out, out_format = output_path(args, inp)
    check_new_column(inp, args.name, "--name")
    check_sparse_column(inp, args)
    kwargs = scoring_kwargs(args)
    with Progress("score", enabled=progress_enabled(args)) as progress:
        if args.adjust_pred_probs:
            progress.phase("pass 1 of 2, confident thresholds")
        frame = MlqLazyFrame(inp.frame).label_quality(
            inp.labels, inp.pred_probs, class_names=inp.class_names, name=args.name, **kwargs, **sparse
        )
        total = inp.row_count() if progress.enabled else None
        progress.phase("pass 2 of 2, scoring" if args.adjust_pred_probs else "scoring", counting=True, total=total)
        with atomic_output(out) as tmp:
            # batches are scored in parallel; a failing one reports the first bad row (label_quality)
            cli.sink(progress.watch(frame, args.name), tmp, out_format)
        progress.done(f"scored {progress.rows:,} rows into {out} in {progress.elapsed:.1f} s")
    return 0
