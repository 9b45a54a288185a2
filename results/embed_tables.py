"""Embed generated tables into a Markdown file between markers (no table is edited by hand).

    <!-- table: results/decoders/amazon/compare-.../compare.md -->
    ...replaced by that file's content...
    <!-- /table -->

A marker may also name a command instead of a file: ``<!-- table: $ election codes table
--ternary -->`` runs ``.venv/bin/election codes table --ternary`` and embeds what it prints.
Usage: ``python results/embed_tables.py results/README.md docs/codes.md`` (rewrites in place).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- table: (.+?) -->\n)(.*?)(<!-- /table -->)", re.DOTALL)


def render(source: str) -> str:
    source = source.strip()
    if source.startswith("$ "):
        argv = shlex.split(source[2:])
        argv[0] = str(ROOT / ".venv" / "bin" / argv[0])
        return subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return (ROOT / source).read_text()


def embed(path: Path) -> bool:
    text = path.read_text()
    new = BLOCK.sub(
        lambda m: m.group(1) + render(m.group(2)).rstrip("\n") + "\n" + m.group(4), text
    )
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {'updated' if embed(Path(name)) else 'unchanged'}")
