"""A catalogue of bad options, each run through every path where it can be expressed.

Every entry of ``CASES`` is one unknown or out-of-range option of scoring or of issue finding, run
as the bad data of test_bad_data.py are (``helpers.check_bad_input``): through the eager, lazy
(in-memory, and streamed from Parquet) and numpy paths and the command line, checking the
exception type and the words that tell the user what to fix (on the command line: exit code 1 and
one line, or 2 and argparse's usage message for an option argparse itself refuses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    CLEAN_ROWS,
    EMA,
    Case,
    K,
    catalogue_params,
    check_bad_input,
    check_console_script_says_the_same,
    check_the_catalogue_is_broad,
)

ARGPARSE = r"polars-mlq \w+: error: argument "
COUNTS_REFUSED = ARGPARSE + r"--num-to-remove-per-class: must be comma-separated non-negative integers"
SCORE, ISSUES = ("score",), ("issues",)


def _matrix(scores: np.ndarray, axis: int) -> np.ndarray:
    return scores


def _boom(scores: np.ndarray, axis: int) -> np.ndarray:
    raise RuntimeError("boom")


def _words(scores: np.ndarray, axis: int) -> list[str]:
    return ["x"] * len(scores)


def aggregator(method: Any, **kwargs: Any) -> dict[str, Any]:
    return {"aggregator_kwargs": {"method": method, **kwargs}}


CASES: list[Case] = [
    # ---------------------------------------------------------------- scoring options
    Case(
        "method-unknown", ValueError,
        r"unknown method 'margin'; expected one of \['self_confidence', 'normalized_margin', "
        r"'confidence_weighted_entropy'\]",
        kwargs={"method": "margin"}, ops=SCORE, cli=("--method", "margin"), cli_code=2,
        cli_words=ARGPARSE + r"--method: invalid choice: 'margin'",
    ),
    Case("method-not-a-string", TypeError, r"method must be a string", kwargs={"method": 3}, ops=SCORE, cli=None),
    Case(
        "adjust-with-cwe", ValueError,
        r"adjust_pred_probs=True is not defined for method='confidence_weighted_entropy'",
        kwargs={"method": "confidence_weighted_entropy", "adjust_pred_probs": True}, ops=SCORE,
        cli=("--method", "confidence_weighted_entropy", "--adjust-pred-probs"),
    ),
    Case(
        "adjust-not-a-bool", TypeError, r"adjust_pred_probs must be True or False; got 'yes'",
        kwargs={"adjust_pred_probs": "yes"}, ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-unknown", ValueError,
        r"unknown aggregator 'mean'; expected one of \['exponential_moving_average', 'softmin'\] or a callable",
        kwargs=aggregator("mean"), ops=SCORE, cli=("--aggregator", "mean"), cli_code=2,
        cli_words=ARGPARSE + r"--aggregator: invalid choice: 'mean'",
    ),
    Case(
        "aggregator-without-method", ValueError, r"aggregator_kwargs needs a 'method' key",
        kwargs={"aggregator_kwargs": {"alpha": 0.5}}, ops=SCORE, cli=None,
    ),
    Case(
        "alpha-1.5", ValueError, r"alpha must be in the interval \[0, 1\]; got 1\.5", kwargs=aggregator(EMA, alpha=1.5),
        ops=SCORE, cli=("--alpha", "1.5"),
    ),
    Case(
        "alpha-minus-0.1", ValueError, r"alpha must be in the interval \[0, 1\]; got -0\.1",
        kwargs=aggregator(EMA, alpha=-0.1), ops=SCORE, cli=("--alpha=-0.1",),
    ),
    Case(
        "alpha-nan", ValueError, r"alpha must be in the interval \[0, 1\]; got nan",
        kwargs=aggregator(EMA, alpha=float("nan")), ops=SCORE, cli=("--alpha", "nan"),
    ),
    Case(
        "alpha-not-a-number", TypeError, r"alpha must be a number in \[0, 1\] or None; got '0\.5'",
        kwargs=aggregator(EMA, alpha="0.5"), ops=SCORE, cli=("--alpha", "half"), cli_code=2,
        cli_words=ARGPARSE + r"--alpha: invalid float value: 'half'",
    ),
    Case(
        "temperature-0", ValueError, r"temperature must be a positive finite number; got 0",
        kwargs=aggregator("softmin", temperature=0), ops=SCORE, cli=("--aggregator", "softmin", "--temperature", "0"),
    ),
    Case(
        "temperature-negative", ValueError, r"temperature must be a positive finite number; got -1\.0",
        kwargs=aggregator("softmin", temperature=-1.0), ops=SCORE, cli=("--temperature=-1",),
    ),
    Case(
        "temperature-inf", ValueError, r"temperature must be a positive finite number; got inf",
        kwargs=aggregator("softmin", temperature=float("inf")), ops=SCORE, cli=("--temperature", "inf"),
    ),
    Case(
        "softmin-given-alpha", ValueError,
        r"aggregator 'softmin' takes \['temperature'\]; unknown key\(s\) \['alpha'\]",
        kwargs=aggregator("softmin", alpha=0.3), ops=SCORE, cli=("--aggregator", "softmin", "--alpha", "0.3"),
        cli_words=r"--alpha is for --aggregator ema; softmin takes --temperature",
    ),
    Case(
        "aggregator-returns-a-matrix", ValueError,
        rf"aggregator _matrix must return an array of shape \({CLEAN_ROWS},\).*got shape \({CLEAN_ROWS}, {K}\)",
        kwargs=aggregator(_matrix), ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-raises", ValueError, r"aggregator _boom raised RuntimeError: boom", kwargs=aggregator(_boom),
        ops=SCORE, cli=None,
    ),
    Case(
        "aggregator-returns-text", TypeError, r"aggregator _words must return one number per row",
        kwargs=aggregator(_words), ops=SCORE, cli=None,
    ),
    Case(
        "thresholds-of-another-K", ValueError, rf"thresholds have 3 classes but pred_probs have {K}",
        kwargs={"adjust_pred_probs": True, "thresholds": np.full((3, 2), 0.5)}, ops=SCORE, numpy=False, cli=None,
    ),
    Case(
        "thresholds-without-adjust", ValueError,
        r"thresholds= is only used with adjust_pred_probs=True; pass both or neither",
        kwargs={"thresholds": np.full((K, 2), 0.5)}, ops=SCORE, numpy=False, cli=None,
    ),
    Case(
        "thresholds-nan", ValueError, r"thresholds must be finite and in \[",
        kwargs={"adjust_pred_probs": True, "thresholds": np.full((K, 2), np.nan)}, ops=SCORE, numpy=False, cli=None,
    ),
    # ---------------------------------------------------------------- issue-finding options
    Case(
        "filter-by-unknown", ValueError, r"filter_by must be one of \['prune_by_noise_rate', 'prune_by_class', 'both',",
        kwargs={"filter_by": "prune"}, ops=ISSUES, cli=("--filter-by", "prune"), cli_code=2,
        cli_words=ARGPARSE + r"--filter-by: invalid choice: 'prune'",
    ),
    Case(
        "frac-noise-1.5", ValueError,
        r"frac_noise must be in \[0, 1\] \(the fraction of the estimated issues to return\); got 1\.5",
        kwargs={"frac_noise": 1.5}, ops=ISSUES, cli=("--frac-noise", "1.5"), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got '1\.5'",
    ),
    Case(
        "frac-noise-negative", ValueError, r"frac_noise must be in \[0, 1\].*; got -0\.1", kwargs={"frac_noise": -0.1},
        ops=ISSUES, cli=("--frac-noise=-0.1",), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got '-0\.1'",
    ),
    Case(
        "frac-noise-nan", ValueError, r"frac_noise must be in \[0, 1\].*; got nan", kwargs={"frac_noise": float("nan")},
        ops=ISSUES, cli=("--frac-noise", "nan"), cli_code=2,
        cli_words=ARGPARSE + r"--frac-noise: must be a number in \[0, 1\]; got 'nan'",
    ),
    Case(
        "frac-noise-not-a-number", TypeError, r"frac_noise must be a number in \[0, 1\]; got '0\.5'",
        kwargs={"frac_noise": "0.5"}, ops=ISSUES, cli=None,
    ),
    Case(
        "num-to-remove-wrong-length", ValueError,
        rf"num_to_remove_per_class must hold {K} non-negative integers \(one per class\); got \[1, 2\]",
        kwargs={"num_to_remove_per_class": [1, 2]}, ops=ISSUES, cli=("--num-to-remove-per-class", "1,2"),
    ),
    Case(
        "num-to-remove-negative", ValueError,
        rf"num_to_remove_per_class must hold {K} non-negative integers.*got \[1, 1, 1, 1, -1\]",
        kwargs={"num_to_remove_per_class": [1, 1, 1, 1, -1]}, ops=ISSUES,
        cli=("--num-to-remove-per-class=1,1,1,1,-1",), cli_code=2, cli_words=COUNTS_REFUSED,
    ),
    Case(
        "num-to-remove-fractions", ValueError, rf"num_to_remove_per_class must hold {K} non-negative integers",
        kwargs={"num_to_remove_per_class": [1.5, 1, 1, 1, 1]}, ops=ISSUES,
        cli=("--num-to-remove-per-class", "1.5,1,1,1,1"), cli_code=2, cli_words=COUNTS_REFUSED,
    ),
    Case(
        "num-to-remove-with-other-filter", ValueError,
        r"num_to_remove_per_class is only supported by filter_by in \['prune_by_noise_rate', 'prune_by_class', "
        r"'both'\]; got filter_by='confident_learning'",
        kwargs={"num_to_remove_per_class": [1] * K, "filter_by": "confident_learning"}, ops=ISSUES,
        cli=("--num-to-remove-per-class", "1,1,1,1,1", "--filter-by", "confident_learning"),
    ),
    Case(
        "min-examples-negative", ValueError, r"min_examples_per_class must be a non-negative integer; got -1",
        kwargs={"min_examples_per_class": -1}, ops=ISSUES, cli=("--min-examples-per-class=-1",), cli_code=2,
        cli_words=ARGPARSE + r"--min-examples-per-class: must be a non-negative integer; got '-1'",
    ),
    Case(
        "min-examples-fraction", ValueError, r"min_examples_per_class must be a non-negative integer; got 1\.5",
        kwargs={"min_examples_per_class": 1.5}, ops=ISSUES, cli=None,
    ),
]
CATALOGUE = {case.name: case for case in CASES}
assert len(CATALOGUE) == len(CASES), "case names must be distinct"
PARAMS = catalogue_params(CATALOGUE)


def test_the_catalogue_is_broad() -> None:
    """Each bad option through at least two paths, covering every path, and scoring and issue finding."""
    check_the_catalogue_is_broad(CATALOGUE, PARAMS, at_least=25, ops=("score", "issues"))


@pytest.mark.parametrize(("name", "op", "path"), PARAMS)
def test_bad_input(name: str, op: str, path: str, tmp_path: Path) -> None:
    check_bad_input(CATALOGUE[name], op, path, tmp_path)


CLI_SAMPLE = ["alpha-1.5"]


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_sample_through_the_console_script(name: str, tmp_path: Path) -> None:
    """The installed script, in a subprocess, says exactly what cli.main says in-process."""
    check_console_script_says_the_same(CATALOGUE[name], tmp_path)
