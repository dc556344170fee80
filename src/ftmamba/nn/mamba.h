// defines: MambaConfig and Mamba, the selective state-space mixer of mamba_ssm's mamba_simple.Mamba (v1),
// with the same parameter names: in_proj, conv1d, x_proj, dt_proj, out_proj, A_log, D.
#pragma once
#include <torch/torch.h>

#include "ftmamba/nn/projection.h"

namespace ftmamba::nn {

struct MambaConfig {
  int64_t d_model = 64;
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t dt_rank = 0;  // 0 = ceil(d_model / 16)
  double dt_min = 1e-3, dt_max = 1e-1, dt_init_floor = 1e-4;
  int64_t d_inner() const { return expand * d_model; }
  int64_t rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }
};

// The recurrent state of one mixer after a prefix of tokens, what generation carries from one token to the next.
struct MambaState {
  torch::Tensor conv;  // (batch, d_conv - 1, d_inner): the conv's last inputs, oldest first (zeros before the start)
  torch::Tensor ssm;   // (batch, d_inner, d_state), float32: the scan's state after the last token
};

class MambaImpl : public torch::nn::Module {
 public:
  explicit MambaImpl(const MambaConfig& cfg);
  torch::Tensor forward(const torch::Tensor& u);  // (batch, L, d_model) -> (batch, L, d_model)
  // The output at the last position only, (batch, L, d_model) -> (batch, d_model); equal to
  // forward(u).select(1, L - 1). The scan still runs over every position, but the gate half of in_proj
  // and out_proj run once per row instead of L times.
  torch::Tensor forward_last(const torch::Tensor& u);
  // forward(u), and the state after the last token of u (from a zero state: a prompt's prefill, with the fused
  // scan for the outputs and ops::selective_scan_last_state for the state).
  torch::Tensor forward_with_state(const torch::Tensor& u, MambaState& state);
  // One token after `state`, which moves on by it in place: u_t (batch, d_model) -> (batch, d_model). O(1) in the
  // length so far: the conv over its window, then h = exp(dt A) h + dt B u, y = (<C, h> + D u) silu(z).
  torch::Tensor step(const torch::Tensor& u_t, MambaState& state);
  // step() after in_proj: xz = in_proj(u_t), (batch, 2 d_inner) -> (batch, d_model). On a GPU, without a LoRA
  // x_proj: three kernels, x_proj with the conv before it (ops::conv_linear), the SSM step with the window's advance
  // (ops::ssm_step), out_proj (ops::linear_rows).
  torch::Tensor step_from_in_proj(const torch::Tensor& xz, MambaState& state);
  // The scan's time steps for input u: dt = softplus(dt_proj(x_proj(conv(in_proj(u)_x))) + dt_bias),
  // (batch, L, d_model) -> (batch, L, d_inner). Each step multiplies state (d, n) by exp(dt[t, d] A[d, n]),
  // which is what the stability analysis reads.
  torch::Tensor time_steps(const torch::Tensor& u);

  MambaConfig cfg;
  Projection in_proj{nullptr}, x_proj{nullptr}, dt_proj{nullptr}, out_proj{nullptr};
  torch::nn::Conv1d conv1d{nullptr};  // depthwise, weight (d_inner, 1, d_conv); run by our causal kernel
  torch::Tensor A_log;                // (d_inner, d_state), A = -exp(A_log)
  torch::Tensor D;                    // (d_inner)

 private:
  // conv1d + SiLU, x_proj, dt_proj and the selective scan: xz (batch, L, 2 d_inner), in_proj's [x | z], when gated,
  // or x (batch, L, d_inner) alone, when not -> y (batch, L, d_inner). last_state, when given, receives the scan's
  // state after the last position (batch, d_inner, N), from ops::selective_scan_last_state: a prompt's prefill.
  // Without last_state, one autograd node (ops::mamba_mix), which keeps less for the backward, an adapter on x_proj
  // or dt_proj taken as the weight it applies; with last_state, or an adapter's dropout active, the ops written out.
  torch::Tensor mix(const torch::Tensor& xz, bool gated, torch::Tensor* last_state = nullptr);
};
TORCH_MODULE(Mamba);

}  // namespace ftmamba::nn
