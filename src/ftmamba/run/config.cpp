#include "ftmamba/run/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "ftmamba/core/error.h"
#include "ftmamba/data/toml_line.h"
#include "ftmamba/io/regular_file.h"
#include "ftmamba/run/config_limits.h"

namespace ftmamba::run {
namespace {

template <class T>
bool parse_scalar(const std::string& s, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    out = s;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (s == "true" || s == "1") return out = true, true;
    if (s == "false" || s == "0") return out = false, true;
    return false;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  } else {
    try {
      size_t used = 0;
      out = std::stod(s, &used);
      return used == s.size();
    } catch (...) {
      return false;
    }
  }
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_same_v<T, int64_t>) return "an integer";
  return "a number";
}

// Sets a field from text; false when the text is not a value of the field's type.
bool set_from_text(const RunConfig::FieldRef& ref, const std::string& text) {
  return std::visit(
      [&](const auto& r) {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, RunConfig::EnumRef>)
          return r.parse(text);
        else
          return parse_scalar(text, *r);
      },
      ref);
}

// What a field's value must be, for messages: "an integer", "one of softmax, bce, mse", ...
std::string expected_value(const RunConfig::FieldRef& ref) {
  return std::visit(
      [&](const auto& r) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, RunConfig::EnumRef>)
          return "one of " + r.choices();
        else
          return type_name<std::remove_pointer_t<std::decay_t<decltype(r)>>>();
      },
      ref);
}

// The field's value as JSON (enums as their names).
nlohmann::json field_json(const RunConfig::FieldRef& ref) {
  return std::visit(
      [&](const auto& r) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, RunConfig::EnumRef>)
          return r.text();
        else
          return *r;
      },
      ref);
}

std::string known_keys(RunConfig& cfg) {
  std::string s;
  for (auto& f : cfg.fields()) s += (s.empty() ? "" : ", ") + f.key;
  return s;
}

}  // namespace

std::vector<RunConfig::Field> RunConfig::fields() {
  return {
      {"model.type", enum_ref(&model.type)},
      {"model.d_token", &model.d_token},
      {"model.n_layers", &model.n_layers},
      {"model.d_state", &model.d_state},
      {"model.d_conv", &model.d_conv},
      {"model.expand", &model.expand},
      {"model.n_heads", &model.n_heads},
      {"model.d_ffn", &model.d_ffn},
      {"model.attention_dropout", &model.attention_dropout},
      {"model.ffn_dropout", &model.ffn_dropout},
      {"model.residual_dropout", &model.residual_dropout},
      {"model.embed_dim", &model.embed_dim},
      {"model.l2_normalize", &model.l2_normalize},
      {"train.epochs", &train.epochs},
      {"train.batch_size", &train.batch_size},
      {"train.lr", &train.lr},
      {"train.weight_decay", &train.weight_decay},
      {"train.warmup_frac", &train.warmup_frac},
      {"train.min_lr_ratio", &train.min_lr_ratio},
      {"train.grad_clip", &train.grad_clip},
      {"train.loss", enum_ref(&train.loss)},
      {"train.temperature", &train.temperature},
      {"train.logq", &train.logq},
      {"train.weighted_loss", &train.weighted_loss},
      {"train.negatives", &train.negatives},
      {"train.patience", &train.patience},
      {"train.seed", &train.seed},
      {"train.threads", &train.threads},
      {"train.valid_users", &train.valid_users},
      {"train.cuda_graph", &train.cuda_graph},
      {"train.precision", enum_ref(&train.precision)},
      {"train.cpu_row_bucket", &train.cpu_row_bucket},
      {"train.checkpoint_steps", &train.checkpoint_steps},
      {"train.checkpoint_minutes", &train.checkpoint_minutes},
      {"train.max_nonfinite_steps", &train.max_nonfinite_steps},
      {"data.split", enum_ref(&data.split)},
      {"data.min_frequency", &data.min_frequency},
      {"data.min_weight", &data.min_weight},
      {"data.split_seed", &data.split_seed},
      {"eval.sampled_negatives", &eval.sampled_negatives},
      {"eval.sample_seed", &eval.sample_seed},
      {"eval.batch_size", &eval.batch_size},
  };
}

