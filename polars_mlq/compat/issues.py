"""cleanlab-compatible label-issue finding and dataset summaries, on numpy arrays.

The functions mirror ``cleanlab.multilabel_classification.filter`` and ``.dataset``: the same
names, arguments and flags, with polars DataFrames instead of pandas ones. ``labels`` is a list of
lists of class indices (or a polars Series of lists) and ``pred_probs`` an (N, K) float array (or
a polars Series of lists/arrays); K is always the width of ``pred_probs``.

Rows whose labels are null are left out of every statistic and are never flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from polars_mlq.compat.scores import read_inputs
from polars_mlq.core import IssueOptions, parse_issue_options
from polars_mlq.input import Batch, LabelsFormat, Method
from polars_mlq.issues import find_issues, find_issues_per_class, ranked_per_class
from polars_mlq.issues import summaries as _summaries
from polars_mlq.typing import FilterBy, HealthSummary, LabelsLike, PredProbsLike

__all__ = [
    "common_multilabel_issues",
    "find_label_issues",
    "find_multilabel_issues_per_class",
    "multilabel_health_summary",
    "overall_multilabel_health_score",
    "rank_classes_by_multilabel_quality",
]


# --------------------------------------------------------------------------- input


def _options(batch: Batch, **kwargs: Any) -> IssueOptions:
    return parse_issue_options(batch.num_classes, **kwargs)


# --------------------------------------------------------------------------- filter


def find_label_issues(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    return_indices_ranked_by: Method | None = None,
    rank_by_kwargs: Mapping[str, Any] | None = None,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    confident_joint: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> np.ndarray:
    """Rows whose given labels look wrong, as cleanlab's multi-label ``find_label_issues``.

    Each class is a binary "present or not" problem; a row is flagged when any of its classes is
    flagged by confident learning (``filter_by``), or, for the ``low_*`` filters, when its
    aggregated label-quality score is among the lowest (as many rows as confident learning flags).

    Parameters
    ----------
    labels
        N rows of class indices, e.g. ``[[0], [1, 2], []]``, or a polars Series of lists.
    pred_probs
        (N, K) predicted probability that each class is present (float32 or float64).
    return_indices_ranked_by
        None for a boolean mask; or "self_confidence", "normalized_margin" or
        "confidence_weighted_entropy" to get the flagged row indices, worst first.
    rank_by_kwargs
        ``{"adjust_pred_probs": bool}`` for the ranking scores.
    filter_by
        "prune_by_noise_rate" (default), "prune_by_class", "both", "confident_learning",
        "predicted_neq_given", "low_normalized_margin" or "low_self_confidence".
    frac_noise
        Fraction in [0, 1] of the estimated issues to flag (prune filters only).
    num_to_remove_per_class
        K counts: flag this many rows labelled with each class (prune filters only).
    min_examples_per_class
        Keep at least this many rows per given binary label unflagged (prune filters only).
    confident_joint
        (K, 2, 2) counts ``[given][confident guess]`` per class, used instead of the calibrated
        estimate (prune filters only).
    class_names, labels_format
        Beyond cleanlab, as in :func:`polars_mlq.get_label_quality_scores`: labels given as
        class names, or as an (N, K) multi-hot array with ``labels_format="multi_hot"``.

    Returns
    -------
    numpy.ndarray
        (N,) bool mask, or int64 row indices sorted from the worst label quality.

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.issues import find_label_issues
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> find_label_issues(labels, pred_probs).nonzero()[0]
    array([7])
    >>> find_label_issues(labels, pred_probs, return_indices_ranked_by="self_confidence")
    array([7])
    """
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    options = _options(
        batch,
        return_indices_ranked_by=return_indices_ranked_by,
        rank_by_kwargs=rank_by_kwargs,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
        confident_joint=confident_joint,
    )
    result = find_issues(batch, options)
    if options.rank_by is None:
        return batch.scatter(result, False)
    return batch.input_rows(result)


def find_multilabel_issues_per_class(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    return_indices_ranked_by: Method | None = None,
    rank_by_kwargs: Mapping[str, Any] | None = None,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    confident_joint: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> np.ndarray | tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per class, the rows whose "class k present?" label looks wrong.

    The arguments are those of :func:`find_label_issues`. For the ``low_*`` filters, class k
    flags its rows with the lowest binary score, as many as confident learning flags in class k.

    Returns
    -------
    numpy.ndarray or tuple
        Without ranking, an (N, K) bool matrix. With ``return_indices_ranked_by``, a tuple of three
        lists of K arrays: the flagged rows of class k (worst first); the 0/1 label of class k
        (int64, -1 for rows with null labels); and the (N, 2) matrix ``[1 - p, p]`` of class k.

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.issues import find_multilabel_issues_per_class
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> find_multilabel_issues_per_class(labels, pred_probs).nonzero()  # row 7 lacks 0 and wrongly has 1
    (array([7, 7]), array([0, 1]))
    >>> issues, given, binary = find_multilabel_issues_per_class(
    ...     labels, pred_probs, return_indices_ranked_by="self_confidence"
    ... )
    >>> issues
    [array([7]), array([7])]
    """
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    options = _options(
        batch,
        return_indices_ranked_by=return_indices_ranked_by,
        rank_by_kwargs=rank_by_kwargs,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
        confident_joint=confident_joint,
    )
    if options.rank_by is None:
        return batch.scatter(find_issues_per_class(batch, options), False)
    ranked = [batch.input_rows(idx) for idx in ranked_per_class(batch, options)]
    given = batch.multi_hot(0, batch.probs.shape[0]).astype(np.int64)
    probs = batch.probs
    given, probs = batch.scatter(given, -1), batch.scatter(probs, np.nan)
    labels_list = [given[:, k].copy() for k in range(batch.num_classes)]
    probs_list = [np.stack([np.subtract(1, probs[:, k]), probs[:, k]], axis=1) for k in range(batch.num_classes)]
    return ranked, labels_list, probs_list


