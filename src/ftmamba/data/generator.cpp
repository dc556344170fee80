// defines: gen::generate: blank cells, the model's vectors (effects plus hidden parts, drift), how many
// interactions each user gets, Gumbel top-k sampling, times, extra columns, the oracle and the checks.
#include "ftmamba/data/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "ftmamba/core/error.h"
#include "ftmamba/data/generator/effect_eval.h"
#include "ftmamba/data/generator/validate.h"

namespace ftmamba::data::gen {

namespace {

// How many interactions each user gets: min_n each, the rest proportional to weight, capped, with
// largest-remainder rounding so the total is exact.
std::vector<int64_t> allocate(const std::vector<double>& weight, int64_t total, int64_t min_n, int64_t cap) {
  const size_t n = weight.size();
  std::vector<double> share(n, 0.0);
  std::vector<uint8_t> capped(n, 0);
  const double room = static_cast<double>(cap - min_n);
  double extra = static_cast<double>(total - min_n * static_cast<int64_t>(n));
  for (;;) {
    double w = 0.0;
    for (size_t u = 0; u < n; ++u)
      if (!capped[u]) w += weight[u];
    bool changed = false;
    for (size_t u = 0; u < n; ++u) {
      if (capped[u]) continue;
      share[u] = w > 0.0 ? extra * weight[u] / w : 0.0;
      if (share[u] > room) {
        capped[u] = 1;
        share[u] = room;
        extra -= room;
        changed = true;
      }
    }
    if (!changed) break;
  }
  std::vector<int64_t> count(n);
  int64_t assigned = 0;
  for (size_t u = 0; u < n; ++u) {
    count[u] = min_n + static_cast<int64_t>(std::floor(share[u]));
    assigned += count[u];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return share[x] - std::floor(share[x]) > share[y] - std::floor(share[y]);
  });
  for (size_t pass = 0; assigned < total; ++pass)
    for (size_t k = 0; k < n && assigned < total; ++k) {
      const size_t u = order[k];
      if (count[u] < cap && (pass > 0 || share[u] > std::floor(share[u]))) {
        ++count[u];
        ++assigned;
      }
    }
  return count;
}

}  // namespace

