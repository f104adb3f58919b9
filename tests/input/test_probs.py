"""Reading pred_probs (``polars_mlq.input.probs``): the fixed-width check of a List column's offsets."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq.input import probs as _probs


@pytest.mark.parametrize("run", [1, 2, 3, 7, 1 << 16])
@given(
    lengths=st.lists(st.integers(0, 5), min_size=0, max_size=40),
    start=st.integers(0, 1_000),
    dtype=st.sampled_from([np.int32, np.int64]),
)
def test_steps_equal_says_whether_every_row_has_the_width(
    run: int, lengths: list[int], start: int, dtype: type
) -> None:
    """Run by run over the offsets (runs of 1 to 2^16, so a bad step falls inside a run, on its
    first or last step, or in the last, short run), it must agree with one diff of them all."""
    offsets = np.concatenate([[start], start + np.cumsum(lengths, dtype=np.int64)]).astype(dtype)
    for width in {3, *lengths}:
        assert _probs._steps_equal(offsets, width, run) == bool((np.diff(offsets) == width).all())


def test_a_ragged_row_past_the_first_run_is_named() -> None:
    """Two rows past the first run of 65,536 offsets, one long and one short, keep the total at
    n * K: only the steps show them, and the first is named."""
    n, k = 70_000, 4
    rows = [[0.25] * k for _ in range(n)]
    rows[65_600], rows[69_000] = [0.2] * (k + 1), [0.5] * (k - 1)
    frame = pl.DataFrame({"labels": [[0]] * n, "pred_probs": rows})
    with pytest.raises(ValueError, match=r"column 'pred_probs', row 65600: pred_probs has 5 values, expected 4"):
        frame.mlq.label_quality()
    rows[65_600], rows[69_000] = [0.25] * k, [0.25] * k
    scores = pl.DataFrame({"labels": [[0]] * n, "pred_probs": rows}).mlq.label_quality()["label_quality"]
    # q = 0.25 (the label's p) weighs alpha = 0.8 in the EMA, the three q = 0.75 the remaining 0.2
    np.testing.assert_allclose(scores.to_numpy(), np.full(n, 0.8 * 0.25 + 0.2 * 0.75), rtol=0, atol=1e-15)
