"""The ``polars-mlq`` command line (also ``python -m polars_mlq``).

Each subcommand is a pair: ``_add_NAME(subparsers)`` declares its arguments and sets
``handler=_run_NAME``, which takes the parsed arguments and returns the exit code. To add one,
write the pair and list the adder in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import polars as pl

import polars_mlq
from polars_mlq._issues import FILTERS

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PROG = "polars-mlq"
DEMO_FILE = "demo.parquet"
DEMO_CLASSES_FILE = "demo_classes.txt"
#: Widest a text cell may be by default in a printed table; longer text is cut and ends with "...".
MAX_CELL = 36


# --------------------------------------------------------------------------- bundled data


def _data_file(name: str) -> Traversable:
    return resources.files("polars_mlq").joinpath("data").joinpath(name)


def load_demo() -> tuple[pl.DataFrame, list[str]]:
    """The bundled demo dataset and its class names (index i of ``pred_probs`` is class i).

    Columns: ``id``, ``text`` (a caption of what really is in the photo), ``labels`` (the given,
    partly corrupted labels), ``pred_probs`` (Array(Float64, 8), a noisy model's outputs) and
    ``true_labels`` (the clean labels, which scoring never reads).

    Examples
    --------
    >>> from polars_mlq.cli import load_demo
    >>> df, classes = load_demo()
    >>> df.shape, classes[:3]
    ((1000, 5), ['person', 'car', 'tree'])
    """
    df = pl.read_parquet(io.BytesIO(_data_file(DEMO_FILE).read_bytes()))
    classes = _data_file(DEMO_CLASSES_FILE).read_text(encoding="utf-8").split()
    return df, classes


# --------------------------------------------------------------------------- plain-text tables


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    max_widths: Sequence[int] | None = None,
) -> str:
    """Columns padded to their widest cell, two spaces apart, under a dashed header rule.

    ``right`` says which columns are right-aligned (numbers); a cell wider than its column's
    ``max_widths`` entry (default MAX_CELL) is cut.

    Examples
    --------
    >>> print(format_table(["id", "name"], [["7", "cat"], ["12", "a very long name"]], [True, False], [4, 10]))
    id  name
    --  ----------
     7  cat
    12  a very ...
    """
    limits = max_widths or [MAX_CELL] * len(headers)
    cells = [[_cut(cell, limit) for cell, limit in zip(row, limits)] for row in [headers, *rows]]
    widths = [max(len(row[j]) for row in cells) for j in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _names(indices: Sequence[int], classes: Sequence[str]) -> str:
    return ", ".join(classes[i] for i in indices) if len(indices) else "(none)"


def _model_says(probs: np.ndarray, classes: Sequence[str], cutoff: float = 0.5) -> str:
    """Classes the model gives p >= cutoff, most likely first (else its single top class)."""
    order = np.argsort(-probs, kind="stable")
    top = [int(k) for k in order if probs[k] >= cutoff] or [int(order[0])]
    return ", ".join(f"{classes[k]} {probs[k]:.2f}".replace(" 0.", " .") for k in top)


def _what_went_wrong(given: Sequence[int], true: Sequence[int], classes: Sequence[str]) -> str:
    added = [classes[k] for k in sorted(set(given) - set(true))]
    missed = [classes[k] for k in sorted(set(true) - set(given))]
    parts = [f"added {name}" for name in added] + [f"missed {name}" for name in missed]
    return "yes: " + ", ".join(parts) if parts else "no"


# --------------------------------------------------------------------------- errors


class CliError(Exception):
    """A problem with the command's arguments or files, reported as one line without a traceback."""


def one_line(exc: BaseException) -> str:
    """The first line of an error message; for a Polars error, the expression it names too.

    Examples
    --------
    >>> one_line(ValueError("bad value\\n\\nResolved plan until failure:\\n\\tSCAN"))
    'bad value'
    >>> one_line(ValueError('no JSON\\n\\nThis error occurred in the following expression:\\n\\tcol("x").str.json_decode()\\n'))
    'no JSON (in col("x").str.json_decode())'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0]
    for here, after in zip(lines, lines[1:]):
        if here.startswith("This error occurred in the following expression") and "python_udf" not in after:
            text += f" (in {after})"
            break
    return text


# --------------------------------------------------------------------------- file formats

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
    """The file format its extension names (``role`` is "IN" or "OUT", for the message).

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
        msg = f"{role} {path}: cannot tell the file format from the extension {path.suffix or '(none)'!r}; known: {known}{hint}"
        raise CliError(msg)
    return fmt


def _scan(path: Path, fmt: str, schema_overrides: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(path)
    if fmt == "ipc":
        return pl.scan_ipc(path)
    if fmt == "ndjson":
        return pl.scan_ndjson(path)
    return pl.scan_csv(path, schema_overrides=schema_overrides)


def _as_json_text(name: str) -> pl.Expr:
    """A nested column as JSON text (``[0, 2]`` becomes ``"[0,2]"``), null stays null: CSV has no lists."""
    column = pl.col(name)
    encoded = pl.struct(column.alias("v")).struct.json_encode().str.slice(len('{"v":')).str.strip_suffix("}")
    return pl.when(column.is_not_null()).then(encoded).alias(name)


def sink(frame: pl.LazyFrame, path: Path, fmt: str) -> None:
    """Stream ``frame`` to ``path`` in ``fmt``; for CSV, List/Array/Struct columns become JSON text."""
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
    """The permission bits OUT gets: an existing OUT's own, else those of a new file (0o666 & ~umask)."""
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


# --------------------------------------------------------------------------- progress


class Progress:
    """Rows processed, redrawn on one line of stderr five times a second; silent when disabled.

    The count is honest: ``watch`` adds a pass-through step after scoring that adds up the rows
    of each batch as the streaming engine hands it on. The total is shown when the input's
    metadata gives it for free (Parquet, Arrow IPC); CSV and NDJSON would need an extra pass.
    """

    def __init__(self, command: str, *, enabled: bool, stream: TextIO | None = None, interval: float = 0.2) -> None:
        self.enabled = enabled
        self._command = command
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._lock = threading.Lock()
        self._rows = 0
        self._total: int | None = None
        self._phase = ""
        self._counting = False
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt()
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    @property
    def rows(self) -> int:
        with self._lock:
            return self._rows

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def phase(self, text: str, *, counting: bool = False, total: int | None = None) -> None:
        """Start a phase; with ``counting`` the line shows the rows counted by ``watch``."""
        with self._lock:
            self._phase, self._counting, self._total, self._rows = text, counting, total, 0
        if not self.enabled:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="polars-mlq-progress", daemon=True)
            self._thread.start()
        self._draw()

    def watch(self, frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
        """``frame`` with a pass-through on ``column`` that counts rows (unchanged when disabled)."""
        if not self.enabled:
            return frame
        dtype = frame.collect_schema()[column]
        return frame.with_columns(pl.col(column).map_batches(self._count, return_dtype=dtype, is_elementwise=True))

    def done(self, message: str) -> None:
        """Stop redrawing and replace the line with ``message``."""
        self._halt()
        if self.enabled:
            self._write(f"\r\x1b[K{PROG} {self._command}: {message}\n")
            self._drawn = False

    def _count(self, series: pl.Series) -> pl.Series:
        with self._lock:
            self._rows += len(series)
        return series

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._draw()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _line(self) -> str:
        with self._lock:
            rows, total, phase, counting = self._rows, self._total, self._phase, self._counting
        parts = [f"{PROG} {self._command}: {phase}"]
        if counting:
            if total:
                parts.append(f"{rows:,} of {total:,} rows ({min(rows / total, 1.0):.0%})")
            else:
                parts.append(f"{rows:,} rows")
        parts.append(f"{self.elapsed:.0f} s")
        return ", ".join(parts)

    def _draw(self) -> None:
        self._write(f"\r{self._line()}\x1b[K")
        self._drawn = True

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed: nothing to show progress on
            self.enabled = False


def _progress_enabled(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Input:
    """IN, scanned lazily, and the expressions that read its labels and pred_probs."""

    path: Path
    format: str
    frame: pl.LazyFrame
    columns: tuple[str, ...]
    labels: pl.Expr
    pred_probs: pl.Expr
    class_names: list[str] | None

    def row_count(self) -> int | None:
        """The number of rows if the file's metadata has it (Parquet, Arrow IPC), else None."""
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
    """``--class-names FILE`` (one name a line, blank lines skipped) or ``--classes a,b,c``."""
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
    """Check IN and its columns and scan it lazily: only the schema is read (and, for lists stored
    as text, the first rows)."""
    path = Path(args.input)
    if not path.exists():
        msg = f"IN {path}: no such file"
        raise CliError(msg)
    if not path.is_file():
        msg = f"IN {path}: not a file"
        raise CliError(msg)
    fmt = args.format or format_of(path, "IN")
    class_names = read_class_names(args)
    try:
        schema = _scan(path, fmt).collect_schema()
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
            msg = f"IN {path} has no column whose name starts with {prefix!r} (--pred-probs-prefix); its columns are {_columns_list(columns)}"
            raise CliError(msg)
    elif args.pred_probs not in schema:
        msg = (
            f"IN {path} has no column {args.pred_probs!r} (--pred-probs); its columns are "
            f"{_columns_list(columns)}. Give one List/Array column with --pred-probs COL, or one "
            "Float column per class with --pred-probs-prefix P"
        )
        raise CliError(msg)

    frame = _scan(path, fmt)
    if fmt == "csv":  # read lists as text, and probability columns as floats even if the first rows look like integers
        overrides: dict[str, pl.DataType] = {args.labels: pl.String()}
        if prefix is None:
            overrides[args.pred_probs] = pl.String()
        else:
            overrides.update((c, pl.Float64()) for c in prob_columns)
        frame = _scan(path, fmt, overrides)
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
    return Input(path, fmt, frame, columns, labels, pred_probs, class_names)


def _first_list_text(frame: pl.LazyFrame, path: Path, column: str, option: str, example: str) -> str | None:
    """A text column must hold lists as JSON text: the first non-empty one (or None), checked.

    Only the first rows are read: the streaming engine stops at the first match.
    """
    text = pl.col(column).str.strip_chars()
    head = (
        frame.select(text)
        .filter(text.str.contains(r"^\[\s*\]$").not_())  # skip empty lists: they say nothing of the type
        .head(1)
        .collect(engine="streaming")
    )
    first = head.item() if head.height else None
    if first is not None and not (first.startswith("[") and first.endswith("]")):
        shown = first if len(first) <= 40 else first[:37] + "..."
        msg = (
            f"IN {path}: column {column!r} ({option}) holds text that is not a list such as "
            f"{example}; its first value is {shown!r}"
        )
        raise CliError(msg)
    return first


def check_new_column(inp: Input, name: str, option: str) -> None:
    if name in inp.columns:
        msg = f"IN {inp.path} already has a column {name!r}; name the new column with {option}"
        raise CliError(msg)


def output_path(args: argparse.Namespace, inp: Input) -> tuple[Path, str]:
    """OUT and its format; refuses IN itself, a directory, and a missing parent directory."""
    out = Path(args.output)
    fmt = format_of(out, "OUT")
    if out.resolve() == inp.path.resolve() or (out.exists() and os.path.samefile(out, inp.path)):
        msg = f"OUT {out} is the input file; refusing to overwrite IN (write to another file)"
        raise CliError(msg)
    if out.is_dir():
        msg = f"OUT {out} is a directory; give a file name"
        raise CliError(msg)
    if not out.parent.is_dir():
        msg = f"OUT {out}: no such directory {str(out.parent)!r}"
        raise CliError(msg)
    return out, fmt


def scoring_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``--method`` etc. as keyword arguments of ``label_quality``."""
    aggregator = args.aggregator or ("softmin" if args.temperature is not None else "ema")
    if aggregator == "ema":
        if args.temperature is not None:
            msg = "--temperature is for --aggregator softmin; the EMA aggregator takes --alpha"
            raise CliError(msg)
        kwargs: dict[str, Any] = {"method": "exponential_moving_average", "alpha": 0.8 if args.alpha is None else args.alpha}
    else:
        if args.alpha is not None:
            msg = "--alpha is for --aggregator ema; softmin takes --temperature"
            raise CliError(msg)
        kwargs = {"method": "softmin", "temperature": 0.1 if args.temperature is None else args.temperature}
    return {"method": args.method, "adjust_pred_probs": args.adjust_pred_probs, "aggregator_kwargs": kwargs}


# --------------------------------------------------------------------------- shared options


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="input file: .parquet, .csv, .ndjson/.jsonl or .arrow/.ipc/.feather")
    group = parser.add_argument_group("input")
    group.add_argument("--format", choices=FORMATS, help="format of IN when its extension does not say it")
    group.add_argument("--labels", default="labels", metavar="COL", help="column of given labels, e.g. [0, 2] (default: labels)")
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


def _add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file, in the format its extension names; replaced atomically if it exists",
    )


def _add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
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
    group.add_argument("--name", default="label_quality", metavar="COL", help="name of the score column (default: label_quality)")


def _add_terminal_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("terminal")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")
    group.add_argument("--debug", action="store_true", help="on an error, print the Python traceback too")


# --------------------------------------------------------------------------- score


def _add_score(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="append a label_quality column to a file, streaming (files larger than memory work)",
        description=(
            "Read IN, append a Float64 label-quality score per row (0: the labels look wrong,\n"
            "1: they look right; cleanlab's multi-label score) and write every column to OUT.\n"
            "Runs batch by batch in Polars' streaming engine, so IN may be larger than memory.\n"
            "OUT is written to a temporary file beside it and renamed when complete."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} score predictions.parquet -o scored.parquet\n"
            f"  {PROG} score data.csv -o scored.csv --labels tags --pred-probs-prefix p_\n"
            f"  {PROG} score big.parquet -o scored.parquet --adjust-pred-probs --aggregator softmin\n"
            "\n"
            "labels: a List of class indices ([0, 2]), or of names with --class-names; in CSV as\n"
            "JSON text (\"[0, 2]\"). pred_probs: a List/Array of floats, or one column per class."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input_arguments(parser)
    _add_output_argument(parser)
    _add_scoring_arguments(parser)
    _add_terminal_arguments(parser)
    parser.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    inp = read_input(args)
    out, out_format = output_path(args, inp)
    check_new_column(inp, args.name, "--name")
    kwargs = scoring_kwargs(args)
    with Progress("score", enabled=_progress_enabled(args)) as progress:
        if args.adjust_pred_probs:
            progress.phase("pass 1 of 2, confident thresholds")
        frame = inp.frame.mlq.label_quality(
            inp.labels, inp.pred_probs, class_names=inp.class_names, name=args.name, **kwargs
        )
        total = inp.row_count() if progress.enabled else None
        progress.phase("pass 2 of 2, scoring" if args.adjust_pred_probs else "scoring", counting=True, total=total)
        with atomic_output(out) as tmp:
            sink(progress.watch(frame, args.name), tmp, out_format)
        progress.done(f"scored {progress.rows:,} rows into {out} in {progress.elapsed:.1f} s")
    return 0


# --------------------------------------------------------------------------- issues



def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        msg = f"must be a number in [0, 1]; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _counts(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",")]
    except ValueError:
        counts = [-1]
    if any(count < 0 for count in counts):
        msg = f"must be comma-separated non-negative integers, one per class (e.g. 5,0,2); got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return counts


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"must be a non-negative integer; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _add_issues(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "issues",
        help="flag the rows whose labels look wrong (is_label_issue) and score them",
        description=(
            "Read IN, flag the rows whose given labels look wrong with cleanlab's confident\n"
            "learning (a Boolean column is_label_issue), append the label-quality score, and\n"
            "write OUT. With --only-issues, OUT holds only the flagged rows, lowest score first.\n"
            "Flagging needs dataset-level statistics, so IN is read more than once."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} issues predictions.parquet -o flagged.parquet\n"
            f"  {PROG} issues predictions.parquet -o to_review.csv --only-issues\n"
            f"  {PROG} issues data.csv -o issues.csv --filter-by both --frac-noise 0.5 --only-issues"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input_arguments(parser)
    _add_output_argument(parser)
    group = parser.add_argument_group("finding issues (cleanlab's options)")
    group.add_argument(
        "--filter-by",
        choices=FILTERS,
        default="prune_by_noise_rate",
        help="how rows are chosen (default: prune_by_noise_rate)",
    )
    group.add_argument(
        "--frac-noise",
        type=_fraction,
        default=1.0,
        metavar="F",
        help="flag this fraction of the estimated number of issues, in [0, 1] (default: 1)",
    )
    group.add_argument(
        "--num-to-remove-per-class",
        type=_counts,
        metavar="N,N,...",
        help="flag this many rows per class instead of the estimate: K counts",
    )
    group.add_argument(
        "--min-examples-per-class",
        type=_non_negative_int,
        default=1,
        metavar="N",
        help="leave at least N rows of each class unflagged (default: 1)",
    )
    group.add_argument(
        "--flag-name",
        default="is_label_issue",
        metavar="COL",
        help="name of the Boolean column (default: is_label_issue)",
    )
    group.add_argument(
        "--only-issues",
        action="store_true",
        help="keep only the flagged rows, sorted by the score, lowest (worst) first",
    )
    _add_scoring_arguments(parser)
    _add_terminal_arguments(parser)
    parser.set_defaults(handler=_run_issues)


def _run_issues(args: argparse.Namespace) -> int:
    inp = read_input(args)
    out, out_format = output_path(args, inp)
    check_new_column(inp, args.flag_name, "--flag-name")
    check_new_column(inp, args.name, "--name")
    if args.flag_name == args.name:
        msg = f"--flag-name and --name are both {args.name!r}; give the two new columns different names"
        raise CliError(msg)
    kwargs = scoring_kwargs(args)
    with Progress("issues", enabled=_progress_enabled(args)) as progress:
        progress.phase("finding issues (reading IN for the per-class statistics)")
        frame = inp.frame.mlq.find_label_issues(
            inp.labels,
            inp.pred_probs,
            filter_by=args.filter_by,
            frac_noise=args.frac_noise,
            num_to_remove_per_class=args.num_to_remove_per_class,
            min_examples_per_class=args.min_examples_per_class,
            class_names=inp.class_names,
            name=args.flag_name,
        )
        if args.adjust_pred_probs:
            progress.phase("confident thresholds for the score")
        frame = frame.mlq.label_quality(
            inp.labels, inp.pred_probs, class_names=inp.class_names, name=args.name, **kwargs
        )
        frame = progress.watch(frame, args.name)
        if args.only_issues:
            # Polars filters before it scores (the filter does not read the score), so only the
            # flagged rows are scored and counted: no total to show.
            progress.phase("scoring and writing the flagged rows", counting=True)
            frame = frame.filter(pl.col(args.flag_name)).sort(args.name, nulls_last=True, maintain_order=True)
        else:
            total = inp.row_count() if progress.enabled else None
            progress.phase("scoring and writing", counting=True, total=total)
        with atomic_output(out) as tmp:
            sink(frame, tmp, out_format)
        if args.only_issues:
            report = f"wrote the {progress.rows:,} flagged rows to {out}"
        else:
            flagged = _count_true(out, out_format, args.flag_name) if progress.enabled else None
            share = f"{flagged:,} of {progress.rows:,} rows flagged" if flagged is not None else f"{progress.rows:,} rows"
            report = f"{share}, written to {out}"
        progress.done(f"{report} in {progress.elapsed:.1f} s")
    return 0


def _count_true(path: Path, fmt: str, column: str) -> int | None:
    """How many rows of the written file are flagged (for the closing report on a terminal)."""
    try:
        return int(_scan(path, fmt).select(pl.col(column).sum()).collect(engine="streaming").item())
    except (pl.exceptions.PolarsError, OSError, TypeError, ValueError):  # e.g. CSV reads it back as text
        return None


# --------------------------------------------------------------------------- summary


def _add_summary(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summary",
        help="print the dataset's label health score and a per-class table",
        description=(
            "Read IN and print cleanlab's multi-label health summary: the overall label health\n"
            "score (the share of rows without a label issue), the classes ranked by label\n"
            "quality, and the most common issues (a class labelled but likely absent, or likely\n"
            "present but not labelled). --json prints the same as one JSON object."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} summary predictions.parquet\n"
            f"  {PROG} summary predictions.parquet --class-names classes.txt\n"
            f"  {PROG} summary data.csv --classes cat,dog,bird --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input_arguments(parser)
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    group.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        metavar="N",
        help="how many of the most common issues to print (default: 10; --json has them all)",
    )
    _add_terminal_arguments(parser)
    parser.set_defaults(handler=_run_summary)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def frame_table(frame: pl.DataFrame) -> str:
    """A DataFrame as a plain-text table (numbers right-aligned, booleans as yes/no).

    Examples
    --------
    >>> print(frame_table(pl.DataFrame({"Class Name": ["cat"], "Label Issues": [3], "Noise": [0.25]})))
    Class Name  Label Issues   Noise
    ----------  ------------  ------
    cat                    3  0.2500
    """
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    rows = [[_cell(value) for value in row] for row in frame.iter_rows()]
    return format_table(frame.columns, rows, numeric)


def _run_summary(args: argparse.Namespace) -> int:
    inp = read_input(args)
    with Progress("summary", enabled=_progress_enabled(args)) as progress:
        progress.phase("finding issues (reading IN for the per-class statistics)")
        summary = inp.frame.mlq.health_summary(inp.labels, inp.pred_probs, class_names=inp.class_names)
    score = float(summary["overall_multilabel_health_score"])
    classes: pl.DataFrame = summary["classes_by_multilabel_quality"]
    issues: pl.DataFrame = summary["common_multilabel_issues"]
    if args.json:
        document = {
            "overall_multilabel_health_score": score,
            "classes_by_multilabel_quality": classes.to_dicts(),
            "common_multilabel_issues": issues.to_dicts(),
        }
        print(json.dumps(document, indent=2))
        return 0
    scored = inp.frame.select(pl.all_horizontal(inp.labels.is_not_null(), inp.pred_probs.is_not_null()).sum())
    rows = int(scored.collect(engine="streaming").item())  # rows with labels and pred_probs
    flagged = round((1.0 - score) * rows)
    print(f"{PROG} summary of {inp.path}: {rows:,} rows, {classes.height} classes\n")
    print(f"Overall label health score: {score:.4f} ({flagged:,} of the {rows:,} rows have a label issue)\n")
    print("Classes by label quality, worst first:\n")
    print(frame_table(classes))
    shown = issues.head(args.top)
    print(f"\nMost common label issues ({shown.height} of {issues.height}):\n")
    print(frame_table(shown))
    return 0


# --------------------------------------------------------------------------- demo


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"must be a positive integer; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="score the bundled demo dataset and show the rows most likely mislabelled",
        description=(
            "Score the bundled demo dataset (1,000 tagged photos, 8 classes, 5% of rows with a\n"
            "label dropped or a wrong one added) with df.mlq.label_quality(), and print the\n"
            "rows with the lowest label quality: the ones to check first."
        ),
        epilog=f"example:\n  {PROG} demo\n  {PROG} demo --top 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        metavar="N",
        help="how many of the lowest-scoring rows to print (default: 10)",
    )
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    df, classes = load_demo()
    scored = df.mlq.label_quality(labels="labels", pred_probs="pred_probs")
    worst = scored.sort("label_quality", maintain_order=True).head(args.top)
    truth = "true_labels" in worst.columns

    headers = ["id", "score", "given labels", "model's top classes"]
    right = [True, True, False, False]
    widths = [8, 6, 40, 44]
    if truth:
        headers.append("really wrong?")
        right.append(False)
        widths.append(22)
    headers.append("caption")
    right.append(False)
    widths.append(30)
    rows = []
    found = 0  # rows shown whose given labels differ from the true ones
    for row in worst.iter_rows(named=True):
        cells = [
            str(row["id"]),
            f"{row['label_quality']:.4f}",
            _names(row["labels"], classes),
            _model_says(np.asarray(row["pred_probs"], dtype=np.float64), classes),
        ]
        if truth:
            verdict = _what_went_wrong(row["labels"], row["true_labels"], classes)
            found += verdict != "no"
            cells.append(verdict)
        cells.append(row["text"])
        rows.append(cells)

    n = df.height
    print(
        f"{PROG} demo: {n:,} photos tagged with {len(classes)} classes ({', '.join(classes)}).\n"
        "Scored with df.mlq.label_quality(): 0 = the labels look wrong, 1 = they look right.\n"
    )
    shown = f"{worst.height} rows" if worst.height != 1 else "row"
    print(f"The {shown} most likely mislabelled (lowest score first):\n")
    print(format_table(headers, rows, right, widths))
    if truth:
        corrupted_rows = int((df["labels"] != df["true_labels"]).sum())
        if worst.height == 1:
            verdict = "It really was corrupted" if found else "It was not corrupted"
        else:
            verdict = f"{found} of these {worst.height} rows really were corrupted"
        print(
            f"\n{verdict} (the demo keeps its true labels: {corrupted_rows} of its {n:,} rows, "
            f"{corrupted_rows / n:.0%}, were corrupted on purpose)."
        )
    print(
        "\nOn your own data:\n"
        "  import polars as pl, polars_mlq\n"
        '  df.mlq.label_quality(labels="labels", pred_probs="pred_probs").sort("label_quality").head(10)'
    )
    return 0


# --------------------------------------------------------------------------- entry point

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_score, _add_issues, _add_summary, _add_demo)


_EXAMPLES = (
    ("demo", "score the bundled demo data, show the 10 worst rows"),
    ("score in.parquet -o out.parquet", "append a label_quality column, streaming"),
    ("issues in.parquet -o out.csv --only-issues", "the flagged rows, worst first"),
    ("summary in.parquet", "label health score and a table per class"),
    ("score --help", "options and examples of one command"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Find mislabelled rows in multi-label datasets, from inside Polars:\n"
            "cleanlab's label-quality scores as Polars expressions."
        ),
        epilog=(
            "examples:\n" + "\n".join(f"  {PROG} {command:<43}  {what}" for command, what in _EXAMPLES)
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {polars_mlq.__version__} (polars {pl.__version__})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


#: Errors whose message is meant for the user; anything else is reported as an internal error.
_EXPECTED = (CliError, OSError, ValueError, TypeError, pl.exceptions.PolarsError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    0 on success, 1 on an error (one line on stderr, ``polars-mlq: error: ...``; with ``--debug``
    the traceback before it), 2 for a usage error, 130 when interrupted.
    """
    code = _main(argv)
    if argv is None and code != 0:
        # Run as a program: exit now, without finalizing the interpreter. After an error inside a
        # streaming query, Polars may still be running Python code on other batches in its own
        # threads; a thread that asks for the GIL while the interpreter shuts down is killed
        # with pthread_exit, which aborts the process (SIGABRT) instead of exiting with `code`.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    debug = getattr(args, "debug", False)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # e.g. `polars-mlq demo | head`: the reader left, that is fine
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, not a traceback: the user's data or arguments are at fault
        if debug:
            traceback.print_exc()
        message = one_line(exc)
        if not isinstance(exc, _EXPECTED):
            message = f"internal error, {type(exc).__name__}: {message} (run with --debug for the traceback)"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
