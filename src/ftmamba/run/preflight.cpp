// defines: check_before_training (see preflight.h).
#include "ftmamba/run/preflight.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "ftmamba/core/error.h"
#include "ftmamba/metrics/metrics.h"
#include "ftmamba/metrics/ranking.h"

namespace ftmamba::run {

void check_before_training(const RunConfig& cfg, const PreparedData& data) {
  const auto& tc = cfg.train;
  const int64_t n_train = static_cast<int64_t>(data.split.train.size());
  const int64_t n_items = data.items.size();
  // A step contrasts a positive with other items (in-batch or sampled): one item, or one training pair, leaves
  // nothing to learn from, and training would "succeed" without a single step.
  if (n_items < 2)
    throw Error("data: the catalog has " + std::to_string(n_items) + " item(s); ranking needs at least 2 (check " +
                data.dataset.items_file.path.string() + " and the item id column)");
  if (n_train < 2)
    throw Error("data: the training split has " + std::to_string(n_train) +
                " interaction(s); a training step needs at least 2 (data.split holds interactions out "
                "for validation and test)");
  const int64_t steps_per_epoch = n_train / tc.batch_size + (n_train % tc.batch_size != 0);
  int64_t steps = 0, rows = 0;
  if (__builtin_mul_overflow(tc.epochs, steps_per_epoch, &steps))
    throw Error("config: train.epochs (" + std::to_string(tc.epochs) + ") times the steps of an epoch (" +
                std::to_string(steps_per_epoch) + ") overflows the step count");
  if (__builtin_mul_overflow(tc.batch_size, 1 + tc.negatives, &rows))
    throw Error("config: train.batch_size * (1 + train.negatives) overflows the item rows of a step");

  // The sampled protocol draws eval.sampled_negatives distinct items per test user among those the user never
  // interacted with (in any split): every test user needs that many.
  const auto task = metrics::make_eval_task(data.dataset.interactions, data.split, metrics::Target::Test);
  if (task.size() == 0) return;
  std::vector<std::unordered_set<int64_t>> seen(task.size());
  std::vector<int64_t> slot(data.dataset.users.size(), -1);
  for (int64_t i = 0; i < task.size(); ++i) slot[task.users[i]] = i;
  const auto& inter = data.dataset.interactions;
  for (int64_t r = 0; r < inter.size(); ++r)
    if (slot[inter.user[r]] >= 0) seen[slot[inter.user[r]]].insert(inter.item[r]);
  for (int64_t i = 0; i < task.size(); ++i) {
    const int64_t unseen = n_items - static_cast<int64_t>(seen[i].size());
    if (unseen < cfg.eval.sampled_negatives)
      throw Error("config: eval.sampled_negatives = " + std::to_string(cfg.eval.sampled_negatives) +
                  " needs that many unseen items per test user, but user '" + data.dataset.users.ids[task.users[i]] +
                  "' has " + std::to_string(unseen) + " of the catalog's " + std::to_string(n_items) +
                  " items; lower eval.sampled_negatives");
  }
}

std::vector<std::string> data_warnings(const PreparedData& data) {
  std::vector<std::string> out;
  const auto& inter = data.dataset.interactions;
  const int64_t n_users = data.dataset.users.size(), n_items = data.items.size();
  // first[u]: the user's first item; -2 once a second, different item is seen.
  std::vector<int64_t> first(n_users, -1);
  for (int64_t r = 0; r < inter.size(); ++r) {
    int64_t& f = first[inter.user[r]];
    if (f == -1)
      f = inter.item[r];
    else if (f != inter.item[r])
      f = -2;
  }
  int64_t single = 0, active = 0;
  std::string example;
  for (int64_t u = 0; u < n_users; ++u) {
    active += first[u] != -1;
    if (first[u] >= 0) {
      ++single;
      if (example.empty()) example = data.dataset.users.ids[u];
    }
  }
  if (single > 0)
    out.push_back(
        fmt::format("{} of {} users with interactions ({:.1f}%) have only one item in their whole "
                    "history (e.g. '{}'): the split holds it out, so the model learns nothing about "
                    "them that is not their test answer; their metrics measure cold start",
                    single, active, 100.0 * single / std::max<int64_t>(active, 1), example));
  const int64_t largest_cutoff = metrics::kDefaultCutoffs.back();
  if (n_items <= largest_cutoff)
    out.push_back(
        fmt::format("the catalog has {} items, no more than the largest cutoff ({}): every ranker, "
                    "random ones included, scores HR@{} = 1",
                    n_items, largest_cutoff, largest_cutoff));
  return out;
}

}  // namespace ftmamba::run