void RunConfig::set(const std::string& key, const std::string& value) {
  for (const char* side : {"user", "item"}) {
    const std::string prefix = std::string("model.") + side + ".";
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string model_key = "model." + key.substr(prefix.size());
    if (model_key.find('.', 6) != std::string::npos) break;  // model.user.x.y: reported as unknown below
    RunConfig probe;
    try {
      probe.set(model_key, value);  // checks the key and the value's type
    } catch (const Error& e) {
      throw Error("config key '" + key + "': " + e.what());
    }
    (side[0] == 'u' ? user_overrides : item_overrides)[key.substr(prefix.size())] = value;
    return;
  }
  for (auto& f : fields()) {
    if (f.key != key) continue;
    if (!set_from_text(f.ref, value))
      throw Error("config key '" + key + "': expected " + expected_value(f.ref) + ", got '" + value + "'");
    return;
  }
  throw Error("unknown config key '" + key + "' (known: " + known_keys(*this) + ")");
}

void RunConfig::set_assignment(const std::string& a) {
  const auto eq = a.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set expects key=value, got '" + a + "'");
  set(a.substr(0, eq), a.substr(eq + 1));
}

void RunConfig::load_toml(const std::filesystem::path& path) {
  toml::table root;
  try {
    io::require_regular_file(path);
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw DataError(path.string(), static_cast<int64_t>(e.source().begin.line), std::to_string(e.source().begin.column),
                    std::string(e.description()));
  }
  // An error about a key names the file, the key and the line where its value is (as the schema's errors do).
  const auto key_error = [&](const toml::node& at, const std::string& key, const std::string& what) {
    return DataError(path.string(), key, what + data::toml_line(at));
  };
  auto all = fields();
  for (const auto& [section, node] : root) {
    const std::string sec(section.str());
    const auto* table = node.as_table();
    if (!table) throw key_error(node, sec, "expected a [" + sec + "] table");
    for (const auto& [name, value] : *table) {
      const std::string key = sec + "." + std::string(name.str());
      if (sec == "model" && (name.str() == "user" || name.str() == "item")) {  // [model.user] / [model.item]
        const auto* tower = value.as_table();
        if (!tower) throw key_error(value, key, "expected a [" + key + "] table");
        for (const auto& [tname, tvalue] : *tower) {
          const std::string tkey = key + "." + std::string(tname.str());
          std::string text;
          if (auto v = tvalue.value_exact<std::string>())
            text = *v;
          else if (auto b = tvalue.value_exact<bool>())
            text = *b ? "true" : "false";
          else if (auto i = tvalue.value_exact<int64_t>())
            text = std::to_string(*i);
          else if (auto d = tvalue.value_exact<double>())
            text = nlohmann::json(*d).dump();
          else
            throw key_error(tvalue, tkey, "expected a string, number or boolean");
          try {
            set(tkey, text);
          } catch (const Error& e) {
            throw key_error(tvalue, tkey, e.what());
          }
        }
        continue;
      }
      auto it = std::find_if(all.begin(), all.end(), [&](const Field& f) { return f.key == key; });
      if (it == all.end()) throw key_error(value, key, "unknown key (known: " + known_keys(*this) + ")");
      std::visit(
          [&, &node = value](const auto& r) {  // C++17 lambdas capture no structured binding
            using R = std::decay_t<decltype(r)>;
            bool ok = false;
            if constexpr (std::is_same_v<R, EnumRef>) {
              if (node.is_string()) ok = r.parse(*node.value<std::string>());
            } else if constexpr (std::is_same_v<R, double*>) {
              auto* p = r;
              if (auto v = node.value<double>()) *p = *v, ok = true;  // integers widen to double
            } else if constexpr (std::is_same_v<R, int64_t*>) {
              if (node.is_integer()) *r = *node.value<int64_t>(), ok = true;
            } else if constexpr (std::is_same_v<R, bool*>) {
              if (node.is_boolean()) *r = *node.value<bool>(), ok = true;
            } else {
              if (node.is_string()) *r = *node.value<std::string>(), ok = true;
            }
            if (!ok) throw key_error(node, key, "expected " + expected_value(it->ref));
          },
          it->ref);
    }
  }
}

