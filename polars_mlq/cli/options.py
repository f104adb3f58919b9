"""Options shared by the subcommands: argument groups, value types, and the scoring options."""

from __future__ import annotations

import argparse
from typing import Literal, TypeAlias, TypedDict

from polars_mlq.cli.common import CliError
from polars_mlq.cli.files import FORMATS
from polars_mlq.typing import Method

#: What ``add_parser`` of ``parser.add_subparsers()`` is called on.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class EmaKwargs(TypedDict):
    """``aggregator_kwargs`` of an exponential moving average."""

    method: Literal["exponential_moving_average"]
    alpha: float


class SoftminKwargs(TypedDict):
    """``aggregator_kwargs`` of softmin."""

    method: Literal["softmin"]
    temperature: float


class SparseKwargs(TypedDict, total=False):
    """Sparse predictions as keyword arguments of ``label_quality`` (empty for dense ones)."""

    pred_classes: str
    num_classes: int | None
    fill_value: float


class ScoringKwargs(TypedDict):
    """The scoring options as keyword arguments of ``label_quality``."""

    method: Method
    adjust_pred_probs: bool
    aggregator_kwargs: EmaKwargs | SoftminKwargs


# --------------------------------------------------------------------------- value types


def positive_int(value: str) -> int:
    """Read an integer >= 1 (an argparse ``type``).

    Parameters
    ----------
    value
        The argument as given.

    Returns
    -------
    int
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``value`` is not a positive integer.
    """
    return _int_at_least(value, 1, "a positive integer")


def non_negative_int(value: str) -> int:
    """Read an integer >= 0 (an argparse ``type``).

    Parameters
    ----------
    value
        The argument as given.

    Returns
    -------
    int
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``value`` is not a non-negative integer.
    """
    return _int_at_least(value, 0, "a non-negative integer")


def _int_at_least(value: str, minimum: int, words: str) -> int:
    """Read an integer >= ``minimum``; otherwise an error that says it must be ``words``."""
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        msg = f"must be {words}; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def fraction(value: str) -> float:
    """Read a number in [0, 1] (an argparse ``type``).

    Parameters
    ----------
    value
        The argument as given.

    Returns
    -------
    float
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``value`` is not a number in [0, 1].
    """
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        msg = f"must be a number in [0, 1]; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def counts(value: str) -> list[int]:
    """Read comma-separated non-negative integers, one per class (an argparse ``type``).

    Parameters
    ----------
    value
        The argument as given, e.g. ``5,0,2``.

    Returns
    -------
    list[int]
        The counts.

    Raises
    ------
    argparse.ArgumentTypeError
        If a part is not a non-negative integer.
    """
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        numbers = [-1]
    if any(number < 0 for number in numbers):
        msg = f"must be comma-separated non-negative integers, one per class (e.g. 5,0,2); got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return numbers


# --------------------------------------------------------------------------- argument groups


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare IN and the options that say how to read it (read by ``inputs.read_input``).

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    parser.add_argument(
        "input",
        metavar="IN",
        help=(
            "input: a file (.parquet, .csv, .ndjson/.jsonl or .arrow/.ipc/.feather), a folder of such files "
            "or a glob such as 'parts/*.parquet' (quoted), read as one table in file-name order"
        ),
    )
    group = parser.add_argument_group("input")
    group.add_argument("--format", choices=FORMATS, help="format of IN when its extension does not say it")
    group.add_argument(
        "--labels", default="labels", metavar="COL", help="column of given labels, e.g. [0, 2] (default: labels)"
    )
    probs = group.add_mutually_exclusive_group()
    probs.add_argument(
        "--pred-probs",
        default="pred_probs",
        metavar="COL",
        help="column of predicted probabilities, one per class (default: pred_probs)",
    )
    probs.add_argument(
        "--pred-probs-prefix",
        metavar="P",
        help="or: one Float column per class, those whose names start with P, in file order",
    )
    names = group.add_mutually_exclusive_group()
    names.add_argument("--class-names", metavar="FILE", help="class names in pred_probs order, one a line")
    names.add_argument("--classes", metavar="A,B,C", help="or: class names in pred_probs order, comma-separated")


