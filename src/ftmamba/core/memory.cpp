#include "ftmamba/core/memory.h"

#include <malloc.h>

namespace ftmamba {

void keep_memory_resident() {
  // Serve every allocation from the heap (no per-tensor mmap/munmap) and never trim the heap's top,
  // so freed blocks stay mapped and are reused on the next step.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace ftmamba
