// defines: the CPU kernels' shared work split (a work item is one batch row and a contiguous group of
// channels) and thread_scratch, a per-thread buffer that outlives the call (no fresh pages on later calls).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#ifndef FTMAMBA_KERNEL_ISA
#error "FTMAMBA_KERNEL_ISA names the instruction-set path this source is compiled for (see cpu_path.h)"
#endif

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {

// Rows alone suffice once batch >= threads; otherwise each row is split into enough channel groups to
// give every thread work.
inline int64_t channel_groups(int64_t batch, int64_t channels, int threads) {
  if (batch >= threads) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(channels, (threads + batch - 1) / batch));
}

// First channel of group g of `groups` over `channels` channels.
inline int64_t group_begin(int64_t g, int64_t groups, int64_t channels) { return g * channels / groups; }

// The storage behind thread_scratch. Not a std::vector: its destructor, registered for thread exit, is
// emitted out of line, and a std:: one compiled for AVX-512 could be the copy the linker keeps for the
// whole program. This type's name carries the path's namespace, so each path keeps its own.
template <typename T>
struct ScratchBuffer {
  T* data = nullptr;
  std::size_t size = 0;
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { delete[] data; }
};

// A buffer of at least n elements owned by the calling (pooled OpenMP) thread, zeroed when it grows (its
// earlier contents are not kept then). Tag separates kernels so one kernel's buffer is not resized under another's.
template <typename T, typename Tag>
T* thread_scratch(std::size_t n) {
  thread_local ScratchBuffer<T> buf;
  if (buf.size < n) {
    delete[] buf.data;
    buf.data = nullptr;  // stays valid (empty) if the allocation throws
    buf.size = 0;
    buf.data = new T[n]();
    buf.size = n;
  }
  return buf.data;
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
