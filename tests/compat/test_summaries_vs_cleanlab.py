"""The dataset summaries (``common_multilabel_issues``, ``rank_classes_by_multilabel_quality``,
``overall_multilabel_health_score``, ``multilabel_health_summary``) checked against cleanlab.

The check itself is ``helpers.check_summaries_match_cleanlab``, which
tests/reliability/test_fuzz_cleanlab.py runs on its own data too.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    CLEANLAB_SETTINGS,
    check_summaries_match_cleanlab,
    dataset_call,
    issue_data,
    issue_datasets,
    special_classes,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from polars_mlq.compat import (
    multilabel_health_summary,
    rank_classes_by_multilabel_quality,
)

cl_dataset = pytest.importorskip("cleanlab.multilabel_classification.dataset")


@CLEANLAB_SETTINGS
@given(data=issue_datasets(max_rows=120, max_classes=10), named=st.booleans())
def test_summaries_match_cleanlab(data: tuple[list[list[int]], np.ndarray], named: bool) -> None:
    labels, probs = data
    k = probs.shape[1]
    assume(not special_classes(labels, k, "").any())
    check_summaries_match_cleanlab(labels, probs, named)


def test_summary_prints_unless_told_not_to(capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = issue_data(2, 60, 3)
    multilabel_health_summary(labels, probs, verbose=False)
    assert capsys.readouterr().out == ""
    multilabel_health_summary(labels, probs, num_examples=1234)
    out = capsys.readouterr().out
    assert "1234 examples" in out and "health score" in out


def test_rank_classes_uses_the_confident_joint() -> None:
    """cleanlab forwards ``joint`` (not ``confident_joint``) to the issue finder; we use whichever
    is given, so ``joint`` reproduces cleanlab and ``confident_joint`` is no longer ignored."""
    labels, probs = issue_data(4, 100, 3)
    joint = np.random.default_rng(0).integers(0, 40, (3, 2, 2))
    theirs = dataset_call(cl_dataset.rank_classes_by_multilabel_quality, labels, probs, joint=joint)
    ours = rank_classes_by_multilabel_quality(labels, probs, joint=joint)
    assert ours["Label Noise"].to_list() == theirs["Label Noise"].tolist()
    np.testing.assert_array_equal(
        rank_classes_by_multilabel_quality(labels, probs, confident_joint=joint).to_numpy(), ours.to_numpy()
    )
