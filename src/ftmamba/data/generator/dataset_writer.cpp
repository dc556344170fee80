// defines: write_dataset (users.csv, items.csv, interactions.csv, schema.toml, oracle.safetensors and
// dataset.json with the model described in words) and oracle_definition.
#include "ftmamba/data/generator/dataset_writer.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "ftmamba/data/csv.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/data/timestamp.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"

namespace ftmamba::data::gen {

namespace {

nlohmann::ordered_json effects_json(const std::vector<Effect>& effects) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Effect& e : effects) {
    nlohmann::ordered_json j;
    j["kind"] = effect_kind_name(e.kind);
    j["feature"] = e.feature;
    if (e.kind == Effect::Kind::Cross) j["with"] = e.feature2;
    j["scale"] = e.scale;
    if (!e.shared.empty()) j[e.kind == Effect::Kind::Embed ? "shared_table" : "axis"] = e.shared;
    if (e.kind == Effect::Kind::Levels) {
      nlohmann::ordered_json v;
      for (const auto& [level, value] : e.values) v[level] = value;
      j["values"] = v;
    }
    if (e.log) j["transform"] = "log1p";
    a.push_back(j);
  }
  return a;
}

std::string table_csv(const Table& t, const std::vector<std::vector<uint8_t>>& missing) {
  std::string out;
  std::vector<std::string> fields{t.id_column};
  for (const Column& c : t.columns) fields.push_back(c.name);
  out += format_csv_row(fields);
  for (int64_t r = 0; r < t.rows(); ++r) {
    fields.clear();
    fields.push_back(t.id(r));
    for (size_t j = 0; j < t.columns.size(); ++j) {
      const Column& c = t.columns[j];
      if (missing[j][r])
        fields.emplace_back();
      else
        fields.push_back(c.categorical ? c.cat[r] : format_number(c.num[r], c.decimals));
    }
    out += format_csv_row(fields);
  }
  return out;
}

TableSchema table_schema(const Table& t) {
  TableSchema s;
  s.id = t.id_column;
  for (const Column& c : t.columns)
    if (c.feature) (c.categorical ? s.categorical : s.numerical).push_back(c.name);
  return s;
}

}  // namespace

std::string oracle_definition() {
  return "oracle_score(u, i) = <user_factors[u], item_factors[i]> + item_bias[i], the expected sampling logit "
         "of item i for user u given only the written features: (<feature-explained user vector, item vector> "
         "+ feature-explained popularity) / temperature. It leaves out each user's hidden taste component, the "
         "hidden popularity residual and the sampling noise. A blank feature contributes its effect's mean over "
         "the rows where the feature is present (for a cross effect, over those rows sharing the other "
         "feature's level). true_user_factors, true_item_factors and true_item_bias give the same score with "
         "the hidden taste and hidden popularity included (everything but the sampling noise): the ceiling.";
}

