// defines: EncoderConfig, TowerEncoder (the interface every tower implements: features -> embedding) and
// make_encoder, which builds the tower a config names (ft-mamba, ft-transformer, ft-transformer-stock).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "ftmamba/core/enum_text.h"

namespace ftmamba::nn {

enum class EncoderType {
  kFtMamba,            // FeatureTokenizer -> Mamba layers (the paper's model)
  kFtTransformer,      // rtdl's FT-Transformer (ReGLU FFN of d_token * 4/3)
  kFtTransformerStock  // the same with a stock Transformer layer (ReLU FFN of 2048)
};

}  // namespace ftmamba::nn

template <>
struct ftmamba::EnumText<ftmamba::nn::EncoderType> {
  static constexpr std::string_view what = "model";
  static constexpr std::array<std::pair<nn::EncoderType, std::string_view>, 3> names{{
      {nn::EncoderType::kFtMamba, "ft-mamba"},
      {nn::EncoderType::kFtTransformer, "ft-transformer"},
      {nn::EncoderType::kFtTransformerStock, "ft-transformer-stock"},
  }};
};

namespace ftmamba::nn {

// Shape of one side's encoded features, from data::FeatureEncoding.
struct FeatureShape {
  int64_t n_numerical = 0;
  int64_t n_categorical = 0;
  int64_t n_categories = 0;  // size of the shared categorical embedding table
  // The categorical columns of each multi-valued feature, after the n_categorical single-valued ones.
  std::vector<int64_t> multi_valued_widths;
};

struct EncoderConfig {
  EncoderType type = EncoderType::kFtMamba;
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
  int64_t embed_dim = 64;  // output size of the head; 0 = no head (embedding = [CLS] state)
  bool l2_normalize = true;
};

class TowerEncoder : public torch::nn::Module {
 public:
  // numerical, missing: (batch, n_num) float; categorical: (batch, n_cat + multi-valued widths) int64
  // -> (batch, embed)
  virtual torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                                const torch::Tensor& categorical) = 0;
  virtual int64_t embedding_dim() const = 0;
};

std::shared_ptr<TowerEncoder> make_encoder(const EncoderConfig& cfg, const FeatureShape& shape);

}  // namespace ftmamba::nn
