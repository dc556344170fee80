#!/usr/bin/env bash
# CPU benchmark: ftmamba beside the PyTorch peer (bench/pytorch_peer.py) in one interleaved series, same data,
# same model sizes, same threads, same memory settings (glibc told to keep freed memory: see docs/BENCHMARKS.md).
# ROUNDS rounds; each runs every configuration (demo: d 64, batch 512; paper: d 128, batch 2048), precision
# (fp32, bf16) and implementation (ftmamba FT-Mamba and FT-Transformer, the peer's FT-Mamba and FT-Transformer),
# in an order that rotates from round to round, so that a slow spell of a shared machine falls on all of them.
# Prints every run's JSON line (with its round and configuration), then the medians and the ratios
# (bench/side_by_side_summary.py).
#   bash bench/run_cpu_side_by_side.sh [BUILD_DIR]
#   ROUNDS=3 CONFIGS="demo paper" PRECISIONS="fp32 bf16" THREADS=2 DEMO_STEPS=20 PAPER_STEPS=8 WAIT_POLICY=PASSIVE BLAS_TIMEOUT=4 bash ...
set -euo pipefail
BUILD=${1:-build}
DATA=${DATA:-data/spotify}
WORK=${WORK:-runs/bench}
THREADS=${THREADS:-$(nproc)}
[ -f "$DATA/interactions.csv" ] || "$BUILD/ftmamba" generate --preset spotify --pairs 160000 --seed 1 --out "$DATA" >&2
mkdir -p "$WORK"
# The peer reads the exact encoded inputs ftmamba feeds its towers.
if [ ! -f "$WORK/items.safetensors" ]; then
  "$BUILD/ftmamba" train --quiet --data "$DATA" --out "$WORK/encoder-run" --force --set train.epochs=1 \
    --set train.valid_users=100 >/dev/null
  "$BUILD/ftmamba" encode --run "$WORK/encoder-run" --side user --with-inputs --out "$WORK/users.safetensors" >&2
  "$BUILD/ftmamba" encode --run "$WORK/encoder-run" --side item --with-inputs --out "$WORK/items.safetensors" >&2
fi
# OMP_WAIT_POLICY: both sides' OpenMP threads sleep while they wait (WAIT_POLICY=ACTIVE spins: libgomp's default).
# OPENBLAS_THREAD_TIMEOUT: both sides' OpenBLAS workers sleep soon after a product, as ftmamba sets for itself
# (core/threads.h); the peer's torch reads the same BLAS's variable.
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 \
  MALLOC_TOP_PAD_=67108864 OMP_WAIT_POLICY=${WAIT_POLICY:-PASSIVE} OPENBLAS_THREAD_TIMEOUT=${BLAS_TIMEOUT:-4}
PY=/usr/bin/python3
OUT=$WORK/side_by_side.jsonl
: >"$OUT"
echo "{\"machine\": \"$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)\", \"vcpus\": $(nproc --all), \"threads\": $THREADS, \"omp_wait_policy\": \"$OMP_WAIT_POLICY\", \"date\": \"$(date -u +%F)\", \"torch\": \"$($PY -c 'import torch; print(torch.__version__)')\", \"malloc\": \"MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1G on both sides\"}" |
  tee -a "$OUT"

# run_one CONFIG PRECISION WHICH: one measurement, its line tagged and kept.
run_one() {
  local config=$1 precision=$2 which=$3 d batch steps amp=none
  if [ "$config" = demo ]; then d=64 batch=512 steps=${DEMO_STEPS:-20}; else d=128 batch=2048 steps=${PAPER_STEPS:-8}; fi
  [ "$precision" = bf16 ] && amp=bf16
  case $which in
    ftmamba-*)
      "$BUILD/bench/bench_train" --data "$DATA" --model "${which#ftmamba-}" --d $d --batch $batch --steps "$steps" \
        --warmup 2 --threads "$THREADS" --precision "$precision" ;;
    pytorch-*)
      $PY bench/pytorch_peer.py --users "$WORK/users.safetensors" --items "$WORK/items.safetensors" --data "$DATA" \
        --model "${which#pytorch-}" --d $d --batch $batch --steps "$steps" --warmup 2 --threads "$THREADS" --amp $amp ;;
  esac | grep '^{' | sed "s/^{/{\"round\": $round, \"config\": \"$config\", /" | tee -a "$OUT"
}

WHICH=(ftmamba-ft-mamba pytorch-ft-transformer ftmamba-ft-transformer pytorch-ft-mamba)
for round in $(seq "${ROUNDS:-3}"); do
  for config in ${CONFIGS:-demo paper}; do
    for precision in ${PRECISIONS:-fp32 bf16}; do
      for i in 0 1 2 3; do
        run_one "$config" "$precision" "${WHICH[$(( (i + round) % 4 ))]}"
      done
    done
  done
done
$PY bench/side_by_side_summary.py "$OUT"
