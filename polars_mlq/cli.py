"""The ``polars-mlq`` command line (also ``python -m polars_mlq``).

Each subcommand is a pair: ``_add_NAME(subparsers)`` declares its arguments and sets
``handler=_run_NAME``, which takes the parsed arguments and returns the exit code. To add one,
write the pair and list the adder in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

import polars_mlq

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PROG = "polars-mlq"
DEMO_FILE = "demo.parquet"
DEMO_CLASSES_FILE = "demo_classes.txt"
#: Widest a text cell may be by default in a printed table; longer text is cut and ends with "...".
MAX_CELL = 36


# --------------------------------------------------------------------------- bundled data


def _data_file(name: str) -> Traversable:
    return resources.files("polars_mlq").joinpath("data").joinpath(name)


def load_demo() -> tuple[pl.DataFrame, list[str]]:
    """The bundled demo dataset and its class names (index i of ``pred_probs`` is class i).

    Columns: ``id``, ``text`` (a caption of what really is in the photo), ``labels`` (the given,
    partly corrupted labels), ``pred_probs`` (Array(Float64, 8), a noisy model's outputs) and
    ``true_labels`` (the clean labels, which scoring never reads).

    Examples
    --------
    >>> from polars_mlq.cli import load_demo
    >>> df, classes = load_demo()
    >>> df.shape, classes[:3]
    ((1000, 5), ['person', 'car', 'tree'])
    """
    df = pl.read_parquet(io.BytesIO(_data_file(DEMO_FILE).read_bytes()))
    classes = _data_file(DEMO_CLASSES_FILE).read_text(encoding="utf-8").split()
    return df, classes


# --------------------------------------------------------------------------- plain-text tables


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    max_widths: Sequence[int] | None = None,
) -> str:
    """Columns padded to their widest cell, two spaces apart, under a dashed header rule.

    ``right`` says which columns are right-aligned (numbers); a cell wider than its column's
    ``max_widths`` entry (default MAX_CELL) is cut.

    Examples
    --------
    >>> print(format_table(["id", "name"], [["7", "cat"], ["12", "a very long name"]], [True, False], [4, 10]))
    id  name
    --  ----------
     7  cat
    12  a very ...
    """
    limits = max_widths or [MAX_CELL] * len(headers)
    cells = [[_cut(cell, limit) for cell, limit in zip(row, limits)] for row in [headers, *rows]]
    widths = [max(len(row[j]) for row in cells) for j in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _names(indices: Sequence[int], classes: Sequence[str]) -> str:
    return ", ".join(classes[i] for i in indices) if len(indices) else "(none)"


def _model_says(probs: np.ndarray, classes: Sequence[str], cutoff: float = 0.5) -> str:
    """Classes the model gives p >= cutoff, most likely first (else its single top class)."""
    order = np.argsort(-probs, kind="stable")
    top = [int(k) for k in order if probs[k] >= cutoff] or [int(order[0])]
    return ", ".join(f"{classes[k]} {probs[k]:.2f}".replace(" 0.", " .") for k in top)


def _what_went_wrong(given: Sequence[int], true: Sequence[int], classes: Sequence[str]) -> str:
    added = [classes[k] for k in sorted(set(given) - set(true))]
    missed = [classes[k] for k in sorted(set(true) - set(given))]
    parts = [f"added {name}" for name in added] + [f"missed {name}" for name in missed]
    return "yes: " + ", ".join(parts) if parts else "no"


# --------------------------------------------------------------------------- demo


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"must be a positive integer; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="score the bundled demo dataset and show the rows most likely mislabelled",
        description=(
            "Score the bundled demo dataset (1,000 tagged photos, 8 classes, 5% of rows with a\n"
            "label dropped or a wrong one added) with df.mlq.label_quality(), and print the\n"
            "rows with the lowest label quality: the ones to check first."
        ),
        epilog=f"example:\n  {PROG} demo\n  {PROG} demo --top 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        metavar="N",
        help="how many of the lowest-scoring rows to print (default: 10)",
    )
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    df, classes = load_demo()
    scored = df.mlq.label_quality(labels="labels", pred_probs="pred_probs")
    worst = scored.sort("label_quality", maintain_order=True).head(args.top)
    truth = "true_labels" in worst.columns

    headers = ["id", "score", "given labels", "model's top classes"]
    right = [True, True, False, False]
    widths = [8, 6, 40, 44]
    if truth:
        headers.append("really wrong?")
        right.append(False)
        widths.append(22)
    headers.append("caption")
    right.append(False)
    widths.append(30)
    rows = []
    found = 0  # rows shown whose given labels differ from the true ones
    for row in worst.iter_rows(named=True):
        cells = [
            str(row["id"]),
            f"{row['label_quality']:.4f}",
            _names(row["labels"], classes),
            _model_says(np.asarray(row["pred_probs"], dtype=np.float64), classes),
        ]
        if truth:
            verdict = _what_went_wrong(row["labels"], row["true_labels"], classes)
            found += verdict != "no"
            cells.append(verdict)
        cells.append(row["text"])
        rows.append(cells)

    n = df.height
    print(
        f"{PROG} demo: {n:,} photos tagged with {len(classes)} classes ({', '.join(classes)}).\n"
        "Scored with df.mlq.label_quality(): 0 = the labels look wrong, 1 = they look right.\n"
    )
    shown = f"{worst.height} rows" if worst.height != 1 else "row"
    print(f"The {shown} most likely mislabelled (lowest score first):\n")
    print(format_table(headers, rows, right, widths))
    if truth:
        corrupted_rows = int((df["labels"] != df["true_labels"]).sum())
        if worst.height == 1:
            verdict = "It really was corrupted" if found else "It was not corrupted"
        else:
            verdict = f"{found} of these {worst.height} rows really were corrupted"
        print(
            f"\n{verdict} (the demo keeps its true labels: {corrupted_rows} of its {n:,} rows, "
            f"{corrupted_rows / n:.0%}, were corrupted on purpose)."
        )
    print(
        "\nOn your own data:\n"
        "  import polars as pl, polars_mlq\n"
        '  df.mlq.label_quality(labels="labels", pred_probs="pred_probs").sort("label_quality").head(10)'
    )
    return 0


# --------------------------------------------------------------------------- entry point

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_demo,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Find mislabelled rows in multi-label datasets, from inside Polars:\n"
            "cleanlab's label-quality scores as Polars expressions."
        ),
        epilog=(
            "example:\n"
            f"  {PROG} demo            score the bundled demo dataset, show the 10 worst rows\n"
            f"  {PROG} demo --help     options of one command"
        ),
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # e.g. `polars-mlq demo | head`: the reader left, that is fine
        sys.stderr.close()
        return 0
    except (OSError, ValueError, TypeError, pl.exceptions.PolarsError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
