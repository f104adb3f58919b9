"""Scoring options: validated once, when an expression or a call is built."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

Method = Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
METHODS: tuple[str, ...] = get_args(Method)
AGGREGATORS = ("exponential_moving_average", "softmin")
_AGGREGATOR_KEYS = {
    "exponential_moving_average": {"alpha"},
    "softmin": {"temperature"},
}

#: cleanlab's default aggregator: an exponential moving average with alpha 0.8.
DEFAULT_AGGREGATOR: dict[str, Any] = {"method": "exponential_moving_average", "alpha": 0.8}


@dataclass(frozen=True)
class Aggregator:
    """How one row of K per-class scores becomes one score."""

    kind: str  # "exponential_moving_average", "softmin" or "callable"
    alpha: float | None = None  # EMA; None means 2 / (K + 1)
    temperature: float = 0.1  # softmin
    function: Callable[..., Any] | None = None  # callable
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # extra keywords for the callable


@dataclass(frozen=True)
class ScoringOptions:
    """Validated scoring arguments: the per-class method, the adjustment, and how rows aggregate."""

    method: str
    adjust_pred_probs: bool
    aggregator: Aggregator | None  # None for per-class scores


def parse_method(method: object) -> str:
    """Return the scoring method's name, checked (case-insensitive) against ``METHODS``."""
    if not isinstance(method, str):
        msg = f"method must be a string, one of {list(METHODS)}; got {method!r}"
        raise TypeError(msg)
    name = method.lower()
    if name not in METHODS:
        msg = f"unknown method {method!r}; expected one of {list(METHODS)}"
        raise ValueError(msg)
    return name


def parse_adjust(adjust_pred_probs: object, method: str) -> bool:
    """Return ``adjust_pred_probs`` as a bool, checked against the method (not defined for entropy)."""
    if not isinstance(adjust_pred_probs, (bool, np.bool_)):
        msg = f"adjust_pred_probs must be True or False; got {adjust_pred_probs!r}"
        raise TypeError(msg)
    adjust = bool(adjust_pred_probs)
    if adjust and method == "confidence_weighted_entropy":
        msg = (
            "adjust_pred_probs=True is not defined for method='confidence_weighted_entropy'; "
            "use 'self_confidence' or 'normalized_margin', or adjust_pred_probs=False"
        )
        raise ValueError(msg)
    return adjust


def _check_alpha(alpha: object) -> float | None:
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        msg = f"alpha must be a number in [0, 1] or None; got {alpha!r}"
        raise TypeError(msg)
    value = float(alpha)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        msg = f"alpha must be in the interval [0, 1]; got {alpha!r}"
        raise ValueError(msg)
    return value


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        msg = f"temperature must be a positive number; got {temperature!r}"
        raise TypeError(msg)
    value = float(temperature)
    if not (value > 0 and math.isfinite(value)):
        msg = f"temperature must be a positive finite number; got {temperature!r}"
        raise ValueError(msg)
    return value


def _accepts_axis(function: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # builtins and numpy functions without a signature
        return True
    return any(p.name == "axis" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def parse_aggregator(aggregator_kwargs: object) -> Aggregator:
    """Return the validated ``Aggregator`` of cleanlab-style ``aggregator_kwargs`` (the default if empty)."""
    if not aggregator_kwargs:
        aggregator_kwargs = DEFAULT_AGGREGATOR
    if not isinstance(aggregator_kwargs, Mapping):
        msg = f"aggregator_kwargs must be a dict such as {DEFAULT_AGGREGATOR}; got {aggregator_kwargs!r}"
        raise TypeError(msg)
    if "method" not in aggregator_kwargs:
        msg = (
            "aggregator_kwargs needs a 'method' key: 'exponential_moving_average', "
            f"'softmin' or a callable; got keys {sorted(aggregator_kwargs)}"
        )
        raise ValueError(msg)
    kwargs = dict(aggregator_kwargs)
    method = kwargs.pop("method")
    if callable(method):
        kwargs.pop("axis", None)  # the scores always arrive as rows: axis is 1
        if _accepts_axis(method):
            kwargs["axis"] = 1
        return Aggregator(kind="callable", function=method, kwargs=kwargs)
    if not isinstance(method, str):
        msg = f"aggregator method must be a string or a callable; got {method!r}"
        raise TypeError(msg)
    if method not in AGGREGATORS:
        msg = f"unknown aggregator {method!r}; expected one of {list(AGGREGATORS)} or a callable"
        raise ValueError(msg)
    unknown = set(kwargs) - _AGGREGATOR_KEYS[method] - {"axis"}
    if unknown:
        msg = f"aggregator {method!r} takes {sorted(_AGGREGATOR_KEYS[method])}; unknown key(s) {sorted(unknown)}"
        raise ValueError(msg)
    if method == "softmin":
        return Aggregator(kind=method, temperature=_check_temperature(kwargs.get("temperature", 0.1)))
    return Aggregator(kind=method, alpha=_check_alpha(kwargs.get("alpha")))


def parse_options(
    method: object,
    adjust_pred_probs: object,
    aggregator_kwargs: Mapping[str, Any] | None,
    *,
    per_class: bool = False,
) -> ScoringOptions:
    """Return the validated scoring options; ``per_class`` scores have no aggregator."""
    name = parse_method(method)
    adjust = parse_adjust(adjust_pred_probs, name)
    aggregator = None if per_class else parse_aggregator(aggregator_kwargs)
    return ScoringOptions(method=name, adjust_pred_probs=adjust, aggregator=aggregator)
