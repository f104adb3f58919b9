"""IN and OUT from the parsed arguments: IN's columns checked and scanned lazily, OUT checked."""

from __future__ import annotations

import argparse
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from polars_mlq.cli.common import CliError, one_line
from polars_mlq.cli.files import EXTENSIONS, format_of, scan


@dataclass(frozen=True)
class Input:
    """IN, scanned lazily, and the expressions that read its labels and pred_probs.

    ``path`` is IN as given (a file, a folder or a glob); ``sources`` the files it names, in order.
    """

    path: Path
    sources: tuple[Path, ...]
    format: str
    frame: pl.LazyFrame
    columns: tuple[str, ...]
    labels: pl.Expr
    pred_probs: pl.Expr
    class_names: list[str] | None

    def row_count(self) -> int | None:
        """Count the rows if the file's metadata has the number (Parquet, Arrow IPC).

        Returns
        -------
        int or None
            The number of rows, or None for CSV, NDJSON or an unreadable file.
        """
        if self.format not in ("parquet", "ipc"):
            return None
        try:
            return int(self.frame.select(pl.len()).collect().item())
        except pl.exceptions.PolarsError:
            return None


def _columns_list(columns: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def read_class_names(args: argparse.Namespace) -> list[str] | None:
    """Read ``--class-names FILE`` (one name a line, blank lines skipped) or ``--classes a,b,c``.

    Parameters
    ----------
    args
        The parsed arguments of a command with the input options.

    Returns
    -------
    list[str] or None
        The class names, or None when neither option is given.

    Raises
    ------
    CliError
        If the file cannot be read, or a name is empty.
    """
    if args.classes is not None:
        names = [name.strip() for name in args.classes.split(",")]
    elif args.class_names is not None:
        path = Path(args.class_names)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"--class-names {path}: {exc.strerror or exc}"
            raise CliError(msg) from exc
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        return None
    if not names or any(not name for name in names):
        msg = "class names must be non-empty; give one per line (--class-names) or a,b,c (--classes)"
        raise CliError(msg)
    return names


def read_input(args: argparse.Namespace) -> Input:
    """Check IN and its columns and scan it lazily.

    Only the schema is read (and, for lists stored as text, the first rows).

    Parameters
    ----------
    args
        The parsed arguments of a command with the input options.

    Returns
    -------
    Input
        IN, with the expressions that read its labels and pred_probs.

    Raises
    ------
    CliError
        If IN is missing, unreadable, or lacks the columns the options name.
    """
    path = Path(args.input)
    sources = input_files(args.input)
    fmt = args.format or _one_format(path, sources)
    class_names = read_class_names(args)
    try:
        schema = scan(sources, fmt).collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"IN {path}: cannot read it as {fmt}: {one_line(exc)}"
        raise CliError(msg) from exc
    columns = tuple(schema.names())
    prefix = args.pred_probs_prefix

    if args.labels not in schema:
        msg = f"IN {path} has no column {args.labels!r} (--labels); its columns are {_columns_list(columns)}"
        raise CliError(msg)
    if prefix is not None:
        prob_columns = [c for c in columns if c.startswith(prefix) and c != args.labels]
        if not prob_columns:
            msg = (
                f"IN {path} has no column whose name starts with {prefix!r} (--pred-probs-prefix); "
                f"its columns are {_columns_list(columns)}"
            )
            raise CliError(msg)
    elif args.pred_probs not in schema:
        msg = (
            f"IN {path} has no column {args.pred_probs!r} (--pred-probs); its columns are "
            f"{_columns_list(columns)}. Give one List/Array column with --pred-probs COL, or one "
            "Float column per class with --pred-probs-prefix P"
        )
        raise CliError(msg)

    frame = scan(sources, fmt)
    if fmt == "csv":  # read lists as text, and probability columns as floats even if the first rows look like integers
        overrides: dict[str, pl.DataType] = {args.labels: pl.String()}
        if prefix is None:
            overrides[args.pred_probs] = pl.String()
        else:
            overrides.update((c, pl.Float64()) for c in prob_columns)
        frame = scan(sources, fmt, overrides)
        schema = frame.collect_schema()

    labels = pl.col(args.labels)
    if schema[args.labels] == pl.String:  # a list as JSON text: [0, 2] or ["cat", "dog"]
        first = _first_list_text(frame, path, args.labels, "--labels", '[0, 2] or ["cat", "dog"]')
        names = first is not None and first.lstrip("[ \t").startswith('"')
        labels = labels.str.json_decode(pl.List(pl.String if names else pl.Int64))
    if prefix is not None:
        pred_probs = pl.concat_arr(prob_columns).alias("pred_probs")
    else:
        pred_probs = pl.col(args.pred_probs)
        if schema[args.pred_probs] == pl.String:
            _first_list_text(frame, path, args.pred_probs, "--pred-probs", "[0.1, 0.9]")
            pred_probs = pred_probs.str.json_decode(pl.List(pl.Float64))
    return Input(path, sources, fmt, frame, columns, labels, pred_probs, class_names)


def input_files(given: str) -> tuple[Path, ...]:
    """Return the files IN names: a file, the data files of a folder, or the files a glob matches (sorted).

    Parameters
    ----------
    given
        IN as given on the command line.

    Returns
    -------
    tuple[Path, ...]
        The files, in order.

    Raises
    ------
    CliError
        If IN names no file.
    """
    if any(char in given for char in "*?["):
        found = tuple(sorted(Path(name) for name in glob.glob(given) if Path(name).is_file()))
        if not found:
            msg = f"IN {given}: no file matches the pattern"
            raise CliError(msg)
        return found
    path = Path(given)
    if path.is_dir():
        found = tuple(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS))
        if not found:
            msg = f"IN {path}: the folder has no data file ({' '.join(EXTENSIONS)})"
            raise CliError(msg)
        return found
    if not path.exists():
        msg = f"IN {path}: no such file"
        raise CliError(msg)
    if not path.is_file():
        msg = f"IN {path}: not a file"
        raise CliError(msg)
    return (path,)


