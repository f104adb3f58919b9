"""What the two input columns may be: label specs, dtype checks, and where a row sits.

Nothing here scores. Every check names the column, the first offending row and the value.
The readers are ``labels`` (label lists) and ``probs`` (pred_probs); ``batch`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

#: pred_probs may stray this far outside [0, 1] (rounding in a model's output); such values are clipped.
TOLERANCE = 1e-6
#: Integer dtypes numpy cannot hold (polars builds them from Python ints beyond 64 bits).
WIDE_INTEGERS = tuple(getattr(pl, name) for name in ("Int128", "UInt128") if hasattr(pl, name))


@dataclass(frozen=True)
class Origin:
    """The file a row was read from, and its row number within that file when known."""

    file: str
    row: int | None = None

    def __str__(self) -> str:
        return f"file {self.file!r}" if self.row is None else f"row {self.row} of file {self.file!r}"


@dataclass(frozen=True)
class Where:
    """Where a batch sits, for error messages: eagerly its rows are the frame's rows."""

    streamed: bool = False
    #: The row number in the user's data of the batch's first row, when known.
    first_row: int | None = None
    #: The file row ``index`` of the batch was read from, when known.
    origin: Callable[[int], Origin | None] | None = None
    #: What a streamed batch's message says of the row's unknown position.
    unknown: str = "the row's position in the whole frame is not known here; run it eagerly to get it"

    def row(self, index: int, n_rows: int) -> str:
        """Return how an error message names row ``index`` of a batch of ``n_rows`` rows."""
        origin = None if self.origin is None else self.origin(index)
        if origin is None:
            return self._row(index, n_rows)
        if self.first_row is not None:
            return f"row {self.first_row + index} ({origin})"
        if origin.row is not None:  # the file's row says it all
            return str(origin)
        return f"{self._row(index, n_rows)} ({origin})"

    def _row(self, index: int, n_rows: int) -> str:
        if self.first_row is not None:
            return f"row {self.first_row + index}"
        if self.streamed:
            return f"row {index} of a streamed batch of {n_rows} rows ({self.unknown})"
        return f"row {index}"


def row_of_flat(offsets: np.ndarray, flat_index: int) -> int:
    """Return the row whose values hold flat index ``flat_index``, given the rows' ``offsets``."""
    return int(np.searchsorted(offsets, flat_index, side="right") - 1)


def original_row(rows: np.ndarray | None, index: int) -> int:
    """Return the input row of scored row ``index`` (``rows`` maps scored rows to input rows; None: the same)."""
    return index if rows is None else int(rows[index])


LabelsFormat = Literal["indices", "multi_hot"]


@dataclass(frozen=True)
class LabelSpec:
    """How a labels column is read.

    ``"indices"``: a List of class indices (integers), or of class names (String, Categorical,
    Enum) looked up in ``class_names`` (an Enum's own categories when not given).
    ``"multi_hot"``: a List/Array of K booleans or 0/1 integers per row. Never guessed.
    """

    format: LabelsFormat = "indices"
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.format not in ("indices", "multi_hot"):
            msg = f"labels_format must be 'indices' or 'multi_hot'; got {self.format!r}"
            raise ValueError(msg)


def is_named(inner: pl.DataType | pl.datatypes.DataTypeClass) -> bool:
    """Return True if a labels column with this inner dtype holds class names (String, Categorical, Enum)."""
    return inner == pl.String or isinstance(inner, (pl.Categorical, pl.Enum))


def check_labels_dtype(dtype: pl.DataType, column: str, spec: LabelSpec = LabelSpec()) -> None:
    """Raise a TypeError naming ``column`` unless its dtype can hold labels in the format of ``spec``."""
    if spec.format == "multi_hot":
        if isinstance(dtype, (pl.List, pl.Array)) and (dtype.inner == pl.Boolean or dtype.inner.is_integer()):
            return
        msg = (
            f"column {column!r}: multi-hot labels must be a List or Array of Boolean or 0/1 "
            f"integers (one per class); got dtype {dtype}"
        )
        raise TypeError(msg)
    if isinstance(dtype, pl.List) and dtype.inner.is_integer():
        return
    if isinstance(dtype, pl.List) and is_named(dtype.inner):
        if spec.class_names is None and not isinstance(dtype.inner, pl.Enum):
            msg = (
                f"column {column!r}: labels are class names ({dtype}); pass class_names=[...] "
                "to give the class order (the i-th name is the i-th pred_probs entry), or use an Enum"
            )
            raise TypeError(msg)
        return
    hint = " (for multi-hot rows pass labels_format='multi_hot')" if isinstance(dtype, pl.Array) else ""
    msg = (
        f"column {column!r}: labels must be a List of class indices (e.g. [0, 2]) or class "
        f"names; got dtype {dtype}{hint}"
    )
    raise TypeError(msg)


def class_names_of(dtype: pl.DataType, spec: LabelSpec) -> tuple[str, ...] | None:
    """Return the class names: given, or an Enum's categories."""
    if spec.class_names is not None:
        return spec.class_names
    inner = getattr(dtype, "inner", None)
    if isinstance(inner, pl.Enum):
        return tuple(inner.categories.to_list())
    return None


def check_pred_probs_dtype(dtype: pl.DataType, column: str) -> None:
    """Raise a TypeError naming ``column`` unless its dtype is a List or Array of Float32/Float64."""
    if not (isinstance(dtype, (pl.List, pl.Array)) and dtype.inner in (pl.Float32, pl.Float64)):
        msg = (
            f"column {column!r}: pred_probs must be a List or Array of Float32/Float64 "
            f"(one probability per class); got dtype {dtype}"
        )
        raise TypeError(msg)


def pred_probs_width(dtype: pl.DataType) -> int | None:
    """K when the dtype fixes it (Array), else None."""
    return int(dtype.size) if isinstance(dtype, pl.Array) else None
