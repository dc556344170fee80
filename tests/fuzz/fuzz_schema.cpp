// Fuzz target: a dataset's schema.toml (data/schema.cpp). A schema that loads must write itself back
// (Schema::to_toml) as a file that loads to the same schema.
#include <cstdlib>
#include <string>

#include "ftmamba/data/schema.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input("schema.toml", data, size);
  std::string text;
  fuzz::parse_or_reject([&] { text = data::Schema::load(path).to_toml(); });
  if (text.empty()) return 0;
  const auto again = fuzz::write_input("schema-again.toml", reinterpret_cast<const uint8_t*>(text.data()), text.size());
  if (data::Schema::load(again).to_toml() != text) std::abort();  // throws (a finding) if it does not load
  return 0;
}
