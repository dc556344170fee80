// ops::rms_norm under autograd: one node that keeps x and its reciprocal RMS. In float64 its output and both
// gradients against the norm written out as LibTorch ops (rms_norm_reference) on odd sizes, with a weight that
// trains and one that does not; and its output dtype under bf16 autocast (nn::RMSNorm::forward_for_matmul)
// against the reference rounded; and what autograd keeps for the backward, the point of the node.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ftmamba/nn/rms_norm.h"
#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/precision.h"
#include "heap_in_use.h"

namespace ops = ftmamba::ops;
namespace nn = ftmamba::nn;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(RmsNormNode, OutputAndGradientsEqualTheOpsWrittenOutInFloat64) {
  torch::manual_seed(4);
  for (const auto& shape : {std::vector<int64_t>{7}, std::vector<int64_t>{3, 5, 13}, std::vector<int64_t>{2, 33}}) {
    for (const bool weight_trains : {true, false}) {
      const int64_t dim = shape.back();
      const auto x0 = torch::randn(shape, kF64) * 3, w0 = torch::rand({dim}, kF64) + 0.5;
      const auto dy = torch::randn(shape, kF64);
      auto x1 = x0.clone().requires_grad_(), w1 = w0.clone().requires_grad_(weight_trains);
      auto x2 = x0.clone().requires_grad_(), w2 = w0.clone().requires_grad_(weight_trains);
      const auto got = ops::rms_norm(x1, w1, 1e-5), want = ops::rms_norm_reference(x2, w2, 1e-5);
      EXPECT_LT(max_diff(got, want), 1e-14);
      (got * dy).sum().backward();
      (want * dy).sum().backward();
      EXPECT_LT(max_diff(x1.grad(), x2.grad()), 1e-13);
      EXPECT_GT(x2.grad().abs().max().item<double>(), 1e-3);
      if (weight_trains) {
        EXPECT_LT(max_diff(w1.grad(), w2.grad()), 1e-12);
      } else {
        EXPECT_FALSE(w1.grad().defined());
      }
    }
  }
}

TEST(RmsNormNode, ForAMatmulUnderAutocastItIsInAutocastsDtype) {
  torch::manual_seed(5);
  nn::RMSNorm norm(24);
  {
    torch::NoGradGuard no_grad;
    norm->weight.uniform_(0.5, 1.5);
  }
  const auto x = torch::randn({3, 9, 24}).requires_grad_();
  EXPECT_EQ(norm->forward_for_matmul(x).scalar_type(), torch::kFloat32);  // no autocast: as forward
  ops::AutocastScope autocast(ops::Precision::kBf16, torch::kCPU);
  const auto y = norm->forward_for_matmul(x);
  ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(y, ops::rms_norm_reference(x, norm->weight, norm->eps).to(torch::kBFloat16)));
  EXPECT_EQ(norm(x).scalar_type(), torch::kFloat32);  // forward itself keeps float32 (a norm whose output is kept)
  y.to(torch::kFloat32).sum().backward();
  EXPECT_EQ(x.grad().scalar_type(), torch::kFloat32);
  EXPECT_TRUE(norm->weight.grad().defined());
}

// What autograd keeps, read off the C library's heap (glibc's mallinfo2: bytes in use, heap and mmap): the
// written-out ops keep x * rstd besides x, a (rows, dim) float32 tensor; the node keeps x and rstd (rows) only.
TEST(RmsNormNode, KeepsNoNormalisedCopyForTheBackward) {
  const auto x = torch::randn({256, 1024}).requires_grad_(), w = torch::ones({1024}).requires_grad_();
  const int64_t copy = x.numel() * static_cast<int64_t>(sizeof(float));  // 1 MiB
  int64_t node_bytes = 0, ops_bytes = 0;
  {
    const int64_t before = ftmamba::test::heap_bytes_in_use();
    const auto y = ops::rms_norm(x, w, 1e-5);  // y and what its backward keeps stay alive in this scope
    node_bytes = ftmamba::test::heap_bytes_in_use() - before;
  }
  {
    const int64_t before = ftmamba::test::heap_bytes_in_use();
    const auto y = ops::rms_norm_reference(x, w, 1e-5);
    ops_bytes = ftmamba::test::heap_bytes_in_use() - before;
  }
  EXPECT_LT(node_bytes, copy + copy / 8) << "the output and little else";
  EXPECT_GT(ops_bytes - node_bytes, copy - copy / 8) << "the written-out ops keep one more copy";
}
