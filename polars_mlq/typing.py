"""Public type aliases of polars-mlq's signatures (for annotations in user code).

>>> from polars_mlq.typing import FilterBy, Method
>>> "prune_by_noise_rate" in FilterBy.__args__
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias, TypedDict

import numpy as np
import polars as pl

from polars_mlq.core import FilterBy
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat, Method
from polars_mlq.scoring import Thresholds

#: Fitted thresholds: ``confident_thresholds``' frame, or a (K, 2) array ``[absent, present]``.
ThresholdsLike: TypeAlias = pl.DataFrame | np.ndarray | Thresholds
#: labels for the NumPy functions: lists of class indices (or names), a Series, or multi-hot rows.
LabelsLike: TypeAlias = Sequence[Sequence[int]] | Sequence[Sequence[str]] | pl.Series | np.ndarray


class CsrLike(Protocol):
    """A sparse (N, K) matrix in CSR form, such as SciPy's ``csr_array`` (SciPy is not needed)."""

    @property
    def indptr(self) -> Any: ...  # noqa: D102 - the fields of a CSR matrix
    @property
    def indices(self) -> Any: ...  # noqa: D102
    @property
    def data(self) -> Any: ...  # noqa: D102
    @property
    def shape(self) -> tuple[int, int]: ...  # noqa: D102


#: pred_probs for the NumPy functions: an (N, K) array, a Series of lists/arrays, or a sparse matrix.
PredProbsLike: TypeAlias = np.ndarray | pl.Series | CsrLike


class HealthSummary(TypedDict):
    """What ``multilabel_health_summary`` and ``.mlq.health_summary`` return."""

    overall_multilabel_health_score: float
    classes_by_multilabel_quality: pl.DataFrame
    common_multilabel_issues: pl.DataFrame


__all__ = [
    "CsrLike",
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
