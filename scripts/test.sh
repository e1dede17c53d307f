#!/usr/bin/env bash
# Set up (if needed) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests benchmarks scripts  # lint first (rules in pyproject.toml [tool.ruff])
exec .venv/bin/python -m pytest -q -n 2 "$@"
