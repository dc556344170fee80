// defines: ftmamba_test::train_tiny_run, a run folder trained for one epoch with small towers (d_token 16, embedding
// 16, batch 256) on a generated dataset, the way `ftmamba train` writes one: config.json and model.safetensors, and,
// when asked, the weights' SHA-256 record. The serving tests load it.
#pragma once
#include <torch/torch.h>

#include <filesystem>

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/train/trainer.h"

namespace ftmamba_test {

inline void train_tiny_run(const std::filesystem::path& data_dir, const std::filesystem::path& run_dir,
                           bool record_hashes = false) {
  namespace run = ftmamba::run;
  run::RunConfig cfg;
  cfg.model.d_token = 16;
  cfg.model.embed_dim = 16;
  cfg.train.epochs = 1;
  cfg.train.batch_size = 256;
  cfg.train.valid_users = 200;
  const auto data = run::prepare_data(data_dir, cfg);
  torch::manual_seed(5);
  run::Run r;
  r.dir = run_dir;
  r.data_dir = data_dir;
  r.config = cfg;
  r.user_encoding = data.user_encoding;
  r.item_encoding = data.item_encoding;
  r.model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  ftmamba::train::TrainOptions quiet;
  quiet.quiet = true;
  ftmamba::train::train_two_tower(r.model, data, cfg, quiet);
  std::filesystem::create_directories(run_dir);
  ftmamba::io::write_file_atomic(run_dir / "config.json", r.config_json().dump(2));
  run::save_model(run_dir / "model.safetensors", *r.model);
  if (record_hashes) run::record_weight_hashes(run_dir);
}

}  // namespace ftmamba_test
