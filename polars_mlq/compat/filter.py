"""cleanlab's ``multilabel_classification.filter`` functions: label issues, on NumPy arrays.

The same names, parameters (kinds, positional order and defaults) and results as cleanlab 2.9,
followed by this package's keyword-only extras (``class_names``, ``labels_format``). ``labels`` is
a list of lists of class indices (or a polars Series of lists) and ``pred_probs`` an (N, K) float
array (or a polars Series of lists/arrays); K is always the width of ``pred_probs``.

Rows whose labels are null are left out of every statistic and are never flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from polars_mlq.compat.scores import dense_of_sparse, read_inputs
from polars_mlq.compat.sparse_issues import find_sparse_issues
from polars_mlq.core import IssueOptions, parse_issue_options
from polars_mlq.expressions import label_spec
from polars_mlq.input import Batch, LabelsFormat, Method
from polars_mlq.input.sparse import is_csr_like
from polars_mlq.issues import find_issues, find_issues_per_class, ranked_per_class
from polars_mlq.scoring import thread_limit
from polars_mlq.typing import FilterBy, LabelsLike, PredProbsLike

__all__ = ["find_label_issues", "find_multilabel_issues_per_class"]

#: cleanlab's default ``rank_by_kwargs`` ({}), read-only.
NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


def check_n_jobs(n_jobs: object) -> int | None:
    """Return ``n_jobs`` as a thread cap (None: no cap), or raise for anything but a positive integer."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        msg = f"n_jobs must be None (as many threads as polars uses) or a positive integer; got {n_jobs!r}"
        raise ValueError(msg)
    return int(n_jobs)


def _prepare(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    class_names: Sequence[str] | None,
    labels_format: LabelsFormat,
    **kwargs: Any,
) -> tuple[Batch, IssueOptions]:
    batch = read_inputs(labels, pred_probs, class_names, labels_format)
    return batch, parse_issue_options(batch.num_classes, **kwargs)


def _describe(options: IssueOptions) -> str:
    return "low_memory=True" if options.low_memory else f"filter_by={options.filter_by!r}"


