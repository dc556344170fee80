#include "ftmamba/nn/two_tower.h"

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"

namespace ftmamba::nn {

TwoTowerImpl::TwoTowerImpl(const EncoderConfig& user_cfg, const FeatureShape& user_shape, const EncoderConfig& item_cfg,
                           const FeatureShape& item_shape) {
  user_tower = register_module("user_tower", make_encoder(user_cfg, user_shape));
  item_tower = register_module("item_tower", make_encoder(item_cfg, item_shape));
  if (user_tower->embedding_dim() != item_tower->embedding_dim())
    throw Error("user and item towers must produce the same embedding size (" +
                std::to_string(user_tower->embedding_dim()) + " vs " + std::to_string(item_tower->embedding_dim()) +
                ")");
}

torch::Tensor TwoTowerImpl::encode_users(const data::EncodedFeatures& f) {
  return user_tower->forward(f.numerical, f.missing, f.categorical);
}

torch::Tensor TwoTowerImpl::encode_items(const data::EncodedFeatures& f) {
  return item_tower->forward(f.numerical, f.missing, f.categorical);
}

torch::Tensor encode_all(TowerEncoder& tower, const data::EncodedFeatures& f, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const torch::Device device = module_device(tower);
  const bool was_training = tower.is_training();
  tower.eval();
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < f.size(); start += batch_size) {
    const int64_t len = std::min(batch_size, f.size() - start);
    auto emb = tower.forward(f.numerical.narrow(0, start, len).to(device), f.missing.narrow(0, start, len).to(device),
                             f.categorical.narrow(0, start, len).to(device));
    out.push_back(emb.to(torch::kFloat32));
  }
  tower.train(was_training);
  if (out.empty()) return torch::zeros({0, tower.embedding_dim()}, torch::TensorOptions().device(device));
  return torch::cat(out, 0);
}

}  // namespace ftmamba::nn
