"""``polars-mlq issues``: flag the rows whose labels look wrong, and score them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypedDict

import polars as pl

from polars_mlq import (
    cli,  # the package: its ``sink`` is looked up when a command writes
)
from polars_mlq.cli.common import PROG, CliError
from polars_mlq.cli.files import atomic_output, scan
from polars_mlq.cli.inputs import Input, check_new_column, check_sparse_column, output_path, read_input
from polars_mlq.cli.options import (
    Subparsers,
    add_engine_argument,
    add_input_arguments,
    add_output_argument,
    add_scoring_arguments,
    add_sparse_arguments,
    add_terminal_arguments,
    counts,
    fraction,
    non_negative_int,
    scoring_kwargs,
    sparse_kwargs,
)
from polars_mlq.cli.progress import Progress, progress_enabled
from polars_mlq.core import FILTERS
from polars_mlq.namespace import MlqLazyFrame
from polars_mlq.typing import FilterBy


def add_issues(subparsers: Subparsers) -> None:
    """Declare ``issues`` and its arguments, handled by :func:`run_issues`.

    Parameters
    ----------
    subparsers
        The main parser's subcommands.
    """
    parser = subparsers.add_parser(
        "issues",
        help="flag the rows whose labels look wrong (is_label_issue) and score them",
        description=(
            "Read IN, flag the rows whose given labels look wrong with cleanlab's confident\n"
            "learning (a Boolean column is_label_issue), append the label-quality score, and\n"
            "write OUT. With --only-issues, OUT holds only the flagged rows, lowest score first.\n"
            "Flagging needs dataset-level statistics, so IN is read more than once."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} issues predictions.parquet -o flagged.parquet\n"
            f"  {PROG} issues predictions.parquet -o to_review.csv --only-issues\n"
            f"  {PROG} issues data.csv -o issues.csv --filter-by both --frac-noise 0.5 --only-issues"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    add_output_argument(parser)
    group = parser.add_argument_group("finding issues (cleanlab's options)")
    group.add_argument(
        "--filter-by",
        choices=FILTERS,
        default="prune_by_noise_rate",
        help="how rows are chosen (default: prune_by_noise_rate)",
    )
    group.add_argument(
        "--frac-noise",
        type=fraction,
        default=1.0,
        metavar="F",
        help="flag this fraction of the estimated number of issues, in [0, 1] (default: 1)",
    )
    group.add_argument(
        "--num-to-remove-per-class",
        type=counts,
        metavar="N,N,...",
        help="flag this many rows per class instead of the estimate: K counts",
    )
    group.add_argument(
        "--min-examples-per-class",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="leave at least N rows of each class unflagged (default: 1)",
    )
    group.add_argument(
        "--flag-name",
        default="is_label_issue",
        metavar="COL",
        help="name of the Boolean column (default: is_label_issue)",
    )
    group.add_argument(
        "--only-issues",
        action="store_true",
        help="keep only the flagged rows, sorted by the score, lowest (worst) first",
    )
    add_scoring_arguments(parser)
    add_sparse_arguments(parser)
    add_engine_argument(parser)
    add_terminal_arguments(parser)
    parser.set_defaults(handler=run_issues)


def run_issues(args: argparse.Namespace) -> int:
    """Flag and score IN into OUT.

    Parameters
    ----------
    args
        The parsed arguments of ``issues``.

    Returns
    -------
    int
        The exit code, 0 (errors are raised).
    """
    sparse = sparse_kwargs(args)
    if args.ray is not None:  # the same job on Ray (Ray itself is imported only then)
        from polars_mlq.cli import ray_jobs

        return ray_jobs.run_issues(args)
    inp = read_input(args)
    out, out_format = output_path(args, inp)
    check_new_columns(inp, args)
    check_sparse_column(inp, args)
    kwargs = scoring_kwargs(args)
    with Progress("issues", enabled=progress_enabled(args)) as progress:
        progress.phase("finding issues (reading IN for the per-class statistics)")
        frame = MlqLazyFrame(inp.frame).find_label_issues(
            inp.labels,
            inp.pred_probs,
            class_names=inp.class_names,
            name=args.flag_name,
            **issue_kwargs(args),
            **sparse,
        )
        if args.adjust_pred_probs:
            progress.phase("confident thresholds for the score")
        frame = MlqLazyFrame(frame).label_quality(
            inp.labels, inp.pred_probs, class_names=inp.class_names, name=args.name, **kwargs, **sparse
        )
        frame = progress.watch(frame, args.name)
        if args.only_issues:
            # Polars filters before it scores (the filter does not read the score), so only the
            # flagged rows are scored and counted: no total to show.
            progress.phase("scoring and writing the flagged rows", counting=True)
            frame = frame.filter(pl.col(args.flag_name)).sort(args.name, nulls_last=True, maintain_order=True)
        else:
            total = inp.row_count() if progress.enabled else None
            progress.phase("scoring and writing", counting=True, total=total)
        with atomic_output(out) as tmp:
            cli.sink(frame, tmp, out_format)
        if args.only_issues:
            report = f"wrote the {progress.rows:,} flagged rows to {out}"
        else:
            flagged = _count_true(out, out_format, args.flag_name) if progress.enabled else None
            share = (
                f"{flagged:,} of {progress.rows:,} rows flagged" if flagged is not None else f"{progress.rows:,} rows"
            )
            report = f"{share}, written to {out}"
        progress.done(f"{report} in {progress.elapsed:.1f} s")
    return 0


class IssueKwargs(TypedDict):
    """The filter options as keyword arguments of ``find_label_issues``."""

    filter_by: FilterBy
    frac_noise: float
    num_to_remove_per_class: list[int] | None
    min_examples_per_class: int


def issue_kwargs(args: argparse.Namespace) -> IssueKwargs:
    """Turn ``--filter-by`` etc. into keyword arguments of ``find_label_issues``.

    Parameters
    ----------
    args
        The parsed arguments of ``issues``.

    Returns
    -------
    IssueKwargs
        ``filter_by``, ``frac_noise``, ``num_to_remove_per_class`` and ``min_examples_per_class``.
    """
    return {
        "filter_by": args.filter_by,
        "frac_noise": args.frac_noise,
        "num_to_remove_per_class": args.num_to_remove_per_class,
        "min_examples_per_class": args.min_examples_per_class,
    }


def check_new_columns(inp: Input, args: argparse.Namespace) -> None:
    """Refuse names for the flag and score columns that IN has, or that are the same.

    Parameters
    ----------
    inp
        IN.
    args
        The parsed arguments of ``issues``.

    Raises
    ------
    CliError
        If a name is taken.
    """
    check_new_column(inp, args.flag_name, "--flag-name")
    check_new_column(inp, args.name, "--name")
    if args.flag_name == args.name:
        msg = f"--flag-name and --name are both {args.name!r}; give the two new columns different names"
        raise CliError(msg)


def _count_true(path: Path, fmt: str, column: str) -> int | None:
    """Count the flagged rows of the written file (for the closing report on a terminal)."""
    try:
        return int(scan(path, fmt).select(pl.col(column).sum()).collect(engine="streaming").item())
    except (pl.exceptions.PolarsError, OSError, TypeError, ValueError):  # e.g. CSV reads it back as text
        return None