# --------------------------------------------------------------------------- dataset


def _default_flags(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    confident_joint: np.ndarray | None,
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
) -> tuple[Batch, np.ndarray, np.ndarray]:
    """Return the batch, its (n, K) flags under the default filter, and its (n, K) given labels."""
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    options = parse_issue_options(batch.num_classes, confident_joint=confident_joint)
    flags = find_issues_per_class(batch, options)
    return batch, flags, batch.multi_hot(0, batch.probs.shape[0])


def _names(class_names: Sequence[str] | None) -> list[str] | None:
    return None if class_names is None else list(class_names)


def common_multilabel_issues(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    class_names: Sequence[str] | None = None,
    confident_joint: np.ndarray | None = None,
    labels_format: LabelsFormat = "indices",
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

    Returns
    -------
    polars.DataFrame
        Columns ["Class Name",] "Class Index", "In Given Label", "In Suggested Label",
        "Num Examples", "Issue Probability".

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.issues import common_multilabel_issues
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> issues = common_multilabel_issues(labels, pred_probs, class_names=["cat", "dog"])
    >>> issues.columns
    ['Class Name', 'Class Index', 'In Given Label', 'In Suggested Label', 'Num Examples', 'Issue Probability']
    >>> issues["Num Examples"].to_list()
    [1, 1, 0, 0]
    """
    batch, flags, given = _default_flags(labels, pred_probs, confident_joint, class_names, labels_format)
    counts = _summaries.issue_counts(given, flags)
    return _summaries.common_issues(counts, batch.probs.shape[0], _names(class_names))


def rank_classes_by_multilabel_quality(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    class_names: Sequence[str] | None = None,
    joint: np.ndarray | None = None,
    confident_joint: np.ndarray | None = None,
    labels_format: LabelsFormat = "indices",
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
    >>> from polars_mlq.compat.issues import rank_classes_by_multilabel_quality
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> rank_classes_by_multilabel_quality(labels, pred_probs)["Class Index", "Label Quality Score"].rows()
    [(1, 0.875), (0, 1.0)]
    """
    if joint is not None and confident_joint is not None:
        msg = "give at most one of joint and confident_joint (both mean the (K, 2, 2) confident joint)"
        raise ValueError(msg)
    supplied = confident_joint if joint is None else joint
    batch, flags, given = _default_flags(labels, pred_probs, supplied, class_names, labels_format)
    counts = _summaries.issue_counts(given, flags)
    return _summaries.class_quality(counts, batch.probs.shape[0], _names(class_names))


def overall_multilabel_health_score(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    confident_joint: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
) -> float:
    """Return the fraction of rows with no label issue (default filter).

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.issues import overall_multilabel_health_score
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> overall_multilabel_health_score(labels, pred_probs)
    0.875
    """
    batch, flags, _ = _default_flags(labels, pred_probs, confident_joint, class_names, labels_format)
    return _summaries.health_score(int(np.count_nonzero(flags.any(axis=1))), batch.probs.shape[0])


def multilabel_health_summary(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    *,
    class_names: Sequence[str] | None = None,
    num_examples: int | None = None,
    confident_joint: np.ndarray | None = None,
    verbose: bool = False,
    labels_format: LabelsFormat = "indices",
) -> HealthSummary:
    """Return the three summaries above from one pass over the data.

    Parameters
    ----------
    labels, pred_probs, class_names, confident_joint, labels_format
        As for :func:`common_multilabel_issues`.
    num_examples
        Only shown in the printed report (default: the number of rows with labels).
    verbose
        Print a report as well.

    Returns
    -------
    dict
        Keys "overall_multilabel_health_score" (float), "classes_by_multilabel_quality" and
        "common_multilabel_issues" (polars DataFrames).

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.issues import multilabel_health_summary
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> summary = multilabel_health_summary(labels, pred_probs)
    >>> summary["overall_multilabel_health_score"]
    0.875
    >>> summary["classes_by_multilabel_quality"]["Class Index"].to_list()
    [1, 0]
    """
    batch, flags, given = _default_flags(labels, pred_probs, confident_joint, class_names, labels_format)
    names = _names(class_names)
    n = batch.probs.shape[0]
    counts = _summaries.issue_counts(given, flags)
    summary: HealthSummary = {
        "overall_multilabel_health_score": _summaries.health_score(int(np.count_nonzero(flags.any(axis=1))), n),
        "classes_by_multilabel_quality": _summaries.class_quality(counts, n, names),
        "common_multilabel_issues": _summaries.common_issues(counts, n, names),
    }
    if verbose:
        shown = n if num_examples is None else num_examples
        print(f"Multi-label dataset health summary: {shown} examples, {batch.num_classes} classes")
        print(f"Overall multi-label health score: {summary['overall_multilabel_health_score']:.4f}")
        print("Classes by label quality (lowest first):")
        print(summary["classes_by_multilabel_quality"])
        print("Most common label issues:")
        print(summary["common_multilabel_issues"])
    return summary
