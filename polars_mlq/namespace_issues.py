"""The issue finders and dataset summaries of the ``.mlq`` namespaces (``namespace._Mlq`` inherits them).

Thin: options are checked here, the work is ``polars_mlq.issues`` (dense columns) or
``polars_mlq.issues.sparse_frames`` (sparse predictions: ``pred_classes=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import polars as pl

from polars_mlq.core import IssueOptions, parse_issue_options
from polars_mlq.core.frames import SparseInput
from polars_mlq.expressions import label_spec
from polars_mlq.input import IntoExpr, IntoProbs, LabelsFormat, to_expr, to_probs_expr
from polars_mlq.issues import frames as _issue_frames
from polars_mlq.issues.sparse_frames import sparse_flags, sparse_issue_counts
from polars_mlq.typing import FilterBy, HealthSummary

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


class IssueMethods(Generic[FrameT]):
    """The methods that flag rows and summarise a dataset's labels, for DataFrame and LazyFrame."""

    def __init__(self, frame: FrameT) -> None:
        self._frame: FrameT = frame

    def _flagged(
        self,
        labels: IntoExpr,
        pred_probs: IntoProbs,
        class_names: Sequence[str] | None,
        labels_format: LabelsFormat,
        options: IssueOptions,
        *,
        per_class: bool,
        name: str,
    ) -> FrameT:
        spec = label_spec(class_names, labels_format)
        labels_expr, probs_expr = to_expr(labels, "labels"), to_probs_expr(pred_probs)
        frame = self._frame
        if isinstance(frame, pl.LazyFrame):
            # streaming passes now for the dataset-level statistics; the flags stream with the query
            return _issue_frames.lazy_flags(
                frame, labels_expr, probs_expr, spec, options, per_class=per_class, name=name
            )
        issues = _issue_frames.frame_issues(frame, labels_expr, probs_expr, spec, options)
        flags = issues.class_flags() if per_class else issues.row_flags()
        return frame.with_columns(pl.lit(flags.alias(name)))

    def _sparse(
        self,
        labels: IntoExpr,
        pred_probs: IntoProbs,
        pred_classes: IntoExpr,
        num_classes: int | None,
        fill_value: float,
        class_names: Sequence[str] | None,
        labels_format: LabelsFormat,
    ) -> SparseInput:
        columns = (to_expr(labels, "labels"), to_expr(pred_probs, "pred_probs"), to_expr(pred_classes, "pred_classes"))
        return SparseInput.of(columns, num_classes, fill_value, label_spec(class_names, labels_format))

    def _counts(
        self,
        labels: IntoExpr,
        pred_probs: IntoProbs,
        class_names: Sequence[str] | None,
        labels_format: LabelsFormat,
        sparse: tuple[IntoExpr | None, int | None, float],
    ) -> _issue_frames.IssueCounts:
        pred_classes, num_classes, fill_value = sparse
        if pred_classes is not None:
            given = self._sparse(labels, pred_probs, pred_classes, num_classes, fill_value, class_names, labels_format)
            return sparse_issue_counts(self._frame, given)
        spec = label_spec(class_names, labels_format)
        return _issue_frames.issue_counts(self._frame, to_expr(labels, "labels"), to_probs_expr(pred_probs), spec)

    def find_label_issues(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        filter_by: FilterBy = "prune_by_noise_rate",
        frac_noise: float = 1.0,
        num_to_remove_per_class: Sequence[int] | None = None,
        min_examples_per_class: int = 1,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        name: str = "is_label_issue",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> FrameT:
        """Append a Boolean column: True where the row's labels look wrong.

        Arguments as :func:`polars_mlq.find_label_issues`; null where labels or pred_probs is null.
        On a LazyFrame this call streams the query twice for the dataset-level statistics (not at
        all for ``filter_by="predicted_neq_given"``) and returns the query with an elementwise
        flag column, which streams; of rows tied exactly at a cutoff, the earliest are flagged, as
        on a DataFrame.

        Sparse (top-k) predictions take ``pred_classes=``, ``num_classes=`` and ``fill_value=``
        as :meth:`label_quality` does (``fill_value`` below one half); the flags are those of
        the densified rows, found from the listed and labelled entries alone.

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({
        ...     "labels": [[0], [0], [0], [1], [1], [1], [0, 1], [1]],
        ...     "pred_probs": [[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]],
        ... })
        >>> df.mlq.find_label_issues()["is_label_issue"].arg_true().to_list()
        [7]
        """
        options = parse_issue_options(
            None,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
        )
        if pred_classes is not None:
            sparse = self._sparse(labels, pred_probs, pred_classes, num_classes, fill_value, class_names, labels_format)
            return sparse_flags(self._frame, sparse, options, name, per_class=False)
        return self._flagged(labels, pred_probs, class_names, labels_format, options, per_class=False, name=name)

    def find_label_issues_per_class(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        filter_by: FilterBy = "prune_by_noise_rate",
        frac_noise: float = 1.0,
        num_to_remove_per_class: Sequence[int] | None = None,
        min_examples_per_class: int = 1,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        name: str = "is_label_issue_per_class",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> FrameT:
        """Append an ``Array(Boolean, K)`` column: True where class k's given label looks wrong.

        On a LazyFrame, streaming passes as :meth:`find_label_issues`. With sparse predictions
        (``pred_classes=``, ``num_classes=``, ``fill_value=`` as there) the column is a
        ``List(Int64)`` of each row's flagged classes, ascending (empty where none is).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({
        ...     "labels": [[0], [0], [0], [1], [1], [1], [0, 1], [1]],
        ...     "pred_probs": [[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]],
        ... })
        >>> df.mlq.find_label_issues_per_class()["is_label_issue_per_class"][7].to_list()
        [True, True]
        """
        options = parse_issue_options(
            None,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
        )
        if pred_classes is not None:
            sparse = self._sparse(labels, pred_probs, pred_classes, num_classes, fill_value, class_names, labels_format)
            return sparse_flags(self._frame, sparse, options, name, per_class=True)
        return self._flagged(labels, pred_probs, class_names, labels_format, options, per_class=True, name=name)

    def common_issues(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> pl.DataFrame:
        """Per class, how often it is wrongly given or wrongly missing, most frequent first.

        The table of :func:`polars_mlq.common_multilabel_issues` (default filter). A LazyFrame is
        streamed twice, never collected (so are the other summaries). Every summary takes sparse
        predictions (``pred_classes=``, ``num_classes=``, ``fill_value=``) as :meth:`find_label_issues`.
        """
        issues = self._counts(labels, pred_probs, class_names, labels_format, (pred_classes, num_classes, fill_value))
        return _issue_frames.common_issues(issues, class_names)

    def rank_classes(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> pl.DataFrame:
        """Rank the classes from the lowest label quality to the highest.

        The table of :func:`polars_mlq.rank_classes_by_multilabel_quality` (default filter).
        """
        issues = self._counts(labels, pred_probs, class_names, labels_format, (pred_classes, num_classes, fill_value))
        return _issue_frames.rank_classes(issues, class_names)

    def health_score(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> float:
        """Return the fraction of rows without a label issue (default filter).

        Examples
        --------
        >>> import polars as pl
        >>> import polars_mlq
        >>> df = pl.DataFrame({
        ...     "labels": [[0], [0], [0], [1], [1], [1], [0, 1], [1]],
        ...     "pred_probs": [[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]],
        ... })
        >>> df.mlq.health_score()
        0.875
        """
        issues = self._counts(labels, pred_probs, class_names, labels_format, (pred_classes, num_classes, fill_value))
        return _issue_frames.health_score(issues)

    def health_summary(
        self,
        labels: IntoExpr = "labels",
        pred_probs: IntoProbs = "pred_probs",
        *,
        class_names: Sequence[str] | None = None,
        labels_format: LabelsFormat = "indices",
        pred_classes: IntoExpr | None = None,
        num_classes: int | None = None,
        fill_value: float = 0.0,
    ) -> HealthSummary:
        """Return the health score and both tables, from one pass over the flags.

        Keys "overall_multilabel_health_score", "classes_by_multilabel_quality" and
        "common_multilabel_issues", as :func:`polars_mlq.multilabel_health_summary`.
        """
        return _issue_frames.health_summary(
            self._counts(labels, pred_probs, class_names, labels_format, (pred_classes, num_classes, fill_value)),
            class_names,
        )
