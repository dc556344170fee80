#include "ftmamba/nn/encoder.h"

#include "ftmamba/core/error.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/nn/ft_transformer.h"

namespace ftmamba::nn {

const std::vector<std::string>& encoder_types() {
  static const std::vector<std::string> types = {"ft-mamba", "ft-transformer", "ft-transformer-stock"};
  return types;
}

std::shared_ptr<TowerEncoder> make_encoder(const EncoderConfig& cfg, const FeatureShape& shape) {
  if (cfg.type == "ft-mamba") return std::make_shared<FTMambaEncoder>(cfg, shape);
  if (cfg.type == "ft-transformer" || cfg.type == "ft-transformer-stock")
    return std::make_shared<FTTransformerEncoder>(cfg, shape);
  std::string known;
  for (const auto& t : encoder_types()) known += (known.empty() ? "" : ", ") + t;
  throw Error("unknown model type '" + cfg.type + "' (known: " + known + ")");
}

}  // namespace ftmamba::nn
