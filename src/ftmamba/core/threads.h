// defines: set_cpu_threads(n), which sets LibTorch's intra-op threads and, when the BLAS is OpenBLAS,
// its own thread pool too. OpenBLAS otherwise starts one spinning thread per vCPU; on machines whose vCPUs
// share one physical core those threads steal the core from the main thread (measured: ~17% of the time
// in sched_yield during training, see docs/BENCHMARKS.md).
#pragma once

namespace ftmamba {
void set_cpu_threads(int n);
}
