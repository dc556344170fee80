// defines: TwoTower, a user tower and an item tower (each its own TowerEncoder over its own features);
// score(u, i) = <user(u), item(i)> / temperature. Parameter names: user_tower.*, item_tower.*.
#pragma once
#include <torch/torch.h>

#include "ftmamba/data/preprocess.h"
#include "ftmamba/nn/encoder.h"

namespace ftmamba::nn {

class TwoTowerImpl : public torch::nn::Module {
 public:
  TwoTowerImpl(const EncoderConfig& user_cfg, const FeatureShape& user_shape, const EncoderConfig& item_cfg,
               const FeatureShape& item_shape);
  torch::Tensor encode_users(const data::EncodedFeatures& f);  // (n, embed)
  torch::Tensor encode_items(const data::EncodedFeatures& f);  // (n, embed)
  std::shared_ptr<TowerEncoder> user_tower, item_tower;
};
TORCH_MODULE(TwoTower);

// Encodes every row of `f` in batches, without gradients, on the tower's device (f may live anywhere);
// returns (n, embed) float32 on that device.
torch::Tensor encode_all(TowerEncoder& tower, const data::EncodedFeatures& f, int64_t batch_size);

}  // namespace ftmamba::nn
