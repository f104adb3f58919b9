"""Bad input only the numpy-level functions can be given: Python lists and numpy-only options.

(The bad data and options every path can be given, the numpy functions included, are the
catalogues of tests/reliability/test_bad_data.py and test_bad_options.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import polars_mlq as mlq

P2 = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
L2 = [[0], [1], [0, 1]]
TRUE = np.bool_(True)
RANKED = {"return_indices_ranked_by": "self_confidence"}
JOINT = np.ones((2, 2, 2))


@dataclass(frozen=True)
class NumpyCase:
    """A call of a numpy-level function: ``function(labels, pred_probs, **kwargs)``."""

    error: type[BaseException]
    words: str
    function: Callable[..., Any]
    labels: Any = field(default_factory=lambda: L2)
    pred_probs: Any = field(default_factory=lambda: P2)
    kwargs: dict[str, Any] = field(default_factory=dict)


LIST_OF_LISTS = r"labels must be a list of lists of class indices or a polars Series; got "
NOT_INDICES = r"column 'labels'.*labels must be a List of class indices"
NUMPY_ONLY: dict[str, NumpyCase] = {
    "labels-not-a-list": NumpyCase(
        TypeError, LIST_OF_LISTS + "ndarray", mlq.get_label_quality_scores, np.array([0, 1, 0])
    ),
    "labels-a-string": NumpyCase(TypeError, LIST_OF_LISTS + "str", mlq.find_label_issues, "010"),
    "labels-row-a-set": NumpyCase(
        TypeError, r"labels, row 0: each row must be a list of class indices \(e\.g\. \[0, 2\]\); got \{0\}",
        mlq.get_label_quality_scores, [{0}, {1}, {0}],
    ),
    "labels-row-an-int": NumpyCase(
        TypeError, r"labels, row 1: each row must be a list of class indices", mlq.multilabel_health_summary,
        [[0], 1, [0]],
    ),
    "labels-beyond-int64": NumpyCase(
        ValueError,
        r"column 'labels', row 1: label 18446744073709551615 is not a class index; labels must be in \[0, 1\]",
        mlq.get_label_quality_scores, [[0], [2**64 - 1], [1]],
    ),
    "labels-bool-among-ints": NumpyCase(TypeError, NOT_INDICES, mlq.get_label_quality_scores, [[0], [True, 1], [1]]),
    "labels-numpy-bools": NumpyCase(TypeError, NOT_INDICES, mlq.find_label_issues, [[0], [TRUE], [1]]),
    "lengths-differ": NumpyCase(
        ValueError, r"labels \(2 rows\) and pred_probs \(3 rows\) differ in length", mlq.get_label_quality_scores,
        L2[:2],
    ),
    "probs-1-d": NumpyCase(
        ValueError, r"pred_probs must be a 2-D numpy array \(n_rows, n_classes\); got ndarray with shape \(3,\)",
        mlq.get_label_quality_scores, pred_probs=P2[:, 0],
    ),
    "probs-a-list": NumpyCase(
        TypeError, r"pred_probs must be a 2-D numpy array", mlq.find_label_issues, pred_probs=P2.tolist()
    ),
    "probs-float16-array": NumpyCase(
        TypeError, r"pred_probs must be float32 or float64 probabilities; got dtype float16",
        mlq.get_label_quality_scores, pred_probs=P2.astype(np.float16),
    ),
    "ranked-by-unknown": NumpyCase(
        ValueError, r"unknown method 'margin'; expected one of", mlq.find_label_issues,
        kwargs={"return_indices_ranked_by": "margin"},
    ),
    "rank-by-kwargs-unknown-key": NumpyCase(
        TypeError, r"rank_by_kwargs accepts only 'adjust_pred_probs'; got unknown key\(s\) \['alpha'\]",
        mlq.find_label_issues, kwargs={**RANKED, "rank_by_kwargs": {"alpha": 1}},
    ),
    "rank-by-kwargs-not-a-dict": NumpyCase(
        TypeError, r"rank_by_kwargs must be a dict", mlq.find_label_issues,
        kwargs={**RANKED, "rank_by_kwargs": ["adjust_pred_probs"]},
    ),
    "confident-joint-wrong-shape": NumpyCase(
        ValueError, r"confident_joint must have shape \(K, 2, 2\) = \(2, 2, 2\)", mlq.find_label_issues,
        kwargs={"confident_joint": np.ones((2, 3))},
    ),
    "confident-joint-negative": NumpyCase(
        ValueError, r"confident_joint must hold finite, non-negative counts", mlq.common_multilabel_issues,
        kwargs={"confident_joint": -JOINT},
    ),
    "joint-and-confident-joint": NumpyCase(
        ValueError, r"give at most one of joint and confident_joint", mlq.rank_classes_by_multilabel_quality,
        kwargs={"joint": JOINT, "confident_joint": JOINT},
    ),
}


@pytest.mark.parametrize("name", list(NUMPY_ONLY))
def test_bad_input_numpy_only(name: str) -> None:
    case = NUMPY_ONLY[name]
    with pytest.raises(case.error, match=case.words):
        case.function(case.labels, case.pred_probs, **case.kwargs)

