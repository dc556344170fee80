// defines: heap_bytes_in_use, what the tests that measure what autograd keeps for a backward read before and after
// a forward on the CPU.
#pragma once
#include <malloc.h>

#include <cstdint>

namespace ftmamba::test {

// Bytes the C library's allocator has handed out and not had back (glibc's mallinfo2: heap and mmap blocks).
inline int64_t heap_bytes_in_use() {
  const auto m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

}  // namespace ftmamba::test
