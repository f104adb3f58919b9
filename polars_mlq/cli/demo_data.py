"""The bundled demo dataset (``polars_mlq/data``): 1,000 tagged photos, 8 classes."""

from __future__ import annotations

import io
import sys
from importlib import resources
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

DEMO_FILE = "demo.parquet"
DEMO_CLASSES_FILE = "demo_classes.txt"


def _data_file(name: str) -> Traversable:
    return resources.files("polars_mlq").joinpath("data").joinpath(name)


def load_demo() -> tuple[pl.DataFrame, list[str]]:
    """Load the bundled demo dataset and its class names (index i of ``pred_probs`` is class i).

    Columns: ``id``, ``text`` (a caption of what really is in the photo), ``labels`` (the given,
    partly corrupted labels), ``pred_probs`` (Array(Float64, 8), a noisy model's outputs) and
    ``true_labels`` (the clean labels, which scoring never reads).

    Returns
    -------
    tuple[pl.DataFrame, list[str]]
        The dataset and its 8 class names.

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
