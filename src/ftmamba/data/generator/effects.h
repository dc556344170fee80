// defines: the effect language of a preset's latent preference model: gen::Effect (how one feature moves
// a latent vector or a scalar) and its builders embed, linear, levels, curve and cross.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ftmamba::data::gen {

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

// "embed", "linear", "curve", "cross" or "levels": the kind's name in dataset.json and stream names.
const char* effect_kind_name(Effect::Kind kind);

}  // namespace ftmamba::data::gen
