// defines: recompute_in_backward (see recompute_in_backward.h).
#include "ftmamba/nn/recompute_in_backward.h"

#include <ATen/CPUGeneratorImpl.h>
#ifdef FTMAMBA_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include "ftmamba/ops/precision.h"

namespace ftmamba::nn {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// What the recompute must see as the forward saw it: the function, autocast, and the generators' states.
struct Recompute : torch::CustomClassHolder {
  std::function<Tensor(const Tensor&)> f;
  ops::AutocastSetting autocast;
  Tensor cpu_rng, cuda_rng;
  c10::Device device = torch::kCPU;
};

// The default generator of `device`'s type, as the dropout of a module on that device draws from it.
at::Generator default_generator(c10::Device device) {
#ifdef FTMAMBA_WITH_CUDA
  if (device.is_cuda()) return at::cuda::detail::getDefaultCUDAGenerator(device.index());
#endif
  (void)device;
  return at::detail::getDefaultCPUGenerator();
}

struct RecomputeFn : torch::autograd::Function<RecomputeFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, c10::intrusive_ptr<Recompute> r) {
    r->device = x.device();
    r->autocast = ops::current_autocast(x.device().type());
    r->cpu_rng = default_generator(torch::kCPU).get_state();
    if (!x.device().is_cpu()) r->cuda_rng = default_generator(x.device()).get_state();
    ctx->save_for_backward({x});
    ctx->saved_data["recompute"] = c10::IValue::make_capsule(r);
    torch::NoGradGuard no_grad;
    return r->f(x);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto r = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    // The generators as the forward found them, for the recompute only.
    const Tensor cpu_now = default_generator(torch::kCPU).get_state();
    const Tensor cuda_now = r->cuda_rng.defined() ? default_generator(r->device).get_state() : Tensor();
    default_generator(torch::kCPU).set_state(r->cpu_rng);
    if (r->cuda_rng.defined()) default_generator(r->device).set_state(r->cuda_rng);
    Tensor y;
    {
      torch::AutoGradMode grad_on(true);
      ops::AutocastScope autocast(r->autocast);
      y = r->f(x);
    }
    default_generator(torch::kCPU).set_state(cpu_now);
    if (cuda_now.defined()) default_generator(r->device).set_state(cuda_now);
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), Tensor()};
  }
};

}  // namespace

Tensor recompute_in_backward(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  if (!torch::GradMode::is_enabled()) return f(x);
  auto r = c10::make_intrusive<Recompute>();
  r->f = f;
  // The backward reaches the block only through x: with a frozen embedding in front (LoRA), x needs a gradient
  // of its own for the block's adapters to get theirs.
  const Tensor in = x.requires_grad() ? x : x.detach().requires_grad_(true);
  return RecomputeFn::apply(in, r);
}

}  // namespace ftmamba::nn
