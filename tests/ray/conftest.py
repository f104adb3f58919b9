"""One local Ray cluster (2 CPUs) for the whole test session, and Datasets split into several blocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
import ray


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """Start Ray once (2 CPUs, no dashboard); shut it down after the last test."""
    if not ray.is_initialized():  # a docs page may have started it
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def parquet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 rows of 7 classes in three Parquet files of 300, 450 and 250 rows (row 0 is file 0's first)."""
    labels, probs = helpers.issue_data(5, 1000, 7)
    frame = helpers.scoring_frame(labels, probs)
    folder = tmp_path_factory.mktemp("dataset")
    for i, (start, stop) in enumerate([(0, 300), (300, 750), (750, 1000)]):
        frame.slice(start, stop - start).write_parquet(folder / f"part-{i}.parquet", row_group_size=100)
    return folder
