// defines: tests of --device parsing (choose_device), describe_device and module_device.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"

namespace {

std::string error_of(const std::string& spec) {
  try {
    ftmamba::choose_device(spec);
  } catch (const ftmamba::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Device, CpuAndMalformedSpecs) {
  EXPECT_EQ(ftmamba::choose_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(ftmamba::describe_device(torch::kCPU), "cpu");
  EXPECT_NE(error_of("gpu").find("expected cpu, cuda"), std::string::npos) << error_of("gpu");
}

TEST(Device, AutoAndCudaFollowWhatIsVisible) {
  const auto chosen = ftmamba::choose_device("auto");
#ifdef FTMAMBA_WITH_CUDA
  const bool gpu = torch::cuda::is_available();
#else
  const bool gpu = false;
#endif
  EXPECT_EQ(chosen.is_cuda(), gpu);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(ftmamba::choose_device("cuda:0"), torch::Device(torch::kCUDA, 0));
    EXPECT_NE(error_of("cuda:x").find("expected cuda:N"), std::string::npos) << error_of("cuda:x");
    EXPECT_NE(error_of("cuda:999").find("out of range"), std::string::npos) << error_of("cuda:999");
  } else {
    EXPECT_NE(error_of("cuda").find("no CUDA GPU is visible"), std::string::npos) << error_of("cuda");
    EXPECT_NE(error_of("cuda:1").find("no CUDA GPU is visible"), std::string::npos);
  }
}

TEST(Device, ModuleDeviceIsWhereTheParametersAre) {
  torch::nn::Linear lin(3, 2);
  EXPECT_EQ(ftmamba::module_device(*lin), torch::Device(torch::kCPU));
  torch::nn::Sequential empty;
  EXPECT_EQ(ftmamba::module_device(*empty), torch::Device(torch::kCPU));
}
