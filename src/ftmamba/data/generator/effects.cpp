// defines: the effect builders and effect_kind_name.
#include "ftmamba/data/generator/effects.h"

namespace ftmamba::data::gen {

namespace {
Effect make_effect(Effect::Kind kind, std::string feature, std::string feature2, double scale, std::string shared) {
  Effect e;
  e.kind = kind;
  e.feature = std::move(feature);
  e.feature2 = std::move(feature2);
  e.scale = scale;
  e.shared = std::move(shared);
  return e;
}
}  // namespace

Effect embed(std::string feature, double scale, std::string shared_table) {
  return make_effect(Effect::Kind::Embed, std::move(feature), {}, scale, std::move(shared_table));
}
Effect linear(std::string feature, double scale, std::string axis) {
  return make_effect(Effect::Kind::Linear, std::move(feature), {}, scale, std::move(axis));
}
Effect levels(std::string feature, std::vector<std::pair<std::string, double>> values, double scale, std::string axis) {
  Effect e = make_effect(Effect::Kind::Levels, std::move(feature), {}, scale, std::move(axis));
  e.values = std::move(values);
  return e;
}
Effect curve(std::string feature, double scale) {
  return make_effect(Effect::Kind::Curve, std::move(feature), {}, scale, {});
}
Effect cross(std::string feature_a, std::string feature_b, double scale) {
  return make_effect(Effect::Kind::Cross, std::move(feature_a), std::move(feature_b), scale, {});
}

const char* effect_kind_name(Effect::Kind k) {
  switch (k) {
    case Effect::Kind::Embed:
      return "embed";
    case Effect::Kind::Linear:
      return "linear";
    case Effect::Kind::Curve:
      return "curve";
    case Effect::Kind::Cross:
      return "cross";
    case Effect::Kind::Levels:
      return "levels";
  }
  return "?";
}

}  // namespace ftmamba::data::gen
