"""Where a block's rows were read from: Ray's ``path`` and ``row_hash`` columns, as "row r of file f".

Ray's file readers add, when asked, the file of each row (``include_paths=True``: a string
``path`` column) and a hash of that file and the row's place in it (``include_row_hash=True``: a
uint64 ``row_hash`` column). In Ray 2.60 the hash is the splitmix64 finalizer of seed + row,
where seed is the first 8 bytes of the MD5 of the path, read little-endian, and the sum wraps at
2**64. The finalizer is a bijection, so the row is its inverse minus the seed. A Ray that hashed
otherwise would give a number spread over all 64 bits; a row at or above 2**40 is therefore not
believed, and only the file is named.

Nothing here runs unless a row is bad: the messages of ``polars_mlq.input`` call ``Where.origin``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import polars as pl

from polars_mlq.input import Origin

#: The columns Ray's file readers add with ``include_paths=True`` and ``include_row_hash=True``.
PATH_COLUMN = "path"
ROW_HASH_COLUMN = "row_hash"

_MASK = (1 << 64) - 1
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_UNMIX1, _UNMIX2 = pow(_MIX1, -1, 1 << 64), pow(_MIX2, -1, 1 << 64)
#: Rows of a file below this are believed (see the module's docstring).
_MAX_ROW = 1 << 40


def _unshift(y: int, shift: int) -> int:
    """Invert ``y = x ^ (x >> shift)`` on 64 bits."""
    x, step = y, shift
    while step < 64:
        x ^= y >> step
        step += shift
    return x


def row_in_file(path: str, row_hash: int) -> int | None:
    """Return the row number within ``path`` that Ray's ``row_hash`` encodes (None if not believable)."""
    x = _unshift(row_hash & _MASK, 31)
    x = _unshift((x * _UNMIX2) & _MASK, 27)
    x = _unshift((x * _UNMIX1) & _MASK, 30)
    seed = int.from_bytes(hashlib.md5(path.encode("utf-8"), usedforsecurity=False).digest()[:8], "little")
    row = (x - seed) & _MASK
    return row if row < _MAX_ROW else None


def block_origin(frame: pl.DataFrame) -> Callable[[int], Origin | None] | None:
    """Return what names the file (and row within it) of a block's row, when the block has Ray's ``path`` column."""
    if frame.schema.get(PATH_COLUMN) != pl.String:
        return None
    hashes = frame.get_column(ROW_HASH_COLUMN) if frame.schema.get(ROW_HASH_COLUMN) == pl.UInt64 else None
    return functools.partial(_origin, frame.get_column(PATH_COLUMN), hashes)


def _origin(paths: pl.Series, hashes: pl.Series | None, index: int) -> Origin | None:
    path = paths[index]
    if path is None:
        return None
    row_hash = None if hashes is None else hashes[index]
    return Origin(path, None if row_hash is None else row_in_file(path, row_hash))