def find_label_issues(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    return_indices_ranked_by: Method | None = None,
    rank_by_kwargs: Mapping[str, Any] | None = NO_KWARGS,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    confident_joint: np.ndarray | None = None,
    n_jobs: int | None = None,
    verbose: bool = False,
    low_memory: bool = False,
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
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
        ``{"adjust_pred_probs": bool}`` for the ranking scores (None means False).
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
    n_jobs
        At most this many threads (None: as many as polars uses). The result does not depend on it.
    verbose
        Print one line saying how many rows were flagged.
    low_memory
        cleanlab's batched filter instead of ``filter_by`` (its own thresholds, counts and flags;
        ``filter_by``, ``frac_noise``, ``num_to_remove_per_class``, ``min_examples_per_class``
        and ``confident_joint`` are then ignored, with a warning each).
    class_names, labels_format
        Beyond cleanlab, as in :func:`polars_mlq.get_label_quality_scores`: labels given as
        class names, or as an (N, K) multi-hot array with ``labels_format="multi_hot"``.
    fill_value
        Beyond cleanlab: with a sparse (CSR-like) ``pred_probs``, the probability of every class
        a row does not list (below one half). The flags (``low_memory`` too), and their
        ranking (``adjust_pred_probs`` too), are those of the densified rows.

    Returns
    -------
    numpy.ndarray
        (N,) bool mask, or int64 row indices sorted from the worst label quality.

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.filter import find_label_issues
    >>> labels = [[0], [0], [0], [1], [1], [1], [0, 1], [1]]
    >>> pred_probs = np.array([[.9, .1], [.8, .2], [.9, .3], [.1, .9], [.2, .8], [.1, .7], [.8, .9], [.9, .1]])
    >>> find_label_issues(labels, pred_probs).nonzero()[0]
    array([7])
    >>> find_label_issues(labels, pred_probs, return_indices_ranked_by="self_confidence")
    array([7])
    """
    if is_csr_like(pred_probs):
        options = parse_issue_options(
            None,
            return_indices_ranked_by=return_indices_ranked_by,
            rank_by_kwargs=rank_by_kwargs,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
            confident_joint=confident_joint,
            low_memory=low_memory,
        )
        with thread_limit(check_n_jobs(n_jobs)):
            flags = find_sparse_issues(labels, pred_probs, fill_value, label_spec(class_names, labels_format), options)
        if verbose:
            flagged = flags.size if options.rank_by is not None else int(flags.sum())
            print(f"polars-mlq: {flagged} rows have a label issue ({_describe(options)})")
        return flags
    if fill_value != 0.0:
        msg = "fill_value is for sparse pred_probs (the probability of the classes a row does not list)"
        raise ValueError(msg)
    with thread_limit(check_n_jobs(n_jobs)):
        batch, options = _prepare(
            labels,
            pred_probs,
            class_names,
            labels_format,
            return_indices_ranked_by=return_indices_ranked_by,
            rank_by_kwargs=rank_by_kwargs,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
            confident_joint=confident_joint,
            low_memory=low_memory,
        )
        result = find_issues(batch, options)
    if verbose:
        flagged = result.size if options.rank_by is not None else int(np.count_nonzero(result))
        print(f"polars-mlq: {flagged} of {batch.n_total} rows have a label issue ({_describe(options)})")
    if options.rank_by is None:
        return batch.scatter(result, False)
    return batch.input_rows(result)


def find_multilabel_issues_per_class(
    labels: LabelsLike,
    pred_probs: PredProbsLike,
    return_indices_ranked_by: Method | None = None,
    rank_by_kwargs: Mapping[str, Any] | None = NO_KWARGS,
    filter_by: FilterBy = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    confident_joint: np.ndarray | None = None,
    n_jobs: int | None = None,
    verbose: bool = False,
    low_memory: bool = False,
    *,
    class_names: Sequence[str] | None = None,
    labels_format: LabelsFormat = "indices",
    fill_value: float = 0.0,
) -> np.ndarray | tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per class, the rows whose "class k present?" label looks wrong.

    The arguments are those of :func:`find_label_issues`. For the ``low_*`` filters, class k
    flags its rows with the lowest binary score, as many as confident learning flags in class k.
    A sparse (CSR-like) ``pred_probs``, with ``fill_value`` for every class a row does not list,
    is densified: the answer is N x K (up to ``DENSE_RESULT_MAX_ENTRIES`` entries; per-class
    flags that grow with what is listed: ``df.mlq.find_label_issues_per_class``).

    Returns
    -------
    numpy.ndarray or tuple
        Without ranking, an (N, K) bool matrix. With ``return_indices_ranked_by``, a tuple of three
        lists of K arrays: the flagged rows of class k (worst first); the 0/1 label of class k
        (int64, -1 for rows with null labels); and the (N, 2) matrix ``[1 - p, p]`` of class k.

    Examples
    --------
    >>> import numpy as np
    >>> from polars_mlq.compat.filter import find_multilabel_issues_per_class
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
    pred_probs = dense_of_sparse(labels, pred_probs, fill_value, labels_format, "find_multilabel_issues_per_class")
    with thread_limit(check_n_jobs(n_jobs)):
        batch, options = _prepare(
            labels,
            pred_probs,
            class_names,
            labels_format,
            return_indices_ranked_by=return_indices_ranked_by,
            rank_by_kwargs=rank_by_kwargs,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
            confident_joint=confident_joint,
            low_memory=low_memory,
        )
        if options.rank_by is None:
            mask = find_issues_per_class(batch, options)
            ranked = None
        else:
            ranked = ranked_per_class(batch, options)
    if verbose:
        entries = sum(r.size for r in ranked) if ranked is not None else int(np.count_nonzero(mask))
        print(
            f"polars-mlq: {entries} (row, class) label issues over {batch.n_total} rows and "
            f"{batch.num_classes} classes ({_describe(options)})"
        )
    if ranked is None:
        return batch.scatter(mask, False)
    ranked = [batch.input_rows(idx) for idx in ranked]
    given = batch.multi_hot(0, batch.probs.shape[0]).astype(np.int64)
    probs = batch.probs
    given, probs = batch.scatter(given, -1), batch.scatter(probs, np.nan)
    labels_list = [given[:, k].copy() for k in range(batch.num_classes)]
    probs_list = [np.stack([np.subtract(1, probs[:, k]), probs[:, k]], axis=1) for k in range(batch.num_classes)]
    return ranked, labels_list, probs_list
