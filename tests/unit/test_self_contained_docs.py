"""A clone of the repository is self-contained: no tracked file cites a design brief that lives
outside it, and prose never points at the data folder beside the checkout.

Rules (docs/design.md is the project's own design document):
- the names of the two external briefs (built below, so this file does not match itself) appear
  in no tracked file, code or prose;
- a path into the sibling folder (``shared`` in the checkout's parent, relative or absolute)
  appears in no prose: Markdown and text files, Python comments and docstrings, ``#`` comments
  of scripts and manifests, C comments; in code (string literals, shell commands, JSON records)
  it may appear only as a data path (into its ``data`` folder).
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BRIEFS = re.compile("(DESIGN|STYLE)" + r"\.md")
SIBLING = re.compile(r"(\.\./|/work/)" + "shared" + r"\b")
DATA_PATH = re.compile(r"(\.\./|/work/)" + "shared" + r"/data\b")
PROSE_SUFFIXES = {".md", ".rst", ".txt"}
DATA_SUFFIXES = {".json", ".jsonl", ".csv", ".png", ".svg", ".lock"}
C_SUFFIXES = {".c", ".h", ".cjs", ".js", ".proto"}


def tracked_files() -> list[Path]:
    """Every file git tracks (the clone's content); the tree minus build output without git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        return [ROOT / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "build", "runs", "node_modules", "__pycache__"}
        return [
            p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary or unreadable: not prose


def python_prose(text: str) -> list[str]:
    """Comments and docstrings of a Python source."""
    parts = [
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                parts.append(doc)
    return parts


def hash_comments(text: str) -> list[str]:
    """``#`` comments: from a ``#`` at the start of a line or after whitespace to the line end."""
    return [m.group(0) for m in re.finditer(r"(?:^|(?<=\s))#.*$", text, flags=re.M)]


def c_comments(text: str) -> list[str]:
    return re.findall(r"/\*.*?\*/|//[^\n]*", text, flags=re.S)


def prose_of(path: Path, text: str) -> list[str]:
    """The parts of a file a reader reads as prose (every part, for Markdown and text)."""
    suffix = path.suffix.lower()
    if suffix in PROSE_SUFFIXES:
        return [text]
    if suffix in DATA_SUFFIXES:
        return []
    if suffix == ".py":
        return python_prose(text)
    if suffix in C_SUFFIXES:
        return c_comments(text)
    return hash_comments(text)  # shell, YAML, TOML, Dockerfiles, .ci/run, ...


def text_files() -> list[tuple[Path, str, str]]:
    """(path, path relative to the root, text) of every tracked text file."""
    out = []
    for path in tracked_files():
        text = read_text(path)
        if text is not None:
            out.append((path, path.relative_to(ROOT).as_posix(), text))
    return out


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def test_no_tracked_file_cites_an_external_design_brief() -> None:
    offenders = [
        f"{rel}:{line_of(text, m.start())}"
        for _, rel, text in text_files()
        for m in BRIEFS.finditer(text)
    ]
    assert offenders == [], "cite docs/design.md instead"


def test_prose_never_points_at_the_sibling_data_folder() -> None:
    offenders = [
        f"{rel}: {part.strip()[:80]}"
        for path, rel, text in text_files()
        for part in prose_of(path, text)
        if SIBLING.search(part)
    ]
    assert offenders == []


def test_code_reaches_the_sibling_folder_only_for_its_data() -> None:
    offenders = [
        f"{rel}:{line_of(text, m.start())}"
        for _, rel, text in text_files()
        for m in SIBLING.finditer(text)
        if not DATA_PATH.match(text, m.start())
    ]
    assert offenders == []


def test_the_checks_see_what_they_are_meant_to_see() -> None:
    """The prose extraction finds a sibling path in a comment and a docstring but not in code."""
    sibling = "../" + "shared/data/x.csv"
    source = f'"""Reads {sibling}."""\nPATH = "{sibling}"  # see {sibling}\n'
    prose = python_prose(source)
    assert len(prose) == 2 and all(sibling in part for part in prose)
    assert not any(sibling in part for part in python_prose(f'PATH = "{sibling}"\n'))
    assert hash_comments(f"MATRIX=${{MATRIX:-{sibling}}}\n# from {sibling}\n") == [
        f"# from {sibling}"
    ]
    assert BRIEFS.search("see " + "DESIGN" + ".md Sec. 2") and not BRIEFS.search("docs/design.md")
