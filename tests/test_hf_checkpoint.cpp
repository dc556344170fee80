// defines: tests of the Hugging Face MambaForCausalLM layout (lm/hf_checkpoint.h) on tiny models written by the
// tests: a save / load round trip gives the same weights and logits; the files hold exactly transformers' tensor
// names; sharded checkpoints load as one; bf16 checkpoints load; the logits equal an independent plain-LibTorch
// transcription of transformers' MambaForCausalLM forward (its slow path: the sequential scan); bad configs and
// tensors are refused naming the file and the key or tensor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "error_message.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/lm/score.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
namespace lm = ftmamba::lm;
using ftmamba_test::error_message;
using torch::Tensor;

namespace {

lm::HfMambaConfig tiny_config() {
  lm::HfMambaConfig c;
  c.model.vocab_size = 48;
  c.model.d_model = 16;
  c.model.n_layers = 2;
  c.model.mixer.d_state = 4;
  c.model.mixer.d_conv = 4;
  c.model.mixer.expand = 2;
  c.model.mixer.d_model = c.model.d_model;  // as MambaLM sets it
  c.layer_norm_epsilon = 1e-5;
  return c;
}

// A tiny model whose every weight is random (not the initialisation's structure), so a misplaced tensor shows.
ftmamba::nn::MambaLM random_model(const lm::HfMambaConfig& c, int seed) {
  torch::manual_seed(seed);
  ftmamba::nn::MambaLM model(c.model);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    auto& p = item.value();
    if (item.key().find("A_log") != std::string::npos) {
      p.copy_(torch::rand_like(p) * 2 - 1);
    } else if (item.key().find("norm") != std::string::npos) {
      p.copy_(1 + 0.2 * torch::randn_like(p));
    } else {
      p.copy_(0.3 * torch::randn_like(p));
    }
  }
  model->eval();
  return model;
}

// transformers' MambaForCausalLM forward, slow path, written out from its definition: per layer
// residual + mixer(rmsnorm(x)); the mixer: in_proj -> (x, gate); causal depthwise conv + SiLU; x_proj -> (dt, B, C);
// dt = softplus(dt_proj(dt)); the sequential scan h = exp(dt A) h + dt B x, y = C h + D x; y * SiLU(gate); out_proj.
// Float64 throughout. tokens (1, L) -> logits (L, vocab).
Tensor reference_logits(const std::map<std::string, Tensor>& w, const lm::HfMambaConfig& c, const Tensor& tokens) {
  const auto get = [&](const std::string& name) { return w.at(name).to(torch::kFloat64); };
  const auto rms = [&](const Tensor& x, const Tensor& weight) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + c.layer_norm_epsilon) * weight;
  };
  const int64_t L = tokens.size(1), di = c.model.mixer.d_inner(), n = c.model.mixer.d_state, r = c.model.mixer.rank(),
                k = c.model.mixer.d_conv;
  Tensor x = get("backbone.embeddings.weight").index_select(0, tokens[0]);  // (L, d)
  for (int64_t layer = 0; layer < c.model.n_layers; ++layer) {
    const std::string p = "backbone.layers." + std::to_string(layer) + ".";
    const Tensor h = rms(x, get(p + "norm.weight"));
    const Tensor xz = torch::matmul(h, get(p + "mixer.in_proj.weight").t());  // (L, 2 di)
    const Tensor u = xz.narrow(1, 0, di), gate = xz.narrow(1, di, di);
    // Causal depthwise conv: out[t, c] = bias[c] + sum_j w[c, j] u[t - (k - 1) + j, c].
    const Tensor cw = get(p + "mixer.conv1d.weight").squeeze(1);  // (di, k)
    Tensor conv = get(p + "mixer.conv1d.bias").expand({L, di}).clone();
    for (int64_t t = 0; t < L; ++t)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t s = t - (k - 1) + j;
        if (s >= 0) conv[t] += cw.select(1, j) * u[s];
      }
    const Tensor xs = torch::silu(conv);                                        // (L, di)
    const Tensor proj = torch::matmul(xs, get(p + "mixer.x_proj.weight").t());  // (L, r + 2n)
    const Tensor dt = torch::softplus(torch::matmul(proj.narrow(1, 0, r), get(p + "mixer.dt_proj.weight").t()) +
                                      get(p + "mixer.dt_proj.bias"));  // (L, di)
    const Tensor B = proj.narrow(1, r, n), C = proj.narrow(1, r + n, n);
    const Tensor A = -torch::exp(get(p + "mixer.A_log"));  // (di, n)
    Tensor state = torch::zeros({di, n}, torch::kFloat64);
    Tensor y = torch::empty({L, di}, torch::kFloat64);
    for (int64_t t = 0; t < L; ++t) {
      state = torch::exp(dt[t].unsqueeze(1) * A) * state + (dt[t] * xs[t]).unsqueeze(1) * B[t].unsqueeze(0);
      y[t] = torch::matmul(state, C[t]) + get(p + "mixer.D") * xs[t];
    }
    x = x + torch::matmul(y * torch::silu(gate), get(p + "mixer.out_proj.weight").t());
  }
  return torch::matmul(rms(x, get("backbone.norm_f.weight")), get("backbone.embeddings.weight").t());
}

