// defines: RunConfig (model, training, data and evaluation settings of a run), loaded from TOML, each key
// overridable as "--set section.key=value", saved to and restored from the run's config.json.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/data/split.h"
#include "ftmamba/nn/encoder.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::run {

// The two-tower training loss (train/losses.h).
enum class LossKind {
  kSoftmax,  // in-batch sampled softmax with logQ correction, accidental hits removed
  kBce,      // pointwise logistic loss on positives and sampled negatives (the paper's setting)
  kMse,      // pointwise squared error on the same pairs
};

}  // namespace ftmamba::run

template <>
struct ftmamba::EnumText<ftmamba::run::LossKind> {
  static constexpr std::string_view what = "loss";
  static constexpr std::array<std::pair<run::LossKind, std::string_view>, 3> names{{
      {run::LossKind::kSoftmax, "softmax"},
      {run::LossKind::kBce, "bce"},
      {run::LossKind::kMse, "mse"},
  }};
};

namespace ftmamba::run {

struct TrainConfig {
  int64_t epochs = 8;
  int64_t batch_size = 512;
  double lr = 3e-3;
  double weight_decay = 0.02;
  double warmup_frac = 0.05;   // share of all steps spent warming up linearly from 0
  double min_lr_ratio = 0.05;  // the cosine schedule ends at lr * min_lr_ratio
  double grad_clip = 1.0;      // max global L2 norm; 0 = off
  LossKind loss = LossKind::kSoftmax;
  double temperature = 0.05;
  bool logq = true;  // subtract log(sampling probability) from in-batch logits
  // With a weight column in the schema: each pair's loss term counts weight / (mean weight of the training
  // pairs), so heavier interactions (higher ratings, more plays) pull harder and the loss keeps its scale.
  bool weighted_loss = true;
  int64_t negatives = 4;  // random negatives per positive for bce / mse
  int64_t patience = 3;   // early stopping: epochs without a better validation HR@10; 0 = off
  int64_t seed = 1;
  int64_t threads = 1;         // intra-op threads; this machine's two vCPUs behave as one core
  int64_t valid_users = 4000;  // users scored for early stopping each epoch; 0 = all
  bool cuda_graph = true;      // on a GPU, capture the full-batch step in a CUDA graph (--no-graph: off)
  ops::Precision precision = ops::Precision::kFp32;  // see ops/precision.h; --precision
  // Below fp32 on the CPU, a step's encoded users and items are padded to a multiple of this many rows (the
  // padding's outputs dropped), so that oneDNN's bf16 matmuls meet a few shapes and reuse their generated
  // kernels; 1 = never pad.
  int64_t cpu_row_bucket = 64;
  // Checkpoints of an unfinished run (RUN.partial/checkpoint/, for --resume): at the end of every epoch, and
  // also every checkpoint_steps steps (0: off) and every checkpoint_minutes minutes (0: off).
  int64_t checkpoint_steps = 0;
  double checkpoint_minutes = 10.0;
  // A step whose loss or gradient is not finite is skipped; this many in a row stop the run (0: never skip,
  // stop at the first).
  int64_t max_nonfinite_steps = 10;
};

struct DataConfig {
  data::SplitMode split = data::SplitMode::Time;
  int64_t min_frequency = 2;  // categories rarer than this in the training split -> unknown bucket
  int64_t split_seed = 0;     // random split only; fixed apart from train.seed so runs share a split
  // Interactions whose weight is below this are dropped before the split: a rating threshold that turns
  // ratings into positives (e.g. 4 of 5 stars). 0 keeps every interaction; needs a weight column.
  double min_weight = 0.0;
};

struct EvalConfig {
  int64_t sampled_negatives = 100;  // sampled mode: 1 positive against this many negatives
  int64_t sample_seed = 0;          // negatives are drawn once from this seed and stored in the run
  int64_t batch_size = 4096;        // encoding / scoring batch
};

struct RunConfig {
  nn::EncoderConfig model;  // both towers, unless a tower override below says otherwise
  // Per-tower overrides of model keys ("type" -> "ft-transformer"), set as model.user.KEY / model.item.KEY
  // or in [model.user] / [model.item] TOML tables. Stored as text and applied by tower().
  std::map<std::string, std::string> user_overrides, item_overrides;
  TrainConfig train;
  DataConfig data;
  EvalConfig eval;

  // Sets one key ("train.lr") from text. Throws Error for an unknown key or a value of the wrong type.
  void set(const std::string& key, const std::string& value);
  // "key=value"
  void set_assignment(const std::string& assignment);
  // Reads a TOML file with [model] [train] [data] [eval] tables. Unknown keys are errors naming the key.
  void load_toml(const std::filesystem::path& path);
  nlohmann::json to_json() const;
  static RunConfig from_json(const nlohmann::json& j);
  std::string to_toml() const;
  // The encoder config of one tower ("user" or "item"): model with that tower's overrides applied.
  nn::EncoderConfig tower(const std::string& side) const;
  // "ft-mamba", or "user=ft-mamba,item=ft-transformer" when the towers differ.
  std::string model_label() const;
  // Rejects values out of range (batch_size < 2, lr <= 0, unknown loss name, ...).
  void validate() const;

  // A key whose value is one of an enum's names (EnumText), type-erased so that one field list holds them all.
  struct EnumRef {
    std::function<bool(std::string_view)> parse;  // false when the text names no value
    std::function<std::string()> text;
    std::function<std::string()> choices;  // "a, b, c"
  };
  template <class E>
  static EnumRef enum_ref(E* p) {
    return {[p](std::string_view s) { return try_parse_enum(s, *p); }, [p] { return enum_name(*p); },
            [] { return enum_choices<E>(); }};
  }
  using FieldRef = std::variant<int64_t*, double*, bool*, std::string*, EnumRef>;
  struct Field {
    std::string key;
    FieldRef ref;
  };
  std::vector<Field> fields();  // every key, in documentation order
};

}  // namespace ftmamba::run
