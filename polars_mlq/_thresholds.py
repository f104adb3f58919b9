"""Confident thresholds: per class, the mean probability of the given binary label.

For class k, ``present[k]`` is the mean of p over rows labelled k and ``absent[k]`` the mean of
1 - p over rows not labelled k (2.0 when a group is empty, then floored at 2e-6). They are sums
and counts, so they can be accumulated over streamed batches and combined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from polars_mlq._columns import Batch
from polars_mlq._threads import scratch

EMPTY_GROUP = 2.0  # the threshold of a binary label no row has: larger than any probability
FLOOR = 2e-6


@dataclass(frozen=True)
class Thresholds:
    """Per-class thresholds for the absent (0) and present (1) binary labels, float64 (K,)."""

    absent: np.ndarray
    present: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(self.absent.shape[0])

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "class": pl.Series(np.arange(self.num_classes), dtype=pl.UInt32),
                "threshold_absent": self.absent,
                "threshold_present": self.present,
            }
        )


def as_thresholds(value: object) -> Thresholds:
    """Accept what ``confident_thresholds`` returns, or a (K, 2) array [absent, present]."""
    if isinstance(value, Thresholds):
        return value
    if isinstance(value, pl.DataFrame):
        missing = {"threshold_absent", "threshold_present"} - set(value.columns)
        if missing:
            msg = f"thresholds frame lacks column(s) {sorted(missing)}; use mlq.confident_thresholds(...)"
            raise ValueError(msg)
        if "class" in value.columns:
            value = value.sort("class")
        array = value.select("threshold_absent", "threshold_present").to_numpy()
    elif isinstance(value, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            msg = f"thresholds must be numbers of shape (K, 2) [absent, present]: {exc}"
            raise ValueError(msg) from exc
    else:
        msg = (
            "thresholds must be the frame returned by mlq.confident_thresholds(...) or a (K, 2) "
            f"array [absent, present]; got {type(value).__name__}"
        )
        raise TypeError(msg)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        msg = f"thresholds must have shape (K, 2) [absent, present]; got {array.shape}"
        raise ValueError(msg)
    array = np.array(array, dtype=np.float64)
    if not np.all(np.isfinite(array)) or array.min() < FLOOR or array.max() > EMPTY_GROUP:
        msg = f"thresholds must be finite and in [{FLOOR}, {EMPTY_GROUP}]"
        raise ValueError(msg)
    return Thresholds(absent=array[:, 0].copy(), present=array[:, 1].copy())


@dataclass
class ThresholdStats:
    """Running sums for the thresholds; add batches, then call ``thresholds()``."""

    num_classes: int
    n_rows: int = 0
    n_present: np.ndarray | None = None
    sum_present: np.ndarray | None = None  # sum of p over rows labelled k
    sum_absent: np.ndarray | None = None  # sum of 1 - p over rows not labelled k

    def __post_init__(self) -> None:
        k = self.num_classes
        self.n_present = np.zeros(k, dtype=np.int64)
        self.sum_present = np.zeros(k, dtype=np.float64)
        self.sum_absent = np.zeros(k, dtype=np.float64)

    def add(self, batch: Batch) -> None:
        if batch.probs.shape[0] == 0:
            return
        if batch.num_classes != self.num_classes:
            msg = f"pred_probs have {batch.num_classes} classes, expected {self.num_classes}"
            raise ValueError(msg)
        assert self.n_present is not None and self.sum_present is not None
        assert self.sum_absent is not None
        self.n_rows += batch.probs.shape[0]
        k = self.num_classes
        positions = batch.label_positions
        distinct = positions.size < 2 or bool(np.all(positions[1:] > positions[:-1]))  # [1, 1] counts once
        for start, stop in batch.blocks():
            probs = batch.probs[start:stop]
            here = batch.positions(start, stop)
            if not distinct:
                here = np.unique(here)
            classes = here % k
            self.n_present += np.bincount(classes, minlength=k)
            self.sum_present += np.bincount(classes, weights=probs.reshape(-1)[here], minlength=k)
            if probs.dtype == np.float64:  # into the thread's block buffer, which scoring reuses
                work = np.subtract(1.0, probs, out=scratch("scores", probs.shape, np.float64))
            else:
                work = np.subtract(1.0, probs.astype(np.float64))  # (no dtype=: a slow loop)
            work.reshape(-1)[here] = 0.0
            self.sum_absent += np.einsum("ij->j", work)  # column sums; faster than sum(axis=0) on short rows

    def thresholds(self) -> Thresholds:
        assert self.n_present is not None and self.sum_present is not None
        assert self.sum_absent is not None
        n_absent = self.n_rows - self.n_present
        with np.errstate(invalid="ignore", divide="ignore"):
            present = np.where(self.n_present > 0, self.sum_present / self.n_present, EMPTY_GROUP)
            absent = np.where(n_absent > 0, self.sum_absent / n_absent, EMPTY_GROUP)
        return Thresholds(absent=np.maximum(absent, FLOOR), present=np.maximum(present, FLOOR))


def batch_thresholds(batch: Batch) -> Thresholds:
    stats = ThresholdStats(batch.num_classes)
    stats.add(batch)
    return stats.thresholds()
