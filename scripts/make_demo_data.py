"""Generate the bundled demo dataset: polars_mlq/data/demo.parquet and demo_classes.txt.

A small, realistic multi-label image-tagging set, made deterministically (seeded numpy):

* 1,000 photos, 8 classes with imbalanced priors and a few co-occurrences (boats with water
  scenes, birds with trees, people with cars and buildings);
* ``text``: a short caption describing what is really in the photo;
* ``pred_probs``: one independent sigmoid per class from a noisy model whose logits are driven by
  the true labels (some classes are harder, some photos are blurry);
* ``labels``: the given (annotated) labels, with exactly 5% of rows corrupted: either one true
  label dropped or one wrong label added;
* ``true_labels``: the clean labels, kept so the demo can say how many flagged rows really were
  corrupted. Scoring never reads it.

Run from the repository root: ``python scripts/make_demo_data.py``. Re-running it rewrites the
same data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

SEED = 20240611
N_ROWS = 1000
CORRUPTED_FRACTION = 0.05

CLASSES = ["person", "car", "tree", "building", "dog", "cat", "bird", "boat"]
PRIORS = np.array([0.45, 0.30, 0.28, 0.22, 0.16, 0.11, 0.08, 0.05])
#: How separable each class is for the model (larger = easier); small animals are hard.
STRENGTH = np.array([3.4, 3.6, 3.0, 3.1, 3.2, 2.9, 2.5, 3.3])
PHRASES = {
    "person": ["a person", "a man", "a woman", "two people", "a child"],
    "car": ["a car", "a parked car", "a red car", "a taxi"],
    "tree": ["a tree", "some trees", "an oak tree", "a palm tree"],
    "building": ["a building", "an old house", "an office block", "a church"],
    "dog": ["a dog", "a puppy", "a sleeping dog", "a black dog"],
    "cat": ["a cat", "a kitten", "a tabby cat", "a cat on a sofa"],
    "bird": ["a bird", "a pigeon", "a seagull", "a small bird"],
    "boat": ["a boat", "a sailboat", "a fishing boat", "a ferry"],
}
OPENINGS = ["", "photo of ", "snapshot: ", "picture with ", "image showing "]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "polars_mlq" / "data"


def sample_true_labels(rng: np.random.Generator) -> np.ndarray:
    """(N, K) boolean matrix of true labels, with correlated classes and at least one per row."""
    k = len(CLASSES)
    idx = {name: i for i, name in enumerate(CLASSES)}
    y = rng.random((N_ROWS, k)) < PRIORS
    # Co-occurrences: birds near trees, boats near buildings/people, cats rarely with dogs.
    y[:, idx["tree"]] |= y[:, idx["bird"]] & (rng.random(N_ROWS) < 0.5)
    y[:, idx["person"]] |= y[:, idx["boat"]] & (rng.random(N_ROWS) < 0.4)
    y[:, idx["cat"]] &= ~(y[:, idx["dog"]] & (rng.random(N_ROWS) < 0.7))
    empty = ~y.any(axis=1)
    y[empty, rng.choice(k, size=int(empty.sum()), p=PRIORS / PRIORS.sum())] = True
    return y


def model_probabilities(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """A noisy multi-label model: per-class sigmoid of logits correlated with the true labels."""
    n, k = y.shape
    difficulty = rng.gamma(shape=2.0, scale=0.8, size=(n, 1))  # blurry photos are harder
    logits = np.where(y, 1.0, -1.0) * STRENGTH / (0.6 + 0.4 * difficulty)
    logits += rng.normal(0.0, 1.3, size=(n, k))
    logits += np.log(PRIORS / (1 - PRIORS)) * 0.3  # the model leans towards frequent classes
    return 1.0 / (1.0 + np.exp(-logits))


def corrupt(rng: np.random.Generator, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given labels: a copy of ``y`` with one label dropped or one wrong label added on 5% of rows."""
    n, k = y.shape
    given = y.copy()
    rows = np.sort(rng.choice(n, size=round(n * CORRUPTED_FRACTION), replace=False))
    for row in rows:
        present = np.flatnonzero(y[row])
        absent = np.flatnonzero(~y[row])
        if present.size >= 2 and rng.random() < 0.5:
            given[row, rng.choice(present)] = False  # a label the annotator missed
        else:
            weights = PRIORS[absent] / PRIORS[absent].sum()
            given[row, rng.choice(absent, p=weights)] = True  # a label that is not there
    return given, rows


def caption(rng: np.random.Generator, labels: np.ndarray) -> str:
    names = [CLASSES[i] for i in rng.permutation(labels)]
    parts = [str(rng.choice(PHRASES[name])) for name in names]
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return str(rng.choice(OPENINGS)) + body


def as_lists(mask: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(row).tolist() for row in mask]


def build() -> pl.DataFrame:
    rng = np.random.default_rng(SEED)
    y = sample_true_labels(rng)
    probs = np.round(model_probabilities(rng, y), 4)  # a model's output, as usually stored
    given, _ = corrupt(rng, y)
    texts = [caption(rng, np.flatnonzero(row)) for row in y]
    k = len(CLASSES)
    return pl.DataFrame(
        {
            "id": pl.Series(np.arange(N_ROWS), dtype=pl.Int64),
            "text": texts,
            "labels": pl.Series(as_lists(given), dtype=pl.List(pl.Int64)),
            "pred_probs": pl.Series(probs, dtype=pl.Array(pl.Float64, k)),
            "true_labels": pl.Series(as_lists(y), dtype=pl.List(pl.Int64)),
        }
    )


def main() -> None:
    df = build()
    DATA.mkdir(parents=True, exist_ok=True)
    df.write_parquet(DATA / "demo.parquet", compression="zstd", compression_level=19, statistics=False)
    (DATA / "demo_classes.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    corrupted = (df["labels"] != df["true_labels"]).sum()
    size = (DATA / "demo.parquet").stat().st_size
    print(f"wrote {DATA / 'demo.parquet'}: {df.height} rows, {corrupted} corrupted, {size:,} bytes")


if __name__ == "__main__":
    main()
