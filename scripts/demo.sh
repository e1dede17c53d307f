#!/usr/bin/env bash
# Set up (if needed) and run the offline demo: the main job on simulated data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/cropglobe demo "$@"
