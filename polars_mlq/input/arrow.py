"""Reading a List or Array column's buffers as numpy views, without running a polars query.

A polars query (``explode``, ``cast``) on a small column costs more than the work: it may wake
polars' thread pool, which after an idle spell takes longer than scoring 10,000 rows. The Arrow
C stream interface (``Series.__arrow_c_stream__``, the public PyCapsule protocol) hands over the
column's own buffers instead; the views made here keep the exported array alive until numpy
drops them, and are read-only.

Only the plain case is read here: one chunk, no null at either level, integer or float values.
Anything else returns None and the caller takes its polars path (which also names bad rows).
"""

from __future__ import annotations

import ctypes
from typing import Any, NamedTuple

import numpy as np
import polars as pl


class _Schema(ctypes.Structure):
    pass


_Schema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_Schema))),
    ("dictionary", ctypes.POINTER(_Schema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Schema))),
    ("private_data", ctypes.c_void_p),
]


class _Array(ctypes.Structure):
    pass


_Array._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_Array))),
    ("dictionary", ctypes.POINTER(_Array)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Array))),
    ("private_data", ctypes.c_void_p),
]


class _Stream(ctypes.Structure):
    pass


_Stream._fields_ = [
    ("get_schema", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Stream), ctypes.POINTER(_Schema))),
    ("get_next", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Stream), ctypes.POINTER(_Array))),
    ("get_last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.POINTER(_Stream))),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(_Stream))),
    ("private_data", ctypes.c_void_p),
]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

#: Arrow format strings of the value types read here.
_DTYPES: dict[bytes, np.dtype[Any]] = {
    b"c": np.dtype(np.int8),
    b"C": np.dtype(np.uint8),
    b"s": np.dtype(np.int16),
    b"S": np.dtype(np.uint16),
    b"i": np.dtype(np.int32),
    b"I": np.dtype(np.uint32),
    b"l": np.dtype(np.int64),
    b"L": np.dtype(np.uint64),
    b"f": np.dtype(np.float32),
    b"g": np.dtype(np.float64),
}
_OFFSETS: dict[bytes, np.dtype[Any]] = {b"+L": np.dtype(np.int64), b"+l": np.dtype(np.int32)}


class _Exported:
    """Owns one exported Arrow array, released when the last view goes.

    Releasing it frees nothing of polars' own: it drops the export's references to the buffers.
    """

    def __init__(self, array: _Array) -> None:
        self.array = array

    def __del__(self) -> None:
        if self.array.release:
            self.array.release(ctypes.byref(self.array))


class _View:
    """A buffer for ``np.asarray``: numpy keeps this object, and so the export, alive."""

    def __init__(self, address: int, length: int, dtype: np.dtype[Any], owner: _Exported) -> None:
        self.__array_interface__ = {
            "data": (address, True),  # read-only
            "shape": (length,),
            "typestr": dtype.str,
            "version": 3,
        }
        self.owner = owner


def _view(address: int | None, length: int, dtype: np.dtype[Any], owner: _Exported) -> np.ndarray | None:
    if length == 0 or not address:
        return None
    return np.asarray(_View(address, length, dtype, owner))


class ListBuffers(NamedTuple):
    """Row i's values are ``values[offsets[i]:offsets[i + 1]]``; offsets need not start at 0."""

    offsets: np.ndarray  # (n + 1,), int64 or int32
    values: np.ndarray


def list_buffers(s: pl.Series) -> ListBuffers | None:
    """Return zero-copy views of a non-empty List or Array Series of integers or floats without nulls.

    Return None for anything else (several chunks, a null anywhere, other types, no rows).
    """
    if len(s) == 0 or s.n_chunks() != 1 or not isinstance(s.dtype, (pl.List, pl.Array)) or s.null_count():
        return None
    capsule = s.__arrow_c_stream__()
    stream = _Stream.from_address(_capsule_pointer(capsule, b"arrow_array_stream"))
    schema = _Schema()
    if stream.get_schema(ctypes.byref(stream), ctypes.byref(schema)) != 0:
        return None
    try:
        if schema.n_children != 1:
            return None
        outer, inner = schema.format, schema.children[0].contents.format
    finally:
        schema.release(ctypes.byref(schema))
    array = _Array()
    if stream.get_next(ctypes.byref(stream), ctypes.byref(array)) != 0 or not array.release:
        return None
    owner = _Exported(array)  # from here on, released when the last view is dropped
    dtype = _DTYPES.get(inner)
    if dtype is None or array.null_count != 0 or array.n_children != 1:
        return None
    child = array.children[0].contents
    if child.null_count != 0 or child.n_buffers != 2:
        return None
    n, start = array.length, array.offset
    if outer in _OFFSETS:
        if array.n_buffers != 2:
            return None
        offsets = _view(array.buffers[1], start + n + 1, _OFFSETS[outer], owner)
        if offsets is None:
            return None
        offsets = offsets[start:]
    elif outer.startswith(b"+w:"):
        width = int(outer[3:])
        if width == 0:
            return None
        offsets = np.arange(start * width, (start + n) * width + 1, width, dtype=np.int64)
    else:
        return None
    values = _view(child.buffers[1], child.offset + child.length, dtype, owner)
    if values is None:
        return ListBuffers(offsets, np.empty(0, dtype=dtype)) if offsets[-1] == offsets[0] else None
    return ListBuffers(offsets, values[child.offset :])
