// defines: Bf16, a bfloat16 value as its 16 bits (the upper half of a float32), for the CPU kernels' activations
// in mixed precision. Layout-compatible with LibTorch's at::BFloat16, whose data the ops layer passes in.
#pragma once
#include <cstdint>

namespace ftmamba::kernels {

struct Bf16 {
  std::uint16_t bits;
};
static_assert(sizeof(Bf16) == 2 && alignof(Bf16) == 2);

}  // namespace ftmamba::kernels
