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

// The storage behind thread_scratch: std::vector<T>::resize for a trivial T, written out. Not a std::vector: its
// destructor, registered for thread exit, is emitted out of line, and a std:: one compiled for AVX-512 could be
// the copy the linker keeps for the whole program. This type's name carries the path's namespace, so each path
// keeps its own. It grows as the vector did (to max(2 size, n), contents kept, new elements zeroed), so the
// kernels' allocations are the same as before.
template <typename T>
struct ScratchBuffer {
  T* data = nullptr;
  std::size_t size = 0, capacity = 0;
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { delete[] data; }

  void resize(std::size_t n) {
    if (n <= size) return;
    if (n > capacity) {
      const std::size_t grown = size + std::max(size, n - size);
      T* fresh = new T[grown];
      std::copy(data, data + size, fresh);
      delete[] data;
      data = fresh;
      capacity = grown;
    }
    std::fill(data + size, data + n, T(0));
    size = n;
  }
};

// A buffer of at least n elements owned by the calling (pooled OpenMP) thread. Tag separates kernels so one
// kernel's buffer is not resized under another's.
template <typename T, typename Tag>
T* thread_scratch(std::size_t n) {
  thread_local ScratchBuffer<T> buf;
  buf.resize(n);
  return buf.data;
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
