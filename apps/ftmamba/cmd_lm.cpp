// defines: `ftmamba lm`, the commands of pretrained Mamba language models (checkpoints in Hugging Face's layout):
// `lm score` prints each token's log-likelihood given the ones before it.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "cli_device.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/lm/score.h"

namespace ftmamba::cli {
namespace {

// "1,2, 3" -> {1, 2, 3}; a usage error (exit 2) naming the entry that is not a whole number.
std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::string entry;
  const auto flush = [&] {
    if (entry.empty()) return;
    size_t used = 0;
    int64_t id = 0;
    try {
      id = std::stoll(entry, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != entry.size()) throw UsageError("--ids: '" + printable(entry) + "' is not a token id (a whole number)");
    ids.push_back(id);
    entry.clear();
  };
  for (const char c : text) {
    if (c == ',' || c == ' ') {
      flush();
    } else {
      entry += c;
    }
  }
  flush();
  if (ids.empty()) throw UsageError("--ids: no token ids given");
  return ids;
}

}  // namespace

void add_lm_command(CLI::App& app) {
  auto* lm = app.add_subcommand("lm", "Pretrained Mamba language models (Hugging Face MambaForCausalLM folders)");
  lm->require_subcommand(1);
  auto* score = lm->add_subcommand("score", "Print each token's log-likelihood given the tokens before it");
  struct Args {
    std::string model, ids, logits_out, device = "auto";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  score->add_option("--model", args->model, "Model folder: config.json and model.safetensors (or shards)")->required();
  score->add_option("--ids", args->ids, "Token ids, separated by commas or spaces")->required();
  score->add_option("--logits-out", args->logits_out,
                    "Also write the logits, (tokens, vocab) F32, to a .safetensors file");
  score->add_flag("--json", args->json, "Print one JSON object");
  add_device_option(score, args->device);
  score->callback([args] {
    const auto ids = parse_ids(args->ids);
    if (!args->logits_out.empty() && std::filesystem::exists(args->logits_out) &&
        std::filesystem::is_directory(args->logits_out))
      throw Error("--logits-out " + printable(args->logits_out) + " is a folder");
    auto model = lm::load_hf_mamba(args->model, choose_device(args->device));
    const auto scores = lm::score_tokens(*model, ids);
    if (!args->logits_out.empty()) io::save_safetensors(args->logits_out, {{"logits", scores.logits}});
    if (args->json) {
      nlohmann::ordered_json j = {
          {"tokens", ids.size()}, {"log_likelihood", scores.log_likelihood}, {"total", scores.total()}};
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("position  id  log-likelihood\n");
    for (size_t t = 1; t < ids.size(); ++t) fmt::print("{:8}  {}  {:.6f}\n", t, ids[t], scores.log_likelihood[t - 1]);
    fmt::print("total {:.6f} over {} predicted tokens\n", scores.total(), ids.size() - 1);
  });
}

}  // namespace ftmamba::cli
