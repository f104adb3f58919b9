"""``--ray``: the jobs of ``score``, ``issues`` and ``summary`` on a Ray cluster (``polars_mlq.ray``).

IN (Parquet: a file, a folder or a glob) is read as a Ray Dataset; OUT is a folder of Parquet
files, written by the workers into a temporary folder beside it and renamed when complete, so a
failed run leaves OUT as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from polars_mlq.cli.common import CliError
from polars_mlq.cli.inputs import Input, check_new_column, check_sparse_column, read_input
from polars_mlq.cli.issues import check_new_columns, issue_kwargs
from polars_mlq.cli.options import scoring_kwargs, sparse_kwargs
from polars_mlq.issues.frames import IssueCounts

#: Ray's columns of the file each row was read from and its place in it (``include_paths=True``,
#: ``include_row_hash=True``; see ``polars_mlq.ray._origin``, not imported here: it imports Ray).
ORIGIN_COLUMNS = ("path", "row_hash")


def connect(address: str) -> Any:
    """Start Ray (or join the cluster at ``address``, else ``$RAY_ADDRESS``); return ``polars_mlq.ray``."""
    try:
        import ray
        import ray.data

        import polars_mlq.ray as mlq_ray
    except ImportError as exc:
        msg = "--ray needs Ray Data: pip install 'polars-mlq[ray]'"
        raise CliError(msg) from exc
    if not ray.is_initialized():
        target = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=target, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return mlq_ray


def _dataset(inp: Input) -> Any:
    """Return IN as a Ray Dataset whose rows say their file and place in it (unless IN has such columns).

    Ray's ``path`` and ``row_hash`` columns let a bad row's error name its file and the row within
    it (see ``polars_mlq.ray``); ``_write`` leaves them out of OUT.
    """
    import pyarrow.fs
    import ray.data

    if inp.format != "parquet":
        msg = f"IN {inp.path}: --ray reads Parquet only, not {inp.format}"
        raise CliError(msg)
    # IN is local files (checked): naming the file system spares Ray guessing it from the paths
    paths = [str(source.resolve()) for source in inp.sources]
    origin = _origin_columns(inp)
    return ray.data.read_parquet(
        paths, filesystem=pyarrow.fs.LocalFileSystem(), include_paths=bool(origin), include_row_hash=bool(origin)
    )


def _origin_columns(inp: Input) -> list[str]:
    """Ray's columns of where each row was read from, when IN has none of that name (else none)."""
    return [] if set(ORIGIN_COLUMNS) & set(inp.columns) else list(ORIGIN_COLUMNS)


def _output_folder(args: argparse.Namespace, inp: Input) -> Path:
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        msg = f"OUT {out} is a file; with --ray, OUT is a folder of Parquet files"
        raise CliError(msg)
    if not out.parent.is_dir():
        msg = f"OUT {out}: no such directory {str(out.parent)!r}"
        raise CliError(msg)
    if any(out.resolve() in (source.resolve(), *source.resolve().parents) for source in inp.sources):
        msg = f"OUT {out} holds IN; refusing to overwrite IN (write to another folder)"
        raise CliError(msg)
    return out


@contextlib.contextmanager
def _atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a new folder beside ``out``; on success it becomes ``out`` (replacing it), on failure it goes."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write(ds: Any, out: Path, inp: Input) -> int:
    """Write the Dataset (less the column ``_dataset`` added) as Parquet files into ``out``, atomically."""
    from ray.exceptions import RayTaskError

    from polars_mlq.ray import original_error

    if _origin_columns(inp):
        ds = ds.drop_columns(_origin_columns(inp))
    with _atomic_folder(out) as tmp:
        try:
            ds.write_parquet(str(tmp))
        except RayTaskError as exc:  # a bad row: the namespace's own error, not Ray's wrapper
            raise original_error(exc) from None
    files = sorted(out.glob("*.parquet"))
    return int(pl.scan_parquet(files).select(pl.len()).collect().item()) if files else 0


def run_score(args: argparse.Namespace) -> int:
    """``score --ray``: IN with a label_quality column, into the folder OUT."""
    inp = read_input(args)
    out = _output_folder(args, inp)
    check_new_column(inp, args.name, "--name")
    check_sparse_column(inp, args)
    mlq_ray = connect(args.ray)
    scored = mlq_ray.label_quality(
        _dataset(inp),
        inp.labels,
        inp.pred_probs,
        class_names=inp.class_names,
        name=args.name,
        **scoring_kwargs(args),
        **sparse_kwargs(args),
    )
    rows = _write(scored, out, inp)
    if not args.quiet:
        print(f"scored {rows:,} rows into {out} (Parquet files) on Ray")
    return 0


def run_issues(args: argparse.Namespace) -> int:
    """``issues --ray``: IN with the flag and score columns (or only the flagged rows), into the folder OUT."""
    inp = read_input(args)
    out = _output_folder(args, inp)
    check_new_columns(inp, args)
    check_sparse_column(inp, args)
    sparse = sparse_kwargs(args)
    mlq_ray = connect(args.ray)
    flagged = mlq_ray.find_label_issues(
        _dataset(inp),
        inp.labels,
        inp.pred_probs,
        class_names=inp.class_names,
        name=args.flag_name,
        **issue_kwargs(args),
        **sparse,
    )
    scored = mlq_ray.label_quality(
        flagged,
        inp.labels,
        inp.pred_probs,
        class_names=inp.class_names,
        name=args.name,
        **scoring_kwargs(args),
        **sparse,
    )
    if args.only_issues:
        from ray.data.expressions import col

        scored = scored.filter(expr=col(args.flag_name) == True).sort(args.name)  # noqa: E712 - an expression
    rows = _write(scored, out, inp)
    if not args.quiet:
        what = "flagged rows" if args.only_issues else "rows"
        print(f"wrote {rows:,} {what} into {out} (Parquet files) on Ray")
    return 0


def summary_counts(args: argparse.Namespace, inp: Input) -> IssueCounts:
    """``summary --ray``: the counts behind the summary tables, from passes run on Ray."""
    mlq_ray = connect(args.ray)
    counts: IssueCounts = mlq_ray.issue_counts(
        _dataset(inp), inp.labels, inp.pred_probs, class_names=inp.class_names, **sparse_kwargs(args)
    )
    return counts