Result generate(const Spec& spec, const GenerateOptions& options) {
  validate_spec(spec);
  const Model& m = spec.model;
  const std::string& p = spec.preset;
  const int64_t n_users = spec.users.rows(), n_items = spec.items.rows();
  const int64_t cap = std::min(n_items, std::max(m.min_per_user, static_cast<int64_t>(m.max_user_share * n_items)));
  const int64_t pairs = options.pairs;
  if (m.min_per_user > n_items || pairs < m.min_per_user * n_users || pairs > cap * n_users)
    throw Error(
        fmt::format("preset '{}': cannot draw {} interactions for {} users and {} items (each user needs "
                    "{} to {}); choose another --pairs",
                    p, pairs, n_users, n_items, m.min_per_user, cap));
  const uint64_t seed = options.seed;
  const int D = m.dim;

  Result res;
  res.dim = D;
  // Blank cells, drawn per column from its own stream.
  auto mask = [&](const Table& t, const std::string& side) {
    std::vector<std::vector<uint8_t>> miss;
    for (const Column& c : t.columns) {
      std::vector<uint8_t> mk(t.rows(), 0);
      if (c.missing_rate > 0.0) {
        Rng r = Rng::stream(seed, "missing:" + side + ":" + c.name);
        for (auto& x : mk) x = r.bernoulli(c.missing_rate) ? 1 : 0;
      }
      miss.push_back(std::move(mk));
    }
    return miss;
  };
  res.user_missing = mask(spec.users, "user");
  res.item_missing = mask(spec.items, "item");

  const Side users{"user", &spec.users, &res.user_missing, D, seed};
  const Side items{"item", &spec.items, &res.item_missing, D, seed};
  const Evaluated U = evaluate_effects(m.user, users);  // (n_users, D)
  const Evaluated V = evaluate_effects(m.item, items);  // (n_items, D)
  Evaluated P =
      evaluate_effects(m.popularity, Side{"popularity", &spec.items, &res.item_missing, 1, seed});        // (n_items)
  Evaluated A = evaluate_effects(m.activity, Side{"activity", &spec.users, &res.user_missing, 1, seed});  // (n_users)

  // Hidden parts: per-user taste, popularity residual, activity residual.
  std::vector<double> taste = U.truth;  // (n_users, D) the user's true vector
  {
    Rng r = Rng::stream(seed, "hidden:user");
    const double sd = m.hidden_scale / std::sqrt(static_cast<double>(D));
    for (int64_t u = 0; u < n_users; ++u) {
      const double w = r.uniform(m.hidden_weight_min, m.hidden_weight_max);
      for (int d = 0; d < D; ++d) taste[u * D + d] += w * sd * r.normal();
    }
  }
  std::vector<double> user_oracle = U.oracle;  // (n_users, D) the feature-explained part
  if (options.drift) res.drifted_users = apply_drift(*options.drift, spec.users, D, taste, user_oracle);
  {
    Rng r = Rng::stream(seed, "hidden:popularity");
    for (double& x : P.truth) x += m.popularity_hidden * r.normal();
  }
  std::vector<double> weight(n_users);
  {
    Rng r = Rng::stream(seed, "hidden:activity");
    for (int64_t u = 0; u < n_users; ++u) weight[u] = std::exp(A.truth[u] + m.activity_hidden * r.normal());
  }
  const std::vector<int64_t> count = allocate(weight, pairs, m.min_per_user, cap);

  // Sampling: Gumbel top-k over the user's logits draws count[u] items without replacement from
  // softmax(logit); the order in time is a random permutation of them.
  const double inv_t = 1.0 / m.temperature;
  const int64_t span = static_cast<int64_t>(spec.timeline.days * 86400.0);
  std::vector<int64_t> seq_offset(n_users + 1, 0);
  for (int64_t u = 0; u < n_users; ++u) seq_offset[u + 1] = seq_offset[u] + count[u];
  std::vector<int64_t> seq_item(pairs), seq_time(pairs);
  {
    Rng r = Rng::stream(seed, "interactions");
    Rng rt = Rng::stream(seed, "time");
    std::vector<std::pair<double, int64_t>> key(n_items);
    for (int64_t u = 0; u < n_users; ++u) {
      const double* tu = &taste[u * D];
      for (int64_t i = 0; i < n_items; ++i) {
        const double* vi = &V.truth[i * D];
        double s = P.truth[i];
        for (int d = 0; d < D; ++d) s += tu[d] * vi[d];
        key[i] = {s * inv_t + r.gumbel(), i};
      }
      const int64_t k = count[u];
      std::nth_element(key.begin(), key.begin() + (k - 1), key.end(), [](const auto& x, const auto& y) {
        return x.first > y.first || (x.first == y.first && x.second < y.second);
      });
      std::vector<int64_t> chosen(k);
      for (int64_t j = 0; j < k; ++j) chosen[j] = key[j].second;
      std::sort(chosen.begin(), chosen.end());  // nth_element's order is not a promise; fix it before shuffling
      for (int64_t j = k - 1; j > 0; --j) std::swap(chosen[j], chosen[r.below(j + 1)]);
      // Times: join in the first join_share of the window, then sorted uniform times until its end.
      const int64_t join = spec.timeline.start + static_cast<int64_t>(rt.uniform() * spec.timeline.join_share * span);
      const int64_t end = spec.timeline.start + span;
      std::vector<int64_t> times(k);
      for (auto& t : times) t = join + static_cast<int64_t>(rt.uniform() * static_cast<double>(end - join));
      std::sort(times.begin(), times.end());
      for (int64_t j = 1; j < k; ++j) times[j] = std::max(times[j], times[j - 1] + 1);
      for (int64_t j = 0; j < k; ++j) {
        seq_item[seq_offset[u] + j] = chosen[j];
        seq_time[seq_offset[u] + j] = times[j];
      }
    }
  }

  // Interactions in time order, as a log would have them.
  std::vector<int64_t> order(pairs);
  std::vector<int64_t> seq_user(pairs);
  for (int64_t u = 0; u < n_users; ++u)
    for (int64_t j = seq_offset[u]; j < seq_offset[u + 1]; ++j) seq_user[j] = u;
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return std::tie(seq_time[x], seq_user[x], seq_item[x]) < std::tie(seq_time[y], seq_user[y], seq_item[y]);
  });
  res.user.resize(pairs);
  res.item.resize(pairs);
  res.timestamp.resize(pairs);
  for (int64_t k = 0; k < pairs; ++k) {
    res.user[k] = seq_user[order[k]];
    res.item[k] = seq_item[order[k]];
    res.timestamp[k] = seq_time[order[k]];
  }

  // Extra interaction columns, in file order, each from its own stream.
  for (const InteractionColumn& c : spec.interactions.extra) {
    Rng r = Rng::stream(seed, "interaction-column:" + c.name);
    std::vector<double> v(pairs);
    for (int64_t k = 0; k < pairs; ++k) {
      v[k] = c.value(res.user[k], res.item[k], r);
      if (!std::isfinite(v[k]))
        throw Error("preset '" + p + "': interaction column '" + c.name + "' gave a non-finite value");
    }
    res.extra.push_back(std::move(v));
  }

  // The oracle, on the logit scale (temperature folded into the user side and the bias).
  res.user_factors.resize(user_oracle.size());
  res.item_factors.resize(V.oracle.size());
  res.item_bias.resize(n_items);
  for (size_t i = 0; i < user_oracle.size(); ++i) res.user_factors[i] = static_cast<float>(user_oracle[i] * inv_t);
  for (size_t i = 0; i < V.oracle.size(); ++i) res.item_factors[i] = static_cast<float>(V.oracle[i]);
  for (int64_t i = 0; i < n_items; ++i) res.item_bias[i] = static_cast<float>(P.oracle[i] * inv_t);
  res.true_user_factors.resize(taste.size());
  res.true_item_factors.resize(V.truth.size());
  res.true_item_bias.resize(n_items);
  for (size_t i = 0; i < taste.size(); ++i) res.true_user_factors[i] = static_cast<float>(taste[i] * inv_t);
  for (size_t i = 0; i < V.truth.size(); ++i) res.true_item_factors[i] = static_cast<float>(V.truth[i]);
  for (int64_t i = 0; i < n_items; ++i) res.true_item_bias[i] = static_cast<float>(P.truth[i] * inv_t);

  // Checks: leave-last-out HR@10 over the full catalog with the user's other items masked.
  {
    std::vector<int64_t> pop(n_items, 0), held(n_users);
    for (int64_t u = 0; u < n_users; ++u) held[u] = seq_item[seq_offset[u + 1] - 1];  // latest time
    for (int64_t k = 0; k < pairs; ++k) ++pop[seq_item[k]];
    std::vector<int64_t> sorted_pop = pop;
    std::sort(sorted_pop.rbegin(), sorted_pop.rend());
    const int64_t top = std::max<int64_t>(1, (n_items + 99) / 100);
    res.checks.top1pct_share =
        static_cast<double>(std::accumulate(sorted_pop.begin(), sorted_pop.begin() + top, int64_t{0})) /
        static_cast<double>(pairs);
    for (int64_t u = 0; u < n_users; ++u) --pop[held[u]];

    std::vector<uint8_t> masked(n_items, 0);
    std::vector<double> score(n_items);
    int64_t hit_oracle = 0, hit_pop = 0;
    auto rank_of = [&](const auto& sc, int64_t target) {
      int64_t rank = 0;
      for (int64_t i = 0; i < n_items; ++i)
        if (!masked[i] && i != target && (sc[i] > sc[target] || (sc[i] == sc[target] && i < target))) ++rank;
      return rank;
    };
    for (int64_t u = 0; u < n_users; ++u) {
      for (int64_t j = seq_offset[u]; j + 1 < seq_offset[u + 1]; ++j) masked[seq_item[j]] = 1;
      const float* fu = &res.user_factors[u * D];
      for (int64_t i = 0; i < n_items; ++i) {
        const float* vi = &res.item_factors[i * D];
        double s = res.item_bias[i];
        for (int d = 0; d < D; ++d) s += static_cast<double>(fu[d]) * vi[d];
        score[i] = s;
      }
      hit_oracle += rank_of(score, held[u]) < 10;
      hit_pop += rank_of(pop, held[u]) < 10;
      for (int64_t j = seq_offset[u]; j + 1 < seq_offset[u + 1]; ++j) masked[seq_item[j]] = 0;
    }
    res.checks.oracle_hr10 = static_cast<double>(hit_oracle) / static_cast<double>(n_users);
    res.checks.popularity_hr10 = static_cast<double>(hit_pop) / static_cast<double>(n_users);
  }
  return res;
}

}  // namespace ftmamba::data::gen
