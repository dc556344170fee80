// defines: FeatureTokenizer, which turns one entity's numerical, categorical and multi-valued categorical
// features into a sequence of d_token vectors (one token per feature) followed by a learned [CLS] token, last.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "ftmamba/nn/encoder.h"

namespace ftmamba::nn {

class FeatureTokenizerImpl : public torch::nn::Module {
 public:
  // shape.n_categories: size of the shared embedding table (all features' vocabularies, offsets applied).
  FeatureTokenizerImpl(const FeatureShape& shape, int64_t d_token);

  // numerical, missing: (batch, n_num) float; categorical: (batch, n_cat + sum of the multi-valued widths)
  // int64, -1 padding a multi-valued feature's unused columns.
  // Returns (batch, n_num + n_cat + n_multi + 1, d_token): numerical, categorical, multi-valued tokens, [CLS].
  torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing, const torch::Tensor& categorical);
  int64_t n_tokens() const { return n_num_ + n_cat_ + static_cast<int64_t>(multi_widths_.size()) + 1; }

  // T_j = x_j * num_weight[j] + num_bias[j] + missing_j * num_missing[j]
  torch::Tensor num_weight, num_bias, num_missing;  // (n_num, d)
  // Single-valued: T_j = cat_embeddings[c_j] + cat_bias[j].
  // Multi-valued: T_j = mean of cat_embeddings[v] over the cell's values v + cat_bias[n_cat + j].
  torch::Tensor cat_embeddings;  // (n_categories, d)
  torch::Tensor cat_bias;        // (n_cat + n_multi, d)
  torch::Tensor cls_token;       // (d)

 private:
  int64_t n_num_, n_cat_;
  std::vector<int64_t> multi_widths_;
};
TORCH_MODULE(FeatureTokenizer);

}  // namespace ftmamba::nn
