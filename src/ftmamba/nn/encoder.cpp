#include "ftmamba/nn/encoder.h"

#include "ftmamba/core/error.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/nn/ft_transformer.h"

namespace ftmamba::nn {

std::shared_ptr<TowerEncoder> make_encoder(const EncoderConfig& cfg, const FeatureShape& shape) {
  switch (cfg.type) {
    case EncoderType::kFtMamba:
      return std::make_shared<FTMambaEncoder>(cfg, shape);
    case EncoderType::kFtTransformer:
    case EncoderType::kFtTransformerStock:
      return std::make_shared<FTTransformerEncoder>(cfg, shape);
  }
  throw Error("unknown model type " + std::to_string(static_cast<int>(cfg.type)));
}

}  // namespace ftmamba::nn
