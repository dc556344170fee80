// defines: the CPU kernels' shared work split (a work item is one batch row and a contiguous group of
// channels) and thread_scratch, a per-thread buffer that outlives the call (no fresh pages on later calls).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ftmamba::kernels {

// Rows alone suffice once batch >= threads; otherwise each row is split into enough channel groups to
// give every thread work.
inline int64_t channel_groups(int64_t batch, int64_t channels, int threads) {
  if (batch >= threads) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(channels, (threads + batch - 1) / batch));
}

// First channel of group g of `groups` over `channels` channels.
inline int64_t group_begin(int64_t g, int64_t groups, int64_t channels) { return g * channels / groups; }

// A buffer of at least n elements owned by the calling (pooled OpenMP) thread. Tag separates kernels so
// one kernel's buffer is not resized under another's.
template <typename T, typename Tag>
T* thread_scratch(std::size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace ftmamba::kernels
