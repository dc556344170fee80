// Multi-valued categorical features ("Action|Comedy"): splitting a cell, the schema keys, the encoding (one
// vocabulary of values, -1 padding, unknown and missing values, JSON round trip) and the tokenizer's mean of
// embeddings, against a plain per-row reference in float64 with finite-difference gradients, on odd sizes.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/multi_valued.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/nn/tokenizer.h"
#include "gpu_skip.h"

namespace data = ftmamba::data;
namespace nn = ftmamba::nn;
using Strings = std::vector<std::string>;

namespace {

TEST(SplitValues, TrimsDropsEmptiesAndRepeats) {
  EXPECT_EQ(data::split_values("Action|Comedy", "|"), (Strings{"Action", "Comedy"}));
  EXPECT_EQ(data::split_values(" Action | Comedy|Action|", "|"), (Strings{"Action", "Comedy"}));
  EXPECT_EQ(data::split_values("", "|"), Strings{});
  EXPECT_EQ(data::split_values(" | ", "|"), Strings{});
  EXPECT_EQ(data::split_values("Sci-Fi", "|"), Strings{"Sci-Fi"});
  EXPECT_EQ(data::split_values("a::b::c", "::"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(data::split_values("a|b", ","), Strings{"a|b"});
}

std::filesystem::path write_schema(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("ftmamba_multi_schema_" + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path;
}

const std::string kSchemaStart =
    "[users]\nid = \"u\"\n[interactions]\nuser = \"u\"\nitem = \"i\"\n[items]\nid = \"i\"\n";

TEST(MultiValuedSchema, LoadsAndWritesBack) {
  const auto path = write_schema(kSchemaStart +
                                 "categorical = [\"lang\"]\nmulti_valued = [\"genres\"]\n"
                                 "separator = \";\"\n");
  const auto s = data::Schema::load(path);
  EXPECT_EQ(s.items.multi_valued, Strings{"genres"});
  EXPECT_EQ(s.items.separator, ";");
  EXPECT_TRUE(s.users.multi_valued.empty());
  EXPECT_EQ(s.users.separator, "|");
  std::ofstream(path) << s.to_toml();
  const auto back = data::Schema::load(path);
  EXPECT_EQ(back.items.multi_valued, Strings{"genres"});
  EXPECT_EQ(back.items.separator, ";");
  std::filesystem::remove(path);
}

TEST(MultiValuedSchema, RefusesABadSeparatorAndADoubleRole) {
  const auto error_of = [](const std::string& text) {
    const auto path = write_schema(kSchemaStart + text);
    try {
      data::Schema::load(path);
    } catch (const ftmamba::Error& e) {
      std::filesystem::remove(path);
      return std::string(e.what());
    }
    std::filesystem::remove(path);
    return std::string("(no error)");
  };
  EXPECT_NE(error_of("multi_valued = [\"g\"]\nseparator = \"\"\n").find("items.separator"), std::string::npos);
  EXPECT_NE(error_of("multi_valued = [\"g\"]\nseparator = 3\n").find("items.separator"), std::string::npos);
  const auto twice = error_of("categorical = [\"g\"]\nmulti_valued = [\"g\"]\n");
  EXPECT_NE(twice.find("items.multi_valued[0]"), std::string::npos) << twice;
  EXPECT_NE(twice.find("listed twice"), std::string::npos) << twice;
}

// Five items: one single-valued and one multi-valued feature; rows 0-3 fit the encoding.
data::FeatureTable genre_table() {
  data::FeatureTable t;
  t.ids = {"m0", "m1", "m2", "m3", "m4"};
  for (int64_t r = 0; r < 5; ++r) t.index[t.ids[r]] = r;
  t.categorical_names = {"lang"};
  t.categorical = {"en", "fr", "en", "en", "de"};
  t.multi_valued_names = {"genres"};
  t.multi_valued = {"Action|Comedy", "Comedy", "", "Drama|Action|Comedy", "Horror|Comedy"};
  return t;
}

TEST(MultiValuedEncoding, OneVocabularyOfValuesPaddedWithMinusOne) {
  const auto t = genre_table();
  const auto e = data::FeatureEncoding::fit(t, {0, 1, 2, 3}, 1);
  // Comedy 3, Action 2, Drama 1 in the fitted rows; Horror only in row 4, so unknown.
  ASSERT_EQ(e.multi_vocab.size(), 1u);
  EXPECT_EQ(e.multi_vocab[0], (Strings{"", "Comedy", "Action", "Drama"}));
  EXPECT_EQ(e.multi_widths, std::vector<int64_t>{3});  // row 3 holds three values
  EXPECT_EQ(e.vocab[0], (Strings{"", "en", "fr"}));
  EXPECT_EQ(e.multi_offsets, std::vector<int64_t>{3});  // after lang's 3 entries
  EXPECT_EQ(e.total_categories(), 7);
  EXPECT_EQ(e.categorical_columns(), 4);
  const auto enc = e.transform(t);
  ASSERT_EQ(enc.categorical.sizes(), (torch::IntArrayRef{5, 4}));
  const std::vector<std::vector<int64_t>> want = {
      {1, 5, 4, -1},   // en; Action (3+2), Comedy (3+1)
      {2, 4, -1, -1},  // fr; Comedy
      {1, 3, -1, -1},  // en; missing: the unknown bucket alone
      {1, 6, 5, 4},    // en; Drama, Action, Comedy
      {0, 3, 4, -1},   // de unknown; Horror unknown, Comedy
  };
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(enc.categorical[r][c].item<int64_t>(), want[r][c]) << r << "," << c;
}

TEST(MultiValuedEncoding, RoundTripsThroughJsonAndRefusesTooManyValues) {
  auto t = genre_table();
  const auto e = data::FeatureEncoding::fit(t, {0, 1, 2, 3}, 1);
  const auto back = data::FeatureEncoding::from_json(e.to_json());
  EXPECT_EQ(back.multi_valued_names, e.multi_valued_names);
  EXPECT_EQ(back.multi_vocab, e.multi_vocab);
  EXPECT_EQ(back.multi_widths, e.multi_widths);
  EXPECT_EQ(back.multi_offsets, e.multi_offsets);
  EXPECT_TRUE(torch::equal(back.transform(t).categorical, e.transform(t).categorical));

  auto j = e.to_json();
  j["multi_valued"][0]["width"] = 65;
  try {
    data::FeatureEncoding::from_json(j);
    ADD_FAILURE() << "a width of 65 was accepted";
  } catch (const ftmamba::Error& err) {
    EXPECT_NE(std::string(err.what()).find("multi_valued[0].width"), std::string::npos) << err.what();
  }
  t.multi_valued[1] = "Comedy|Drama|Action|Horror";  // four values, the encoding takes three
  try {
    e.transform(t);
    ADD_FAILURE() << "four values went into three columns";
  } catch (const ftmamba::Error& err) {
    EXPECT_NE(std::string(err.what()).find("'genres' of 'm1' has 4 values"), std::string::npos) << err.what();
  }
}

// The tokenizer's tokens, one row and one feature at a time, as the math says.
torch::Tensor reference_tokens(nn::FeatureTokenizer& tok, const torch::Tensor& cat, int64_t n_cat,
                               const std::vector<int64_t>& widths) {
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < cat.size(0); ++b) {
    std::vector<torch::Tensor> tokens;
    for (int64_t j = 0; j < n_cat; ++j)
      tokens.push_back(tok->cat_embeddings[cat[b][j].item<int64_t>()] + tok->cat_bias[j]);
    int64_t col = n_cat;
    for (size_t j = 0; j < widths.size(); ++j) {
      auto sum = torch::zeros_like(tok->cls_token);
      int64_t count = 0;
      for (int64_t k = 0; k < widths[j]; ++k) {
        const int64_t id = cat[b][col + k].item<int64_t>();
        if (id < 0) continue;
        sum = sum + tok->cat_embeddings[id];
        ++count;
      }
      tokens.push_back(sum / static_cast<double>(count) + tok->cat_bias[n_cat + j]);
      col += widths[j];
    }
    tokens.push_back(tok->cls_token);
    rows.push_back(torch::stack(tokens));
  }
  return torch::stack(rows);
}

// Odd sizes: batch 7, two single-valued columns, multi-valued widths 3 and 5 with random padding (each cell
// keeps at least one value), 13 categories, d 5.
struct TokenizerCase {
  std::vector<int64_t> widths{3, 5};
  nn::FeatureShape shape{0, 2, 13, widths};
  torch::Tensor cat;
  TokenizerCase() {
    torch::manual_seed(3);
    cat = torch::randint(0, 13, {7, 2 + 3 + 5}, torch::kInt64);
    auto keep = torch::rand({7, 8}).lt(0.6);
    keep.select(1, 0).fill_(true);
    keep.select(1, 3).fill_(true);
    cat.narrow(1, 2, 8).masked_fill_(keep.logical_not(), -1);
  }
};

TEST(MultiValuedTokenizer, MeansTheValuesEmbeddingsAsTheReferenceDoesInFloat64) {
  TokenizerCase c;
  nn::FeatureTokenizer tok(c.shape, 5);
  tok->to(torch::kFloat64);
  const auto none = torch::zeros({7, 0}, torch::kFloat64);
  const auto got = tok->forward(none, none, c.cat);
  ASSERT_EQ(got.sizes(), (torch::IntArrayRef{7, 2 + 2 + 1, 5}));
  const auto want = reference_tokens(tok, c.cat, 2, c.widths);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-14);

  // Every gradient against central differences of a random projection of the tokens.
  const auto probe = torch::randn(got.sizes(), torch::kFloat64);
  (tok->forward(none, none, c.cat) * probe).sum().backward();
  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  for (auto& p : tok->named_parameters()) {
    if (p.value().numel() == 0) continue;
    const auto flat = p.value().detach().view({-1});
    const auto grad = p.value().grad().view({-1});
    double worst = 0;
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double x = flat[i].item<double>();
      flat[i] = x + h;
      const double up = (tok->forward(none, none, c.cat) * probe).sum().item<double>();
      flat[i] = x - h;
      const double down = (tok->forward(none, none, c.cat) * probe).sum().item<double>();
      flat[i] = x;
      worst = std::max(worst, std::abs((up - down) / (2 * h) - grad[i].item<double>()));
    }
    EXPECT_LT(worst, 1e-7) << p.key();
  }
  // A padded column takes no gradient: row 0 of the table is only reached through real ids.
  EXPECT_GT(tok->cat_embeddings.grad().abs().sum().item<double>(), 0.0);
}

TEST(MultiValuedTokenizer, CudaMatchesTheCpu) {
  SKIP_WITHOUT_GPU();
  TokenizerCase c;
  nn::FeatureTokenizer cpu(c.shape, 5);
  nn::FeatureTokenizer gpu(c.shape, 5);
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < cpu->parameters().size(); ++i) gpu->parameters()[i].copy_(cpu->parameters()[i]);
  }
  gpu->to(torch::kCUDA);
  const auto none = torch::zeros({7, 0});
  const auto probe = torch::randn({7, 5, 5});
  (cpu->forward(none, none, c.cat) * probe).sum().backward();
  const auto got = gpu->forward(none.cuda(), none.cuda(), c.cat.cuda());
  (got * probe.cuda()).sum().backward();
  EXPECT_LT((got.cpu() - cpu->forward(none, none, c.cat)).abs().max().item<double>(), 1e-6);
  EXPECT_LT((gpu->cat_embeddings.grad().cpu() - cpu->cat_embeddings.grad()).abs().max().item<double>(), 1e-5);
  EXPECT_LT((gpu->cat_bias.grad().cpu() - cpu->cat_bias.grad()).abs().max().item<double>(), 1e-5);
}

}  // namespace
