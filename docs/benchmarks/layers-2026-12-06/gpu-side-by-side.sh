#!/usr/bin/env bash
# GPU: build the current tree and the base commit (bdff7b1) side by side, run the GPU tests of the current tree,
# then time both builds interleaved (kernels, two-tower training, LM fine-tuning step). Everything to $OUT.
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
T=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/gpu.txt
conf() { cmake -S $1 -B $2 -G Ninja -DCMAKE_BUILD_TYPE=Release -DFTMAMBA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
  -DCMAKE_PREFIX_PATH="$T;$PWD/.gpu/deps" > $OUT/cmake-$3.log 2>&1 || tail -20 $OUT/cmake-$3.log; }
conf . build-gpu new; conf .gpu/base build-base old
NEWT="ftmamba bench_cuda_kernels bench_train test_cuda_kernels test_fixed_shape_step test_precision test_scan_launch_plan test_device"
( cmake --build build-gpu -j10 --target $NEWT -- -k 0 > $OUT/build-new.log 2>&1; echo new rc=$? ) &
( cmake --build build-base -j6 --target ftmamba bench_cuda_kernels bench_train > $OUT/build-old.log 2>&1; echo old rc=$? ) &
wait
grep -m5 -E 'error' $OUT/build-new.log $OUT/build-old.log
for t in test_cuda_kernels test_fixed_shape_step test_precision test_scan_launch_plan test_device; do
  ./build-gpu/tests/$t 2>&1 | grep -E '^\[  (PASSED|FAILED|SKIPPED)|FAILED  \]|tests ran' | sed "s/^/$t: /"
done | tee $OUT/gpu-tests.log
[ -f data/spotify/interactions.csv ] || ./build-base/ftmamba generate --preset spotify --pairs 160000 --seed 1 --out data/spotify >/dev/null
for r in 1 2 3; do
  for b in build-base build-gpu; do
    $b/bench/bench_cuda_kernels --shape 2048x13x256x16 2>/dev/null | sed "s/^{/{\"build\": \"$b\", \"round\": $r, /" >> $OUT/kernels.jsonl
    $b/bench/bench_train --device cuda --data data/spotify --model ft-mamba --d 128 --batch 2048 --steps 30 --warmup 5 2>/dev/null \
      | sed "s/^{/{\"build\": \"$b\", \"round\": $r, /" >> $OUT/train.jsonl
  done
done
for b in build-base build-gpu; do
  $b/ftmamba bench finetune --device cuda --shapes 130m --lengths 512 --batch 4 --variants lora-bf16,full-fp32 2>/dev/null \
    | sed "s/^{/{\"build\": \"$b\", /" >> $OUT/finetune.jsonl
done
echo finished
