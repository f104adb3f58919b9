"""The options of the issue finders: which filter, and how many rows it may flag.

Validated once at the public boundary (``parse_issue_options``); everything below takes the
frozen ``IssueOptions``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from polars_mlq.input import parse_adjust, parse_method

FilterBy = Literal[
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
]


FILTERS: tuple[str, ...] = get_args(FilterBy)


PRUNE_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both")


LOW_FILTERS = ("low_normalized_margin", "low_self_confidence")


#: alpha of the exponential moving average used for every ranking.
RANK_ALPHA = 0.8


@dataclass(frozen=True)
class IssueOptions:
    """Validated arguments of the issue finders."""

    filter_by: str = "prune_by_noise_rate"
    frac_noise: float = 1.0
    num_to_remove: np.ndarray | None = None  # (K,) int64
    min_examples: int = 1
    confident_joint: np.ndarray | None = None  # (K, 2, 2) float64
    rank_by: str | None = None
    rank_adjust: bool = False
    #: cleanlab's batched filter (``low_memory=True`` of the drop-in functions), see core.low_memory
    low_memory: bool = False

    def for_classes(self, num_classes: int) -> IssueOptions:
        """Return these options, checked against K (the per-class arrays must have K entries)."""
        remove = self.num_to_remove
        if remove is not None and (remove.shape != (num_classes,) or remove.dtype != np.int64):
            msg = (
                f"num_to_remove_per_class must hold {num_classes} non-negative integers (one per "
                f"class); got {remove.tolist()!r}"
            )
            raise ValueError(msg)
        if self.confident_joint is not None and self.confident_joint.shape != (num_classes, 2, 2):
            msg = (
                f"confident_joint must have shape (K, 2, 2) = ({num_classes or 'K'}, 2, 2): one 2x2 count "
                f"matrix [given label][confident guess] per class; got shape {self.confident_joint.shape}"
            )
            raise ValueError(msg)
        return self


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _parse_ranking(return_indices_ranked_by: str | None, rank_by_kwargs: object) -> tuple[str | None, bool]:
    """Return the ranking method (None: no ranking) and whether its scores adjust pred_probs."""
    rank_by = None if return_indices_ranked_by is None else parse_method(return_indices_ranked_by)
    if rank_by_kwargs is None:
        kwargs: dict[str, Any] = {}
    elif isinstance(rank_by_kwargs, Mapping):
        kwargs = dict(rank_by_kwargs)
    else:
        msg = f"rank_by_kwargs must be a dict such as {{'adjust_pred_probs': True}}; got {rank_by_kwargs!r}"
        raise TypeError(msg)
    unknown = set(kwargs) - {"adjust_pred_probs"}
    if unknown:
        msg = f"rank_by_kwargs accepts only 'adjust_pred_probs'; got unknown key(s) {sorted(unknown)}"
        raise TypeError(msg)
    adjust = kwargs.get("adjust_pred_probs", False)
    if adjust is None:  # cleanlab tests it for truth: None means no adjustment
        adjust = False
    return rank_by, parse_adjust(adjust, rank_by or "self_confidence")


def _warn_unused_by_low_memory(**given: bool) -> None:
    for name, was_given in given.items():
        if was_given:
            warnings.warn(
                f"{name} is not used when low_memory=True (cleanlab's batched filter); it is ignored",
                UserWarning,
                stacklevel=5,
            )


def parse_issue_options(
    num_classes: int | None,
    *,
    return_indices_ranked_by: str | None = None,
    rank_by_kwargs: object = None,
    filter_by: str = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | np.ndarray | None = None,
    min_examples_per_class: int = 1,
    confident_joint: np.ndarray | None = None,
    low_memory: object = False,
) -> IssueOptions:
    """Check every option once, before any work, and return them as ``IssueOptions``.

    ``num_classes`` is K (the width of pred_probs), or None when it is not known yet (then
    ``IssueOptions.for_classes`` checks it later). With ``low_memory`` (cleanlab's batched
    filter) the filter options are not used: each one given warns, and is ignored unchecked.
    """
    if low_memory is not None and not isinstance(low_memory, (bool, np.bool_)) and low_memory not in (0, 1):
        msg = f"low_memory must be True or False; got {low_memory!r}"
        raise TypeError(msg)
    if low_memory:  # cleanlab tests it for truth: None and 0 are False
        _warn_unused_by_low_memory(
            filter_by=filter_by != "prune_by_noise_rate",
            frac_noise=not (isinstance(frac_noise, (int, float)) and frac_noise == 1.0),
            num_to_remove_per_class=num_to_remove_per_class is not None,
            min_examples_per_class=not (_is_int(min_examples_per_class) and min_examples_per_class == 1),
            confident_joint=confident_joint is not None,
        )
        rank_by, rank_adjust = _parse_ranking(return_indices_ranked_by, rank_by_kwargs)
        return IssueOptions(rank_by=rank_by, rank_adjust=rank_adjust, low_memory=True)
    if not isinstance(filter_by, str) or filter_by not in FILTERS:
        msg = f"filter_by must be one of {list(FILTERS)}; got {filter_by!r}"
        raise ValueError(msg)
    prune = filter_by in PRUNE_FILTERS

    rank_by, rank_adjust = _parse_ranking(return_indices_ranked_by, rank_by_kwargs)

    if isinstance(frac_noise, (bool, np.bool_)) or not isinstance(frac_noise, (int, float, np.integer, np.floating)):
        msg = f"frac_noise must be a number in [0, 1]; got {frac_noise!r}"
        raise TypeError(msg)
    frac = float(frac_noise)
    if not 0.0 <= frac <= 1.0:  # also refuses NaN
        msg = f"frac_noise must be in [0, 1] (the fraction of the estimated issues to return); got {frac_noise!r}"
        raise ValueError(msg)

    if not _is_int(min_examples_per_class) or int(min_examples_per_class) < 0:
        msg = f"min_examples_per_class must be a non-negative integer; got {min_examples_per_class!r}"
        raise ValueError(msg)

    remove = None
    if num_to_remove_per_class is not None:
        if not prune:
            msg = (
                f"num_to_remove_per_class is only supported by filter_by in {list(PRUNE_FILTERS)}; "
                f"got filter_by={filter_by!r}"
            )
            raise ValueError(msg)
        values = list(num_to_remove_per_class)
        valid = all(_is_int(v) and int(v) >= 0 for v in values)
        if num_classes is not None and (len(values) != num_classes or not valid):
            msg = (
                f"num_to_remove_per_class must hold {num_classes} non-negative integers (one per "
                f"class); got {num_to_remove_per_class!r}"
            )
            raise ValueError(msg)
        # with K unknown yet, invalid values wait for ``for_classes``, whose message names K
        remove = np.asarray(values, dtype=np.int64 if valid else object).reshape(len(values))

    joint = None
    if confident_joint is not None:
        joint = np.asarray(confident_joint)
    if joint is not None and joint.ndim == 2 and num_classes is not None and joint.shape == (num_classes, num_classes):
        warnings.warn(
            f"confident_joint of shape ({num_classes}, {num_classes}) is the single-label format; the "
            f"multi-label one is ({num_classes}, 2, 2). It is ignored (as cleanlab ignores it)",
            UserWarning,
            stacklevel=4,
        )
        joint = None
    if joint is not None:
        if joint.ndim != 3 or joint.shape[1:] != (2, 2) or (num_classes is not None and joint.shape[0] != num_classes):
            msg = (
                f"confident_joint must have shape (K, 2, 2) = ({num_classes or 'K'}, 2, 2): one 2x2 count "
                f"matrix [given label][confident guess] per class; got shape {joint.shape}"
            )
            raise ValueError(msg)
        if joint.dtype.kind not in "iuf" or not np.all(np.isfinite(joint)) or np.any(joint < 0):
            msg = "confident_joint must hold finite, non-negative counts"
            raise ValueError(msg)
        joint = joint.astype(np.float64)

    if not prune:
        ignored = []
        if frac != 1.0:
            ignored.append("frac_noise")
        if joint is not None:
            ignored.append("confident_joint")
            joint = None
        if ignored:
            warnings.warn(
                f"{' and '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} only used by "
                f"filter_by in {list(PRUNE_FILTERS)}; ignored for filter_by={filter_by!r}",
                UserWarning,
                stacklevel=4,
            )
    return IssueOptions(
        filter_by=filter_by,
        frac_noise=frac,
        num_to_remove=remove,
        min_examples=int(min_examples_per_class),
        confident_joint=joint,
        rank_by=rank_by,
        rank_adjust=rank_adjust,
    )
