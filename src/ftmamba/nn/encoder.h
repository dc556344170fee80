// defines: EncoderConfig, TowerEncoder (the interface every tower implements: features -> embedding) and
// make_encoder, which builds the tower a config names (ft-mamba, ft-transformer, ft-transformer-stock).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ftmamba::nn {

// Shape of one side's encoded features, from data::FeatureEncoding.
struct FeatureShape {
  int64_t n_numerical = 0;
  int64_t n_categorical = 0;
  int64_t n_categories = 0;  // size of the shared categorical embedding table
};

struct EncoderConfig {
  std::string type = "ft-mamba";  // ft-mamba | ft-transformer (rtdl) | ft-transformer-stock
  int64_t d_token = 64;
  int64_t n_layers = 2;
  // Mamba only
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  // Transformer only (rtdl's defaults)
  int64_t n_heads = 8;
  int64_t d_ffn = 0;  // FFN hidden width; 0 = d_token*4/3 (rtdl ReGLU) or 2048 (stock)
  double attention_dropout = 0.2;
  double ffn_dropout = 0.1;
  double residual_dropout = 0.0;
  // Both
  int64_t embed_dim = 64;     // output size of the head; 0 = no head (embedding = [CLS] state)
  bool l2_normalize = true;
};

// The encoder types make_encoder knows, in documentation order.
const std::vector<std::string>& encoder_types();

class TowerEncoder : public torch::nn::Module {
 public:
  // numerical, missing: (batch, n_num) float; categorical: (batch, n_cat) int64 -> (batch, embed)
  virtual torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                                const torch::Tensor& categorical) = 0;
  virtual int64_t embedding_dim() const = 0;
};

std::shared_ptr<TowerEncoder> make_encoder(const EncoderConfig& cfg, const FeatureShape& shape);

}  // namespace ftmamba::nn
