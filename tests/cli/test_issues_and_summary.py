"""``polars-mlq issues`` and ``polars-mlq summary``: the installed console script on real files.

The expected flags and summaries come from the library called in-process (``df.mlq``), which
tests/compat/ checks against cleanlab.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import as_json_text, assert_one_line_error, leftovers, run_on_a_terminal, tagged_top_k
from helpers import run_script as run

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq.cli import load_demo


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, demo: pl.DataFrame) -> Path:
    folder = tmp_path_factory.mktemp("issues")
    demo.write_parquet(folder / "demo.parquet", row_group_size=128)
    demo.with_columns(as_json_text(demo[c]) for c in ("labels", "pred_probs", "true_labels")).write_csv(
        folder / "demo.csv"
    )
    (folder / "classes.txt").write_text("\n".join(load_demo()[1]) + "\n", encoding="utf-8")
    return folder


def test_issues_appends_the_flag_and_the_score(folder: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "flagged.parquet"
    result = run("issues", folder / "demo.parquet", "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    got = pl.read_parquet(out)
    assert got.columns == [*demo.columns, "is_label_issue", "label_quality"]
    expected = demo.mlq.find_label_issues().mlq.label_quality()
    assert got["is_label_issue"].to_list() == expected["is_label_issue"].to_list()
    assert 0 < got["is_label_issue"].sum() < demo.height
    np.testing.assert_allclose(got["label_quality"].to_numpy(), expected["label_quality"].to_numpy(), rtol=0, atol=1e-12)


def test_only_issues_worst_first_from_csv(folder: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "review.csv"
    result = run("issues", folder / "demo.csv", "-o", out, "--only-issues")
    assert result.returncode == 0, result.stderr
    got = pl.read_csv(out)
    expected = (
        demo.mlq.find_label_issues()
        .mlq.label_quality()
        .filter(pl.col("is_label_issue"))
        .sort("label_quality", maintain_order=True)
    )
    assert got["id"].to_list() == expected["id"].to_list()
    assert got["is_label_issue"].all()
    assert got["label_quality"].is_sorted()


def test_issue_options_are_cleanlabs(folder: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "flagged.arrow"
    result = run(
        "issues", folder / "demo.parquet", "-o", out,
        "--filter-by", "both", "--frac-noise", "0.5", "--min-examples-per-class", "3",
        "--flag-name", "suspect", "--method", "normalized_margin", "--name", "margin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = pl.read_ipc(out)
    expected = demo.mlq.find_label_issues(filter_by="both", frac_noise=0.5, min_examples_per_class=3)
    assert got["suspect"].to_list() == expected["is_label_issue"].to_list()
    scores = demo.mlq.label_quality(method="normalized_margin")["label_quality"].to_numpy()
    np.testing.assert_allclose(got["margin"].to_numpy(), scores, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--num-to-remove-per-class", "1,2"], ["num_to_remove_per_class"]),
        (["--flag-name", "labels"], ["already has a column 'labels'", "--flag-name"]),
        (["--flag-name", "x", "--name", "x"], ["different names"]),
        (["--pred-probs", "nope"], ["no column 'nope'"]),
    ],
)
def test_issues_errors(folder: Path, tmp_path: Path, options: list[str], fragments: list[str]) -> None:
    out = tmp_path / "out.parquet"
    assert_one_line_error(run("issues", folder / "demo.parquet", "-o", out, *options), *fragments)
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_issues_usage_errors(folder: Path, tmp_path: Path) -> None:
    result = run("issues", folder / "demo.parquet", "-o", tmp_path / "o.parquet", "--frac-noise", "2")
    assert result.returncode == 2
    assert "--frac-noise" in result.stderr


def test_summary_prints_the_health_score_and_the_class_table(folder: Path, demo: pl.DataFrame) -> None:
    result = run("summary", folder / "demo.parquet", "--class-names", folder / "classes.txt")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    _, classes = load_demo()
    expected = demo.mlq.health_summary(class_names=classes)
    score = expected["overall_multilabel_health_score"]
    assert f"Overall label health score: {score:.4f}" in result.stdout
    table = expected["classes_by_multilabel_quality"]
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Class Name"))
    printed = [line.split()[0] for line in lines[header + 2 : header + 2 + table.height]]
    assert printed == table["Class Name"].to_list()  # worst class first


def test_summary_json(folder: Path, demo: pl.DataFrame) -> None:
    result = run("summary", folder / "demo.csv", "--json", "--classes", ",".join(load_demo()[1]))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = demo.mlq.health_summary(class_names=load_demo()[1])
    assert document["overall_multilabel_health_score"] == pytest.approx(expected["overall_multilabel_health_score"], abs=1e-15)
    assert document["classes_by_multilabel_quality"] == expected["classes_by_multilabel_quality"].to_dicts()
    assert document["common_multilabel_issues"] == expected["common_multilabel_issues"].to_dicts()


def test_summary_errors(folder: Path, tmp_path: Path) -> None:
    assert_one_line_error(run("summary", folder / "demo.parquet", "--labels", "tags"), "no column 'tags'")
    assert_one_line_error(run("summary", tmp_path / "missing.csv"), "no such file")
    assert_one_line_error(run("summary", folder / "demo.parquet", "--classes", "a,b"), "class")


@pytest.mark.parametrize("command", ["issues", "summary"])
def test_help_has_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout
    assert f"polars-mlq {command} " in result.stdout


def test_issues_progress_on_a_terminal(folder: Path, tmp_path: Path) -> None:
    code, drawn = run_on_a_terminal("issues", folder / "demo.parquet", "-o", tmp_path / "all.parquet")
    assert code == 0
    flagged = int(pl.read_parquet(tmp_path / "all.parquet")["is_label_issue"].sum())
    assert "finding issues" in drawn
    assert f"{flagged} of 1,000 rows flagged, written to" in drawn
    code, drawn = run_on_a_terminal("issues", folder / "demo.parquet", "-o", tmp_path / "few.csv", "--only-issues")
    assert code == 0
    assert f"wrote the {flagged} flagged rows to" in drawn


def test_issues_and_summary_take_sparse_predictions(tmp_path: Path) -> None:
    """--pred-classes/--num-classes/--fill-value: the namespace's sparse flags, scores and summary."""
    k = 2000
    frame = tagged_top_k(3, 600, k, 5, unlisted_every=7)
    frame.write_parquet(tmp_path / "top_k.parquet", row_group_size=100)
    sparse = {"labels": "tags", "pred_probs": "probs", "pred_classes": "classes", "num_classes": k, "fill_value": 0.01}
    args = ["--labels", "tags", "--pred-probs", "probs", "--pred-classes", "classes", "--num-classes", k]
    args += ["--fill-value", 0.01, "-q"]
    out = tmp_path / "flagged.parquet"
    result = run("issues", tmp_path / "top_k.parquet", "-o", out, *args)
    assert result.returncode == 0, result.stderr
    expected = frame.mlq.find_label_issues(**sparse).mlq.label_quality(**sparse)
    assert expected["is_label_issue"].sum() > 0
    assert pl.read_parquet(out).equals(expected)
    summary = run("summary", tmp_path / "top_k.parquet", *args, "--json")
    assert summary.returncode == 0, summary.stderr
    document = json.loads(summary.stdout)
    assert document["overall_multilabel_health_score"] == frame.mlq.health_score(**sparse)
    assert document["common_multilabel_issues"] == frame.mlq.common_issues(**sparse).to_dicts()
    assert leftovers(tmp_path) == []
