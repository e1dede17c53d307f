#!/usr/bin/env bash
# GPU check of issue 26, one prepared script, at most 8 minutes (GPU_CHECK_BUDGET_S, default 480):
#   1. `cropglobe bench precision --device cuda`: CropNet training samples/s, bf16 autocast vs float32;
#   2. `cropglobe bench infer --device cuda`: CropNet inference px/s through the mapping's inference
#      path (predict_proba_torch, host <-> device copies included) in float32 and bf16, the same-run
#      matmul peaks, FLOPs per pixel and MFU = achieved FLOP/s / the card's dense bf16 peak
#      (cropglobe.bench.GPU_BF16_PEAKS: H100 SXM / H200 989, A100 312 TFLOP/s; override with
#      CROPGLOBE_GPU_BF16_PEAK_TFLOPS);
#   3. the real Canada -> France CropNet cell (configs/realdata/canada_france.yaml restricted to that
#      cell, seed 0, full epochs) when data/can_2017.zarr and data/fra_2023_dekad.zarr exist
#      (GPU_CHECK_DATA: another folder).
# Without a usable GPU it prints one line "no GPU: <why>" and exits 0. Results go to $OUT (the device
# machine's return folder) or GPU_CHECK_OUT (default runs/gpu-check): gpu_check.jsonl, gpu_check.log.
# Python: $PYTHON, else .venv/bin/python, else python3; the checkout's src/ is put on PYTHONPATH, so
# nothing is installed (the device machines have no network): torch with CUDA, lightning and the
# project's dependencies must already be there.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-480}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-}
if [ -z "$py" ]; then
  for candidate in .venv/bin/python python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then py=$candidate; break; fi
  done
fi
if [ -z "$py" ]; then echo "no GPU: no Python found (set PYTHON)"; exit 0; fi

probe=$("$py" scripts/gpu_check.py probe 2>&1 | tail -n 1)
if ! "$py" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["gpu"] else 1)' "$probe" 2>/dev/null; then
  why=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["why"])' "$probe" 2>/dev/null || echo "$probe")
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 \
     && [ "${CUDA_VISIBLE_DEVICES-unset}" != "" ] && [ "${CUDA_VISIBLE_DEVICES-unset}" != "-1" ]; then
    echo "GPU present (nvidia-smi: $(nvidia-smi -L | head -n 1)) but unusable: $why"
    exit 1
  fi
  echo "no GPU: $why"
  exit 0
fi

out=${OUT:-${GPU_CHECK_OUT:-runs/gpu-check}}
mkdir -p "$out"
log=$out/gpu_check.log
jsonl=$out/gpu_check.jsonl
: > "$jsonl"
echo "$probe" | tee -a "$jsonl"
failed=0
left() { echo $(( budget - ($(date +%s) - start) )); }
step() {  # step NAME CAP_SECONDS CMD...: run with the smaller of CAP and the budget left; JSON lines to $jsonl
  local name=$1 cap=$2; shift 2
  local t; t=$(left); [ "$t" -gt "$cap" ] && t=$cap
  if [ "$t" -lt 20 ]; then echo "{\"step\": \"$name\", \"skipped\": \"budget spent\"}" | tee -a "$jsonl"; return; fi
  echo "== $name (at most ${t}s)" | tee -a "$log"
  local rc=0 captured="$out/.step.out"
  timeout --signal=INT --kill-after=15 "$t" "$@" > "$captured" 2>> "$log" || rc=$?
  cat "$captured" >> "$log"
  grep '^{' "$captured" | tee -a "$jsonl"
  rm -f "$captured"
  [ "$rc" -eq 0 ] || { failed=1; echo "{\"step\": \"$name\", \"exit\": $rc}" | tee -a "$jsonl"; }
}
cg=("$py" -c 'from cropglobe.cli import main; main()')
step bench-precision 120 "${cg[@]}" bench precision --device cuda
step bench-infer 120 "${cg[@]}" bench infer --device cuda

data=${GPU_CHECK_DATA:-data}
if [ -e "$data/can_2017.zarr" ] && [ -e "$data/fra_2023_dekad.zarr" ]; then
  spec=$out/canada_france_cropnet.yaml
  run=$out/canada-france-cropnet
  rm -rf "$run"
  if "$py" scripts/gpu_check.py spec "$data" "$spec" >> "$log" 2>&1; then
    t0=$(date +%s)
    step canada-france-cropnet 600 "${cg[@]}" transfer "$spec" --out "$run" --quiet
    if [ -f "$run/results.parquet" ]; then
      "$py" scripts/gpu_check.py summary "$run" $(( $(date +%s) - t0 )) | tee -a "$jsonl"
    fi
  else
    failed=1; echo '{"step": "canada-france-cropnet", "error": "spec not written, see gpu_check.log"}' | tee -a "$jsonl"
  fi
else
  echo "{\"step\": \"canada-france-cropnet\", \"skipped\": \"$data/can_2017.zarr or $data/fra_2023_dekad.zarr missing\"}" \
    | tee -a "$jsonl"
fi
echo "gpu check done in $(( $(date +%s) - start ))s: $jsonl"
exit $failed
