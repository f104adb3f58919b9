"""The column arguments of ``polars_mlq.ray``'s functions, checked on the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from polars_mlq.expressions import label_spec
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat
from polars_mlq.input.sparse_columns import check_num_classes
from polars_mlq.ray._tasks import Columns, Sparse, class_names_tuple


@dataclass(frozen=True)
class SparseArgs:
    """The sparse keywords of a call (``pred_classes=None``: dense predictions)."""

    pred_classes: IntoExpr | None
    num_classes: int | None
    fill_value: float


def columns_of(
    labels: IntoExpr,
    pred_probs: IntoProbs,
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
    sparse: SparseArgs | None = None,
) -> Columns:
    """Return how every block's columns are read (the arguments are checked here, on the caller)."""
    label_spec(class_names, labels_format)
    given = None
    if sparse is not None and sparse.pred_classes is not None:
        k = check_num_classes(sparse.num_classes, class_names)
        given = Sparse(sparse.pred_classes, k, sparse.fill_value)
    return Columns(labels, pred_probs, class_names_tuple(class_names), labels_format, given)
