// Fuzz target: the safetensors reader (io/safetensors.cpp), as a run's model.safetensors and
// adapters.safetensors are read.
#include <map>
#include <string>

#include "ftmamba/io/safetensors.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input("model.safetensors", data, size);
  std::map<std::string, std::string> metadata;
  fuzz::parse_or_reject([&] { io::load_safetensors(path, &metadata); });
  return 0;
}
