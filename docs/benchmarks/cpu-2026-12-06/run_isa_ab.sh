#!/usr/bin/env bash
# Interleaved rounds of bench_kernels --impl kernel: BEFORE, the -march=native build of 5f775da, against AFTER, the
# portable build, on the path it picks itself (after-auto: avx512 on an AVX-512 CPU) and forced to other paths
# (after-avx2, after-x86-64-v2, through FTMAMBA_CPU_ISA). The order of the sides rotates every round. One JSON line
# per figure, with "round" and "build" added.
# Usage: [SIDES="before after-auto after-avx2"] run_isa_ab.sh BEFORE_BENCH_KERNELS AFTER_BENCH_KERNELS [ROUNDS] > ab.jsonl
set -euo pipefail
before=$1
after=$2
rounds=${3:-6}
read -r -a sides <<<"${SIDES:-before after-auto after-avx2}"
n=${#sides[@]}
export OPENBLAS_NUM_THREADS=1
for r in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    side=${sides[$(((r + i) % n))]}
    case $side in
      before) out=$(env -u FTMAMBA_CPU_ISA "$before" --impl kernel) ;;
      after-auto) out=$(env -u FTMAMBA_CPU_ISA "$after" --impl kernel) ;;
      after-*) out=$(FTMAMBA_CPU_ISA=${side#after-} "$after" --impl kernel) ;;
      *) echo "unknown side $side" >&2 && exit 2 ;;
    esac
    sed "s/^{/{\"round\":$r,\"build\":\"$side\",/" <<<"$out"
  done
done
