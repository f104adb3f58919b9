"""The main parser, its subcommands, and the entry point that turns errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence

import polars as pl

import polars_mlq
from polars_mlq.cli.common import PROG, CliError, one_line
from polars_mlq.cli.demo import add_demo
from polars_mlq.cli.issues import add_issues
from polars_mlq.cli.options import Subparsers
from polars_mlq.cli.score import add_score
from polars_mlq.cli.summary import add_summary

_SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (add_score, add_issues, add_summary, add_demo)


_EXAMPLES = (
    ("demo", "score the bundled demo data, show the 10 worst rows"),
    ("score in.parquet -o out.parquet", "append a label_quality column, streaming"),
    ("issues in.parquet -o out.csv --only-issues", "the flagged rows, worst first"),
    ("summary in.parquet", "label health score and a table per class"),
    ("score --help", "options and examples of one command"),
)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``polars-mlq`` parser with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        The parser; a subcommand's parsed arguments carry its ``handler``.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Find mislabelled rows in multi-label datasets, from inside Polars:\n"
            "cleanlab's label-quality scores as Polars expressions."
        ),
        epilog=("examples:\n" + "\n".join(f"  {PROG} {command:<43}  {what}" for command, what in _EXAMPLES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {polars_mlq.__version__} (polars {pl.__version__})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


#: Errors whose message is meant for the user; anything else is reported as an internal error.
_EXPECTED = (CliError, OSError, ValueError, TypeError, pl.exceptions.PolarsError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    0 on success, 1 on an error (one line on stderr, ``polars-mlq: error: ...``; with ``--debug``
    the traceback before it), 2 for a usage error, 130 when interrupted.

    Parameters
    ----------
    argv
        The arguments, without the program's name.

    Returns
    -------
    int
        The exit code (when ``argv`` is None and it is not 0, the process exits with it instead).
    """
    code = _main(argv)
    if argv is None and code != 0:
        # Run as a program: exit now, without finalizing the interpreter. After an error inside a
        # streaming query, Polars may still be running Python code on other batches in its own
        # threads; a thread that asks for the GIL while the interpreter shuts down is killed
        # with pthread_exit, which aborts the process (SIGABRT) instead of exiting with `code`.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    debug = getattr(args, "debug", False)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # e.g. `polars-mlq demo | head`: the reader left, that is fine
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, not a traceback: the user's data or arguments are at fault
        if debug:
            traceback.print_exc()
        message = one_line(exc)
        if not isinstance(exc, _EXPECTED):
            message = f"internal error, {type(exc).__name__}: {message} (run with --debug for the traceback)"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