def add_sparse_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of sparse (top-k) predictions (read by ``sparse_kwargs``).

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    group = parser.add_argument_group("sparse (top-k) predictions")
    group.add_argument(
        "--pred-classes",
        metavar="COL",
        help="column of the classes each row lists (a List of class indices, the lengths of --pred-probs' lists)",
    )
    group.add_argument(
        "--num-classes", type=int, metavar="K", help="K, the number of classes (needed with --pred-classes)"
    )
    group.add_argument(
        "--fill-value",
        type=float,
        default=0.0,
        metavar="F",
        help="the probability of every class a row does not list (default: 0.0)",
    )


def sparse_kwargs(args: argparse.Namespace) -> SparseKwargs:
    """Return the sparse keywords of ``label_quality`` (none without --pred-classes)."""
    if args.pred_classes is None:
        return SparseKwargs()
    if args.pred_probs_prefix is not None:
        msg = "--pred-classes needs --pred-probs (one List column), not --pred-probs-prefix"
        raise CliError(msg)
    return SparseKwargs(pred_classes=args.pred_classes, num_classes=args.num_classes, fill_value=args.fill_value)


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    """Declare ``-o/--output OUT`` (read by ``inputs.output_path``).

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=(
            "output file, in the format its extension names; replaced atomically if it exists "
            "(with --ray: a folder of Parquet files, made whole or not at all)"
        ),
    )


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """Declare ``--ray [ADDRESS]`` (read by ``cli.ray_jobs``).

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help=(
            "run on a Ray cluster (pip install 'polars-mlq[ray]'): at ADDRESS, else at $RAY_ADDRESS, "
            "else on a local one started for the command; IN must be Parquet"
        ),
    )


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare cleanlab's scoring options and ``--name`` (read by :func:`scoring_kwargs`).

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    group = parser.add_argument_group("scoring (cleanlab's options)")
    group.add_argument(
        "--method",
        choices=("self_confidence", "normalized_margin", "confidence_weighted_entropy"),
        default="self_confidence",
        help="per-class score (default: self_confidence)",
    )
    group.add_argument(
        "--adjust-pred-probs",
        action="store_true",
        help="subtract per-class confident thresholds first (reads IN twice)",
    )
    group.add_argument(
        "--aggregator",
        choices=("ema", "softmin"),
        help="how per-class scores become one: exponential moving average (default) or softmin",
    )
    group.add_argument("--alpha", type=float, metavar="A", help="EMA weight in [0, 1] (default: 0.8)")
    group.add_argument("--temperature", type=float, metavar="T", help="softmin temperature > 0 (default: 0.1)")
    group.add_argument(
        "--name", default="label_quality", metavar="COL", help="name of the score column (default: label_quality)"
    )


def add_terminal_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--quiet`` (read by ``progress.progress_enabled``) and ``--debug``.

    Parameters
    ----------
    parser
        The subcommand's parser.
    """
    group = parser.add_argument_group("terminal")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")
    group.add_argument("--debug", action="store_true", help="on an error, print the Python traceback too")


def scoring_kwargs(args: argparse.Namespace) -> ScoringKwargs:
    """Turn ``--method`` etc. into keyword arguments of ``label_quality``.

    Parameters
    ----------
    args
        The parsed arguments of a command with the scoring options.

    Returns
    -------
    ScoringKwargs
        ``method``, ``adjust_pred_probs`` and ``aggregator_kwargs``.

    Raises
    ------
    CliError
        If an aggregator's parameter is given for the other aggregator.
    """
    aggregator = args.aggregator or ("softmin" if args.temperature is not None else "ema")
    kwargs: EmaKwargs | SoftminKwargs
    if aggregator == "ema":
        if args.temperature is not None:
            msg = "--temperature is for --aggregator softmin; the EMA aggregator takes --alpha"
            raise CliError(msg)
        kwargs = {"method": "exponential_moving_average", "alpha": 0.8 if args.alpha is None else args.alpha}
    else:
        if args.alpha is not None:
            msg = "--alpha is for --aggregator ema; softmin takes --temperature"
            raise CliError(msg)
        kwargs = {"method": "softmin", "temperature": 0.1 if args.temperature is None else args.temperature}
    return {"method": args.method, "adjust_pred_probs": args.adjust_pred_probs, "aggregator_kwargs": kwargs}
