// defines: FeatureTokenizer, which turns one entity's numerical and categorical features into a sequence
// of d_token vectors (one token per feature) followed by a learned [CLS] token, last.
#pragma once
#include <torch/torch.h>

namespace ftmamba::nn {

class FeatureTokenizerImpl : public torch::nn::Module {
 public:
  // n_categories: size of the shared embedding table (all features' vocabularies, offsets applied).
  FeatureTokenizerImpl(int64_t n_numerical, int64_t n_categorical, int64_t n_categories, int64_t d_token);

  // numerical, missing: (batch, n_num) float; categorical: (batch, n_cat) int64
  // returns (batch, n_num + n_cat + 1, d_token): numerical tokens, categorical tokens, [CLS]
  torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing, const torch::Tensor& categorical);
  int64_t n_tokens() const { return n_num_ + n_cat_ + 1; }

  // T_j = x_j * num_weight[j] + num_bias[j] + missing_j * num_missing[j]
  torch::Tensor num_weight, num_bias, num_missing;  // (n_num, d)
  // T_j = cat_embeddings[c_j] + cat_bias[j]
  torch::Tensor cat_embeddings;  // (n_categories, d)
  torch::Tensor cat_bias;        // (n_cat, d)
  torch::Tensor cls_token;       // (d)

 private:
  int64_t n_num_, n_cat_;
};
TORCH_MODULE(FeatureTokenizer);

}  // namespace ftmamba::nn
