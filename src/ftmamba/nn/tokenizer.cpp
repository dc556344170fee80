#include "ftmamba/nn/tokenizer.h"

#include <cmath>

namespace ftmamba::nn {

FeatureTokenizerImpl::FeatureTokenizerImpl(const FeatureShape& shape, int64_t d_token)
    : n_num_(shape.n_numerical), n_cat_(shape.n_categorical), multi_widths_(shape.multi_valued_widths) {
  const int64_t n_categories = shape.n_categories, n_multi = static_cast<int64_t>(multi_widths_.size());
  // rtdl's initialisation: every tokenizer parameter ~ U(+-1/sqrt(d)).
  const double s = 1.0 / std::sqrt(static_cast<double>(d_token));
  auto uniform = [&](std::vector<int64_t> shape) { return torch::empty(shape).uniform_(-s, s); };
  num_weight = register_parameter("num_weight", uniform({n_num_, d_token}));
  num_bias = register_parameter("num_bias", uniform({n_num_, d_token}));
  num_missing = register_parameter("num_missing", uniform({n_num_, d_token}));
  cat_embeddings = register_parameter("cat_embeddings", uniform({std::max<int64_t>(n_categories, 1), d_token}));
  cat_bias = register_parameter("cat_bias", uniform({n_cat_ + n_multi, d_token}));
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
    auto e = cat_embeddings.index_select(0, categorical.narrow(1, 0, n_cat_).reshape({-1})).view({batch, n_cat_, -1});
    parts.push_back(e + cat_bias.narrow(0, 0, n_cat_));  // (batch, n_cat, d)
  }
  if (!multi_widths_.empty()) {
    // Every value column at once: pads (-1) gather row 0 and are zeroed by the mask. Fixed shapes, so a CUDA
    // graph can capture it.
    const int64_t width = categorical.size(1) - n_cat_;
    const auto ids = categorical.narrow(1, n_cat_, width);                          // (batch, W)
    const auto present = ids.ge(0).to(cat_embeddings.scalar_type()).unsqueeze(-1);  // (batch, W, 1)
    const auto e = cat_embeddings.index_select(0, ids.clamp_min(0).reshape({-1})).view({batch, width, -1}) * present;
    std::vector<torch::Tensor> tokens;
    int64_t start = 0;
    for (const int64_t w : multi_widths_) {  // the mean over each feature's present values (at least one)
      tokens.push_back(e.narrow(1, start, w).sum(1) / present.narrow(1, start, w).sum(1).clamp_min(1.0));
      start += w;
    }
    parts.push_back(torch::stack(tokens, 1) + cat_bias.narrow(0, n_cat_, multi_widths_.size()));  // (batch, n_multi, d)
  }
  parts.push_back(cls_token.view({1, 1, -1}).expand({batch, 1, cls_token.size(0)}));
  return torch::cat(parts, 1);  // (batch, n_num + n_cat + 1, d)
}

}  // namespace ftmamba::nn
