"""cleanlab's ``multilabel_classification.dataset`` functions: dataset summaries, on NumPy arrays.

The same names, parameters and results as cleanlab 2.9 (with polars DataFrames instead of pandas
ones), followed by this package's keyword-only extras. Every summary uses the default filter
(``prune_by_noise_rate``), as cleanlab's do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from polars_mlq.compat.scores import read_inputs
from polars_mlq.compat.sparse_issues import sparse_counts
from polars_mlq.core import parse_issue_options
from polars_mlq.expressions import label_spec
from polars_mlq.input import LabelsFormat
from polars_mlq.input.sparse import is_csr_like
from polars_mlq.issues import find_issues_per_class
from polars_mlq.issues import summaries as _summaries
from polars_mlq.issues.frames import IssueCounts
from polars_mlq.typing import HealthSummary, LabelsLike, PredProbsLike

__all__ = [
    "common_multilabel_issues",
    "multilabel_health_summary",
    "overall_multilabel_health_score",
    "rank_classes_by_multilabel_quality",
]


def _default_counts(
    labels: LabelsLike | None,
    pred_probs: PredProbsLike | None,
    confident_joint: np.ndarray | None,
    spec: tuple[Sequence[str] | None, LabelsFormat, float],
) -> tuple[IssueCounts, int]:
    """Return the counts of the flags under the default filter, and K.

    ``spec`` is (class_names, labels_format, fill_value); a sparse (CSR-like) ``pred_probs`` has
    its flags found by the statistics core from its listed entries (``sparse_issues``).
    """
    class_names, labels_format, fill_value = spec
    if labels is None or pred_probs is None:
        missing = " and ".join(name for name, v in (("labels", labels), ("pred_probs", pred_probs)) if v is None)
        msg = f"{missing} must be given: the summaries are computed from the labels and pred_probs"
        raise ValueError(msg)
    if is_csr_like(pred_probs):
        return sparse_counts(labels, pred_probs, fill_value, label_spec(class_names, labels_format), confident_joint)
    if fill_value != 0.0:
        msg = "fill_value is for sparse pred_probs (the probability of the classes a row does not list)"
        raise ValueError(msg)
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    options = parse_issue_options(batch.num_classes, confident_joint=confident_joint)
    flags = find_issues_per_class(batch, options)
    counts = _summaries.issue_counts(batch.multi_hot(0, batch.probs.shape[0]), flags)
    flagged = int(np.count_nonzero(flags.any(axis=1)))
    return IssueCounts(counts, int(batch.probs.shape[0]), flagged), batch.num_classes


def _names(class_names: Sequence[str] | None) -> list[str] | None:
    return None if class_names is None else list(class_names)


def common_multilabel_issues(
    labels: LabelsLike | None = None,
    pred_probs: PredProbsLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
    confident_joint: np.ndarray | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> pl.DataFrame:
    """How often each class is wrongly given, or wrongly missing, most frequent first.

    Two rows per class: "In Given Label" True counts rows labelled with the class whose label
    looks wrong, False counts rows lacking the class where it looks present. "Issue Probability"
    is that count divided by the number of rows.

    Parameters
    ----------
    labels, pred_probs
        As for :func:`find_label_issues`.
    class_names
        Optional K names, added as a first column "Class Name" (they also read labels given as
        names).
    confident_joint
        Optional (K, 2, 2) confident joint, as for :func:`find_label_issues`.
    labels_format
        As for :func:`find_label_issues`.
    fill_value
        With a sparse (CSR-like) ``pred_probs``: the probability of every class a row does not
        list, as for :func:`find_label_issues` (every summary here takes it).

    Returns
    -------
    polars.DataFrame
        Columns ["Class Name",] "Class Index", "In Given Label", "In Suggested Label",
        "Num Examples", "Issue Probability".

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.dataset import common_multilabel_issues
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> issues = common_multilabel_issues(labels, pred_probs, class_names=["cat", "dog"])
    >>> issues.columns
    ['Class Name', 'Class Index', 'In Given Label', 'In Suggested Label', 'Num Examples', 'Issue Probability']
    >>> issues["Num Examples"].to_list()
    [1, 1, 0, 0]
    """
    issues, _ = _default_counts(labels, pred_probs, confident_joint, (class_names, labels_format, fill_value))
    return _summaries.common_issues(issues.counts, issues.num_rows, _names(class_names))


def rank_classes_by_multilabel_quality(
    labels: LabelsLike | None = None,
    pred_probs: PredProbsLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
    joint: np.ndarray | None = None,
    confident_joint: np.ndarray | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> pl.DataFrame:
    """Classes from the lowest label quality to the highest.

    "Label Issues" counts rows labelled with the class whose label looks wrong, "Inverse Label
    Issues" rows lacking it where it looks present; "Label Noise" and "Inverse Label Noise" are
    those counts divided by the number of rows, and "Label Quality Score" is 1 - "Label Noise".

    Parameters
    ----------
    labels, pred_probs, class_names, labels_format
        As for :func:`common_multilabel_issues`.
    joint
        Accepted for compatibility: cleanlab uses it as the confident joint. Give at most one of
        ``joint`` and ``confident_joint``.
    confident_joint
        Optional (K, 2, 2) confident joint, as for :func:`find_label_issues`.

    Returns
    -------
    polars.DataFrame
        Columns ["Class Name",] "Class Index", "Label Issues", "Inverse Label Issues",
        "Label Noise", "Inverse Label Noise", "Label Quality Score".

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.dataset import rank_classes_by_multilabel_quality
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> rank_classes_by_multilabel_quality(labels, pred_probs)["Class Index", "Label Quality Score"].rows()
    [(1, 0.875), (0, 1.0)]
    """
    if joint is not None and confident_joint is not None:
        msg = "give at most one of joint and confident_joint (both mean the (K, 2, 2) confident joint)"
        raise ValueError(msg)
    supplied = confident_joint if joint is None else joint
    issues, _ = _default_counts(labels, pred_probs, supplied, (class_names, labels_format, fill_value))
    return _summaries.class_quality(issues.counts, issues.num_rows, _names(class_names))


def overall_multilabel_health_score(
    labels: LabelsLike | None = None,
    pred_probs: PredProbsLike | None = None,
    *,
    confident_joint: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> float:
    """Return the fraction of rows with no label issue (default filter).

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.dataset import overall_multilabel_health_score
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> overall_multilabel_health_score(labels, pred_probs)
    0.875
    """
    issues, _ = _default_counts(labels, pred_probs, confident_joint, (class_names, labels_format, fill_value))
    return _summaries.health_score(issues.flagged_rows, issues.num_rows)


def multilabel_health_summary(
    labels: LabelsLike | None = None,
    pred_probs: PredProbsLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
    num_examples: int | None = None,
    confident_joint: np.ndarray | None = None,
    verbose: bool = True,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> HealthSummary:
    """Return the three summaries above from one pass over the data.

    Parameters
    ----------
    labels, pred_probs, class_names, confident_joint, labels_format
        As for :func:`common_multilabel_issues`.
    num_examples
        Only shown in the printed report (default: the number of rows with labels).
    verbose
        Print a report as well (the default, as in cleanlab).

    Returns
    -------
    dict
        Keys "overall_multilabel_health_score" (float), "classes_by_multilabel_quality" and
        "common_multilabel_issues" (polars DataFrames).

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.dataset import multilabel_health_summary
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> summary = multilabel_health_summary(labels, pred_probs, verbose=False)
    >>> summary["overall_multilabel_health_score"]
    0.875
    >>> summary["classes_by_multilabel_quality"]["Class Index"].to_list()
    [1, 0]
    """
    issues, k = _default_counts(labels, pred_probs, confident_joint, (class_names, labels_format, fill_value))
    names = _names(class_names)
    n, counts = issues.num_rows, issues.counts
    summary: HealthSummary = {
        "overall_multilabel_health_score": _summaries.health_score(issues.flagged_rows, n),
        "classes_by_multilabel_quality": _summaries.class_quality(counts, n, names),
        "common_multilabel_issues": _summaries.common_issues(counts, n, names),
    }
    if verbose:
        shown = n if num_examples is None else num_examples
        print(f"Multi-label dataset health summary: {shown} examples, {k} classes")
        print(f"Overall multi-label health score: {summary['overall_multilabel_health_score']:.4f}")
        print("Classes by label quality (lowest first):")
        print(summary["classes_by_multilabel_quality"])
        print("Most common label issues:")
        print(summary["common_multilabel_issues"])
    return summary
