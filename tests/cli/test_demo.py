"""``polars-mlq demo``, ``--help`` and ``python -m polars_mlq``: the installed console script, run as a
user would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import console_script

import polars_mlq
from polars_mlq.cli import main

DATA = Path(polars_mlq.__file__).parent / "data"
ROW = re.compile(r"^\s*(\d+)\s+(\d\.\d{4})\s{2}")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def reference_scores(labels: list[list[int]], probs: np.ndarray, alpha: float = 0.8) -> np.ndarray:
    """cleanlab's default multi-label score, written out: self-confidence per class, then an
    exponential moving average over each row sorted from largest to smallest."""
    given = np.zeros(probs.shape, dtype=bool)
    for i, row in enumerate(labels):
        given[i, row] = True
    per_class = np.where(given, probs, 1.0 - probs)
    ordered = -np.sort(-per_class, axis=1)
    score = ordered[:, 0]
    for k in range(1, ordered.shape[1]):
        score = alpha * ordered[:, k] + (1.0 - alpha) * score
    return score


def printed_rows(stdout: str) -> list[tuple[int, float]]:
    """(id, score) of each row of the printed table, in printed order."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "score" in line and "given labels" in line)
    assert set(lines[header + 1].replace(" ", "")) == {"-"}, "a dashed rule follows the header"
    rows = []
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        match = ROW.match(line)
        assert match, f"unexpected table row: {line!r}"
        rows.append((int(match.group(1)), float(match.group(2))))
    return rows


@pytest.fixture(scope="module")
def demo_stdout() -> str:
    result = run(console_script(), "demo")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_demo_prints_the_ten_lowest_scores(demo_stdout: str) -> None:
    df = pl.read_parquet(DATA / "demo.parquet")
    scores = reference_scores(df["labels"].to_list(), df["pred_probs"].to_numpy())
    order = np.argsort(scores, kind="stable")
    assert scores[order[10]] - scores[order[9]] > 1e-9, "the ten lowest must be unambiguous"
    expected_ids = df["id"].to_numpy()[order[:10]].tolist()

    rows = printed_rows(demo_stdout)
    assert [row_id for row_id, _ in rows] == expected_ids
    assert [score for _, score in rows] == pytest.approx(scores[order[:10]], abs=5e-5)

    wrong = [sorted(g) != sorted(t) for g, t in zip(df["labels"].to_list(), df["true_labels"].to_list())]
    assert sum(wrong) == 50  # 5% of the 1,000 rows
    found = sum(wrong[i] for i in order[:10])
    assert f"\n{found} of these 10 rows really were corrupted" in demo_stdout


def test_demo_names_the_classes(demo_stdout: str) -> None:
    classes = (DATA / "demo_classes.txt").read_text(encoding="utf-8").split()
    assert len(classes) == len(set(classes)) == 8
    df = pl.read_parquet(DATA / "demo.parquet")
    assert df.schema["pred_probs"] == pl.Array(pl.Float64, 8)
    first_id = printed_rows(demo_stdout)[0][0]
    given = df.filter(pl.col("id") == first_id)["labels"].item().to_list()
    first_line = next(line for line in demo_stdout.splitlines() if ROW.match(line))
    assert ", ".join(classes[k] for k in given) in first_line


def test_python_dash_m_matches_console_script(demo_stdout: str) -> None:
    result = run(sys.executable, "-m", "polars_mlq", "demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout == demo_stdout


def test_help_has_an_example() -> None:
    result = run(console_script(), "--help")
    assert result.returncode == 0
    assert "demo" in result.stdout
    assert "example" in result.stdout
    result = run(console_script(), "demo", "--help")
    assert result.returncode == 0
    assert "polars-mlq demo" in result.stdout


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--top", "3"]) == 0
    assert len(printed_rows(capsys.readouterr().out)) == 3
    assert main([]) == 2  # no command: usage on stderr
    assert "usage: polars-mlq" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--top", "0"])
    assert exc.value.code == 2
