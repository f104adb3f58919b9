"""Datasets split into several blocks (the Ray cluster itself is the session fixture ``ray_cluster``)."""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest


@pytest.fixture(scope="session")
def parquet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 rows of 7 classes in three Parquet files of 300, 450 and 250 rows (row 0 is file 0's first)."""
    labels, probs = helpers.issue_data(5, 1000, 7)
    frame = helpers.scoring_frame(labels, probs)
    folder = tmp_path_factory.mktemp("dataset")
    for i, (start, stop) in enumerate([(0, 300), (300, 750), (750, 1000)]):
        frame.slice(start, stop - start).write_parquet(folder / f"part-{i}.parquet", row_group_size=100)
    return folder
