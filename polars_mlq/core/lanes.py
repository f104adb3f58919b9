"""Exact integer column sums of int64 blocks, many rows side by side (``complement_sums``' lanes)."""

from __future__ import annotations

import numpy as np

#: Rows side by side in ``complement_sums``' int64 lanes (up to this many, and up to 4096 values).
_WIDE_ROWS = 64


def wide_rows(k: int) -> int:
    """Return how many rows of K values ``Lanes`` lays side by side."""
    return max(1, min(_WIDE_ROWS, 4096 // max(k, 1)))


#: Values added in one int64 lane: 1023 integers of at most 2**53 * (1 + 1e-6) stay below 2**63.
LANE_VALUES = 1023
_LOW_32 = (1 << 32) - 1


class Lanes:
    """Integer column sums of int64 blocks, ``wide`` rows side by side in int64 lanes.

    A lane holds at most 1023 values before it is folded into the (K,) high and low 32-bit sums.
    """

    def __init__(self, wide: int, k: int) -> None:
        self.wide, self.k = wide, k
        self.lanes = np.zeros((wide, k), dtype=np.int64)
        self.filled = 0  # values in the fullest lane
        self.high = np.zeros(k, dtype=np.int64)
        self.low = np.zeros(k, dtype=np.int64)

    def add(self, block: np.ndarray) -> None:
        """Add the (m, K) int64 block's columns (each value at most 2**53 * (1 + 1e-6))."""
        m = block.shape[0]
        per_lane = -(-m // self.wide)
        if self.filled + per_lane > LANE_VALUES:
            self.fold()
        whole = m - m % self.wide
        flat = self.lanes.reshape(-1)
        flat += np.add.reduce(block[:whole].reshape(-1, self.wide * self.k), axis=0)
        if whole < m:
            self.lanes[: m - whole] += block[whole:]
        self.filled += per_lane

    def fold(self) -> None:
        """Move the lanes into the high and low 32-bit sums and empty them."""
        self.high += (self.lanes >> 32).sum(axis=0)
        self.low += (self.lanes & _LOW_32).sum(axis=0)
        self.lanes[:] = 0
        self.filled = 0

    def totals(self) -> list[int]:
        """Return the column sums so far, as Python integers."""
        self.fold()
        return [(h << 32) + lo for h, lo in zip(self.high.tolist(), self.low.tolist(), strict=True)]