def _one_format(path: Path, sources: tuple[Path, ...]) -> str:
    formats = {format_of(source, "IN") for source in sources}
    if len(formats) > 1:
        msg = f"IN {path} holds files of several formats ({', '.join(sorted(formats))}); read one format at a time"
        raise CliError(msg)
    return formats.pop()


def _first_list_text(frame: pl.LazyFrame, path: Path, column: str, option: str, example: str) -> str | None:
    """Check that a text column holds lists as JSON text: return its first non-empty one (or None).

    Only the first rows are read: the streaming engine stops at the first match.
    """
    text = pl.col(column).str.strip_chars()
    head = (
        frame.select(text)
        .filter(text.str.contains(r"^\[\s*\]$").not_())  # skip empty lists: they say nothing of the type
        .head(1)
        .collect(engine="streaming")
    )
    first: str | None = head.item() if head.height else None
    if first is not None and not (first.startswith("[") and first.endswith("]")):
        shown = first if len(first) <= 40 else first[:37] + "..."
        msg = (
            f"IN {path}: column {column!r} ({option}) holds text that is not a list such as "
            f"{example}; its first value is {shown!r}"
        )
        raise CliError(msg)
    return first


def check_new_column(inp: Input, name: str, option: str) -> None:
    """Refuse a new column's name that IN already has.

    Parameters
    ----------
    inp
        IN.
    name
        The name of the column the command appends.
    option
        The option that names it, for the message.

    Raises
    ------
    CliError
        If IN has a column ``name``.
    """
    if name in inp.columns:
        msg = f"IN {inp.path} already has a column {name!r}; name the new column with {option}"
        raise CliError(msg)


def output_path(args: argparse.Namespace, inp: Input) -> tuple[Path, str]:
    """Check OUT and name its format; refuses IN itself, a directory, and a missing parent directory.

    Parameters
    ----------
    args
        The parsed arguments of a command with ``-o/--output``.
    inp
        IN.

    Returns
    -------
    tuple[Path, str]
        OUT and its format.

    Raises
    ------
    CliError
        If OUT cannot be written as asked.
    """
    out = Path(args.output)
    fmt = format_of(out, "OUT")
    for source in inp.sources:
        if out.resolve() == source.resolve() or (out.exists() and os.path.samefile(out, source)):
            what = "the input file" if len(inp.sources) == 1 else "one of the input files"
            msg = f"OUT {out} is {what}; refusing to overwrite IN (write to another file)"
            raise CliError(msg)
    if out.is_dir():
        msg = f"OUT {out} is a directory; give a file name"
        raise CliError(msg)
    if not out.parent.is_dir():
        msg = f"OUT {out}: no such directory {str(out.parent)!r}"
        raise CliError(msg)
    return out, fmt


def check_sparse_column(inp: Input, args: argparse.Namespace) -> None:
    """Refuse --pred-classes naming a column IN does not have (nothing to check without it)."""
    if args.pred_classes is not None and args.pred_classes not in inp.columns:
        msg = f"IN {inp.path} has no column {args.pred_classes!r} (--pred-classes); its columns are {list(inp.columns)}"
        raise CliError(msg)
