// defines: gen::Spec, everything a preset hands to the generator: its users and items tables, the latent
// preference model (Model), when interactions happen (Timeline) and how interactions.csv is written.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ftmamba/data/generator/effects.h"
#include "ftmamba/data/generator/rng.h"
#include "ftmamba/data/generator/table.h"

namespace ftmamba::data::gen {

// The latent preference model.
//   user u  = sum(user effects) + w_u * h_u      h_u hidden, w_u ~ U(hidden_weight_min, hidden_weight_max)
//   item i  = sum(item effects)
//   pop  i  = sum(popularity effects) + N(0, popularity_hidden^2)
//   logit   = (<user u, item i> + pop i) / temperature
// Each user draws their items without replacement from softmax(logit) (Gumbel top-k); how many is set
// by activity = exp(sum(activity effects) + N(0, activity_hidden^2)), with at least min_per_user.
struct Model {
  int dim = 16;
  std::vector<Effect> user, item;
  double hidden_scale = 1.0;  // rms norm of h_u
  double hidden_weight_min = 0.0, hidden_weight_max = 1.0;
  std::vector<Effect> popularity;
  double popularity_hidden = 0.0;
  std::vector<Effect> activity;
  double activity_hidden = 1.0;
  double temperature = 1.0;
  int64_t min_per_user = 3;
  double max_user_share = 0.25;  // no user takes more than this share of the catalog
};

// When interactions happen: each user joins at a uniform time in the first `join_share` of the window
// and acts at sorted uniform times (whole seconds, strictly increasing) until its end.
struct Timeline {
  int64_t start = 1672531200;  // 2023-01-01T00:00:00Z
  double days = 365.0;
  double join_share = 0.6;
};

// A column of interactions.csv beyond user, item and time, computed per interaction from its user
// row, item row and a random stream of its own (prices, sales channels). Written with `decimals`.
struct InteractionColumn {
  std::string name;
  int decimals = 0;
  std::function<double(int64_t user_row, int64_t item_row, Rng& rng)> value;
};

// How interactions.csv is written. The user and item columns are named after the tables' id columns.
struct InteractionFormat {
  enum class Time { UnixSeconds, Date };
  std::string timestamp_column = "timestamp";
  Time time = Time::UnixSeconds;  // Date: "YYYY-MM-DD" (UTC); same-day events keep their order in the file
  bool timestamp_first = false;   // time, user, item (H&M's order) instead of user, item, time
  std::vector<InteractionColumn> extra;
};

// Everything a preset hands to the engine.
struct Spec {
  std::string preset;
  std::string description;  // a few sentences for dataset.json
  Table users, items;
  Model model;
  Timeline timeline;
  InteractionFormat interactions;
};

}  // namespace ftmamba::data::gen
