"""``polars-mlq summary``: the dataset's label health score and a table per class."""

from __future__ import annotations

import argparse
import json

import polars as pl

from polars_mlq.cli.common import PROG
from polars_mlq.cli.inputs import check_sparse_column, read_input
from polars_mlq.cli.options import (
    Subparsers,
    add_engine_argument,
    add_input_arguments,
    add_sparse_arguments,
    add_terminal_arguments,
    positive_int,
    sparse_kwargs,
)
from polars_mlq.cli.progress import Progress, progress_enabled
from polars_mlq.cli.tables import frame_table
from polars_mlq.issues.frames import common_issues, health_score, rank_classes
from polars_mlq.namespace import MlqLazyFrame


def add_summary(subparsers: Subparsers) -> None:
    """Declare ``summary`` and its arguments, handled by :func:`run_summary`.

    Parameters
    ----------
    subparsers
        The main parser's subcommands.
    """
    parser = subparsers.add_parser(
        "summary",
        help="print the dataset's label health score and a per-class table",
        description=(
            "Read IN and print cleanlab's multi-label health summary: the overall label health\n"
            "score (the share of rows without a label issue), the classes ranked by label\n"
            "quality, and the most common issues (a class labelled but likely absent, or likely\n"
            "present but not labelled). --json prints the same as one JSON object."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} summary predictions.parquet\n"
            f"  {PROG} summary predictions.parquet --class-names classes.txt\n"
            f"  {PROG} summary data.csv --classes cat,dog,bird --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    group.add_argument(
        "--top",
        type=positive_int,
        default=10,
        metavar="N",
        help="how many of the most common issues to print (default: 10; --json has them all)",
    )
    add_sparse_arguments(parser)
    add_engine_argument(parser)
    add_terminal_arguments(parser)
    parser.set_defaults(handler=run_summary)


def run_summary(args: argparse.Namespace) -> int:
    """Print IN's health summary, as tables or (``--json``) one JSON object.

    Parameters
    ----------
    args
        The parsed arguments of ``summary``.

    Returns
    -------
    int
        The exit code, 0 (errors are raised).
    """
    from polars_mlq.cli.ray_jobs import summary_counts  # Ray itself is imported only with --ray

    sparse = sparse_kwargs(args)
    inp = read_input(args)
    check_sparse_column(inp, args)
    rows: int | None = None
    if args.ray is not None:  # the passes run on Ray; the counts come back
        counts = summary_counts(args, inp)
        score = health_score(counts)
        classes, issues = rank_classes(counts, inp.class_names), common_issues(counts, inp.class_names)
        rows = counts.num_rows
    else:
        with Progress("summary", enabled=progress_enabled(args)) as progress:
            progress.phase("finding issues (reading IN for the per-class statistics)")
            summary = MlqLazyFrame(inp.frame).health_summary(
                inp.labels, inp.pred_probs, class_names=inp.class_names, **sparse
            )
        score = float(summary["overall_multilabel_health_score"])
        classes = summary["classes_by_multilabel_quality"]
        issues = summary["common_multilabel_issues"]
    if args.json:
        document = {
            "overall_multilabel_health_score": score,
            "classes_by_multilabel_quality": classes.to_dicts(),
            "common_multilabel_issues": issues.to_dicts(),
        }
        print(json.dumps(document, indent=2))
        return 0
    if rows is None:  # rows with labels and pred_probs
        inputs = [inp.labels, inp.pred_probs] + ([pl.col(args.pred_classes)] if sparse else [])
        scored = inp.frame.select(pl.all_horizontal(*(column.is_not_null() for column in inputs)).sum())
        rows = int(scored.collect(engine="streaming").item())
    flagged = round((1.0 - score) * rows)
    print(f"{PROG} summary of {inp.path}: {rows:,} rows, {classes.height} classes\n")
    print(f"Overall label health score: {score:.4f} ({flagged:,} of the {rows:,} rows have a label issue)\n")
    print("Classes by label quality, worst first:\n")
    print(frame_table(classes))
    shown = issues.head(args.top)
    print(f"\nMost common label issues ({shown.height} of {issues.height}):\n")
    print(frame_table(shown))
    return 0
