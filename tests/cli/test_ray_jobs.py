"""``--ray`` on ``score``, ``issues`` and ``summary`` (``polars_mlq.cli.ray_jobs``), and IN as a folder or a glob.

The commands run in-process (``cli.main``) on the session's local Ray cluster, and their output
folders are checked against the library on the same rows read by Polars.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import leftovers, tagged_top_k

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq import cli


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, demo: pl.DataFrame) -> Path:
    """The demo data as three Parquet files."""
    path = tmp_path_factory.mktemp("parts")
    for i, (start, rows) in enumerate([(0, 400), (400, 500), (900, demo.height - 900)]):
        demo.slice(start, rows).write_parquet(path / f"part-{i}.parquet")
    return path


def _read_folder(path: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted(path.glob("*.parquet"))).sort("id")


def test_score_reads_a_folder_or_a_glob_on_polars(folder: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    expected = demo.mlq.label_quality(method="normalized_margin")["label_quality"].to_numpy()
    for given in (str(folder), str(folder / "part-*.parquet")):
        out = tmp_path / "scored.parquet"
        assert cli.main([*("score", given, "-o", str(out), "-q", "--method", "normalized_margin")]) == 0
        np.testing.assert_array_equal(pl.read_parquet(out).sort("id")["label_quality"].to_numpy(), expected)


def test_a_folder_without_data_files_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("no data here")
    assert cli.main(["score", str(tmp_path), "-o", str(tmp_path / "out.parquet"), "-q"]) == 1
    assert "no data file" in capsys.readouterr().err


@pytest.mark.usefixtures("ray_cluster")
def test_score_on_ray_writes_a_folder_equal_to_the_librarys_scores(
    folder: Path, tmp_path: Path, demo: pl.DataFrame
) -> None:
    out = tmp_path / "scored"
    args = ["score", str(folder), "-o", str(out), "-q", "--ray", "--adjust-pred-probs"]
    assert cli.main(args) == 0
    got = _read_folder(out)
    expected = demo.mlq.label_quality(adjust_pred_probs=True)
    assert got.columns == expected.columns
    np.testing.assert_array_equal(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy())
    assert cli.main(args) == 0  # an existing OUT is replaced whole
    assert _read_folder(out).height == demo.height
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("ray_cluster")
def test_issues_on_ray_keeps_the_flagged_rows_worst_first(folder: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "issues"
    assert cli.main(["issues", str(folder / "*.parquet"), "-o", str(out), "-q", "--ray", "--only-issues"]) == 0
    got = pl.read_parquet(sorted(out.glob("*.parquet")))
    flagged = demo.mlq.find_label_issues().filter("is_label_issue").mlq.label_quality()
    assert sorted(got["id"].to_list()) == sorted(flagged["id"].to_list())
    assert 0 < got.height < demo.height
    scores = got["label_quality"].to_numpy()
    assert np.all(np.diff(scores) >= 0)  # worst first


@pytest.mark.usefixtures("ray_cluster")
def test_summary_on_ray_prints_what_the_local_summary_prints(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["summary", str(folder), "--json", "-q"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert cli.main(["summary", str(folder), "--json", "-q", "--ray"]) == 0
    assert json.loads(capsys.readouterr().out) == local
    assert cli.main(["summary", str(folder), "-q", "--ray"]) == 0
    assert "Overall label health score" in capsys.readouterr().out


@pytest.mark.usefixtures("ray_cluster")
def test_a_failed_ray_run_leaves_nothing_at_out(
    tmp_path: Path, demo: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    demo.slice(0, 600).write_parquet(parts / "a.parquet")
    bad = demo.slice(600).with_columns(
        pl.when(pl.col("id") == 900).then(pl.lit([99])).otherwise(pl.col("labels")).alias("labels")
    )
    bad.write_parquet(parts / "b.parquet")
    out = tmp_path / "scored"
    for command in ("score", "issues"):
        assert cli.main([command, str(parts), "-o", str(out), "-q", "--ray"]) == 1
        error = capsys.readouterr().err
        assert "'labels'" in error
        assert "99" in error
        assert "b.parquet" in error  # the file, and the row within it (id 900 is its row 300)
        assert "row 300" in error
        assert not out.exists()
        assert leftovers(tmp_path) == []


def test_ray_reads_parquet_only(tmp_path: Path, demo: pl.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    demo.select("id", "labels").write_ndjson(tmp_path / "data.ndjson")
    code = cli.main(["score", str(tmp_path / "data.ndjson"), "-o", str(tmp_path / "out"), "-q", "--ray"])
    assert code == 1
    assert "pred_probs" in capsys.readouterr().err  # the columns are checked before Ray starts


@pytest.mark.usefixtures("ray_cluster")
def test_sparse_predictions_on_ray_give_the_librarys_answers(tmp_path: Path) -> None:
    """--pred-classes with --ray: score, issues and summary equal the namespace on the same rows."""
    n, k = 900, 1500
    frame = tagged_top_k(5, n, k, 5, unlisted_every=6)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, n, 300)):
        frame.slice(start, 300).write_parquet(parts / f"part-{i}.parquet")
    sparse = {"labels": "tags", "pred_probs": "probs", "pred_classes": "classes", "num_classes": k}
    args = ["--labels", "tags", "--pred-probs", "probs", "--pred-classes", "classes", "--num-classes", str(k), "-q"]
    out = tmp_path / "flagged"
    assert cli.main(["issues", str(parts), "-o", str(out), *args, "--ray"]) == 0
    expected = frame.mlq.find_label_issues(**sparse).mlq.label_quality(**sparse)
    got = _read_folder(out).select(expected.columns)
    assert got["is_label_issue"].to_list() == expected["is_label_issue"].to_list()
    np.testing.assert_array_equal(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy())
    assert cli.main(["score", str(parts), "-o", str(tmp_path / "scored"), *args, "--ray"]) == 0
    scored = _read_folder(tmp_path / "scored")
    np.testing.assert_array_equal(scored["label_quality"].to_numpy(), expected["label_quality"].to_numpy())
    assert leftovers(tmp_path) == []
