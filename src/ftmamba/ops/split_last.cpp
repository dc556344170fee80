// defines: split_last (see split_last.h).
#include "ftmamba/ops/split_last.h"

namespace ftmamba::ops {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct SplitLastFn : torch::autograd::Function<SplitLastFn> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& t, const std::vector<int64_t>& widths) {
    ctx->saved_data["widths"] = widths;
    tensor_list parts;
    int64_t offset = 0;
    for (int64_t w : widths) {
      parts.push_back(t.narrow(-1, offset, w));
      offset += w;
    }
    return parts;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto widths = ctx->saved_data["widths"].toIntVector();
    const Tensor* like = nullptr;
    for (const Tensor& g : grads)
      if (g.defined()) like = &g;
    if (!like) return {Tensor(), Tensor()};
    tensor_list parts;
    for (size_t i = 0; i < grads.size(); ++i) {
      if (grads[i].defined()) {
        parts.push_back(grads[i]);
      } else {
        auto sizes = like->sizes().vec();
        sizes.back() = widths[i];
        parts.push_back(torch::zeros(sizes, like->options()));
      }
    }
    return {torch::cat(parts, -1), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> split_last(const Tensor& t, const std::vector<int64_t>& widths) {
  int64_t total = 0;
  for (int64_t w : widths) {
    TORCH_CHECK(w >= 0, "split_last: negative width");
    total += w;
  }
  TORCH_CHECK(t.dim() >= 1 && t.size(-1) == total, "split_last: the widths sum to ", total, ", the last dimension is ",
              t.size(-1));
  return SplitLastFn::apply(t, widths);
}

}  // namespace ftmamba::ops
