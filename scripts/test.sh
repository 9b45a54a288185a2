#!/usr/bin/env bash
# Set up (.venv with dev tools) and run the checks and the default test tier.
#   bash scripts/test.sh            # static checks + unit, contract and integration tests
#   bash scripts/test.sh -m slow    # extra pytest arguments are passed through
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/check.sh
.venv/bin/python -m pytest -q "$@"
