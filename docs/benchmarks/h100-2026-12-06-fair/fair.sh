#!/usr/bin/env bash
# GPU: ftmamba's two-tower training beside the fair PyTorch peer, interleaved rounds. Everything to $OUT.
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
T=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/gpu.txt
python3 -c 'import torch;print("torch", torch.__version__)' | tee -a $OUT/gpu.txt
if [ ! -x build-gpu/bench/bench_train ]; then
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFTMAMBA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DFTMAMBA_TESTS=OFF -DCMAKE_PREFIX_PATH="$T;$PWD/.gpu/deps" > $OUT/cmake.log 2>&1 || tail -20 $OUT/cmake.log
  s=$(date +%s); cmake --build build-gpu -j16 --target ftmamba bench_train > $OUT/build.log 2>&1; echo build rc=$? $(( $(date +%s)-s ))s
  grep -m10 -E 'error:' $OUT/build.log
fi
B=build-gpu; DATA=/tmp/spotify; WORK=/tmp/fairwork
[ -f $DATA/interactions.csv ] || $B/ftmamba generate --preset spotify --pairs 160000 --seed 1 --out $DATA >/dev/null
if [ ! -f $WORK/items.safetensors ]; then
  mkdir -p $WORK
  $B/ftmamba train --quiet --device cuda --data $DATA --out $WORK/encoder-run --set train.epochs=1 --set train.valid_users=100 >/dev/null
  $B/ftmamba encode --run $WORK/encoder-run --side user --with-inputs --out $WORK/users.safetensors >/dev/null
  $B/ftmamba encode --run $WORK/encoder-run --side item --with-inputs --out $WORK/items.safetensors >/dev/null
fi
STEPS=${STEPS:-30}
for round in $(seq ${ROUNDS:-1}); do
  for cfg in ${CONFIGS:-paper}; do
    case $cfg in paper) d=128; b=2048;; demo) d=64; b=512;; esac
    for model in ft-mamba ft-transformer; do
      for prec in fp32 bf16; do
        timeout 120 $B/bench/bench_train --device cuda --data $DATA --model $model --d $d --batch $b --steps $STEPS --warmup 5 \
          --precision $prec | sed "s/^{/{\"round\": $round, \"config\": \"$cfg\", /" | tee -a $OUT/train.jsonl
      done
      for mode in "--compile --amp bf16" "--compile" "" ${EXTRA_MODES:-}; do
        timeout 240 python3 bench/pytorch_peer.py --device cuda --users $WORK/users.safetensors --items $WORK/items.safetensors \
          --data $DATA --model $model --d $d --batch $b --steps $STEPS --warmup 10 $mode 2>$OUT/peer-err.txt \
          | sed "s/^{/{\"round\": $round, \"config\": \"$cfg\", /" | tee -a $OUT/train.jsonl || tail -3 $OUT/peer-err.txt
      done
    done
  done
done
echo finished
