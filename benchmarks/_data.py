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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEAN_LABELS = 1.5
FLIP_FRACTION = 0.05
_CHUNK_ELEMENTS = 1 << 22  # rows are generated about 4M entries at a time


@dataclass(frozen=True)
class Dataset:
    """``label_offsets``/``label_values`` hold the given (noisy) labels in CSR form:
    row i's labels are ``label_values[label_offsets[i]:label_offsets[i + 1]]``, ascending."""

    pred_probs: np.ndarray  # (n, k) float64, C-contiguous
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

    def pred_probs_series(self, name: str = "pred_probs"):  # -> pl.Series of List(Float64)
        import polars as pl
        import pyarrow as pa

        n, k = self.pred_probs.shape
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int64))
        flat = pa.array(self.pred_probs.reshape(-1))  # zero-copy view of the numpy buffer
        series = pl.from_arrow(pa.LargeListArray.from_arrays(offsets, flat))
        return pl.Series(name, series).cast(pl.List(pl.Float64))

    def frame(self):  # -> pl.DataFrame with List(Int64) labels and List(Float64) pred_probs
        import polars as pl

        return pl.DataFrame([self.labels_series(), self.pred_probs_series()]).rechunk()


def class_priors(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1, dtype=np.float64)
    return np.minimum(0.5, MEAN_LABELS * weights / weights.sum())


def make_dataset(n: int, k: int, seed: int = 0) -> Dataset:
    """The dataset for (n, k, seed); see the module docstring for the model."""
    rng = np.random.default_rng([seed, n, k])
    priors = class_priors(k)
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
        rng.standard_normal((b, k), out=z)
        z *= 1.5
        z += prior_logit
        z += np.where(truth, 2.5, -2.5)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)  # sigmoid
        flip = np.flatnonzero(rng.random(b) < FLIP_FRACTION)
        truth[flip, rng.integers(0, k, size=flip.size)] ^= True
        n_flipped += int(flip.size)
        rows, cols = np.nonzero(truth)  # row-major: each row's classes ascending
        counts[start:stop] = np.bincount(rows, minlength=b)
        values.append(cols.astype(np.int64))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    label_values = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
    return Dataset(probs, offsets, label_values, n_flipped)


def write_parquet(path: str, n: int, k: int, *, seed: int = 0, row_group_rows: int = 125_000) -> None:
    """Write an (n, k) dataset as Parquet (List(Int64) labels, List(Float64) pred_probs, an id),
    one row group per ``row_group_rows`` rows, generated piecewise so memory stays bounded.

    Each row group is the dataset for (row_group_rows, k, seed + group index), so an 8e6-row file
    starts with the same rows as the 4e6-row file.
    """
    import polars as pl
    import pyarrow.parquet as pq

    writer = None
    try:
        for g, start in enumerate(range(0, n, row_group_rows)):
            rows = min(row_group_rows, n - start)
            data = make_dataset(rows, k, seed=seed + g)
            frame = pl.DataFrame(
                [
                    pl.Series("id", np.arange(start, start + rows, dtype=np.int64)),
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
