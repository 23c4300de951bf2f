#!/usr/bin/env bash
# The prepared GPU check: run it once on a machine with a CUDA GPU (e.g. the lent H100/H200),
# from the repository root, with the machine's own python/torch:  bash benchmarks/gpu_check.sh
# It checks the CUDA paths (cuDNN cells, bf16 autocast, torch.compile, DDP with nccl) and times
# the same commands on the CPU and the GPU side by side; everything goes to $OUT (default
# /tmp/rnnkit-gpu), summary.txt holds the figures for the README (with the card named).
set -u
OUT=${OUT:-/tmp/rnnkit-gpu}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
log() { echo "$*" | tee -a "$OUT/summary.txt"; }
timed() {  # timed NAME COMMAND...: wall seconds and exit code into the summary
  local name=$1; shift
  local start=$(date +%s%N)
  "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  log "$(printf '%-34s rc=%s  %6d ms' "$name" "$rc" "$ms")"
}
: > "$OUT/summary.txt"
log "card: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1)"
log "python/torch: $($PY -c 'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.backends.cudnn.version())')"
R="$PY -m rnnkit"
timed demo_cpu $R demo --device cpu --out "$OUT/demo_cpu" --overwrite --no-progress
timed demo_cuda $R demo --device cuda --out "$OUT/demo_cuda" --overwrite --no-progress
timed demo_cuda_bf16 $R demo --device cuda --precision bf16 --out "$OUT/demo_bf16" --overwrite --no-progress
timed demo_cuda_rnnkit_cells $R demo --device cuda --backend rnnkit --out "$OUT/demo_rk" --overwrite --no-progress
timed train_co2_cpu $R train --data co2 --device cpu --out "$OUT/co2_cpu" --overwrite --no-progress
timed train_co2_cuda $R train --data co2 --device cuda --out "$OUT/co2_cuda" --overwrite --no-progress
timed train_co2_cuda_compile $R train --data co2 --device cuda --compile --out "$OUT/co2_compile" --overwrite --no-progress
timed lm_cpu $R lm train --data botchan --device cpu --out "$OUT/lm_cpu" --overwrite --no-progress
timed lm_cuda $R lm train --data botchan --device cuda --out "$OUT/lm_cuda" --overwrite --no-progress
timed compare_cuda $R compare --task adding --length 100 --device cuda --out "$OUT/cmp" --overwrite --no-progress
timed ddp_nccl_1gpu $PY -m torch.distributed.run --nproc_per_node=1 --standalone -m rnnkit train --data co2 --device cuda --out "$OUT/ddp" --overwrite --no-progress
timed bench_forecast $PY benchmarks/bench_forecast.py --quick --json "$OUT/forecast.json"
for run in demo_cpu demo_cuda demo_bf16 demo_rk; do
  [ -f "$OUT/$run/metrics.json" ] && log "$run test MSE: $($PY -c "import json; print({r['cell']: f\"{r['test_mse']:.2e}\" for r in json.load(open('$OUT/$run/metrics.json'))['results']})")"
done
log "done: figures in $OUT/summary.txt"
