#!/usr/bin/env bash
# Static checks that CI and developers both run: ruff (lint + format) and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy election election_cli master worker adversary bench wire
bash scripts/gen_proto.sh --check
