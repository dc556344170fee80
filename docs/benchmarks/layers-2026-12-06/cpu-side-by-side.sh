export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=67108864
for r in 1 2 3 4 5; do
  for b in /work/base/build /work/main/build; do
    for m in ft-mamba ft-transformer; do
      $b/bench/bench_train --data data --model $m --steps 30 2>/dev/null | sed "s|^{|{\"build\": \"$b\", \"round\": $r, |"
    done
  done
done
