#include "ftmamba/nn/ft_mamba.h"

namespace ftmamba::nn {

MambaResidualLayerImpl::MambaResidualLayerImpl(const MambaConfig& cfg) {
  mixer = register_module("mixer", Mamba(cfg));
  norm = register_module("norm", RMSNorm(cfg.d_model));
}

torch::Tensor MambaResidualLayerImpl::forward(const torch::Tensor& x) { return x + mixer(norm->forward_for_matmul(x)); }

torch::Tensor MambaResidualLayerImpl::forward_last(const torch::Tensor& x) {
  return x.select(1, x.size(1) - 1) + mixer->forward_last(norm->forward_for_matmul(x));
}

FTMambaEncoder::FTMambaEncoder(const EncoderConfig& cfg, const FeatureShape& shape) : cfg_(cfg) {
  tokenizer = register_module("tokenizer", FeatureTokenizer(shape, cfg.d_token));
  MambaConfig mc;
  mc.d_model = cfg.d_token;
  mc.d_state = cfg.d_state;
  mc.d_conv = cfg.d_conv;
  mc.expand = cfg.expand;
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layers; ++i) layers->push_back(MambaResidualLayer(mc));
  norm_f = register_module("norm_f", RMSNorm(cfg.d_token));
  if (cfg.embed_dim > 0) head = register_module("head", Projection(cfg.d_token, cfg.embed_dim, true));
}

torch::Tensor FTMambaEncoder::forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                                      const torch::Tensor& categorical) {
  return forward_tokens(tokenizer(numerical, missing, categorical));  // tokens: (batch, L, d)
}

torch::Tensor FTMambaEncoder::forward_tokens(const torch::Tensor& tokens) {
  torch::Tensor x = tokens;
  // Mamba is causal, so only the last position ([CLS]) has seen every feature, and only it is read: the
  // last layer computes that position alone (exact; the rtdl Transformer's last block does the same).
  const int64_t n = static_cast<int64_t>(layers->size());
  for (int64_t i = 0; i + 1 < n; ++i) x = layers[i]->as<MambaResidualLayer>()->forward(x);
  x = n > 0 ? layers[n - 1]->as<MambaResidualLayer>()->forward_last(x) : x.select(1, x.size(1) - 1);
  auto cls = norm_f(x);       // (batch, d)
  if (head) cls = head(cls);  // (batch, embed_dim)
  if (cfg_.l2_normalize)
    cls = torch::nn::functional::normalize(cls, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  return cls;
}

}  // namespace ftmamba::nn
