// mamba_ssm's layout (lm/mamba_ssm_checkpoint.h) and the torch.save reader under it (io/torch_checkpoint.h), on
// fixtures PyTorch wrote (tests/fixtures/mamba_ssm/make_fixture.py): every tensor of the state dict holds the
// values the script gave it; views into one storage come back with their offsets and strides; bf16 and fp16 keep
// their values; a pickle that would run a program is refused by name; the folder loads as the model transformers'
// layout gives for the same weights; damaged files are errors naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "error_message.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/torch_checkpoint.h"
#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/lm/mamba_ssm_checkpoint.h"
#include "ftmamba/lm/pretrained.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
namespace lm = ftmamba::lm;
using ftmamba_test::error_message;

namespace {

const fs::path kFixtures = fs::path(FTMAMBA_SOURCE_DIR) / "tests" / "fixtures" / "mamba_ssm";

// make_fixture.py's values: 0.5 sin(0.37 i + 0.11 k) for element i of the k-th parameter name in sorted order.
torch::Tensor fixture_values(torch::IntArrayRef shape, int64_t k) {
  const int64_t n = c10::multiply_integers(shape);
  return (torch::sin(torch::arange(n, torch::kFloat64) * 0.37 + 0.11 * static_cast<double>(k)) * 0.5)
      .to(torch::kFloat32)
      .reshape(shape);
}

class MambaSsmCheckpoint : public ftmamba_test::ScratchDirTest {};

}  // namespace

TEST_F(MambaSsmCheckpoint, EveryTensorHoldsTheValuesPyTorchSaved) {
  const auto tensors = ftmamba::io::read_torch_checkpoint(kFixtures / "tiny" / "pytorch_model.bin");
  ASSERT_EQ(tensors.size(), 23u);  // embedding, 2 x (9 mixer + norm), norm_f, lm_head
  int64_t k = 0;
  for (const auto& [name, t] : tensors) {    // std::map: sorted, as the script's parameter order
    if (name == "lm_head.weight") continue;  // tied: not a parameter of its own
    EXPECT_TRUE(t.equal(fixture_values(t.sizes(), k))) << name;
    ++k;
  }
  EXPECT_EQ(tensors.at("backbone.embedding.weight").sizes(), (std::vector<int64_t>{256, 16}));
  EXPECT_TRUE(tensors.at("lm_head.weight").equal(tensors.at("backbone.embedding.weight")));
}

TEST_F(MambaSsmCheckpoint, ViewsDtypesAndEmptyTensorsComeBackAsSaved) {
  const auto t = ftmamba::io::read_torch_checkpoint(kFixtures / "views.bin");
  const auto base = torch::arange(40, torch::kFloat32);
  EXPECT_TRUE(t.at("whole").equal(base));
  EXPECT_TRUE(t.at("rows").equal(base.slice(0, 4, 16).view({3, 4})));
  EXPECT_TRUE(t.at("transposed").equal(base.slice(0, 4, 16).view({3, 4}).t()));
  EXPECT_TRUE(t.at("strided").equal(base.slice(0, 1, 40, 3)));
  EXPECT_EQ(t.at("bf16").scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(t.at("bf16").to(torch::kFloat32).equal(torch::tensor({1.5f, -2.25f, 3.0f})));
  EXPECT_EQ(t.at("fp16").scalar_type(), torch::kFloat16);
  EXPECT_EQ(t.at("fp16")[1].item<float>(), 65504.0f);
  EXPECT_EQ(t.at("empty").sizes(), (std::vector<int64_t>{0, 3}));
}

TEST_F(MambaSsmCheckpoint, APickleThatWouldRunAProgramIsRefusedByName) {
  const std::string msg = error_message([] { ftmamba::io::read_torch_checkpoint(kFixtures / "hostile.bin"); });
  EXPECT_NE(msg.find("hostile.bin: data.pkl at byte "), std::string::npos) << msg;
  EXPECT_NE(msg.find("the global 'posix.system', which is not part of a state dict of tensors (refused: it could run "
                     "code)"),
            std::string::npos)
      << msg;
}

TEST_F(MambaSsmCheckpoint, TheFolderLoadsAsTheSameModelInTransformersLayout) {
  const fs::path dir = kFixtures / "tiny";
  ASSERT_TRUE(lm::is_mamba_ssm_folder(dir));
  const auto config = lm::read_mamba_ssm_config(dir);
  EXPECT_EQ(config.model.vocab_size, 256);  // 250 padded to a multiple of 8
  EXPECT_EQ(config.model.mixer.d_state, 8);
  auto model = lm::load_mamba_ssm(dir);
  const auto tensors = ftmamba::io::read_torch_checkpoint(dir / "pytorch_model.bin");
  EXPECT_TRUE(model->embedding->weight.equal(tensors.at("backbone.embedding.weight")));
  // Saved in transformers' layout and loaded back: the same logits.
  lm::save_hf_mamba(*model, config, dir_ / "hf");
  ASSERT_FALSE(lm::is_mamba_ssm_folder(dir_ / "hf"));
  auto again = lm::PretrainedLM::load(dir_ / "hf", torch::kCPU);
  const auto ids = torch::tensor({{3, 250, 17, 0, 99}}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto a = model->forward(ids), b = again.model->forward(ids);
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_TRUE(a.equal(b));
  EXPECT_GT(a.abs().max().item<double>(), 0.0);
}

TEST_F(MambaSsmCheckpoint, DamagedFilesAreErrorsNamingTheFile) {
  const auto truncated = write("cut.bin", ftmamba::io::read_file(kFixtures / "views.bin").substr(0, 700));
  EXPECT_NE(error_message([&] { ftmamba::io::read_torch_checkpoint(truncated); }).find(truncated.string() + ": "),
            std::string::npos);
  const auto text = write("text.bin", "not a zip at all");
  EXPECT_EQ(error_message([&] { ftmamba::io::read_torch_checkpoint(text); }),
            text.string() +
                ": not a torch.save zip archive (a checkpoint of PyTorch 1.6 or later; an older one must "
                "be saved again)");
  fs::create_directories(dir_ / "m");
  fs::copy_file(kFixtures / "tiny" / "pytorch_model.bin", dir_ / "m" / "pytorch_model.bin");
  write("m/config.json", R"({"d_model": 16, "n_layer": 2, "vocab_size": 250, "rms_norm": false})");
  EXPECT_EQ(error_message([&] { lm::load_mamba_ssm(dir_ / "m"); }),
            (dir_ / "m" / "config.json").string() +
                ": key 'rms_norm' is false; ftmamba runs only true (the Mamba checkpoints normalise with RMSNorm)");
  write("m/config.json", R"({"d_model": 16, "n_layer": 3, "vocab_size": 250, "ssm_cfg": {"d_state": 8}})");
  EXPECT_EQ(error_message([&] { lm::load_mamba_ssm(dir_ / "m"); }),
            (dir_ / "m" / "pytorch_model.bin").string() + ": tensor 'backbone.layers.2.mixer.A_log' is missing");
}
