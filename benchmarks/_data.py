"""Deterministic synthetic multi-label data for the benchmarks.

The same (n, k, seed) always gives the same arrays, on any machine (numpy's PCG64 stream).

* True labels: each class k is present independently with an imbalanced prior (Zipf-like,
  ``prior_k ∝ 1/(k+1)``, about 1.5 labels per row on average, capped at 0.5). Rows may have no label.
* pred_probs: a noisy model correlated with the true labels, ``sigmoid(2.5 * (2y - 1) +
  0.5 * logit(prior_k) + N(0, 1.5²))``, float64, each entry in (0, 1) (not normalised per row,
  as in multi-label).
* Given labels: the true labels with about 5% of rows corrupted: in each such row one class,
  chosen uniformly, is toggled (a missing label added or a present one removed).

Arrays are generated in row chunks, so the temporaries stay small next to the (n, k) result.

That is the ``base`` distribution. ``make_dataset(..., kind=...)`` gives the others the benchmark
measures, because speed that holds on one generator need not hold on users' models:

* ``weak``: each row's logit strength drawn from U(0.3, 3.5) instead of 2.5, so many probabilities
  sit near 0.5; about 2.5 labels per row, listed in random order within each row.
* ``uniform``: probabilities U(0, 1), independent of the labels (a model that learned nothing).
* ``many_labels``: about 10 labels per row (priors scaled up, capped at 0.9), in random order.
* ``ties``: the base model with probabilities rounded to 2 decimals (kept within [0.01, 0.99]) and a
  quarter of the rows copies of earlier rows (labels and probabilities).
* ``saturated``: strength 16, so most probabilities lie within 1e-6 of 0 or 1.
* ``float32``: the weak model, stored as float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEAN_LABELS = 1.5
FLIP_FRACTION = 0.05
_CHUNK_ELEMENTS = 1 << 22  # rows are generated about 4M entries at a time


@dataclass(frozen=True)
class Kind:
    """How one distribution differs from ``base``."""

    strength: tuple[float, float] = (2.5, 2.5)  # per-row logit strength, U(low, high)
    mean_labels: float = MEAN_LABELS
    cap: float = 0.5  # largest class prior
    uniform: bool = False  # probabilities U(0, 1), ignoring the labels
    decimals: int | None = None  # round probabilities (ties)
    duplicate: float = 0.0  # share of rows copied from earlier rows
    shuffle: bool = False  # labels in random order within rows
    float32: bool = False


KINDS: dict[str, Kind] = {
    "base": Kind(),
    "weak": Kind(strength=(0.3, 3.5), mean_labels=2.5, shuffle=True),
    "uniform": Kind(uniform=True),
    "many_labels": Kind(mean_labels=12.0, cap=0.9, shuffle=True),
    "ties": Kind(decimals=2, duplicate=0.25),
    "saturated": Kind(strength=(16.0, 16.0)),
    "float32": Kind(strength=(0.3, 3.5), mean_labels=2.5, float32=True),
}


@dataclass(frozen=True)
class Dataset:
    """``label_offsets``/``label_values`` hold the given (noisy) labels in CSR form:
    row i's labels are ``label_values[label_offsets[i]:label_offsets[i + 1]]``."""

    pred_probs: np.ndarray  # (n, k) float64 (float32 for kind float32), C-contiguous
    label_offsets: np.ndarray  # (n + 1,) int64
    label_values: np.ndarray  # int64
    n_flipped: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.pred_probs.shape

    def labels_list(self) -> list[list[int]]:
        """Labels as cleanlab takes them: a Python list of lists of int."""
        values = self.label_values.tolist()
        offsets = self.label_offsets.tolist()
        return [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def labels_arrow(self):  # -> pyarrow.LargeListArray
        import pyarrow as pa

        return pa.LargeListArray.from_arrays(pa.array(self.label_offsets), pa.array(self.label_values))

    def labels_series(self, name: str = "labels"):  # -> pl.Series of List(Int64)
        import polars as pl

        return pl.Series(name, pl.from_arrow(self.labels_arrow())).cast(pl.List(pl.Int64))

    def pred_probs_series(self, name: str = "pred_probs"):  # -> pl.Series of List(Float64 or Float32)
        import polars as pl
        import pyarrow as pa

        n, k = self.pred_probs.shape
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int64))
        flat = pa.array(self.pred_probs.reshape(-1))  # zero-copy view of the numpy buffer
        series = pl.from_arrow(pa.LargeListArray.from_arrays(offsets, flat))
        inner = pl.Float32 if self.pred_probs.dtype == np.float32 else pl.Float64
        return pl.Series(name, series).cast(pl.List(inner))

    def frame(self):  # -> pl.DataFrame with List(Int64) labels and List(Float64) pred_probs
        import polars as pl

        return pl.DataFrame([self.labels_series(), self.pred_probs_series()]).rechunk()


