// defines: programmatic dependent launch (sm_90): a kernel launched with launch_dependent() may start while the
// kernel before it in the stream finishes; it must call wait_for_previous_kernel() before it reads what that kernel
// wrote or writes anything. Up to then it may read what no kernel writes (weights). Each such kernel also calls
// allow_next_kernel() early, so that its follower can start the same way. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

namespace ftmamba::kernels {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Launches kernel<<<grid, block, shared, stream>>>(args...) allowed to overlap the kernel before it (on devices
// before sm_90 the attribute is ignored and the launch is an ordinary one).
template <typename... KernelArgs, typename... Args>
cudaError_t launch_dependent(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared, cudaStream_t stream,
                             Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace ftmamba::kernels
