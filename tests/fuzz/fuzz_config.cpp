// Fuzz target: a config file and --set assignments (run/config.cpp, run/config_sources.cpp), applied as
// `train --config FILE --set ...` applies them. The input is the TOML file up to its first NUL byte; each line
// after it is one --set assignment. A config that validates must also write its TOML and JSON.
#include <string>
#include <string_view>
#include <vector>

#include "ftmamba/run/config_sources.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const size_t nul = bytes.find('\0');
  run::ConfigSources sources;
  sources.file = fuzz::write_input("config.toml", data, nul == std::string_view::npos ? size : nul);
  if (nul != std::string_view::npos) {
    std::string_view rest = bytes.substr(nul + 1);
    while (!rest.empty()) {
      const size_t eol = rest.find('\n');
      sources.sets.emplace_back(rest.substr(0, eol));
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    }
  }
  fuzz::parse_or_reject([&] {
    const run::RunConfig cfg = run::config_from_sources(sources);
    cfg.to_toml();
    cfg.to_json().dump();
    cfg.model_label();
  });
  return 0;
}
