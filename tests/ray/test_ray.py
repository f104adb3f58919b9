"""polars_mlq.ray: the namespace's answers on a Ray Dataset, from blocks computed in Ray's workers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import helpers
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import ray.data

import polars_mlq  # noqa: F401 - the .mlq namespace
import polars_mlq.ray as mlq_ray
from polars_mlq.cli.ray_jobs import ORIGIN_COLUMNS
from polars_mlq.core import FILTERS
from polars_mlq.ray._origin import PATH_COLUMN, ROW_HASH_COLUMN, row_in_file

pytestmark = pytest.mark.usefixtures("ray_cluster")


def read_frame(folder: Path) -> pl.DataFrame:
    """The rows of the folder as Polars reads them, in file order."""
    return pl.read_parquet(sorted(folder.glob("*.parquet")))


def _by_id(ds: ray.data.Dataset) -> pl.DataFrame:
    """Every row of the Dataset (brought here: a test's few rows), ordered by the id column."""
    frame = pl.from_arrow(pa.concat_tables(ray.get(ds.to_arrow_refs())))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("id")


def _blocks(folder: Path, blocks: int) -> ray.data.Dataset:
    """The folder's rows as a Dataset of ``blocks`` blocks in file order, of chosen sizes.

    Built from Arrow tables, not ``ray.data.read_parquet``, to set how many blocks there are
    (files read by Ray are tested in ``test_files_read_by_ray_are_flagged_in_file_order...``).
    """
    table = read_frame(folder).to_arrow()
    step = -(-table.num_rows // blocks)
    return ray.data.from_arrow([table.slice(start, step) for start in range(0, table.num_rows, step)])


def test_importing_polars_mlq_does_not_import_ray() -> None:
    code = "import sys, polars_mlq; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("blocks", [1, 5])
def test_confident_thresholds_equal_the_namespaces_bit_for_bit(parquet_folder: Path, blocks: int) -> None:
    expected = polars_mlq.confident_thresholds(read_frame(parquet_folder))
    got = mlq_ray.confident_thresholds(_blocks(parquet_folder, blocks))
    assert got.equals(expected)


CONFIGS: list[dict[str, Any]] = [
    {},
    {"method": "confidence_weighted_entropy"},
    {"method": "normalized_margin", "aggregator_kwargs": {"method": "softmin", "temperature": 0.2}},
    {"adjust_pred_probs": True},
    {"aggregator_kwargs": {"method": "exponential_moving_average", "alpha": None}},
    {"aggregator_kwargs": {"method": lambda scores, axis: np.min(scores, axis=axis)}},
]


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: str(sorted(o)))
def test_label_quality_equals_the_namespace_row_for_row(parquet_folder: Path, options: dict[str, Any]) -> None:
    frame = read_frame(parquet_folder)
    expected = frame.mlq.label_quality(**options).sort("id")
    got = _by_id(mlq_ray.label_quality(_blocks(parquet_folder, 4), **options))
    assert got.columns == expected.columns  # every column kept, the new one last
    np.testing.assert_array_equal(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy())
    assert got.drop("label_quality").equals(expected.drop("label_quality"))


def test_adjusted_scores_use_the_whole_datasets_thresholds(parquet_folder: Path) -> None:
    """Each block alone would shift by its own thresholds: the scores show the merged ones were used."""
    frame = read_frame(parquet_folder)
    got = _by_id(mlq_ray.label_quality(_blocks(parquet_folder, 4), adjust_pred_probs=True, name="lq"))
    alone = frame.slice(0, 300).mlq.label_quality(adjust_pred_probs=True)["label_quality"].to_numpy()
    assert not np.array_equal(got["lq"].to_numpy()[:300], alone)
    given = polars_mlq.confident_thresholds(frame)
    again = _by_id(mlq_ray.label_quality(_blocks(parquet_folder, 2), adjust_pred_probs=True, thresholds=given))
    np.testing.assert_array_equal(again["label_quality"].to_numpy(), got["lq"].to_numpy())


def test_label_quality_per_class_equals_the_namespace(parquet_folder: Path) -> None:
    frame = read_frame(parquet_folder)
    expected = frame.mlq.label_quality_per_class(method="normalized_margin").sort("id")
    got = _by_id(mlq_ray.label_quality_per_class(_blocks(parquet_folder, 3), method="normalized_margin"))
    np.testing.assert_array_equal(
        np.stack(got["label_quality_per_class"].to_numpy()), np.stack(expected["label_quality_per_class"].to_numpy())
    )


def _bad_folder(tmp_path: Path, row: int) -> Path:
    labels, probs = helpers.issue_data(6, 400, 5)
    probs[row, 2] = 1.5
    frame = helpers.scoring_frame(labels, probs)
    frame.slice(0, 200).write_parquet(tmp_path / "a.parquet")
    frame.slice(200, 200).write_parquet(tmp_path / "b.parquet")
    return tmp_path


def test_a_bad_block_raises_the_namespaces_error_on_the_caller(tmp_path: Path) -> None:
    folder = _bad_folder(tmp_path, 260)
    with pytest.raises(ValueError) as expected:
        polars_mlq.confident_thresholds(read_frame(folder))
    with pytest.raises(ValueError) as got:
        mlq_ray.confident_thresholds(_blocks(folder, 2))
    assert type(got.value) is type(expected.value)  # not Ray's wrapper
    assert str(got.value) == str(expected.value)  # names the column, the value and the row (260)
    assert "260" in str(got.value)


def test_lazy_scoring_of_a_bad_block_raises_a_value_error_when_consumed(tmp_path: Path) -> None:
    folder = _bad_folder(tmp_path, 10)
    ds = ray.data.read_parquet(str(folder))
    scored = mlq_ray.label_quality(ds)  # lazy: nothing read yet
    with pytest.raises(ValueError, match="pred_probs") as got:
        scored.take_all()
    assert "1.5" in str(got.value)
    assert "include_row_hash=True to name its file and row" in str(got.value)  # what would name it
    assert not ds.context.raise_original_map_exception  # the caller's Dataset is not changed


def _read(folder: Path, *, row_hash: bool = True) -> ray.data.Dataset:
    return ray.data.read_parquet(str(folder), include_paths=True, include_row_hash=row_hash)


@pytest.mark.parametrize("call", ["confident_thresholds", "find_label_issues", "issue_counts", "label_quality"])
def test_a_bad_row_read_from_a_file_is_named_by_its_file_and_row(tmp_path: Path, call: str) -> None:
    """Read with Ray's ``include_paths`` and ``include_row_hash``: id 260 is row 60 of b.parquet, on
    every path (the passes made on the call, the lazy scoring when consumed)."""
    folder = _bad_folder(tmp_path, 260)
    file = str(folder / "b.parquet")
    with pytest.raises(ValueError) as expected:
        pl.read_parquet(file).mlq.label_quality()
    assert "row 60:" in str(expected.value)
    with pytest.raises(ValueError) as got:
        result = getattr(mlq_ray, call)(_read(folder))
        if isinstance(result, ray.data.Dataset):
            result.take_all()
    message = str(got.value)  # (the lazy step's has the worker's traceback around it)
    named = f"row 60 of file {file!r}"
    if call != "label_quality":  # a pass also names the row's place in the Dataset (files in order)
        named = rf"row 260 \({named}\)"
    assert re.search(re.escape(str(expected.value)).replace("row\\ 60", named), message), message


def test_without_row_hashes_the_file_is_named(tmp_path: Path) -> None:
    folder = _bad_folder(tmp_path, 260)
    with pytest.raises(ValueError, match=r"row \d+ \(file '.*b\.parquet'\)"):
        mlq_ray.confident_thresholds(_read(folder, row_hash=False))


def test_a_column_computed_after_reading_is_named_by_its_file_row(tmp_path: Path) -> None:
    """pred_probs made by a map (a model), not read from the file: the row's file and place in it
    still come from the columns Ray added when reading."""
    folder = _bad_folder(tmp_path, 260)
    ds = _read(folder).rename_columns({"pred_probs": "raw"})
    ds = ds.map_batches(lambda t: t.append_column("pred_probs", t.column("raw")), batch_format="pyarrow")
    with pytest.raises(ValueError, match=r"\(row 60 of file '.*b\.parquet'\)"):
        mlq_ray.confident_thresholds(ds)


def test_row_hashes_give_every_rows_place_in_its_file(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": np.arange(5000)})
    frame.slice(0, 3000).write_parquet(tmp_path / "a.parquet", row_group_size=700)
    frame.slice(3000).write_parquet(tmp_path / "b.parquet", row_group_size=700)
    ds = ray.data.read_parquet(str(tmp_path), include_paths=True, include_row_hash=True, override_num_blocks=6)
    got = _by_id(ds)
    rows = [row_in_file(path, h) for path, h in zip(got["path"], got["row_hash"], strict=True)]
    starts = np.where(got["path"].str.ends_with("b.parquet").to_numpy(), 3000, 0)
    np.testing.assert_array_equal(np.array(rows) + starts, got["id"].to_numpy())
    assert row_in_file(got["path"][0], 0x9E3779B97F4A7C15) is None  # not a hash of a row: not believed


def test_the_command_line_leaves_out_the_columns_it_added(tmp_path: Path) -> None:
    """(The command line reads with both columns; tests/cli check OUT's columns and the message.)"""
    assert ORIGIN_COLUMNS == (PATH_COLUMN, ROW_HASH_COLUMN)


def test_bad_options_fail_on_the_caller_before_any_work(parquet_folder: Path) -> None:
    ds = _blocks(parquet_folder, 2)
    with pytest.raises(ValueError, match="method"):
        mlq_ray.label_quality(ds, method="no_such_method")
    with pytest.raises(ValueError, match="labels_format"):
        mlq_ray.confident_thresholds(ds, labels_format="csv")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- issues



@pytest.fixture(scope="module")
def tied_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 rows with heavy ties (rounded, duplicated probabilities) in four files: cutoffs fall on ties."""
    labels, probs = helpers.issue_data(7, 300, 6, ties=1)
    probs = np.round(np.repeat(probs, 2, axis=0), 2)
    labels = [row for row in labels for _ in range(2)]
    frame = helpers.scoring_frame(labels, probs)
    folder = tmp_path_factory.mktemp("tied")
    for i in range(4):
        frame.slice(150 * i, 150).write_parquet(folder / f"part-{i}.parquet")
    return folder


@pytest.mark.parametrize("filter_by", FILTERS)
def test_find_label_issues_flags_the_namespaces_rows(tied_folder: Path, filter_by: str) -> None:
    frame = read_frame(tied_folder)
    expected = frame.mlq.find_label_issues(filter_by=filter_by).sort("id")
    got = _by_id(mlq_ray.find_label_issues(_blocks(tied_folder, 5), filter_by=filter_by))
    assert got.columns == expected.columns
    assert got["is_label_issue"].equals(expected["is_label_issue"])
    assert 0 < int(got["is_label_issue"].sum()) < frame.height  # the test can fail


def test_files_read_by_ray_are_flagged_in_file_order_ties_included(tmp_path: Path) -> None:
    """Ray reads small files concurrently and hands them over as they finish, but the passes and
    the flags take the Dataset's order (``preserve_order``): the files' order, as Polars reads
    them. The control: the same rows with the files in reverse order flag other tied entries."""
    labels, probs = helpers.issue_data(3, 300, 6, ties=1)
    frame = helpers.scoring_frame(labels, np.round(probs, 1))
    for i in range(8):
        frame.slice(i * 38, 38).write_parquet(tmp_path / f"part-{i}.parquet")
    options: dict[str, Any] = {"filter_by": "prune_by_noise_rate", "frac_noise": 0.5}
    expected = read_frame(tmp_path).mlq.find_label_issues_per_class(**options).sort("id")
    files = sorted(tmp_path.glob("*.parquet"))[::-1]
    reverse = pl.read_parquet(files).mlq.find_label_issues_per_class(**options).sort("id")
    column = "is_label_issue_per_class"
    assert not reverse[column].equals(expected[column])  # which tied entries are flagged follows the order
    for _ in range(3):
        got = _by_id(mlq_ray.find_label_issues_per_class(ray.data.read_parquet(str(tmp_path)), **options))
        assert got[column].equals(expected[column])


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "low_self_confidence", "both"])
def test_find_label_issues_per_class_flags_the_namespaces_entries(tied_folder: Path, filter_by: str) -> None:
    frame = read_frame(tied_folder)
    options: dict[str, Any] = {"filter_by": filter_by}
    if filter_by != "low_self_confidence":
        options["frac_noise"] = 0.5
    expected = frame.mlq.find_label_issues_per_class(**options).sort("id")
    got = _by_id(mlq_ray.find_label_issues_per_class(_blocks(tied_folder, 3), **options))
    np.testing.assert_array_equal(
        np.stack(got["is_label_issue_per_class"].to_numpy()),
        np.stack(expected["is_label_issue_per_class"].to_numpy()),
    )


def test_the_summaries_equal_the_namespaces(parquet_folder: Path) -> None:
    frame = read_frame(parquet_folder)
    ds = _blocks(parquet_folder, 4)
    assert mlq_ray.common_issues(ds).equals(frame.mlq.common_issues())
    assert mlq_ray.rank_classes(ds).equals(frame.mlq.rank_classes())
    assert mlq_ray.health_score(ds) == frame.mlq.health_score()
    got, expected = mlq_ray.health_summary(ds), frame.mlq.health_summary()
    assert got["overall_multilabel_health_score"] == expected["overall_multilabel_health_score"]
    assert got["classes_by_multilabel_quality"].equals(expected["classes_by_multilabel_quality"])
    assert got["common_multilabel_issues"].equals(expected["common_multilabel_issues"])


def test_a_bad_block_fails_the_issue_finder_on_the_caller(tmp_path: Path) -> None:
    folder = _bad_folder(tmp_path, 333)
    with pytest.raises(ValueError) as expected:
        read_frame(folder).mlq.find_label_issues()
    with pytest.raises(ValueError) as got:
        mlq_ray.find_label_issues(_blocks(folder, 3))
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_a_dataset_read_from_parquet_files_scores_as_the_namespace(parquet_folder: Path) -> None:
    """Read by Ray itself (its row order may vary): the scores, matched by id, do not depend on it."""
    frame = read_frame(parquet_folder)
    ds = ray.data.read_parquet(str(parquet_folder))
    got = _by_id(mlq_ray.label_quality(ds, adjust_pred_probs=True))
    expected = frame.mlq.label_quality(adjust_pred_probs=True).sort("id")
    np.testing.assert_array_equal(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy())
    assert mlq_ray.health_score(ds) == frame.mlq.health_score()
