#!/usr/bin/env bash
# CPU benchmark: encoder forward + backward time against the number of feature tokens L, ftmamba (`bench
# scaling`) beside the PyTorch peer (bench/pytorch_scaling_peer.py), FT-Mamba and FT-Transformer on both sides, in
# one interleaved series: ROUNDS rounds, each timing every (L, implementation, model) in an order that rotates from
# round to round. Prints every point's JSON line (tagged with its round), then the medians and the ratios of wall
# time (bench/scaling_side_by_side_summary.py).
#   bash bench/run_cpu_scaling_side_by_side.sh [BUILD_DIR]
#   ROUNDS=3 LENGTHS="64 256 1024" BATCH=4 D=64 THREADS=1 WORK=runs/scaling-sbs bash ...
# DEVICE=cuda runs the same series on a GPU (both sides; each step timed to a device synchronisation).
# COMPILE="ft-transformer ft-mamba" adds the peer's torch.compile'd encoders of those models to the series
# (pytorch-compiled-<model>), for a torch that has torch.compile.
set -euo pipefail
BUILD=${1:-build}
WORK=${WORK:-runs/scaling-sbs}
THREADS=${THREADS:-1}
PY=${PY:-/usr/bin/python3}
mkdir -p "$WORK"
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4
OUT=$WORK/scaling_side_by_side.jsonl
echo "{\"machine\": \"$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)\", \"threads\": $THREADS, \"date\": \"$(date -u +%F)\"}" | tee "$OUT"
run_one() {  # L WHICH
  local L=$1 which=$2
  case $which in
    ftmamba-*)
      "$BUILD/ftmamba" bench scaling --models "${which#ftmamba-}" --lengths "$L" --batch "${BATCH:-4}" \
        --d-token "${D:-64}" --threads "$THREADS" --device "${DEVICE:-cpu}" --out "$WORK/ftmamba-report" 2>/dev/null ;;
    pytorch-*)
      # pytorch-compiled-MODEL: under torch.compile, whose compiling of a long unrolled scan can take minutes
      # (PEER_S bounds it, and the point is left out).
      local model=${which#pytorch-} limit=() compile=()
      if [[ $model == compiled-* ]]; then model=${model#compiled-} limit=(timeout "${PEER_S:-120}") compile=(--compile); fi
      "${limit[@]}" $PY bench/pytorch_scaling_peer.py "${compile[@]}" --model "$model" --lengths "$L" \
        --batch "${BATCH:-4}" --d "${D:-64}" --threads "$THREADS" --device "${DEVICE:-cpu}" ;;
  esac | grep '^{' | sed "s/^{/{\"round\": $round, \"impl_model\": \"$which\", /" | tee -a "$OUT"
}
WHICH=(ftmamba-ft-mamba pytorch-ft-transformer ftmamba-ft-transformer pytorch-ft-mamba)
for model in ${COMPILE:-}; do WHICH+=("pytorch-compiled-$model"); done
N=${#WHICH[@]}
for round in $(seq "${ROUNDS:-3}"); do
  for L in ${LENGTHS:-64 256 1024}; do
    for i in $(seq 0 $(( N - 1 ))); do
      which=${WHICH[$(( (i + round) % N ))]}
      run_one "$L" "$which" || echo "L $L $which: failed (the lines it printed are kept)" >&2
    done
  done
done
$PY bench/scaling_side_by_side_summary.py "$OUT"
