// defines: CudaGraphStep (see cuda_graph_step.h).
#include "ftmamba/ops/cuda_graph_step.h"

#include "ftmamba/core/error.h"

#ifdef FTMAMBA_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ftmamba::ops {

#ifdef FTMAMBA_WITH_CUDA
struct CudaGraphStep::Impl {
  torch::Device device;
  int warmup;
  std::function<torch::Tensor()> step;
  std::function<void()> before_capture;
  c10::cuda::CUDAStream stream;
  int eager_steps = 0;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  torch::Tensor output;  // written by every replay

  // Makes the side stream wait for what is queued on the device's current stream, then runs f on it.
  void on_stream(const std::function<void()>& f) {
    at::cuda::CUDAEvent ready;
    ready.record(c10::cuda::getCurrentCUDAStream(device.index()));
    ready.block(stream);
    c10::cuda::CUDAStreamGuard guard(stream);
    f();
  }
  void capture() {
    before_capture();
    graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin();
    output = step();
    graph->capture_end();
  }
};

CudaGraphStep::CudaGraphStep(torch::Device device, int warmup, std::function<torch::Tensor()> step,
                             std::function<void()> before_capture)
    : impl_(std::make_unique<Impl>(Impl{device, warmup, std::move(step), std::move(before_capture),
                                        c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()),
                                        /*eager_steps=*/0, /*graph=*/nullptr, /*output=*/torch::Tensor()})) {
  if (!device.is_cuda()) throw Error("a CUDA graph step needs a CUDA device, got " + device.str());
}

void CudaGraphStep::stage(const std::function<void()>& f) { impl_->on_stream(f); }

void CudaGraphStep::capture_if_due() {
  if (!impl_->graph && impl_->eager_steps >= impl_->warmup) impl_->on_stream([&] { impl_->capture(); });
}

torch::Tensor CudaGraphStep::step() {
  torch::Tensor out;
  impl_->on_stream([&] {
    if (!impl_->graph && impl_->eager_steps < impl_->warmup) {
      ++impl_->eager_steps;
      out = impl_->step();
      return;
    }
    if (!impl_->graph) impl_->capture();
    impl_->graph->replay();
    out = impl_->output;
  });
  // The device's stream waits for the step, so that reading the output there (.item(), a copy) sees it.
  at::cuda::CUDAEvent done;
  done.record(impl_->stream);
  done.block(c10::cuda::getCurrentCUDAStream(impl_->device.index()));
  return out;
}

bool CudaGraphStep::captured() const { return impl_->graph != nullptr; }
bool CudaGraphStep::supported() { return true; }
#else
struct CudaGraphStep::Impl {};

CudaGraphStep::CudaGraphStep(torch::Device, int, std::function<torch::Tensor()>, std::function<void()>) {
  throw Error("CUDA graphs need a build with the CUDA kernels (FTMAMBA_CUDA=ON)");
}
void CudaGraphStep::stage(const std::function<void()>&) {}
void CudaGraphStep::capture_if_due() {}
torch::Tensor CudaGraphStep::step() { return {}; }
bool CudaGraphStep::captured() const { return false; }
bool CudaGraphStep::supported() { return false; }
#endif

CudaGraphStep::~CudaGraphStep() = default;

}  // namespace ftmamba::ops
