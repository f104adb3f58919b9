"""The progress display: rows processed, redrawn on one line of stderr by a background thread."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TextIO

import polars as pl

from polars_mlq.cli.common import PROG


class Progress:
    """Rows processed, redrawn on one line of stderr five times a second; silent when disabled.

    The count is honest: ``watch`` adds a pass-through step after scoring that adds up the rows
    of each batch as the streaming engine hands it on. The total is shown when the input's
    metadata gives it for free (Parquet, Arrow IPC); CSV and NDJSON would need an extra pass.

    Parameters
    ----------
    command
        The subcommand, shown after the program's name.
    enabled
        Whether to draw at all.
    stream
        Where to draw (default: ``sys.stderr``).
    interval
        Seconds between redraws.
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
        """Return the display itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop redrawing and clear the line (unless ``done`` replaced it)."""
        self._halt()
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    @property
    def rows(self) -> int:
        """Rows counted by ``watch`` in the current phase."""
        with self._lock:
            return self._rows

    @property
    def elapsed(self) -> float:
        """Seconds since the display was made."""
        return time.monotonic() - self._start

    def phase(self, text: str, *, counting: bool = False, total: int | None = None) -> None:
        """Start a phase; with ``counting`` the line shows the rows counted by ``watch``.

        Parameters
        ----------
        text
            What the command is doing now.
        counting
            Whether to show the rows counted (the count restarts at 0).
        total
            The number of rows expected, if known.
        """
        with self._lock:
            self._phase, self._counting, self._total, self._rows = text, counting, total, 0
        if not self.enabled:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="polars-mlq-progress", daemon=True)
            self._thread.start()
        self._draw()

    def watch(self, frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
        """Add a pass-through on ``column`` that counts rows (``frame`` unchanged when disabled).

        Parameters
        ----------
        frame
            The query whose rows to count.
        column
            A column of ``frame`` computed last (its value is kept).

        Returns
        -------
        pl.LazyFrame
            ``frame``, counting its rows as they stream through.
        """
        if not self.enabled:
            return frame
        dtype = frame.collect_schema()[column]
        return frame.with_columns(pl.col(column).map_batches(self._count, return_dtype=dtype, is_elementwise=True))

    def done(self, message: str) -> None:
        """Stop redrawing and replace the line with ``message``.

        Parameters
        ----------
        message
            The closing report, shown after the program's and command's names.
        """
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


def progress_enabled(args: argparse.Namespace) -> bool:
    """Tell whether to show progress: not ``--quiet``, and stderr is a terminal.

    Parameters
    ----------
    args
        The parsed arguments of a command with the terminal options.

    Returns
    -------
    bool
        True to draw the progress line.
    """
    return not args.quiet and sys.stderr.isatty()