def class_priors(k: int, mean_labels: float = MEAN_LABELS, cap: float = 0.5) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1, dtype=np.float64)
    return np.minimum(cap, mean_labels * weights / weights.sum())


def make_dataset(n: int, k: int, seed: int = 0, kind: str = "base") -> Dataset:
    """Return the dataset for (n, k, seed) of distribution ``kind``; see the module docstring."""
    spec = KINDS[kind]
    rng = np.random.default_rng([seed, n, k] if kind == "base" else [seed, n, k, *kind.encode()])
    priors = class_priors(k, spec.mean_labels, spec.cap)
    prior_logit = 0.5 * np.log(priors / (1 - priors))
    probs = np.empty((n, k), dtype=np.float64)
    counts = np.empty(n, dtype=np.int64)
    values: list[np.ndarray] = []
    n_flipped = 0
    step = max(1, _CHUNK_ELEMENTS // k)
    for start in range(0, n, step):
        stop = min(n, start + step)
        b = stop - start
        truth = rng.random((b, k)) < priors
        z = probs[start:stop]
        if spec.uniform:
            rng.random((b, k), out=z)
        else:
            rng.standard_normal((b, k), out=z)
            z *= 1.5
            z += prior_logit
            low, high = spec.strength
            strength = np.full((b, 1), low) if low == high else rng.uniform(low, high, size=(b, 1))
            z += np.where(truth, strength, -strength)
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)  # sigmoid
        if spec.decimals is not None:
            np.clip(np.round(z, spec.decimals), 10.0**-spec.decimals, 1 - 10.0**-spec.decimals, out=z)
        flip = np.flatnonzero(rng.random(b) < FLIP_FRACTION)
        truth[flip, rng.integers(0, k, size=flip.size)] ^= True
        n_flipped += int(flip.size)
        if spec.duplicate and b > 1:
            copies = np.flatnonzero(rng.random(b) < spec.duplicate)
            copies = copies[copies > 0]
            sources = (rng.random(copies.size) * copies).astype(np.int64)  # an earlier row
            z[copies], truth[copies] = z[sources], truth[sources]
        rows, cols = np.nonzero(truth)  # row-major: each row's classes ascending
        if spec.shuffle:  # random order within each row: sort by (row, random key)
            order = np.lexsort((rng.random(rows.size), rows))
            cols = cols[order]
        counts[start:stop] = np.bincount(rows, minlength=b)
        values.append(cols.astype(np.int64))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    label_values = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
    if spec.float32:
        probs = probs.astype(np.float32)
    return Dataset(probs, offsets, label_values, n_flipped)


def write_parquet(
    path: str, n: int, k: int, *, seed: int = 0, row_group_rows: int = 125_000, kind: str = "base", first_id: int = 0
) -> None:
    """Write an (n, k) dataset of distribution ``kind`` as Parquet (List(Int64) labels,
    List(Float64) pred_probs, List(Float32) for kind float32, an id), one row group per
    ``row_group_rows`` rows, generated piecewise so memory stays bounded. Ids count from
    ``first_id`` (so the files of a folder can have distinct ids).

    Each row group is the dataset for (row_group_rows, k, seed + group index), so an 8e6-row file
    starts with the same rows as the 4e6-row file.
    """
    import polars as pl
    import pyarrow.parquet as pq

    writer = None
    try:
        for g, start in enumerate(range(0, n, row_group_rows)):
            rows = min(row_group_rows, n - start)
            data = make_dataset(rows, k, seed=seed + g, kind=kind)
            frame = pl.DataFrame(
                [
                    pl.Series("id", np.arange(first_id + start, first_id + start + rows, dtype=np.int64)),
                    data.labels_series(),
                    data.pred_probs_series(),
                ]
            )
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=rows)
    finally:
        if writer is not None:
            writer.close()
