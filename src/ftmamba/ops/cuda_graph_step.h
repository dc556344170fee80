// defines: CudaGraphStep, the one way a fixed-shape step (a training step, a language model's decode step) is
// captured in a CUDA graph and replayed. The first `warmup` steps run eagerly (they create what is made lazily on
// first use: cuBLAS handles and workspaces, kernel attributes, none of which may happen during capture), then the
// step is captured once and every later step replays it: one launch a step instead of hundreds or thousands of
// small kernels, each with its dispatch (and autograd) cost on the host. All of it runs on a side stream that first
// waits for the work already queued on the device's stream.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>

namespace ftmamba::ops {

class CudaGraphStep {
 public:
  // step: queues one whole step that reads only tensors of fixed address (its inputs are copied into
  // them by stage()) and synchronises nothing with the host; returns its output (a training step's () loss, a
  // decode step's logits).
  // before_capture: runs once, just before capture (zeroing the gradients, so that the captured backward
  // allocates them from the graph's pool).
  CudaGraphStep(torch::Device device, int warmup, std::function<torch::Tensor()> step,
                std::function<void()> before_capture);
  ~CudaGraphStep();
  CudaGraphStep(const CudaGraphStep&) = delete;
  CudaGraphStep& operator=(const CudaGraphStep&) = delete;

  // Runs `f` on the side stream, after what is queued on the device's stream: copying the next step's inputs.
  void stage(const std::function<void()>& f);
  // Captures the step now if the warm-up is over and it is not captured yet (so that a caller timing step()
  // leaves the capture out); step() otherwise captures when it first needs to.
  void capture_if_due();
  // One step: eager during the warm-up, then the graph's replay. Returns the output, overwritten by the next
  // replay; the device's stream waits for the step, so the output can be read there.
  torch::Tensor step();
  bool captured() const;
  // This build can capture CUDA graphs.
  static bool supported();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ftmamba::ops
