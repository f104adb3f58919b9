"""Public type aliases of polars-mlq's signatures (for annotations in user code).

>>> from polars_mlq.typing import FilterBy, Method
>>> "prune_by_noise_rate" in FilterBy.__args__
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, TypedDict

import numpy as np
import polars as pl

from polars_mlq.core import FilterBy
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat, Method
from polars_mlq.scoring import Thresholds

#: Fitted thresholds: ``confident_thresholds``' frame, or a (K, 2) array ``[absent, present]``.
ThresholdsLike: TypeAlias = pl.DataFrame | np.ndarray | Thresholds
#: labels for the NumPy functions: lists of class indices (or names), a Series, or multi-hot rows.
LabelsLike: TypeAlias = Sequence[Sequence[int]] | Sequence[Sequence[str]] | pl.Series | np.ndarray
#: pred_probs for the NumPy functions: an (N, K) array or a Series of lists/arrays.
PredProbsLike: TypeAlias = np.ndarray | pl.Series


class HealthSummary(TypedDict):
    """What ``multilabel_health_summary`` and ``.mlq.health_summary`` return."""

    overall_multilabel_health_score: float
    classes_by_multilabel_quality: pl.DataFrame
    common_multilabel_issues: pl.DataFrame


__all__ = [
    "FilterBy",
    "HealthSummary",
    "IntoExpr",
    "IntoProbs",
    "LabelsFormat",
    "LabelsLike",
    "Method",
    "PredProbsLike",
    "ThresholdsLike",
]
