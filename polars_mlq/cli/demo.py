"""``polars-mlq demo``: score the bundled demo dataset and show the rows most likely mislabelled."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from polars_mlq.cli.common import PROG
from polars_mlq.cli.demo_data import load_demo
from polars_mlq.cli.options import Subparsers, positive_int
from polars_mlq.cli.tables import format_table
from polars_mlq.namespace import MlqFrame


def add_demo(subparsers: Subparsers) -> None:
    """Declare ``demo`` and its arguments, handled by :func:`run_demo`.

    Parameters
    ----------
    subparsers
        The main parser's subcommands.
    """
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
        type=positive_int,
        default=10,
        metavar="N",
        help="how many of the lowest-scoring rows to print (default: 10)",
    )
    parser.set_defaults(handler=run_demo)


def _names(indices: Sequence[int], classes: Sequence[str]) -> str:
    return ", ".join(classes[i] for i in indices) if len(indices) else "(none)"


def _model_says(probs: np.ndarray, classes: Sequence[str], cutoff: float = 0.5) -> str:
    """List the classes the model gives p >= cutoff, most likely first (else its single top class)."""
    order = np.argsort(-probs, kind="stable")
    top = [int(k) for k in order if probs[k] >= cutoff] or [int(order[0])]
    return ", ".join(f"{classes[k]} {probs[k]:.2f}".replace(" 0.", " .") for k in top)


def _what_went_wrong(given: Sequence[int], true: Sequence[int], classes: Sequence[str]) -> str:
    added = [classes[k] for k in sorted(set(given) - set(true))]
    missed = [classes[k] for k in sorted(set(true) - set(given))]
    parts = [f"added {name}" for name in added] + [f"missed {name}" for name in missed]
    return "yes: " + ", ".join(parts) if parts else "no"


def run_demo(args: argparse.Namespace) -> int:
    """Print the demo dataset's lowest-scoring rows.

    Parameters
    ----------
    args
        The parsed arguments of ``demo``.

    Returns
    -------
    int
        The exit code, 0.
    """
    df, classes = load_demo()
    scored = MlqFrame(df).label_quality(labels="labels", pred_probs="pred_probs")
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
    rows: list[list[str]] = []
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
