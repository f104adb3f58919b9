"""The ``polars-mlq`` command line (also ``python -m polars_mlq``).

One module per concern:

* ``app``: the main parser and :func:`main`, which turns errors into one line and an exit code;
* ``score``, ``issues``, ``summary``, ``demo``: one subcommand each;
* ``options``: the argument groups and value types the subcommands share, and the scoring options;
* ``inputs``: IN (checked, scanned lazily) and OUT from the parsed arguments;
* ``files``: file formats, reading, and writing OUT atomically;
* ``progress``: the progress line on stderr;
* ``tables``: plain-text tables;
* ``demo_data``: the bundled demo dataset;
* ``common``: the program's name, :class:`CliError` and one-line messages.

Each subcommand is a pair in its module: ``add_NAME(subparsers)`` declares its arguments and sets
``handler=run_NAME``, which takes the parsed arguments and returns the exit code. To add one, write
the pair and list the adder in ``app._SUBCOMMANDS``.

Commands write through ``polars_mlq.cli.sink``, looked up on this package when they write, so
replacing it here (as a test does, to interrupt a write) replaces it for every command.
"""

from __future__ import annotations

from polars_mlq.cli.app import build_parser, main
from polars_mlq.cli.common import PROG, CliError, one_line
from polars_mlq.cli.demo_data import DEMO_CLASSES_FILE, DEMO_FILE, load_demo
from polars_mlq.cli.files import EXTENSIONS, FORMATS, atomic_output, format_of, sink
from polars_mlq.cli.inputs import (
    Input,
    check_new_column,
    output_path,
    read_class_names,
    read_input,
)
from polars_mlq.cli.options import scoring_kwargs
from polars_mlq.cli.progress import Progress
from polars_mlq.cli.tables import MAX_CELL, format_table, frame_table

__all__ = [
    "DEMO_CLASSES_FILE",
    "DEMO_FILE",
    "EXTENSIONS",
    "FORMATS",
    "MAX_CELL",
    "PROG",
    "CliError",
    "Input",
    "Progress",
    "atomic_output",
    "build_parser",
    "check_new_column",
    "format_of",
    "format_table",
    "frame_table",
    "load_demo",
    "main",
    "one_line",
    "output_path",
    "read_class_names",
    "read_input",
    "scoring_kwargs",
    "sink",
]