class HfCheckpoint : public ftmamba_test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    model_dir_ = dir_ / "model";
  }
  fs::path model_dir_;
};

TEST_F(HfCheckpoint, RoundTripGivesTheSameWeightsAndLogits) {
  const auto config = tiny_config();
  auto model = random_model(config, 1);
  lm::save_hf_mamba(*model, config, model_dir_);
  auto loaded = lm::load_hf_mamba(model_dir_);
  const auto a = model->named_parameters(), b = loaded->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  const auto tokens = torch::randint(config.model.vocab_size, {2, 9});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->forward(tokens), loaded->forward(tokens)));
}

TEST_F(HfCheckpoint, TheFilesHoldTransformersNames) {
  const auto config = tiny_config();
  auto model = random_model(config, 2);
  lm::save_hf_mamba(*model, config, model_dir_);
  std::set<std::string> names;
  for (const auto& [name, t] : ftmamba::io::load_safetensors(model_dir_ / "model.safetensors")) names.insert(name);
  std::set<std::string> want = {"backbone.embeddings.weight", "backbone.norm_f.weight"};
  for (const std::string layer : {"0", "1"})
    for (const std::string t :
         {"norm.weight", "mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias", "mixer.x_proj.weight",
          "mixer.dt_proj.weight", "mixer.dt_proj.bias", "mixer.out_proj.weight", "mixer.A_log", "mixer.D"})
      want.insert("backbone.layers." + layer + "." + t);
  EXPECT_EQ(names, want);
  const auto json = nlohmann::json::parse(std::ifstream(model_dir_ / "config.json"));
  EXPECT_EQ(json["model_type"], "mamba");
  EXPECT_EQ(json["hidden_size"], 16);
  EXPECT_EQ(json["state_size"], 4);
  EXPECT_EQ(json["time_step_rank"], 1);
  EXPECT_EQ(json["architectures"][0], "MambaForCausalLM");
}

TEST_F(HfCheckpoint, LogitsEqualTransformersForwardWrittenOut) {
  const auto config = tiny_config();
  auto model = random_model(config, 3);
  lm::save_hf_mamba(*model, config, model_dir_);
  auto loaded = lm::load_hf_mamba(model_dir_);
  const auto tokens = torch::randint(config.model.vocab_size, {1, 13});
  const auto want = reference_logits(ftmamba::io::load_safetensors(model_dir_ / "model.safetensors"), config, tokens);
  const auto scores =
      lm::score_tokens(*loaded, std::vector<int64_t>(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + 13));
  const double rel = ((scores.logits.to(torch::kFloat64) - want).abs().max() / want.abs().max()).item<double>();
  EXPECT_LT(rel, 1e-5);
  // The log-likelihoods are those of the reference's logits.
  const auto log_probs = torch::log_softmax(want, 1);
  for (int64_t t = 1; t < 13; ++t)
    EXPECT_NEAR(scores.log_likelihood[t - 1], log_probs[t - 1][tokens[0][t]].item<double>(), 1e-4) << t;
}

TEST_F(HfCheckpoint, ShardsLoadAsOne) {
  const auto config = tiny_config();
  auto model = random_model(config, 4);
  lm::save_hf_mamba(*model, config, model_dir_);
  auto tensors = ftmamba::io::load_safetensors(model_dir_ / "model.safetensors");
  fs::remove(model_dir_ / "model.safetensors");
  ftmamba::io::NamedTensors first, second;
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (const auto& [name, t] : tensors) {
    const bool in_first = name.find("layers.1.") == std::string::npos;
    (in_first ? first : second).emplace_back(name, t);
    index["weight_map"][name] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  first.emplace_back("lm_head.weight", tensors.at("backbone.embeddings.weight"));  // tied, written anyway
  index["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors";
  ftmamba::io::save_safetensors(model_dir_ / "model-00001-of-00002.safetensors", first);
  ftmamba::io::save_safetensors(model_dir_ / "model-00002-of-00002.safetensors", second);
  std::ofstream(model_dir_ / "model.safetensors.index.json") << index.dump();
  auto loaded = lm::load_hf_mamba(model_dir_);
  for (const auto& item : model->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), loaded->named_parameters()[item.key()])) << item.key();

  // A shard outside the folder is refused before anything is read.
  index["weight_map"]["backbone.norm_f.weight"] = "../elsewhere.safetensors";
  std::ofstream(model_dir_ / "model.safetensors.index.json") << index.dump();
  const auto outside = error_message([&] { lm::load_hf_mamba(model_dir_); });
  EXPECT_NE(outside.find("not a file of the checkpoint's folder"), std::string::npos) << outside;
}

