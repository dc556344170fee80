// The stability analysis (eval/stability): on a trained FT-Mamba tower every layer's maximal Lyapunov
// exponent is negative, and the exact value matches one computed here from the layer's time steps; the
// embedding's deviation under input perturbations is O(eps) with a bounded ratio; bf16 deviates a little
// but measurably; a Transformer tower is refused; the CLI writes its report.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "binary_runner.h"
#include "ftmamba/core/error.h"
#include "ftmamba/eval/stability.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/report/gnuplot.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"

namespace fs = std::filesystem;
namespace train = ftmamba::train;
namespace nn = ftmamba::nn;
namespace run = ftmamba::run;

namespace {
class Stability : public ftmamba_test::GeneratedDataSuite<3000, 7> {
 protected:
  static run::RunConfig config(const std::string& type) {
    run::RunConfig cfg;
    cfg.model.type = ftmamba::parse_enum<ftmamba::nn::EncoderType>(type);
    cfg.model.d_token = 16;
    cfg.model.embed_dim = 16;
    cfg.model.n_heads = 2;
    cfg.train.epochs = 2;
    cfg.train.batch_size = 256;
    cfg.train.valid_users = 200;
    return cfg;
  }
};
}  // namespace

TEST_F(Stability, TrainedTowerIsLyapunovStableWithBoundedResponse) {
  const auto cfg = config("ft-mamba");
  const auto data = run::prepare_data(data_dir(), cfg);
  torch::manual_seed(3);
  auto model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  train::TrainOptions quiet;
  quiet.quiet = true;
  train::train_two_tower(model, data, cfg, quiet);

  const auto inputs = data.users.index_select(torch::arange(std::min<int64_t>(300, data.users.size())));
  const auto report = ftmamba::eval::analyze_tower_stability(*model->user_tower, inputs);
  auto& enc = dynamic_cast<nn::FTMambaEncoder&>(*model->user_tower);
  ASSERT_EQ(report["layers"].size(), 2u);

  // The exact exponent, written out for layer 0: max over (row, d, n) of mean_t dt[t, d] A[d, n].
  {
    torch::NoGradGuard g;
    auto& layer = *enc.layers[0]->as<nn::MambaResidualLayer>();
    const auto tokens = enc.tokenizer(inputs.numerical, inputs.missing, inputs.categorical);
    const auto dt = layer.mixer->time_steps(layer.norm(tokens)).to(torch::kFloat64);  // (rows, L, d_inner)
    const auto A = -torch::exp(layer.mixer->A_log.to(torch::kFloat64));               // (d_inner, N)
    const double want = (dt.mean(1).unsqueeze(-1) * A).max().item<double>();
    EXPECT_NEAR(report["layers"][0]["lyapunov_exact"]["max"].get<double>(), want, 1e-9 * std::abs(want));
  }
  for (const auto& l : report["layers"]) {
    EXPECT_LT(l["lyapunov_exact"]["max"].get<double>(), 0.0) << l.dump();
    EXPECT_LE(l["lyapunov_tangent"]["max"].get<double>(), 0.0) << l.dump();
    EXPECT_LE(l["lyapunov_tangent"]["mean"].get<double>(), l["lyapunov_tangent"]["max"].get<double>());
    EXPECT_GT(l["dt"]["min"].get<double>(), 0.0);
  }

  // O(eps): deviation / eps is bounded and the same from 1e-6 to 1e-4 (the linear regime).
  const auto& pert = report["perturbation"];
  ASSERT_EQ(pert.size(), 5u);
  for (const auto& r : pert) {
    EXPECT_GT(r["output_rel_dev"].get<double>(), 0.0) << r.dump();
    EXPECT_LT(r["ratio"].get<double>(), 10.0) << r.dump();
  }
  const double r6 = pert[0]["ratio"].get<double>(), r4 = pert[2]["ratio"].get<double>();
  EXPECT_NEAR(r6 / r4, 1.0, 0.05) << pert.dump();

  // bf16 autocast moves the embedding, a little.
  const auto& prec = report["precision"];
  ASSERT_GE(prec.size(), 1u);
  EXPECT_EQ(prec[0]["precision"], "bf16");
  EXPECT_GT(prec[0]["output_rel_dev"].get<double>(), 1e-5);
  EXPECT_LT(prec[0]["output_rel_dev"].get<double>(), 0.1);
  // The analysis leaves the tower in float32 (it runs the perturbations in float64).
  for (const auto& p : model->user_tower->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}

TEST_F(Stability, ATransformerTowerIsRefused) {
  const auto cfg = config("ft-transformer");
  const auto data = run::prepare_data(data_dir(), cfg);
  auto model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  EXPECT_THROW(ftmamba::eval::analyze_tower_stability(*model->user_tower, data.users.index_select(torch::arange(10))),
               ftmamba::Error);
}

TEST_F(Stability, CommandWritesItsReport) {
  if (ftmamba::report::find_gnuplot().empty()) {  // the report's figure needs it
    if (std::getenv("CI")) FAIL() << "gnuplot not found on CI: apt-get install gnuplot-nox";
    GTEST_SKIP() << "gnuplot not found: apt-get install gnuplot-nox (scripts/install-deps does)";
  }
  const fs::path run = root() / "run", out = root() / "report";
  auto t = ftmamba_test::run_binary("train --quiet --data " + data_dir().string() + " --out " + run.string() +
                                    " --set train.epochs=1 --set model.d_token=16 --set model.embed_dim=16");
  ASSERT_EQ(t.code, 0) << t.out;
  auto r = ftmamba_test::run_binary("analyze stability --rows 200 --run " + run.string() + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("user layer 1: lambda_max"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out / "stability.json"));
  EXPECT_TRUE(fs::exists(out / "stability.md"));
  EXPECT_TRUE(fs::exists(out / "figures" / "stability.svg"));
}
