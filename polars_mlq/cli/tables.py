"""Plain-text tables: columns padded to their widest cell, under a dashed header rule."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Widest a text cell may be by default in a printed table; longer text is cut and ends with "...".
MAX_CELL = 36


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    max_widths: Sequence[int] | None = None,
) -> str:
    """Lay out columns padded to their widest cell, two spaces apart, under a dashed header rule.

    Parameters
    ----------
    headers
        The column names.
    rows
        The cells, one sequence per row.
    right
        Which columns are right-aligned (numbers).
    max_widths
        The widest each column may be (default: :data:`MAX_CELL` each); a wider cell is cut.

    Returns
    -------
    str
        The table, without a final newline.

    Examples
    --------
    >>> print(format_table(["id", "name"], [["7", "cat"], ["12", "a very long name"]], [True, False], [4, 10]))
    id  name
    --  ----------
     7  cat
    12  a very ...
    """
    limits = max_widths or [MAX_CELL] * len(headers)
    cells = [[_cut(cell, limit) for cell, limit in zip(row, limits, strict=False)] for row in [headers, *rows]]
    widths = [max(len(row[j]) for row in cells) for j in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=False))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def frame_table(frame: pl.DataFrame) -> str:
    """Lay out a DataFrame as a plain-text table (numbers right-aligned, booleans as yes/no).

    Parameters
    ----------
    frame
        The table to print.

    Returns
    -------
    str
        The table, as :func:`format_table` lays it out.

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
