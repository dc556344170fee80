// defines: set_cpu_threads(n), which sets LibTorch's intra-op threads and, when the BLAS is OpenBLAS,
// its own thread pool too. OpenBLAS otherwise starts one spinning thread per vCPU; on machines whose vCPUs
// share one physical core those threads steal the core from the main thread (measured: ~17% of the time
// in sched_yield during training, see docs/BENCHMARKS.md); and even one worker spins for about 0.1 s after each
// product while ftmamba's own kernels want the core, so the first call also has OpenBLAS's workers sleep soon
// after a product (OPENBLAS_THREAD_TIMEOUT 4 unless the environment sets it). And override_cpu_threads, behind the
// --threads option of the commands that load a run: the count given there outranks the run's train.threads.
#pragma once

namespace ftmamba {

// n > 0: n threads; n <= 0: leaves LibTorch's default (every core) in place.
void set_cpu_threads(int n);

// From now on set_cpu_threads(x) uses n instead of x, for the life of the process (0: every core, LibTorch's
// default). Call it before anything else sets the threads.
void override_cpu_threads(int n);

}  // namespace ftmamba
