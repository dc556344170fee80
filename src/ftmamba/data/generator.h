// defines: the synthetic-dataset engine. A preset fills feature tables and declares a latent preference
// model (Spec); generate() samples interactions from it and write_dataset() writes the folder + oracle.
#pragma once
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftmamba::data {

// A preference shift for one user segment (`generate --drift`): every user whose `column` satisfies the
// condition moves their taste toward one shared random direction:
//   taste_u <- (1 - strength) taste_u + strength R g      (R: the rms norm of all users' tastes, |g| = 1)
// and so does their feature-explained (oracle) part. Everything else, the tables, every other user's
// interactions and every user's activity, stays as the same seed without drift makes it, so the drifted
// dataset has the base dataset's schema, users and items, and differs only in what the segment picks.
struct Drift {
  std::string column;           // a user feature column
  char op = '=';                // '=' (categorical level), '>' or '<' (numerical threshold)
  std::string level;            // op '='
  double threshold = 0.0;       // op '>' / '<'
  double strength = 0.7;        // in (0, 1]
  uint64_t direction_seed = 0;  // picks g

  // "country=SE", "age>40", "age<25"; throws Error for anything else.
  static Drift parse(const std::string& segment);
  std::string segment() const;  // back to text
};

struct GenerateOptions {
  GenerateOptions(int64_t pairs_ = 160000, uint64_t seed_ = 1) : pairs(pairs_), seed(seed_) {}
  int64_t pairs;  // interactions written, exactly
  uint64_t seed;
  std::optional<Drift> drift;
};

namespace gen {

// Deterministic random numbers. The distributions are written out here rather than taken from
// std::*_distribution (whose output differs between standard libraries), so a seed gives the same
// bytes everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // An independent stream for one named part of the model: adding a part never reshuffles the others.
  static Rng stream(uint64_t seed, std::string_view name);

  uint64_t bits() { return engine_(); }
  double uniform();  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal();  // N(0, 1)
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double lognormal(double mu, double sigma);
  double exponential(double mean);
  double gamma(double shape, double scale);
  double gumbel();
  bool bernoulli(double p) { return uniform() < p; }
  int64_t below(int64_t n);                        // uniform in [0, n)
  size_t choice(std::span<const double> weights);  // index with probability proportional to its weight

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// One column of an entity table. Values are the truth that drives the model; the CSV shows them
// rounded to `decimals` (the model sees the rounded value too) and blanks a `missing_rate` share.
struct Column {
  std::string name;
  bool categorical = false;
  // false: a column written to the CSV as text (in `cat`) that is not a model feature: absent from
  // schema.toml and from every effect (product names, descriptions, numeric codes beside their names).
  bool feature = true;
  // Categorical: "" is a level of its own, written blank and driving preferences like any level (H&M
  // writes FN as "1.0" or nothing). Unlike missing_rate blanks, the oracle knows what it means.
  bool blank_level = false;
  int decimals = 0;              // numerical only
  double missing_rate = 0.0;     // share of cells written blank (the truth still drives preferences)
  std::vector<double> num;       // numerical values, one per row
  std::vector<std::string> cat;  // categorical levels (or extra text), one per row
};

// An entity table (users or items) as a preset builds it. Ids are written as prefix + row number
// unless the preset gives its own format (they must be unique and non-empty).
struct Table {
  std::string id_column;                              // e.g. "user_id"
  std::string id_prefix;                              // e.g. "U"
  std::function<std::string(int64_t row)> id_format;  // optional, e.g. H&M's 10-digit article ids
  std::deque<Column> columns;                         // deque: references returned by add_* stay valid

  Column& add_numerical(std::string name, int decimals, double missing_rate = 0.0);
  Column& add_categorical(std::string name, double missing_rate = 0.0);
  Column& add_extra(std::string name, double missing_rate = 0.0);  // written text, not a feature
  const Column& column(const std::string& name) const;             // throws Error when absent
  int64_t rows() const;
  std::string id(int64_t row) const;  // the id written for a row
};

// How one feature moves a latent vector (or a scalar such as an item's popularity). Every effect is
// centred over the table and scaled so its root-mean-square norm equals |scale|: scales read as the
// relative strength of each effect. (Levels effects are the exception: centred, value * scale.)
struct Effect {
  enum class Kind { Embed, Linear, Curve, Cross, Levels };
  Kind kind = Kind::Embed;
  std::string feature;
  std::string feature2;  // Cross only
  double scale = 1.0;    // Linear: the sign sets the direction along the axis
  std::string shared;    // Embed: embedding table shared across sides; Linear: named axis shared across sides
  bool log = false;      // numerical: log1p before standardising (skewed counts, durations)
  std::vector<std::pair<std::string, double>> values;  // Levels: level -> value (unlisted levels: 0)

  Effect& logged() {
    log = true;
    return *this;
  }
};
// A categorical level -> a random vector. Two sides using the same `shared_table` and level names get
// the same vectors, so their dot product rewards matching levels (favourite genre <-> genre).
Effect embed(std::string feature, double scale, std::string shared_table = {});
// A standardised numerical value times a direction: a private random one, or a named axis that both
// sides can use (age on "era" with one sign, release year with the other: older users, older songs).
Effect linear(std::string feature, double scale, std::string axis = {});
// A categorical column read as a number through a level -> value table (unlisted levels are 0), then
// used like `linear`: it puts categories on a named axis that a numerical or another categorical feature
// on the other side shares (a message's source "doctor" on the axis of a recipient's trust in doctors).
// The values are centred over the table but not standardised: a level's offset is value * scale however
// rare the level is.
Effect levels(std::string feature, std::vector<std::pair<std::string, double>> values, double scale,
              std::string axis = {});
// A smooth nonlinear response: radial bumps over the standardised value, each with a random vector.
Effect curve(std::string feature, double scale);
// A within-side interaction: each (level of a, level of b) pair gets its own vector; numerical
// features are cut into quartile bands.
Effect cross(std::string feature_a, std::string feature_b, double scale);

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

// Sanity figures of a generated dataset: leave-last-out HR@10 (full catalog, the user's other items
// masked) of the oracle and of a popularity ranking, and the share of interactions on the top 1% items.
struct Checks {
  double oracle_hr10 = 0.0;
  double popularity_hr10 = 0.0;
  double top1pct_share = 0.0;
};

// A generated dataset in memory.
struct Result {
  std::vector<std::vector<uint8_t>> user_missing, item_missing;  // [column][row]: 1 = written blank
  std::vector<int64_t> user, item, timestamp;                    // interactions, sorted by time
  std::vector<std::vector<double>> extra;                        // [InteractionFormat::extra][interaction]
  int64_t dim = 0;
  std::vector<float> user_factors;  // (n_users, dim) oracle, users row order
  std::vector<float> item_factors;  // (n_items, dim) oracle, items row order
  std::vector<float> item_bias;     // (n_items)
  // The true, noise-free utility (hidden taste and hidden popularity included): the ceiling no ranker
  // beats in expectation. A model can exceed the feature oracle above, because users and items are
  // identifiable from their feature values and their histories reveal the hidden parts.
  std::vector<float> true_user_factors, true_item_factors, true_item_bias;
  Checks checks;
  int64_t drifted_users = 0;  // users in the drift segment (0 without --drift)
};

// Validates the spec (throws Error) and samples exactly `pairs` interactions. Deterministic in seed.
Result generate(const Spec& spec, const GenerateOptions& options);

// Writes users.csv, items.csv, interactions.csv, schema.toml, oracle.safetensors and dataset.json
// into `dir` (which must exist; callers stage it, see io::StagedDir).
void write_dataset(const Spec& spec, const Result& result, const GenerateOptions& options,
                   const std::filesystem::path& dir);

// The oracle's definition, as written to dataset.json and the safetensors metadata.
std::string oracle_definition();

}  // namespace gen
}  // namespace ftmamba::data
