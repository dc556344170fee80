#include "ftmamba/eval/evaluate.h"

#include <fmt/format.h>

#include "ftmamba/core/error.h"
#include "ftmamba/eval/reference_rankers.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/metrics/ranking.h"
#include "ftmamba/run/run.h"

namespace ftmamba::eval {
namespace fs = std::filesystem;

namespace {

// Throws Error naming the first row of `emb` (n, E) that is not finite: NaN scores would rank the catalog in
// file order and report metrics of nothing, with success.
void check_finite(const torch::Tensor& emb, const std::vector<std::string>& ids, const fs::path& file,
                  const std::string& side) {
  const auto finite = torch::isfinite(emb).all(1).to(torch::kCPU);  // (n)
  if (finite.all().item<bool>()) return;
  const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
  throw Error(file.string() + ": " + side + " '" + ids[row] + "': the model's " + side +
              " tower gives it a non-finite embedding, so the model cannot be evaluated");
}

// The generator's oracles, score(u, i) = <user_factors[u], item_factors[i]> + item_bias[i]: "oracle" is the
// expected utility given the features; "true-utility" adds the hidden taste and popularity (noise-free truth).
std::vector<std::pair<std::string, metrics::ScoreFn>> oracle_scorers(const run::PreparedData& data) {
  const fs::path file = data.dataset.dir / "oracle.safetensors";
  if (!fs::exists(file)) return {};
  auto t = io::load_safetensors(file);
  std::vector<std::pair<std::string, metrics::ScoreFn>> out;
  for (const auto& [name, prefix] : {std::pair<std::string, std::string>{"oracle", ""}, {"true-utility", "true_"}}) {
    const std::string uf_name = prefix + "user_factors", if_name = prefix + "item_factors",
                      b_name = prefix + "item_bias";
    if (!t.count(uf_name) || !t.count(if_name) || !t.count(b_name)) {
      if (prefix.empty()) throw Error(file.string() + ": missing tensor 'user_factors', 'item_factors' or 'item_bias'");
      continue;
    }
    auto uf = t[uf_name].to(torch::kFloat32), itf = t[if_name].to(torch::kFloat32),
         bias = t[b_name].to(torch::kFloat32);
    if (uf.size(0) != data.users.size() || itf.size(0) != data.items.size() || bias.size(0) != data.items.size())
      throw Error(file.string() + ": oracle sizes do not match the dataset's users and items");
    out.emplace_back(name, [uf, itf, bias](const torch::Tensor& rows) {
      return torch::addmm(bias.unsqueeze(0), uf.index_select(0, rows), itf.t());
    });
  }
  return out;
}

}  // namespace

torch::Tensor load_or_draw_negatives(const fs::path& run_dir, const run::PreparedData& data, int64_t n_negatives,
                                     uint64_t seed, bool save) {
  auto task = metrics::make_eval_task(data.dataset.interactions, data.split, metrics::Target::Test);
  const fs::path file = run_dir / "sampled_negatives.safetensors";
  auto users = torch::tensor(task.users, torch::kInt64);
  if (fs::exists(file)) {
    auto t = io::load_safetensors(file);
    if (t.count("users") && t.count("negatives") && t["users"].equal(users) && t["negatives"].size(1) == n_negatives)
      return t["negatives"];
  }
  auto neg = metrics::draw_sampled_negatives(data.dataset.interactions, task, data.items.size(), n_negatives, seed);
  if (save) io::save_safetensors(file, {{"users", users}, {"negatives", neg}});
  return neg;
}

nlohmann::ordered_json evaluate_test(nn::TwoTower& model, const run::PreparedData& data, int64_t batch_size,
                                     const torch::Tensor& sampled_negatives) {
  auto task = metrics::make_eval_task(data.dataset.interactions, data.split, metrics::Target::Test);
  const int64_t n_items = data.items.size();
  auto user_emb = nn::encode_all(*model->user_tower, data.users, batch_size);
  auto item_emb = nn::encode_all(*model->item_tower, data.items, batch_size);
  check_finite(user_emb, data.dataset.users.ids, data.dataset.users_file.path, "user");
  check_finite(item_emb, data.dataset.items.ids, data.dataset.items_file.path, "item");

  std::vector<std::pair<std::string, metrics::ScoreFn>> rankers = {
      {"model", metrics::dot_product_scorer(user_emb, item_emb)}};
  for (auto& oracle : oracle_scorers(data)) rankers.push_back(std::move(oracle));
  rankers.emplace_back("popularity", metrics::popularity_scorer(data.dataset.interactions, data.split.train, n_items));

  nlohmann::ordered_json out;
  out["test_users"] = task.size();
  out["catalog_items"] = n_items;
  out["full"] = nlohmann::ordered_json::object();
  out["sampled"] = {{"negatives", sampled_negatives.size(1)}};
  for (const auto& [name, score] : rankers) {
    out["full"][name] = metrics::rank_full_catalog(score, task, n_items).to_json();
    out["sampled"][name] = metrics::rank_sampled(score, task, sampled_negatives).to_json();
  }
  return out;
}

std::string format_metrics_table(const nlohmann::ordered_json& ev) {
  std::string s;
  auto block = [&](const std::string& title, const nlohmann::ordered_json& protocol) {
    s += fmt::format("{}\n{:<12}{:>4}{:>9}{:>9}{:>9}{:>9}{:>9}\n", title, "ranker", "k", "P", "R", "MRR", "HR", "NDCG");
    for (int k : {1, 5, 10, 20}) {
      for (const auto& [name, m] : protocol.items()) {
        if (!m.is_object()) continue;
        auto get = [&](const char* metric) { return m.at(fmt::format("{}@{}", metric, k)).get<double>(); };
        s += fmt::format("{:<12}{:>4}{:>9.4f}{:>9.4f}{:>9.4f}{:>9.4f}{:>9.4f}\n", name, k, get("P"), get("R"),
                         get("MRR"), get("HR"), get("NDCG"));
      }
    }
  };
  block(fmt::format("Full-catalog ranking ({} test users x {} items, seen items masked)",
                    ev.at("test_users").get<int64_t>(), ev.at("catalog_items").get<int64_t>()),
        ev.at("full"));
  s += "\n";
  block(fmt::format("Sampled ranking (1 positive vs {} stored negatives)",
                    ev.at("sampled").at("negatives").get<int64_t>()),
        ev.at("sampled"));
  if (const std::string legend = reference_legend(ev.at("full")); !legend.empty()) s += "\n" + legend;
  return s;
}

}  // namespace ftmamba::eval
