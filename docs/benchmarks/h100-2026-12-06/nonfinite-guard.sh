#!/usr/bin/env bash
# GPU: build the tree and the commit before the non-finite change (1b1d824) side by side, run the GPU tests,
# then time training interleaved. Everything to $OUT.
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
T=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/gpu.txt
conf() { cmake -S $1 -B $2 -G Ninja -DCMAKE_BUILD_TYPE=Release -DFTMAMBA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
  -DCMAKE_PREFIX_PATH="$T;$PWD/.gpu/deps" > $OUT/cmake-$3.log 2>&1 || tail -20 $OUT/cmake-$3.log; }
conf . build-gpu new; conf .gpu/base build-base old
NEWT="ftmamba bench_train test_cuda_kernels test_fixed_shape_step test_precision test_nonfinite_steps test_optimizer test_resume"
( cmake --build build-gpu -j10 --target $NEWT -- -k 0 > $OUT/build-new.log 2>&1; echo new rc=$? ) &
( cmake --build build-base -j6 --target bench_train > $OUT/build-old.log 2>&1; echo old rc=$? ) &
wait
grep -m5 -E 'error' $OUT/build-new.log $OUT/build-old.log
for t in test_cuda_kernels test_fixed_shape_step test_precision test_nonfinite_steps test_optimizer; do
  ./build-gpu/tests/$t 2>&1 | grep -E '^\[  (PASSED|FAILED|SKIPPED)|FAILED  \]|tests ran|Failure|Expected|Which is|actual' | sed "s/^/$t: /"
done | tee $OUT/gpu-tests.log
./build-gpu/ftmamba generate --preset spotify --pairs 160000 --seed 1 --out /tmp/spotify >/dev/null
for r in 1 2 3 4 5; do
  for b in build-base build-gpu; do
    for m in ft-mamba ft-transformer; do
    $b/bench/bench_train --device cuda --data /tmp/spotify --model $m --d 128 --batch 2048 --steps 40 --warmup 5 2>/dev/null \
      | sed "s/^{/{\"build\": \"$b\", \"round\": $r, /" >> $OUT/train.jsonl
    done
  done
done
echo finished