nlohmann::json RunConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (auto& f : const_cast<RunConfig*>(this)->fields()) {
    const auto dot = f.key.find('.');
    j[f.key.substr(0, dot)][f.key.substr(dot + 1)] = field_json(f.ref);
  }
  if (!user_overrides.empty()) j["model"]["user"] = user_overrides;
  if (!item_overrides.empty()) j["model"]["item"] = item_overrides;
  return j;
}

RunConfig RunConfig::from_json(const nlohmann::json& j) {
  RunConfig cfg;
  for (auto& f : cfg.fields()) {
    const auto dot = f.key.find('.');
    const auto sec = f.key.substr(0, dot), name = f.key.substr(dot + 1);
    if (!j.contains(sec) || !j[sec].contains(name)) continue;  // older runs: keep the default
    const auto& v = j[sec][name];
    std::visit(
        [&](const auto& r) {
          if constexpr (std::is_same_v<std::decay_t<decltype(r)>, EnumRef>) {
            if (!v.is_string() || !r.parse(v.get<std::string>()))
              throw Error("config '" + f.key + "': expected one of " + r.choices() + ", got " + v.dump());
          } else {
            using T = std::remove_pointer_t<std::decay_t<decltype(r)>>;
            // Checked first: nlohmann casts a float to an integer field unchecked (1e300: undefined behaviour).
            const bool typed = std::is_same_v<T, bool>      ? v.is_boolean()
                               : std::is_same_v<T, int64_t> ? v.is_number_integer()
                               : std::is_same_v<T, double>  ? v.is_number()
                                                            : v.is_string();
            if (!typed) throw Error("config '" + f.key + "': expected " + type_name<T>() + ", got " + v.dump());
            *r = v.get<T>();
          }
        },
        f.ref);
  }
  if (j.contains("model")) {
    if (j["model"].contains("user")) cfg.user_overrides = j["model"]["user"].get<std::map<std::string, std::string>>();
    if (j["model"].contains("item")) cfg.item_overrides = j["model"]["item"].get<std::map<std::string, std::string>>();
  }
  return cfg;
}

