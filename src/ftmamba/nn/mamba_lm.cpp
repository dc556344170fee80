#include "ftmamba/nn/mamba_lm.h"

#include <stdexcept>

#include "ftmamba/nn/recompute_in_backward.h"
#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/decode_layers.h"
#include "ftmamba/ops/decode_linear.h"

namespace ftmamba::nn {
namespace {

struct NamedShape {
  const char* name;
  int64_t n_layers, d_model;
};
constexpr NamedShape kShapes[] = {{"130m", 24, 768}, {"370m", 48, 1024}, {"790m", 48, 1536}, {"1.4b", 48, 2048}};

}  // namespace

MambaLMConfig mamba_lm_shape(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) {
      MambaLMConfig c;
      c.n_layers = s.n_layers;
      c.d_model = s.d_model;
      return c;
    }
  std::string known;
  for (const auto& s : kShapes) known += std::string(known.empty() ? "" : ", ") + s.name;
  throw std::invalid_argument("unknown Mamba LM shape '" + name + "' (known: " + known + ")");
}

std::vector<std::string> mamba_lm_shape_names() {
  std::vector<std::string> names;
  for (const auto& s : kShapes) names.emplace_back(s.name);
  return names;
}

MambaLMImpl::MambaLMImpl(const MambaLMConfig& c) : cfg(c) {
  if (cfg.vocab_size < 2 || cfg.d_model < 1 || cfg.n_layers < 1)
    throw std::invalid_argument("MambaLM needs vocab_size >= 2, d_model >= 1 and n_layers >= 1");
  cfg.mixer.d_model = cfg.d_model;
  embedding = register_module("embedding", torch::nn::Embedding(cfg.vocab_size, cfg.d_model));
  {
    // mamba_ssm initialises the embedding with std 0.02 (GPT-2's), not nn.Embedding's N(0, 1).
    torch::NoGradGuard no_grad;
    embedding->weight.normal_(0.0, 0.02);
  }
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layers; ++i) layers->push_back(MambaResidualLayer(cfg.mixer));
  norm_f = register_module("norm_f", RMSNorm(cfg.d_model));
}

torch::Tensor MambaLMImpl::hidden_states(const torch::Tensor& tokens) {
  // The residual stream in the norms' dtype (float32 unless the whole model is bf16), also when the embedding
  // is held in a lower precision.
  auto x = embedding(tokens).to(norm_f->weight.scalar_type());  // (batch, L, d)
  for (const auto& layer : *layers) {
    auto* block = layer->as<MambaResidualLayer>();
    x = gradient_checkpointing && is_training()
            ? recompute_in_backward([block](const torch::Tensor& in) { return block->forward(in); }, x)
            : block->forward(x);
  }
  return norm_f(x);
}

torch::Tensor MambaLMImpl::forward(const torch::Tensor& tokens) {
  return torch::linear(hidden_states(tokens), embedding->weight);  // (batch, L, vocab); autocast: its dtype
}

torch::Tensor MambaLMImpl::prefill(const torch::Tensor& tokens, std::vector<MambaState>& state) {
  state.assign(layers->size(), MambaState{});
  auto x = embedding(tokens).to(norm_f->weight.scalar_type());  // (batch, L, d)
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* layer = layers[i]->as<MambaResidualLayer>();
    x = x + layer->mixer->forward_with_state(layer->norm->forward_for_matmul(x), state[i]);
  }
  return torch::linear(norm_f(x.select(1, x.size(1) - 1)), embedding->weight).to(torch::kFloat32);  // (batch, vocab)
}

std::vector<ops::DecodeLayer> MambaLMImpl::decode_layers(std::vector<MambaState>& state) {
  std::vector<ops::DecodeLayer> out;
  if (state.size() != layers->size()) return out;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* layer = layers[i]->as<MambaResidualLayer>();
    auto& m = *layer->mixer;
    if (m.in_proj->has_lora() || m.x_proj->has_lora() || m.dt_proj->has_lora() || m.out_proj->has_lora() ||
        m.in_proj->bias.defined() || m.x_proj->bias.defined() || m.out_proj->bias.defined())
      return {};
    ops::DecodeLayer l;
    l.norm_weight = layer->norm->weight;
    l.eps = layer->norm->eps;
    l.in_proj = m.in_proj->weight;
    l.conv_weight = m.conv1d->weight.view({m.cfg.d_inner(), m.cfg.d_conv});
    l.conv_bias = m.conv1d->bias;
    l.x_proj = m.x_proj->weight;
    l.dt_proj = m.dt_proj->weight;
    l.dt_bias = m.dt_proj->bias;
    l.A_log = m.A_log;
    l.D = m.D;
    l.out_proj = m.out_proj->weight;
    l.conv_state = &state[i].conv;
    l.ssm_state = &state[i].ssm;
    out.push_back(std::move(l));
  }
  return out;
}

torch::Tensor MambaLMImpl::step(const torch::Tensor& tokens, std::vector<MambaState>& state) {
  // The residual stream x, (batch, d) in the norms' dtype; each layer's output is added to it by the next norm, in
  // the same call as the norm and the matmul after it (ops::add_rms_norm_linear: one kernel on a GPU).
  auto x = embedding(tokens).to(norm_f->weight.scalar_type()).contiguous();
  torch::Tensor pending;  // the last layer's output, not yet added to x
  if (fused_decode) {
    const auto fused = decode_layers(state);
    if (ops::decode_layers_fused(x, fused)) {
      auto r = ops::decode_layers(x, fused);
      return ops::add_rms_norm_linear(r.residual, r.delta, norm_f->weight, norm_f->eps, embedding->weight)
          .out.to(torch::kFloat32);  // (batch, vocab)
    }
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* layer = layers[i]->as<MambaResidualLayer>();
    auto& in_proj = layer->mixer->in_proj;
    torch::Tensor xz;           // (batch, 2 d_inner)
    if (in_proj->has_lora()) {  // the adapter reads the norm's output
      xz = in_proj->forward_rows(
          ops::add_rms_norm(x, pending, layer->norm->weight, layer->norm->eps, in_proj->weight.scalar_type()));
    } else {
      auto r = ops::add_rms_norm_linear(x, pending, layer->norm->weight, layer->norm->eps, in_proj->weight);
      xz = r.out;
      x = r.residual;
    }
    pending = layer->mixer->step_from_in_proj(xz, state.at(i));
  }
  return ops::add_rms_norm_linear(x, pending, norm_f->weight, norm_f->eps, embedding->weight)
      .out.to(torch::kFloat32);  // (batch, vocab)
}

int64_t cast_frozen_weights(torch::nn::Module& model, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  int64_t n = 0;
  for (auto& item : model.named_parameters()) {
    auto& p = item.value();
    const std::string& key = item.key();
    const bool matrix = key == "embedding.weight" || key.ends_with("_proj.weight");
    if (!matrix || p.requires_grad() || !p.is_floating_point()) continue;
    p.set_data(p.to(dtype));
    ++n;
  }
  return n;
}

}  // namespace ftmamba::nn
