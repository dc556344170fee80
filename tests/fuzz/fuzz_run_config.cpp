// Fuzz target: a run's config.json, read as run::Run::load reads it (run/run.cpp) up to building the model:
// the format tag, the data folder, the RunConfig (RunConfig::from_json, then validate) and both sides'
// feature encodings. Run::load reports a nlohmann::json exception as an Error naming config.json, so one is
// an expected rejection here too.
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/data/preprocess.h"
#include "ftmamba/run/config.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::parse_or_reject([&] {
    try {
      const auto j = nlohmann::json::parse(data, data + size);
      if (j.value("format", "") != "ftmamba-run") return;
      (void)j.at("data_dir").get<std::string>();
      const run::RunConfig cfg = run::RunConfig::from_json(j.at("config"));
      cfg.validate();
      data::FeatureEncoding::from_json(j.at("preprocessing").at("users"));
      data::FeatureEncoding::from_json(j.at("preprocessing").at("items"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("config.json: ") + e.what());
    }
  });
  return 0;
}
