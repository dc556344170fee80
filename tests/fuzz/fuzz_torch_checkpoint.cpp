// Fuzz target: the torch.save reader (io/torch_checkpoint.cpp) under mamba_ssm's pytorch_model.bin: LibTorch's zip
// reader, then ftmamba's restricted unpickler of data.pkl.
#include "ftmamba/io/torch_checkpoint.h"
#include "fuzz_input.h"

using namespace ftmamba;

// LibTorch 1.13's zip reader leaks its buffers when a damaged archive makes its constructor throw (inside
// libtorch_cpu, not ours): those leaks are suppressed, any other is still a finding.
extern "C" const char* __lsan_default_suppressions() { return "leak:libtorch_cpu.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input("pytorch_model.bin", data, size);
  fuzz::parse_or_reject([&] { io::read_torch_checkpoint(path); });
  return 0;
}
