// defines: keep_memory_resident(), which stops glibc from returning freed memory to the OS. On these
// machines a first touch of a fresh page costs ~10 us, so a training loop that frees and re-allocates its
// large tensors every step would otherwise pay page faults every step (see docs/BENCHMARKS.md).
#pragma once

namespace ftmamba {
void keep_memory_resident();
}
