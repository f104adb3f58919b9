"""Every code block of README.md and docs/ runs, so the documentation cannot drift from the code.

Each page runs in a fresh temporary directory (with ``predictions.parquet``, the file the guides
read, made by ``setup_files``), its blocks in order and in one namespace, as a reader pasting
them one after the other would:

* ```` ```python ```` blocks are executed. Their expected output is checked: the comment after a
  one-line ``print(...)`` call, or the comment lines right below such a call, must appear in what
  the block printed (in order, trailing spaces ignored). ```` ```python no-run ```` skips a block;
  none uses it today.
* ```` ```console ```` blocks are terminal sessions: each ``$ polars-mlq ...`` line is run with the
  installed console script and what it prints (stdout, then stderr) must equal the lines below it
  (a line ``...`` stands for any number of lines).
* ```` ```bash ```` blocks whose every command starts with ``polars-mlq`` are run and must succeed;
  other shell blocks (``pip install`` and the like) are instructions for a new machine, not run.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from helpers import ROOT, console_script

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL)
SHELLS = {"bash", "sh", "shell"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    options: tuple[str, ...]
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        info = match.group("info").split()
        language, options = (info[0].lower(), tuple(info[1:])) if info else ("", ())
        indent = len(match.group("indent"))
        code = "\n".join(line[indent:] for line in match.group("body").splitlines())
        found.append(Block(page, text.count("\n", 0, match.start()) + 2, language, options, code))
    return found


def setup_files(folder: Path) -> None:
    """Input files the pages read without making them: ``predictions.parquet`` (tags, probs)."""
    from polars_mlq.cli import load_demo

    demo, _ = load_demo()
    demo.select("id", pl.col("labels").alias("tags"), pl.col("pred_probs").alias("probs")).write_parquet(
        folder / "predictions.parquet"
    )


# --------------------------------------------------------------------------- python blocks


def expected_output(code: str) -> list[str]:
    """What the block says it prints: the comment after, or the comment lines below, each print()."""
    chunks: list[str] = []
    lines = code.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("print("):
            continue
        call, _, comment = stripped.partition("  # ")
        if comment and call.endswith(")"):
            chunks.append(comment.rstrip())
            continue
        below = []
        for following in lines[i + 1 :]:
            if not following.lstrip().startswith("#"):
                break
            below.append(following.lstrip()[2:].rstrip())
        if below:
            chunks.append("\n".join(below))
    return chunks


def check_printed(block: Block, printed: str) -> None:
    text = "\n".join(line.rstrip() for line in printed.splitlines())
    position = 0
    for chunk in expected_output(block.code):
        found = text.find(chunk, position)
        assert found >= 0, f"{block.where}: the block printed\n{printed}\nwhich lacks (after what came before)\n{chunk}"
        position = found + len(chunk)


def run_python(block: Block, namespace: dict[str, object]) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
        except Exception as exc:
            raise AssertionError(f"{block.where}: the block raised {type(exc).__name__}: {exc}") from exc
    check_printed(block, printed.getvalue())


# --------------------------------------------------------------------------- shell blocks


def run_command(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    assert words[0] == "polars-mlq", command
    return subprocess.run([console_script(), *words[1:]], capture_output=True, text=True, cwd=folder, timeout=120, check=False)


def commands_of(code: str) -> list[str]:
    joined = code.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def run_shell(block: Block, folder: Path) -> None:
    commands = commands_of(block.code)
    if not commands or not all(c.startswith("polars-mlq ") or c == "polars-mlq" for c in commands):
        return  # installation instructions and the like
    for command in commands:
        result = run_command(command, folder)
        assert result.returncode == 0, f"{block.where}: `{command}` failed:\n{result.stderr}"


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, where an expected line ``...`` stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def run_console(block: Block, folder: Path) -> None:
    session: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        elif session:
            session[-1][1].append(line.rstrip())
        else:
            raise AssertionError(f"{block.where}: a console block starts with a `$ ` command")
    for command, expected in session:
        result = run_command(command, folder)
        actual = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
        while expected and not expected[-1]:
            expected.pop()
        assert matches(expected, actual), (
            f"{block.where}: `{command}` printed\n" + "\n".join(actual) + "\n\nbut the page shows\n" + "\n".join(expected)
        )


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.language == "python" and "no-run" not in block.options:
            run_python(block, namespace)
        elif block.language in SHELLS:
            run_shell(block, tmp_path)
        elif block.language == "console":
            run_console(block, tmp_path)


def test_the_pages_with_examples_have_runnable_blocks() -> None:
    """The runner finds the blocks: the pages with examples are not silently skipped."""
    runnable = {p.name for p in PAGES if any(b.language in {"python", "console"} for b in blocks(p))}
    assert {"README.md", "index.md", "quickstart.md", "cli.md", "lazy-and-streaming.md"} <= runnable


def test_no_run_is_rare() -> None:
    skipped = [b.where for p in PAGES for b in blocks(p) if "no-run" in b.options]
    assert skipped == []


def test_expected_output_parser() -> None:
    code = 'x = 1\nprint(x)  # 1\nprint("a\\nb")\n# a\n# b\ny = 2  # not output\n'
    assert expected_output(code) == ["1", "a\nb"]
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert not matches(["a", "z"], ["a", "b", "z"])


def test_api_reference_covers_every_public_function_and_method() -> None:
    """docs/reference.md documents every name of ``polars_mlq.__all__`` and both namespaces,
    whose methods (all public methods of the shared base class) it lists via inherited members."""
    import polars_mlq
    from polars_mlq.namespace import MlqFrame, MlqLazyFrame

    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    directives = set(re.findall(r"^::: (\S+)", reference, re.MULTILINE))
    missing = sorted(f"polars_mlq.{name}" for name in polars_mlq.__all__ if f"polars_mlq.{name}" not in directives)
    assert missing == []
    for cls in (MlqFrame, MlqLazyFrame):
        target = f"{cls.__module__}.{cls.__name__}"
        block = reference.split(f"::: {target}\n", 1)
        assert len(block) == 2, target
        assert "inherited_members: true" in block[1].split(":::", 1)[0], target
        methods = [name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))]
        assert methods, target
        for name in methods:  # a documented method needs a docstring to document
            assert getattr(cls, name).__doc__, f"{target}.{name} has no docstring"
