"""Sparse predictions as Polars columns: ``pred_probs`` and ``pred_classes``, lists of the same lengths.

Row i lists the classes ``pred_classes[i]`` with probabilities ``pred_probs[i]``; every other class
of the K has ``fill_value``. The columns are read into a ``SparseBatch`` (the rows where labels,
pred_probs or pred_classes is null are left out: they score null). Every error names the column,
the row and the value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from polars_mlq.input.columns import LabelSpec, Where, check_labels_dtype
from polars_mlq.input.labels import read_labels
from polars_mlq.input.sparse import CsrArrays, Names, SparseBatch, read_csr


def check_num_classes(num_classes: object, class_names: Sequence[str] | None = None) -> int:
    """Return K for sparse pred_probs: ``num_classes``, a positive integer (or the number of ``class_names``)."""
    if num_classes is None and class_names is not None:
        return len(class_names)
    if num_classes is None:
        msg = "sparse pred_probs (pred_classes=) need num_classes=K: the rows list only some of the classes"
        raise ValueError(msg)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        msg = f"num_classes must be a positive integer; got {num_classes!r}"
        raise ValueError(msg)
    if class_names is not None and len(class_names) != num_classes:
        msg = f"num_classes is {num_classes} but class_names holds {len(class_names)} names"
        raise ValueError(msg)
    return int(num_classes)


def _list_of(s: pl.Series, kind: str) -> pl.Series:
    """Return ``s`` checked to be a List of floats (``kind="float"``) or integers; a List(Null) is cast."""
    inner = s.dtype.inner if isinstance(s.dtype, (pl.List, pl.Array)) else None
    if inner == pl.Null:  # every list empty or null
        cast: pl.Series = s.cast(pl.List(pl.Float64 if kind == "float" else pl.Int64))
        return cast
    named = kind == "names" and (inner in (pl.String, pl.Categorical) or isinstance(inner, pl.Enum))
    if inner is None or not (named or (inner.is_float() if kind == "float" else inner.is_integer())):
        what = "probabilities (floats)" if kind == "float" else "class indices (integers)"
        what += ", or class names with class_names=" if kind == "names" else ""
        msg = f"column {s.name!r}: sparse pred_probs need a List of {what}; got {s.dtype}"
        raise TypeError(msg)
    return s


def _class_indices(s: pl.Series, classes: tuple[str, ...], names: Names) -> np.ndarray:
    """Return a List of class names' flat values as indices into ``classes``; an unknown name raises."""
    flat = s.explode(empty_as_null=False, keep_nulls=False).cast(pl.String)
    indices = flat.cast(pl.Enum(list(classes)), strict=False)
    unknown = (indices.is_null() & flat.is_not_null()).to_numpy()
    if unknown.any():
        at = int(np.argmax(unknown))
        row = int(np.searchsorted(np.cumsum(s.list.len().to_numpy()), at, side="right"))
        msg = f"{names.where(s.name, row)}: class {flat[at]!r} is not one of the {len(classes)} class_names"
        raise ValueError(msg)
    if flat.null_count():
        return _values(s, names, "pred_classes")  # names the row of the null element
    result: np.ndarray = indices.to_physical().to_numpy().astype(np.int64)
    return result


def _values(s: pl.Series, names: Names, what: str) -> np.ndarray:
    flat = s.explode(empty_as_null=False, keep_nulls=False)
    if flat.null_count():
        row = int(np.flatnonzero(s.list.eval(pl.element().is_null().any()).list.first().fill_null(False).to_numpy())[0])
        msg = f"{names.where(s.name, row)}: {what} contains a null element; fill or drop it first"
        raise ValueError(msg)
    return flat.to_numpy()


def read_sparse_columns(
    labels: pl.Series,
    pred_probs: pl.Series,
    pred_classes: pl.Series,
    *,
    num_classes: int,
    fill_value: object,
    spec: LabelSpec,
    where: Where = Where(first_row=0),
) -> tuple[SparseBatch, np.ndarray]:
    """Return the batch of the rows where no column is null, and those rows' indices.

    ``where`` says how errors name the input's rows (by default, numbered from 0).
    """
    check_labels_dtype(labels.dtype, labels.name, spec)
    pred_probs, pred_classes = _list_of(pred_probs, "float"), _list_of(pred_classes, "names")
    n = len(labels)
    null = (labels.is_null() | pred_probs.is_null() | pred_classes.is_null()).to_numpy()
    kept = np.flatnonzero(~null)
    if null.any():
        keep = pl.Series(~null)
        labels, pred_probs, pred_classes = labels.filter(keep), pred_probs.filter(keep), pred_classes.filter(keep)
    names = Names(pred_probs.name, pred_classes.name, columns=True, rows=kept, place=where, n_input=n)
    lengths = pred_probs.list.len().to_numpy().astype(np.int64)
    counts = pred_classes.list.len().to_numpy().astype(np.int64)
    if (lengths != counts).any():
        i = int(np.argmax(lengths != counts))
        msg = (
            f"{names.where(pred_classes.name, i)}: {int(counts[i])} classes listed but "
            f"{pred_probs.name!r} holds {int(lengths[i])} probabilities; the lists must have the same lengths"
        )
        raise ValueError(msg)
    indptr = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    probs = _values(pred_probs, names, "pred_probs")
    inner = pred_classes.dtype.inner if isinstance(pred_classes.dtype, pl.List) else None
    if inner is not None and not inner.is_integer():  # class names
        known = spec.class_names
        if known is None and isinstance(inner, pl.Enum):  # an Enum's categories are the classes
            known = tuple(inner.categories.to_list())
        if known is None:
            msg = f"column {pred_classes.name!r} holds class names: pass class_names= (the K names, in class order)"
            raise TypeError(msg)
        classes = _class_indices(pred_classes, known, names)
    else:
        classes = _values(pred_classes, names, "pred_classes")
    arrays = CsrArrays(indptr, classes.astype(np.int64, copy=False), probs, (kept.size, num_classes))
    indptr, classes, probs, fill, k = read_csr(arrays, fill_value, kept.size, names)
    offsets, values = read_labels(labels, k, where, kept, n, spec)
    return SparseBatch(indptr, classes, probs, fill, k, offsets.astype(np.int64), values), kept
