"""What every part of the command line shares: its name, its error type, one-line messages."""

from __future__ import annotations

import itertools

#: The command's name, as the user types it and as every message starts.
PROG = "polars-mlq"


class CliError(Exception):
    """A problem with the command's arguments or files, reported as one line without a traceback."""


def one_line(exc: BaseException) -> str:
    r"""Shorten an error message to its first line; for a Polars error, add the expression it names.

    Parameters
    ----------
    exc
        The error to report.

    Returns
    -------
    str
        The first non-blank line of the message (the exception's type name if there is none).

    Examples
    --------
    >>> one_line(ValueError("bad value\n\nResolved plan until failure:\n\tSCAN"))
    'bad value'
    >>> one_line(
    ...     ValueError('no JSON\n\nThis error occurred in the following expression:\n\tcol("x").str.json_decode()\n')
    ... )
    'no JSON (in col("x").str.json_decode())'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0]
    for here, after in itertools.pairwise(lines):
        if here.startswith("This error occurred in the following expression") and "python_udf" not in after:
            text += f" (in {after})"
            break
    return text
