"""``polars-mlq score`` (and the shared file handling): the installed console script on real files.

Every test runs the real ``polars-mlq`` script in a subprocess, as a user would, on files written
to a temporary directory, and checks the output file against the library called in-process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import as_json_text, assert_one_line_error, leftovers, run_on_a_terminal
from helpers import run_script as run

import polars_mlq  # noqa: F401  (registers .mlq)
from polars_mlq import cli
from polars_mlq.cli import load_demo


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, demo: pl.DataFrame) -> Path:
    """The demo data in every input format, in several batches (row groups of 128 rows)."""
    folder = tmp_path_factory.mktemp("inputs")
    demo.write_parquet(folder / "demo.parquet", row_group_size=128)
    demo.write_ipc(folder / "demo.arrow")
    demo.write_ndjson(folder / "demo.ndjson")
    demo.with_columns(as_json_text(demo[c]) for c in ("labels", "pred_probs", "true_labels")).write_csv(
        folder / "demo.csv"
    )
    # One Float column per class, named by class; the first rows of p_person hold only 0 and 1,
    # which CSV type inference would otherwise read as integers.
    _, classes = load_demo()
    probs = demo["pred_probs"].to_numpy().copy()
    probs[:5, 0] = [0.0, 1.0, 1.0, 0.0, 1.0]
    wide = demo.select("id", pl.col("labels").alias("tags")).with_columns(
        pl.Series(f"p_{name}", probs[:, k]) for k, name in enumerate(classes)
    )
    wide.with_columns(as_json_text(wide["tags"])).with_columns(
        pl.col(f"p_{name}").cast(pl.String).str.replace(r"\.0$", "") for name in classes
    ).write_csv(folder / "wide.csv")
    wide.write_parquet(folder / "wide.parquet")
    # Labels as class names.
    named = demo.select("id", pl.col("labels").list.eval(pl.element().replace_strict(list(range(8)), classes)), "pred_probs")
    named.write_parquet(folder / "named.parquet")
    named.with_columns(as_json_text(named[c]) for c in ("labels", "pred_probs")).write_csv(folder / "named.csv")
    (folder / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    # Valid for 900 rows, then a label out of range: the error comes mid-stream.
    bad = demo.with_columns(pl.when(pl.col("id") == 900).then(pl.lit([99])).otherwise(pl.col("labels")).alias("labels"))
    bad.write_parquet(folder / "bad_row.parquet", row_group_size=128)
    data = (folder / "demo.parquet").read_bytes()
    (folder / "truncated.parquet").write_bytes(data[: len(data) // 2])
    return folder


def expected_scores(frame: pl.DataFrame, **kwargs: object) -> np.ndarray:
    return frame.mlq.label_quality(**kwargs)["label_quality"].to_numpy()


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("source", "target", "read"),
    [
        ("demo.parquet", "out.parquet", pl.read_parquet),
        ("demo.csv", "out.csv", pl.read_csv),
        ("demo.ndjson", "out.arrow", pl.read_ipc),
        ("demo.arrow", "out.jsonl", pl.read_ndjson),
    ],
)
def test_score_reads_and_writes_every_format(files: Path, tmp_path: Path, demo: pl.DataFrame, source: str, target: str, read) -> None:  # noqa: ANN001
    out = tmp_path / target
    result = run("score", files / source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""  # quiet when stderr is not a terminal
    scored = read(out)
    assert scored.columns == [*demo.columns, "label_quality"]
    assert scored["id"].to_list() == demo["id"].to_list()  # row order kept
    np.testing.assert_allclose(scored["label_quality"].to_numpy(), expected_scores(demo), rtol=0, atol=1e-12)
    assert leftovers(tmp_path) == []


def test_csv_output_holds_lists_as_json_text_and_reads_back(files: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "scored.csv"
    assert run("score", files / "demo.parquet", "-o", out).returncode == 0
    text = pl.read_csv(out)
    assert text["labels"][2] == "[0,3]"
    again = tmp_path / "again.parquet"
    result = run("score", out, "-o", again, "--name", "again")
    assert result.returncode == 0, result.stderr
    scores = pl.read_parquet(again)
    np.testing.assert_allclose(scores["again"].to_numpy(), expected_scores(demo), rtol=0, atol=1e-12)


def test_format_option_for_an_unknown_extension(files: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    source = tmp_path / "predictions.data"
    source.write_bytes((files / "demo.parquet").read_bytes())
    result = run("score", source, "-o", tmp_path / "out.parquet")
    assert_one_line_error(result, "predictions.data", "--format")
    result = run("score", source, "--format", "parquet", "-o", tmp_path / "out.parquet")
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- columns and options


@pytest.mark.parametrize("source", ["wide.csv", "wide.parquet"])
def test_pred_probs_prefix(files: Path, tmp_path: Path, source: str) -> None:
    out = tmp_path / "out.parquet"
    result = run("score", files / source, "-o", out, "--labels", "tags", "--pred-probs-prefix", "p_")
    assert result.returncode == 0, result.stderr
    wide = pl.read_parquet(files / "wide.parquet")
    import polars.selectors as cs

    expected = wide.mlq.label_quality("tags", cs.starts_with("p_"))["label_quality"].to_numpy()
    np.testing.assert_allclose(pl.read_parquet(out)["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_scoring_options_are_cleanlabs(files: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "out.parquet"
    result = run(
        "score", files / "demo.parquet", "-o", out,
        "--method", "normalized_margin", "--adjust-pred-probs", "--aggregator", "softmin", "--temperature", "0.5",
        "--name", "quality",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = expected_scores(
        demo,
        method="normalized_margin",
        adjust_pred_probs=True,
        aggregator_kwargs={"method": "softmin", "temperature": 0.5},
    )
    np.testing.assert_allclose(pl.read_parquet(out)["quality"].to_numpy(), expected, rtol=0, atol=1e-12)

    result = run("score", files / "demo.parquet", "-o", out, "--alpha", "0.3")
    assert result.returncode == 0, result.stderr
    expected = expected_scores(demo, aggregator_kwargs={"method": "exponential_moving_average", "alpha": 0.3})
    np.testing.assert_allclose(pl.read_parquet(out)["label_quality"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_labels_as_class_names(files: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "out.parquet"
    result = run("score", files / "named.parquet", "-o", out, "--class-names", files / "classes.txt")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(pl.read_parquet(out)["label_quality"].to_numpy(), expected_scores(demo), rtol=0, atol=1e-12)
    _, classes = load_demo()
    out = tmp_path / "out.csv"
    result = run("score", files / "named.csv", "-o", out, "--classes", ",".join(classes))  # ["car", "tree"] in CSV
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(pl.read_csv(out)["label_quality"].to_numpy(), expected_scores(demo), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- errors


def test_missing_input(tmp_path: Path) -> None:
    result = run("score", tmp_path / "nope.parquet", "-o", tmp_path / "out.parquet")
    assert_one_line_error(result, "nope.parquet", "no such file")
    assert not (tmp_path / "out.parquet").exists()


def test_input_is_a_folder_without_data_files(tmp_path: Path) -> None:
    """A folder is read as its data files (tests/cli/test_ray_jobs.py); an empty one is refused."""
    assert_one_line_error(run("score", tmp_path, "-o", tmp_path / "out.parquet", "--format", "csv"), "no data file")


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--labels", "tags"], ["no column 'tags'", "--labels", "'labels', 'pred_probs'"]),
        (["--pred-probs", "probs"], ["no column 'probs'", "--pred-probs-prefix"]),
        (["--pred-probs-prefix", "zz_"], ["starts with 'zz_'"]),
        (["--pred-probs", "text"], ["text"]),  # a column of the wrong type
        (["--name", "labels"], ["already has a column 'labels'", "--name"]),
        (["--alpha", "2"], ["alpha", "[0, 1]"]),
        (["--aggregator", "ema", "--temperature", "0.1"], ["--temperature", "softmin"]),
        (["--method", "confidence_weighted_entropy", "--adjust-pred-probs"], ["adjust_pred_probs"]),
        (["--classes", "a,b"], ["class"]),
    ],
)
def test_bad_columns_and_options(files: Path, tmp_path: Path, options: list[str], fragments: list[str]) -> None:
    out = tmp_path / "out.parquet"
    assert_one_line_error(run("score", files / "demo.parquet", "-o", out, *options), *fragments)
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_truncated_parquet(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    assert_one_line_error(run("score", files / "truncated.parquet", "-o", out), "truncated.parquet", "parquet")
    assert not out.exists()


def test_bad_row_mid_stream_leaves_no_partial_output(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    result = run("score", files / "bad_row.parquet", "-o", out)
    assert_one_line_error(result, "label 99")
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_bad_json_text_in_csv(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text('labels,pred_probs\n[0],"[0.1,0.2]"\n"[0,]",x\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    assert_one_line_error(run("score", source, "-o", out), "JSON")
    assert not out.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("out.txt", "extension '.txt'"), ("missing/out.parquet", "no such directory"), (".", "is a directory")],
)
def test_bad_output_paths(files: Path, tmp_path: Path, target: str, fragment: str) -> None:
    target_path = tmp_path / target
    if target == ".":
        target_path = tmp_path / "folder.parquet"
        target_path.mkdir()
    assert_one_line_error(run("score", files / "demo.parquet", "-o", target_path), fragment)


def test_refuses_to_overwrite_the_input(files: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    source.write_bytes((files / "demo.parquet").read_bytes())
    before = source.read_bytes()
    assert_one_line_error(run("score", source, "-o", source), "refusing to overwrite IN")
    link = tmp_path / "link.parquet"
    link.symlink_to(source)
    assert_one_line_error(run("score", source, "-o", link), "refusing to overwrite IN")
    assert_one_line_error(run("score", "in.parquet", "-o", "./sub/../in.parquet", cwd=tmp_path), "refusing")
    assert source.read_bytes() == before


def test_existing_output_is_replaced_atomically(files: Path, tmp_path: Path, demo: pl.DataFrame) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"an older file")
    os.chmod(out, 0o640)
    # A failure leaves the existing OUT exactly as it was ...
    assert_one_line_error(run("score", files / "bad_row.parquet", "-o", out), "label 99")
    assert out.read_bytes() == b"an older file"
    # ... a success replaces it, keeping its permissions.
    result = run("score", files / "demo.parquet", "-o", out)
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(out).height == demo.height
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)
    assert leftovers(tmp_path) == []


def test_debug_prints_the_traceback(files: Path, tmp_path: Path) -> None:
    result = run("score", files / "demo.parquet", "-o", tmp_path / "out.parquet", "--labels", "tags", "--debug")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("polars-mlq: error: ")


def test_usage_errors_exit_2(files: Path) -> None:
    result = run("score", files / "demo.parquet")  # no -o
    assert result.returncode == 2
    assert "-o/--output" in result.stderr
    result = run("score", files / "demo.parquet", "-o", "x.parquet", "--method", "nope")
    assert result.returncode == 2


def test_interrupt_removes_the_temporary_file(
    files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(frame: pl.LazyFrame, path: Path, fmt: str) -> None:
        path.write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "sink", interrupted)
    out = tmp_path / "out.parquet"
    assert cli.main(["score", str(files / "demo.parquet"), "-o", str(out)]) == 130
    assert capsys.readouterr().err == "polars-mlq: interrupted\n"
    assert not out.exists()
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- progress and help


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_on_a_terminal_only(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    code, drawn = run_on_a_terminal("score", files / "demo.parquet", "-o", out, "--adjust-pred-probs")
    assert code == 0
    assert "pass 1 of 2, confident thresholds" in drawn
    assert "of 1,000 rows" in drawn  # Parquet metadata gives the total
    last = drawn.rstrip().rsplit("\r", 1)[-1]  # what is left on the line when the script ends
    assert last.startswith(f"\x1b[Kpolars-mlq score: scored 1,000 rows into {out} in ")
    code, drawn = run_on_a_terminal("score", files / "demo.parquet", "-o", out, "--quiet")
    assert code == 0
    assert drawn == ""


@pytest.mark.parametrize("command", ["score", "demo"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout
    assert f"polars-mlq {command}" in result.stdout


def test_score_takes_sparse_predictions(tmp_path: Path) -> None:
    """--pred-classes/--num-classes/--fill-value: the namespace's sparse scores, streamed into OUT."""
    rng = np.random.default_rng(0)
    n, k, listed = 500, 5000, 6
    classes = np.sort(rng.integers(0, k - listed + 1, (n, listed)), axis=1) + np.arange(listed)
    frame = pl.DataFrame(
        {
            "id": np.arange(n),
            "tags": [sorted({int(c) for c in rng.choice(row, 2)}) for row in classes],
            "probs": rng.beta(0.5, 3.0, (n, listed)).tolist(),
            "classes": classes.tolist(),
        }
    )
    frame.write_parquet(tmp_path / "top_k.parquet", row_group_size=100)
    out = tmp_path / "scored.parquet"
    args = ["--labels", "tags", "--pred-probs", "probs", "--pred-classes", "classes", "-q"]
    result = run("score", tmp_path / "top_k.parquet", "-o", out, *args, "--num-classes", k, "--fill-value", 0.01)
    assert result.returncode == 0, result.stderr
    expected = frame.mlq.label_quality(
        labels="tags", pred_probs="probs", pred_classes="classes", num_classes=k, fill_value=0.01
    )
    assert pl.read_parquet(out).equals(expected)
    missing = run("score", tmp_path / "top_k.parquet", "-o", tmp_path / "x.parquet", *args)
    assert_one_line_error(missing, "need num_classes=K")
    absent = run("score", tmp_path / "top_k.parquet", "-o", tmp_path / "x.parquet", *args[:5], "nope", "--num-classes", k)
    assert_one_line_error(absent, "no column 'nope' (--pred-classes)")
    assert leftovers(tmp_path) == []
