// core/threads.h: set_cpu_threads with OpenBLAS's pthread pool behind LibTorch. Its workers are told to sleep soon
// after each product (OPENBLAS_THREAD_TIMEOUT, read again by the library and the pool restarted), a user's own
// setting is kept, and products still come out right, on the restarted pool's threads, afterwards.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "ftmamba/core/threads.h"

namespace {

bool openblas_pthread_pool() { return ::dlsym(RTLD_DEFAULT, "blas_thread_shutdown_") != nullptr; }

}  // namespace

TEST(CpuThreads, OpenBlasWorkersSleepSoonAfterAProduct) {
  if (!openblas_pthread_pool()) GTEST_SKIP() << "the BLAS here is not OpenBLAS's pthread build";
  const char* before = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  const std::string users = before ? before : "";
  torch::manual_seed(1);
  const auto a = torch::randn({300, 200}, torch::kFloat64), b = torch::randn({200, 250}, torch::kFloat64);
  const auto want = torch::matmul(a, b);  // on the pool as the library started it
  ftmamba::set_cpu_threads(2);
  const char* after = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(std::string(after), users.empty() ? "4" : users);
  // The restarted pool: the same product, and a large float32 one against float64.
  EXPECT_TRUE(torch::allclose(torch::matmul(a, b), want, 0, 1e-12));
  const auto x = torch::randn({1024, 512}), y = torch::randn({512, 768});
  const auto got = torch::matmul(x, y).to(torch::kFloat64),
             exact = torch::matmul(x.to(torch::kFloat64), y.to(torch::kFloat64));
  EXPECT_LT((got - exact).abs().max().item<double>(), 1e-3);
  ftmamba::set_cpu_threads(1);  // a second call changes the count only
  EXPECT_TRUE(torch::allclose(torch::matmul(a, b), want, 0, 1e-12));
}
