#include "ftmamba/nn/tokenizer.h"

#include <cmath>

namespace ftmamba::nn {

FeatureTokenizerImpl::FeatureTokenizerImpl(int64_t n_numerical, int64_t n_categorical, int64_t n_categories,
                                           int64_t d_token)
    : n_num_(n_numerical), n_cat_(n_categorical) {
  // rtdl's initialisation: every tokenizer parameter ~ U(+-1/sqrt(d)).
  const double s = 1.0 / std::sqrt(static_cast<double>(d_token));
  auto uniform = [&](std::vector<int64_t> shape) { return torch::empty(shape).uniform_(-s, s); };
  num_weight = register_parameter("num_weight", uniform({n_num_, d_token}));
  num_bias = register_parameter("num_bias", uniform({n_num_, d_token}));
  num_missing = register_parameter("num_missing", uniform({n_num_, d_token}));
  cat_embeddings = register_parameter("cat_embeddings", uniform({std::max<int64_t>(n_categories, 1), d_token}));
  cat_bias = register_parameter("cat_bias", uniform({n_cat_, d_token}));
  cls_token = register_parameter("cls_token", uniform({d_token}));
}

torch::Tensor FeatureTokenizerImpl::forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                                            const torch::Tensor& categorical) {
  const int64_t batch = numerical.size(0);
  std::vector<torch::Tensor> parts;
  if (n_num_ > 0) {
    auto x = numerical.to(num_weight.scalar_type()).unsqueeze(-1);                             // (batch, n_num, 1)
    auto m = missing.to(num_weight.scalar_type()).unsqueeze(-1);                               // (batch, n_num, 1)
    parts.push_back(torch::addcmul(torch::addcmul(num_bias, x, num_weight), m, num_missing));  // (batch, n_num, d)
  }
  if (n_cat_ > 0) {
    auto e = cat_embeddings.index_select(0, categorical.reshape({-1})).view({batch, n_cat_, -1});
    parts.push_back(e + cat_bias);  // (batch, n_cat, d)
  }
  parts.push_back(cls_token.view({1, 1, -1}).expand({batch, 1, cls_token.size(0)}));
  return torch::cat(parts, 1);  // (batch, n_num + n_cat + 1, d)
}

}  // namespace ftmamba::nn