void write_dataset(const Spec& spec, const Result& res, const GenerateOptions& options,
                   const std::filesystem::path& dir) {
  const Table& users = spec.users;
  const Table& items = spec.items;
  const int64_t n_users = users.rows(), n_items = items.rows(), pairs = static_cast<int64_t>(res.user.size());

  io::write_file_atomic(dir / "users.csv", table_csv(users, res.user_missing));
  io::write_file_atomic(dir / "items.csv", table_csv(items, res.item_missing));
  {
    const InteractionFormat& f = spec.interactions;
    // Ids are formatted once per row, not once per interaction (hashed ids are not free).
    std::vector<std::string> user_ids(n_users), item_ids(n_items);
    for (int64_t r = 0; r < n_users; ++r) user_ids[r] = users.id(r);
    for (int64_t r = 0; r < n_items; ++r) item_ids[r] = items.id(r);
    std::vector<std::string> fields;
    auto row = [&](std::string user, std::string item, std::string time) {
      fields.clear();
      if (f.timestamp_first) fields.push_back(std::move(time));
      fields.push_back(std::move(user));
      fields.push_back(std::move(item));
      if (!f.timestamp_first) fields.push_back(std::move(time));
    };
    row(users.id_column, items.id_column, f.timestamp_column);
    for (const InteractionColumn& c : f.extra) fields.push_back(c.name);
    std::string out = format_csv_row(fields);
    for (int64_t k = 0; k < pairs; ++k) {
      row(user_ids[res.user[k]], item_ids[res.item[k]],
          f.time == InteractionFormat::Time::Date ? format_date(res.timestamp[k]) : std::to_string(res.timestamp[k]));
      for (size_t j = 0; j < f.extra.size(); ++j) fields.push_back(format_number(res.extra[j][k], f.extra[j].decimals));
      out += format_csv_row(fields);
    }
    io::write_file_atomic(dir / "interactions.csv", out);
  }
  {
    Schema schema;
    schema.users = table_schema(users);
    schema.items = table_schema(items);
    schema.interactions.user = users.id_column;
    schema.interactions.item = items.id_column;
    schema.interactions.timestamp = spec.interactions.timestamp_column;
    io::write_file_atomic(dir / "schema.toml", schema.to_toml());
  }
  {
    auto tensor = [](const std::vector<float>& v, std::vector<int64_t> shape) {
      return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
    };
    io::save_safetensors(
        dir / "oracle.safetensors",
        {{"user_factors", tensor(res.user_factors, {n_users, res.dim})},
         {"item_factors", tensor(res.item_factors, {n_items, res.dim})},
         {"item_bias", tensor(res.item_bias, {n_items})},
         {"true_user_factors", tensor(res.true_user_factors, {n_users, res.dim})},
         {"true_item_factors", tensor(res.true_item_factors, {n_items, res.dim})},
         {"true_item_bias", tensor(res.true_item_bias, {n_items})}},
        {{"preset", spec.preset}, {"seed", std::to_string(options.seed)}, {"definition", oracle_definition()}});
  }
  {
    const Model& m = spec.model;
    nlohmann::ordered_json j;
    j["preset"] = spec.preset;
    j["seed"] = options.seed;
    j["pairs"] = pairs;
    j["counts"] = {{"users", n_users}, {"items", n_items}, {"interactions", pairs}};
    if (options.drift)
      j["drift"] = {{"segment", options.drift->segment()},
                    {"strength", options.drift->strength},
                    {"direction_seed", options.drift->direction_seed},
                    {"users", res.drifted_users},
                    {"definition",
                     "the segment's users move their taste (and its feature-explained part) toward one random "
                     "direction g: taste <- (1 - strength) taste + strength * rms_taste * g / |g|; all else "
                     "is as the same seed without drift"}};
    j["description"] = spec.description;
    nlohmann::ordered_json model;
    model["latent_dim"] = m.dim;
    model["user_vector"] =
        "sum of user effects + w_u * h_u (hidden taste, h_u ~ N(0, I * hidden_scale^2 / dim), "
        "w_u ~ U(weight_min, weight_max))";
    model["item_vector"] = "sum of item effects";
    model["logit"] = "(<user vector, item vector> + popularity) / temperature";
    model["sampling"] =
        "each user draws their items without replacement from softmax(logit) (Gumbel top-k); "
        "interaction times are a random order of those items at sorted uniform times after the "
        "user joins";
    std::string note =
        "each effect is centred and scaled to root-mean-square norm |scale|; numerical "
        "features are standardised; blank CSV cells still use the true value";
    bool has_levels = false;
    for (const auto* list : {&m.user, &m.item, &m.popularity, &m.activity})
      for (const Effect& e : *list) has_levels = has_levels || e.kind == Effect::Kind::Levels;
    if (has_levels) note += "; a levels effect is the exception: its values are centred and multiplied by scale";
    model["effects_note"] = note;
    model["temperature"] = m.temperature;
    model["user_effects"] = effects_json(m.user);
    model["item_effects"] = effects_json(m.item);
    model["hidden_user_component"] = {
        {"scale", m.hidden_scale}, {"weight_min", m.hidden_weight_min}, {"weight_max", m.hidden_weight_max}};
    model["popularity_effects"] = effects_json(m.popularity);
    model["popularity_hidden_sd"] = m.popularity_hidden;
    model["activity_effects"] = effects_json(m.activity);
    model["activity_hidden_sd"] = m.activity_hidden;
    model["min_interactions_per_user"] = m.min_per_user;
    model["max_user_share_of_catalog"] = m.max_user_share;
    j["model"] = model;
    j["oracle"] = {
        {"file", "oracle.safetensors"},
        {"tensors",
         {{"user_factors", {n_users, res.dim}}, {"item_factors", {n_items, res.dim}}, {"item_bias", {n_items}}}},
        {"row_order", "user_factors follow users.csv rows; item_factors and item_bias follow items.csv rows"},
        {"definition", oracle_definition()}};
    j["checks"] = {{"protocol",
                    "each user's last interaction (by timestamp) held out; full catalog ranked with the "
                    "user's other interactions masked; popularity counted without the held-out ones"},
                   {"oracle_hr_at_10", res.checks.oracle_hr10},
                   {"popularity_hr_at_10", res.checks.popularity_hr10},
                   {"top_1pct_item_share", res.checks.top1pct_share}};
    io::write_file_atomic(dir / "dataset.json", j.dump(2) + "\n");
  }
}

}  // namespace ftmamba::data::gen
