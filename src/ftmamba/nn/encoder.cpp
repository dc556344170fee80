#include "ftmamba/nn/encoder.h"

#include "ftmamba/core/error.h"
#include "ftmamba/nn/ft_mamba.h"

namespace ftmamba::nn {

std::shared_ptr<TowerEncoder> make_encoder(const EncoderConfig& cfg, const FeatureShape& shape) {
  if (cfg.type == "ft-mamba") return std::make_shared<FTMambaEncoder>(cfg, shape);
  throw Error("unknown model type '" + cfg.type + "' (known: ft-mamba)");
}

}  // namespace ftmamba::nn
