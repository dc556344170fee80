#!/usr/bin/env bash
# CPU benchmark, ftmamba beside the PyTorch peer in one run, same data, same model sizes, same memory
# settings (glibc told to keep freed memory: see docs/BENCHMARKS.md). Prints JSON lines.
#   bash bench/run_cpu_side_by_side.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
DATA=${DATA:-data/spotify}
WORK=${WORK:-runs/bench}
STEPS=${STEPS:-30}
[ -f "$DATA/interactions.csv" ] || "$BUILD/ftmamba" generate --preset spotify --pairs 160000 --seed 1 --out "$DATA" >&2
mkdir -p "$WORK"
# The peer reads the exact encoded inputs ftmamba feeds its towers.
if [ ! -f "$WORK/items.safetensors" ]; then
  "$BUILD/ftmamba" train --quiet --data "$DATA" --out "$WORK/encoder-run" --set train.epochs=1 --set train.valid_users=100 >/dev/null
  "$BUILD/ftmamba" encode --run "$WORK/encoder-run" --side user --with-inputs --out "$WORK/users.safetensors" >&2
  "$BUILD/ftmamba" encode --run "$WORK/encoder-run" --side item --with-inputs --out "$WORK/items.safetensors" >&2
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=67108864
echo "{\"machine\": \"$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)\", \"vcpus\": $(nproc --all), \"date\": \"$(date -u +%F)\", \"malloc\": \"MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1G on both sides\"}"
PY=/usr/bin/python3
for model in ${MODELS:-ft-mamba}; do
  "$BUILD/bench/bench_train" --data "$DATA" --model "$model" --steps "$STEPS"
done
for model in ${PEER_MODELS:-ft-mamba ft-transformer}; do
  $PY bench/pytorch_peer.py --users "$WORK/users.safetensors" --items "$WORK/items.safetensors" --data "$DATA" \
    --model "$model" --steps "$STEPS"
done
