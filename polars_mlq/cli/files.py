"""File formats: which one a path names, reading IN lazily, and writing OUT atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from polars_mlq.cli.common import CliError

FORMATS = ("parquet", "csv", "ndjson", "ipc")
EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
}


def format_of(path: Path, role: str) -> str:
    """Name the file format that the extension of ``path`` names.

    Parameters
    ----------
    path
        The file, IN or OUT.
    role
        ``"IN"`` or ``"OUT"``, for the message.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    CliError
        If the extension is not one of :data:`EXTENSIONS`.

    Examples
    --------
    >>> from pathlib import Path
    >>> format_of(Path("scores.JSONL"), "OUT")
    'ndjson'
    """
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = " ".join(EXTENSIONS)
        hint = "; or name the format with --format" if role == "IN" else ""
        msg = (
            f"{role} {path}: cannot tell the file format from the extension {path.suffix or '(none)'!r}; "
            f"known: {known}{hint}"
        )
        raise CliError(msg)
    return fmt


def scan(path: Path | Sequence[Path], fmt: str, schema_overrides: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    """Scan ``path`` lazily as ``fmt``.

    Parameters
    ----------
    path
        The file to read, or the files (one after the other).
    fmt
        One of :data:`FORMATS`.
    schema_overrides
        Column types to read CSV columns as (ignored by the other formats).

    Returns
    -------
    pl.LazyFrame
        The file, not yet read.
    """
    source: Path | list[Path] = path if isinstance(path, Path) else list(path)
    if fmt == "parquet":
        return pl.scan_parquet(source)
    if fmt == "ipc":
        return pl.scan_ipc(source)
    if fmt == "ndjson":
        return pl.scan_ndjson(source)
    return pl.scan_csv(source, schema_overrides=schema_overrides)


def _as_json_text(name: str) -> pl.Expr:
    """Write a nested column as JSON text (``[0, 2]`` becomes ``"[0,2]"``); CSV has no lists.

    Null stays null.
    """
    column = pl.col(name)
    encoded = pl.struct(column.alias("v")).struct.json_encode().str.slice(len('{"v":')).str.strip_suffix("}")
    return pl.when(column.is_not_null()).then(encoded).alias(name)


def sink(frame: pl.LazyFrame, path: Path, fmt: str) -> None:
    """Stream ``frame`` to ``path`` in ``fmt``; for CSV, List/Array/Struct columns become JSON text.

    Parameters
    ----------
    frame
        What to write.
    path
        Where to write it (replaced if it exists).
    fmt
        One of :data:`FORMATS`.
    """
    if fmt == "parquet":
        frame.sink_parquet(path)
    elif fmt == "ipc":
        frame.sink_ipc(path)
    elif fmt == "ndjson":
        frame.sink_ndjson(path)
    else:
        nested = [name for name, dtype in frame.collect_schema().items() if dtype.is_nested()]
        frame.with_columns(_as_json_text(name) for name in nested).sink_csv(path)


def _file_mode(out: Path) -> int:
    """Give the permission bits OUT gets: an existing OUT's own, else a new file's (0o666 & ~umask)."""
    try:
        return stat.S_IMODE(out.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; on success rename it to ``out``, on any failure delete it.

    So ``out`` either is complete or is left as it was (absent, or an older complete file).

    Parameters
    ----------
    out
        The file to write.

    Yields
    ------
    Path
        The temporary file to write instead (it exists, empty).
    """
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _file_mode(out))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