TEST_F(HfCheckpoint, ABf16CheckpointLoadsWidened) {
  const auto config = tiny_config();
  auto model = random_model(config, 5);
  lm::save_hf_mamba(*model, config, model_dir_);
  auto tensors = ftmamba::io::load_safetensors(model_dir_ / "model.safetensors");
  ftmamba::io::NamedTensors narrowed;
  for (const auto& [name, t] : tensors) {
    // As the published bf16 checkpoints: A_log, D and the dt bias stay float32.
    const bool keep = name.find("A_log") != std::string::npos || name.find(".D") != std::string::npos ||
                      name.find("dt_proj.bias") != std::string::npos;
    narrowed.emplace_back(name, keep ? t : t.to(torch::kBFloat16));
  }
  ftmamba::io::save_safetensors(model_dir_ / "model.safetensors", narrowed);
  auto loaded = lm::load_hf_mamba(model_dir_);
  for (const auto& [name, t] : narrowed) {
    const std::string param = name == "backbone.embeddings.weight" ? "embedding.weight" : name.substr(9);
    const auto got = loaded->named_parameters()[param];
    EXPECT_EQ(got.scalar_type(), torch::kFloat32) << name;
    EXPECT_TRUE(torch::equal(got, t.to(torch::kFloat32))) << name;
  }
}

TEST_F(HfCheckpoint, BadConfigsAndTensorsAreNamed) {
  const auto config = tiny_config();
  auto model = random_model(config, 6);
  lm::save_hf_mamba(*model, config, model_dir_);
  const auto good = nlohmann::json::parse(std::ifstream(model_dir_ / "config.json"));
  const auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto j = good;
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    std::ofstream(model_dir_ / "config.json") << j.dump();
    return error_message([&] { lm::load_hf_mamba(model_dir_); });
  };
  const std::string config_path = (model_dir_ / "config.json").string();
  const auto missing = with("hidden_size", nullptr);
  EXPECT_NE(missing.find(config_path + ": key 'hidden_size' is missing"), std::string::npos) << missing;
  const auto bias = with("use_bias", true);
  EXPECT_NE(bias.find("key 'use_bias' is true"), std::string::npos) << bias;
  const auto type = with("model_type", "mamba2");
  EXPECT_NE(type.find("key 'model_type' is \"mamba2\""), std::string::npos) << type;
  const auto text = with("num_hidden_layers", "two");
  EXPECT_NE(text.find("key 'num_hidden_layers' must be a whole number"), std::string::npos) << text;
  const auto huge = with("hidden_size", int64_t{1} << 40);
  EXPECT_NE(huge.find("key 'hidden_size' must be in"), std::string::npos) << huge;
  const auto shape = with("hidden_size", 32);  // the tensors are d 16
  EXPECT_NE(shape.find("tensor 'backbone.embeddings.weight' has shape"), std::string::npos) << shape;
  std::ofstream(model_dir_ / "config.json") << good.dump();

  auto tensors = ftmamba::io::load_safetensors(model_dir_ / "model.safetensors");
  ftmamba::io::NamedTensors extra(tensors.begin(), tensors.end());
  extra.emplace_back("backbone.layers.0.mixer.surprise", torch::zeros({2}));
  ftmamba::io::save_safetensors(model_dir_ / "model.safetensors", extra);
  const auto unexpected = error_message([&] { lm::load_hf_mamba(model_dir_); });
  EXPECT_NE(unexpected.find("unexpected tensor 'backbone.layers.0.mixer.surprise'"), std::string::npos) << unexpected;
  ftmamba::io::NamedTensors fewer;
  for (const auto& [name, t] : tensors)
    if (name != "backbone.layers.1.mixer.D") fewer.emplace_back(name, t);
  ftmamba::io::save_safetensors(model_dir_ / "model.safetensors", fewer);
  const auto absent = error_message([&] { lm::load_hf_mamba(model_dir_); });
  EXPECT_NE(absent.find("tensor 'backbone.layers.1.mixer.D' is missing"), std::string::npos) << absent;
}

}  // namespace
