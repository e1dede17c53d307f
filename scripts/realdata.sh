#!/usr/bin/env bash
# Reproduce docs/results.md: import the real data from ../shared/data and run the two in-region studies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SHARED=${CROPGLOBE_SHARED_DATA:-../shared/data}
CG=.venv/bin/cropglobe
mkdir -p data
$CG import worldcereal "$SHARED/worldcereal_extractions/worldcereal-classification/2023_FRA_LPIS_POLY_110_dekad.geoparquet" --out data/fra_dekad.zarr
$CG import table "$SHARED/ucr_crop_formosat2/Crop_TRAIN.tsv" --mapping configs/tables/ucr_crop.yaml --out data/ucr_train.zarr
$CG import table "$SHARED/ucr_crop_formosat2/Crop_TEST.tsv" --mapping configs/tables/ucr_crop.yaml --out data/ucr_test.zarr
$CG transfer configs/realdata/worldcereal_fra_cv.yaml --out runs/worldcereal-fra-cv --quiet
$CG transfer configs/realdata/ucr_crop.yaml --out runs/ucr-crop --quiet