std::string RunConfig::to_toml() const {
  std::ostringstream out;
  std::string section;
  for (auto& f : const_cast<RunConfig*>(this)->fields()) {
    const auto dot = f.key.find('.');
    if (f.key.substr(0, dot) != section) {
      section = f.key.substr(0, dot);
      out << (out.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
    }
    out << f.key.substr(dot + 1) << " = ";
    out << field_json(f.ref).dump();  // JSON's strings, numbers and booleans are TOML's
    out << "\n";
  }
  for (const auto& [side, overrides] : {std::pair{"user", &user_overrides}, std::pair{"item", &item_overrides}}) {
    if (overrides->empty()) continue;
    out << "\n[model." << side << "]\n";
    for (const auto& [k, v] : *overrides) {
      RunConfig probe;
      probe.set("model." + k, v);
      // Re-typed through the probe so strings are quoted and numbers are not.
      for (auto& f : probe.fields()) {
        if (f.key != "model." + k) continue;
        out << k << " = " << field_json(f.ref).dump() << "\n";
      }
    }
  }
  return out.str();
}

nn::EncoderConfig RunConfig::tower(const std::string& side) const {
  if (side != "user" && side != "item") throw Error("tower must be 'user' or 'item', got '" + side + "'");
  RunConfig probe;
  probe.model = model;
  for (const auto& [k, v] : side == "user" ? user_overrides : item_overrides) probe.set("model." + k, v);
  return probe.model;
}

std::string RunConfig::model_label() const {
  const auto u = enum_name(tower("user").type), i = enum_name(tower("item").type);
  return u == i ? u : "user=" + u + ",item=" + i;
}

void RunConfig::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error("config: " + what);
  };
  // Integers: inclusive limits (config_limits.h), so that a typo fails here, naming its key, instead of in
  // bad_alloc, a hang, or an overflowed step count.
  auto within = [](const std::string& key, int64_t v, IntLimit limit, const std::string& where = "") {
    if (v < limit.min || v > limit.max)
      throw Error("config: " + key + " must be between " + std::to_string(limit.min) + " and " +
                  std::to_string(limit.max) + where + " (got " + std::to_string(v) + ")");
  };
  // Numbers: finite and inside [min, max] (NaN fails every comparison, so it is refused too).
  auto finite_within = [](const std::string& key, double v, RealLimit limit) {
    const auto text = [](double x) -> std::string {
      if (std::isnan(x)) return "nan";
      if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
      return nlohmann::json(x).dump();
    };
    if (!std::isfinite(v) || v < limit.min || v > limit.max || (limit.open_min && v == limit.min) ||
        (limit.open_max && v == limit.max))
      throw Error("config: " + key + " must be a finite number in " + (limit.open_min ? "(" : "[") + text(limit.min) +
                  ", " + text(limit.max) + (limit.open_max ? ")" : "]") + " (got " + text(v) + ")");
  };
  for (const char* side : {"user", "item"}) {
    const nn::EncoderConfig m = tower(side);
    const std::string where = std::string(" (") + side + " tower)";
    within("model.d_token", m.d_token, limits::kDToken, where);
    within("model.n_layers", m.n_layers, limits::kNLayers, where);
    within("model.d_state", m.d_state, limits::kDState, where);
    within("model.d_conv", m.d_conv, limits::kDConv, where);
    within("model.expand", m.expand, limits::kExpand, where);
    within("model.n_heads", m.n_heads, limits::kNHeads, where);
    within("model.d_ffn", m.d_ffn, limits::kDFfn, where);
    within("model.embed_dim", m.embed_dim, limits::kEmbedDim, where);
    require(m.type == nn::EncoderType::kFtMamba || m.d_token % m.n_heads == 0,
            "model.d_token must be a multiple of model.n_heads" + where);
    for (const auto& [key, p] : {std::pair{"model.attention_dropout", m.attention_dropout},
                                 {"model.ffn_dropout", m.ffn_dropout},
                                 {"model.residual_dropout", m.residual_dropout}})
      finite_within(key, p, limits::kDropout);
  }
  const auto out_dim = [&](const nn::EncoderConfig& m) { return m.embed_dim > 0 ? m.embed_dim : m.d_token; };
  require(out_dim(tower("user")) == out_dim(tower("item")),
          "the towers' embedding sizes differ (model.embed_dim, or d_token when embed_dim = 0)");
  within("train.epochs", train.epochs, limits::kEpochs);
  within("train.batch_size", train.batch_size, limits::kBatchSize);
  within("train.cpu_row_bucket", train.cpu_row_bucket, limits::kCpuRowBucket);
  finite_within("train.lr", train.lr, limits::kLr);
  finite_within("train.weight_decay", train.weight_decay, limits::kWeightDecay);
  finite_within("train.warmup_frac", train.warmup_frac, limits::kWarmupFrac);
  finite_within("train.min_lr_ratio", train.min_lr_ratio, limits::kMinLrRatio);
  finite_within("train.grad_clip", train.grad_clip, limits::kGradClip);
  finite_within("train.temperature", train.temperature, limits::kTemperature);
  within("train.negatives", train.negatives, limits::kNegatives);
  within("train.threads", train.threads, limits::kThreads);
  within("train.patience", train.patience, limits::kPatience);
  within("train.valid_users", train.valid_users, limits::kValidUsers);
  within("data.min_frequency", data.min_frequency, limits::kMinFrequency);
  finite_within("data.min_weight", data.min_weight, limits::kMinWeight);
  within("eval.sampled_negatives", eval.sampled_negatives, limits::kSampledNegatives);
  within("eval.batch_size", eval.batch_size, limits::kEvalBatchSize);
  within("train.checkpoint_steps", train.checkpoint_steps, limits::kCheckpointSteps);
  finite_within("train.checkpoint_minutes", train.checkpoint_minutes, limits::kCheckpointMinutes);
  within("train.max_nonfinite_steps", train.max_nonfinite_steps, limits::kMaxNonfiniteSteps);
}

}  // namespace ftmamba::run
