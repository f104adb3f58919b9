"""Confident thresholds: per class, the mean probability of the given binary label.

For class k, ``present[k]`` is the mean of p over rows labelled k and ``absent[k]`` the mean of
1 - p over rows not labelled k (2.0 when a group is empty, then floored at 2e-6). They are computed
by the statistics core (``polars_mlq.core.thresholds``): exact sums merged over batches, so every
path gets the same thresholds, bit for bit; this module holds the values scoring uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

#: The threshold of a binary label no row has: larger than any probability.
EMPTY_GROUP = 2.0
#: Every threshold is at least this.
FLOOR = 2e-6


@dataclass(frozen=True)
class Thresholds:
    """Per-class thresholds for the absent (0) and present (1) binary labels, float64 (K,)."""

    absent: np.ndarray
    present: np.ndarray

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return int(self.absent.shape[0])

    def to_frame(self) -> pl.DataFrame:
        """Return the thresholds as a frame: columns class, threshold_absent and threshold_present."""
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
