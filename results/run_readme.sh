#!/usr/bin/env bash
# Regenerates the README's embedded figure: the embedded default `election compare` (digits,
# n = 5, b = 1, reverse attack, the paper's Fig. 4 line-up), copied as produced into docs/img/
# (compare.md -> compare-digits.md, compare.png -> compare-digits.png) and embedded into
# README.md by results/embed_tables.py.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
.venv/bin/election compare --runs-dir "$runs" --quiet
out=$(ls -d "$runs"/compare-*)
cp "$out/compare.md" docs/img/compare-digits.md
cp "$out/compare.png" docs/img/compare-digits.png
.venv/bin/python results/embed_tables.py README.md
