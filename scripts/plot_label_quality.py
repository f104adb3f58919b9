"""Draw docs/img/label_quality.png: the distribution of label_quality on the demo data.

    pip install -e ".[docs]"                 # matplotlib
    python scripts/plot_label_quality.py     # writes docs/img/label_quality.png

The demo data ships with the package (``polars_mlq/data/demo.parquet``). Every row is scored with
``df.mlq.label_quality()`` and flagged or not with ``df.mlq.find_label_issues()``, both with their
defaults. The histogram stacks the flagged rows on the others; the ticks under it mark the rows
whose labels really were corrupted (the demo keeps its true labels), which scoring never reads.
Deterministic: the same data gives the same picture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq.cli import load_demo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img" / "label_quality.png"


def scored_demo() -> pl.DataFrame:
    df, _ = load_demo()
    return (
        df.mlq.find_label_issues()
        .mlq.label_quality()
        .with_columns(corrupted=pl.col("labels").list.sort() != pl.col("true_labels").list.sort())
    )


def draw(df: pl.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flagged = df.filter(pl.col("is_label_issue"))["label_quality"].to_numpy()
    kept = df.filter(~pl.col("is_label_issue"))["label_quality"].to_numpy()
    corrupted = df.filter(pl.col("corrupted"))["label_quality"].to_numpy()
    caught = int(df.filter(pl.col("is_label_issue") & pl.col("corrupted")).height)

    bins = np.linspace(0.0, 1.0, 41)
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    ax.hist(
        [kept, flagged],
        bins=bins,
        stacked=True,
        color=["#9fb3c8", "#e8590c"],
        edgecolor="white",
        linewidth=0.5,
        label=[f"not flagged ({kept.size:,} rows)", f"flagged by find_label_issues ({flagged.size:,} rows)"],
    )
    ymax = ax.get_ylim()[1]
    ax.plot(
        corrupted,
        np.full(corrupted.size, -0.04 * ymax),
        linestyle="none",
        marker="|",
        markersize=10,
        color="#212529",
        label=f"really corrupted ({corrupted.size} rows; {caught} of them flagged)",
    )
    ax.set_ylim(-0.08 * ymax, ymax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("label_quality  (0: the labels look wrong, 1: they look right)")
    ax.set_ylabel("rows")
    ax.set_title(f"The demo data: {df.height:,} tagged photos, scored with df.mlq.label_quality()")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})  # no version string: the file depends on the data only
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the PNG (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    df = scored_demo()
    draw(df, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
