// ItemIndex (serve/, FAISS): the flat index is the Recommender's exact top-k (rows and scores) with and without
// the seen items excluded; hnsw and ivf reach recall@10 >= 0.9 on seeded clustered embeddings; every type
// honours excluded rows and still fills k, finds an upserted item, scores a replaced one by its new embedding and
// never returns a removed one; save/load gives the same results; a corrupt, truncated or foreign index is
// refused with the file named; a catalog too small for ivf names --nlist.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/serve/index_build.h"
#include "ftmamba/serve/index_params.h"
#include "ftmamba/serve/index_recall.h"
#include "ftmamba/serve/item_index.h"
#include "ftmamba/serve/recommender.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;
namespace serve = ftmamba::serve;
using serve::IndexType;

namespace {

constexpr int64_t kItems = 5000, kDim = 32, kClusters = 50;

// (n, dim) points around `clusters` random centres (seeded): the shape of real item embeddings, where ANN
// indexes find their neighbours in a few lists or graph hops.
torch::Tensor clustered(int64_t n, int64_t dim, int64_t clusters, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto centres = torch::randn({clusters, dim}, gen);
  const auto which = torch::randint(clusters, {n}, gen);
  return (centres.index_select(0, which) + 0.3 * torch::randn({n, dim}, gen)).contiguous();
}

serve::IndexParams params_for(IndexType type, int64_t n, int64_t dim) {
  serve::IndexRequest r;
  r.type = type;
  return serve::resolve_index_params(r, n, dim);
}

serve::IndexIdentity identity_of(int64_t dim) {
  serve::IndexIdentity id;
  id.dim = dim;
  id.weights = {{"model.safetensors", std::string(64, 'a')}};
  return id;
}

std::vector<int64_t> rows_of(const std::vector<serve::SearchHit>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.item_row);
  return out;
}

double recall(const std::vector<std::vector<serve::SearchHit>>& got, const std::vector<std::vector<int64_t>>& truth) {
  double sum = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    const std::set<int64_t> exact(truth[q].begin(), truth[q].end());
    int64_t found = 0;
    for (const auto& h : got[q]) found += exact.count(h.item_row);
    sum += static_cast<double>(found) / static_cast<double>(exact.size());
  }
  return sum / static_cast<double>(truth.size());
}

// The exact ranking in float64 over `items` (independent of FAISS and of exact_top_rows), masked rows dropped.
std::vector<int64_t> brute_force(const torch::Tensor& query, const torch::Tensor& items, int64_t k,
                                 const std::set<int64_t>& masked = {}) {
  const auto scores = torch::matmul(items.to(torch::kFloat64), query.to(torch::kFloat64)).contiguous();  // (I)
  const double* s = scores.data_ptr<double>();
  std::vector<int64_t> order;
  for (int64_t i = 0; i < items.size(0); ++i)
    if (masked.count(i) == 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [s](int64_t a, int64_t b) { return s[a] > s[b]; });
  order.resize(std::min<int64_t>(k, static_cast<int64_t>(order.size())));
  return order;
}

const std::vector<IndexType> kEveryType = {IndexType::kFlat, IndexType::kHnsw, IndexType::kIvf, IndexType::kIvfPq};

class ItemIndexOnClusters : public ::testing::TestWithParam<IndexType> {
 protected:
  static void SetUpTestSuite() {
    items_ = clustered(kItems, kDim, kClusters, 11);
    // Near the items' clusters, as users' embeddings are near the items they like.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(29);
    queries_ = (items_.slice(0, 0, 100) + 0.5 * torch::randn({100, kDim}, gen)).contiguous();
    dir_ = fs::temp_directory_path() / ("ftmamba_item_index_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  serve::ItemIndex build(IndexType type) const {
    return serve::ItemIndex::build(items_, params_for(type, kItems, kDim), identity_of(kDim));
  }
  static inline torch::Tensor items_, queries_;
  static inline fs::path dir_;
};

TEST_F(ItemIndexOnClusters, HnswAndIvfReachRecallAt10OfPoint9) {
  const auto truth = serve::exact_top_rows(queries_, items_, 10);
  for (int64_t q = 0; q < 5; ++q) EXPECT_EQ(truth[q], brute_force(queries_[q], items_, 10));
  for (const auto type : {IndexType::kHnsw, IndexType::kIvf}) {
    const auto index = build(type);
    const double r = recall(index.search(queries_, 10, {}), truth);
    EXPECT_GE(r, 0.9) << index.describe();
  }
  const auto flat = build(IndexType::kFlat);
  EXPECT_DOUBLE_EQ(recall(flat.search(queries_, 10, {}), truth), 1.0);
}

TEST_P(ItemIndexOnClusters, ExcludedRowsNeverComeBackAndKIsStillFilled) {
  const auto index = build(GetParam());
  for (int64_t q = 0; q < 10; ++q) {
    // The query's 30 exact best, and a row far down the list, excluded (ascending).
    auto excluded = brute_force(queries_[q], items_, 30);
    excluded.push_back(kItems - 1);
    std::sort(excluded.begin(), excluded.end());
    const auto hits = index.search(queries_.slice(0, q, q + 1), 10, {&excluded})[0];
    ASSERT_EQ(hits.size(), 10u) << index.describe();
    for (const auto& h : hits)
      EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), h.item_row)) << index.describe();
    for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  }
  // Everything but 3 items excluded: exactly those 3 come back, though the index would not reach them all.
  std::vector<int64_t> all_but;
  for (int64_t r = 0; r < kItems; ++r)
    if (r != 5 && r != 2500 && r != 4999) all_but.push_back(r);
  const auto hits = index.search(queries_.slice(0, 0, 1), 10, {&all_but})[0];
  auto got = rows_of(hits);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int64_t>{5, 2500, 4999})) << index.describe();
}

TEST_P(ItemIndexOnClusters, AnUpsertedItemIsFoundByItsOwnEmbedding) {
  auto index = build(GetParam());
  // Longer than any item, so that it is its own best match under the inner product.
  const auto fresh = 4.0 * items_[17];
  index.upsert(kItems, fresh);
  EXPECT_EQ(index.live_items(), kItems + 1);
  EXPECT_EQ(index.rows(), kItems + 1);
  const auto hits = index.search(fresh.unsqueeze(0), 5, {})[0];
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].item_row, kItems) << index.describe();
  EXPECT_NEAR(hits[0].score, fresh.dot(fresh).item<float>(), 1e-3);
  // A gap in the rows is refused; so is a removed row.
  EXPECT_THROW(index.upsert(kItems + 5, fresh), ftmamba::Error);
  index.remove(3);
  EXPECT_THROW(index.upsert(3, fresh), ftmamba::Error);
}

TEST_P(ItemIndexOnClusters, AReplacedItemIsScoredByItsNewEmbedding) {
  auto index = build(GetParam());
  const auto query = queries_[0];
  const auto before = index.search(query.unsqueeze(0), kItems, {})[0];
  const auto replaced = 5.0 * query / query.norm();
  index.upsert(123, replaced);
  EXPECT_EQ(index.live_items(), kItems);
  const auto after = index.search(query.unsqueeze(0), kItems, {})[0];
  ASSERT_EQ(after.size(), static_cast<size_t>(kItems));
  const auto it = std::find_if(after.begin(), after.end(), [](const auto& h) { return h.item_row == 123; });
  ASSERT_NE(it, after.end());
  EXPECT_NEAR(it->score, query.dot(replaced).item<float>(), 1e-3);
  EXPECT_EQ(after[0].item_row, 123) << index.describe();  // 5 |q| beats every item's score here
  EXPECT_EQ(std::count_if(after.begin(), after.end(), [](const auto& h) { return h.item_row == 123; }), 1);
  const auto old = std::find_if(before.begin(), before.end(), [](const auto& h) { return h.item_row == 123; });
  ASSERT_NE(old, before.end());
  EXPECT_NE(old->score, it->score);
}

TEST_P(ItemIndexOnClusters, ARemovedItemIsNeverReturned) {
  auto index = build(GetParam());
  const auto query = queries_.slice(0, 3, 4);
  const auto best = rows_of(index.search(query, 5, {})[0]);
  ASSERT_EQ(best.size(), 5u);
  for (int64_t row : best) index.remove(row);
  index.remove(best[0]);  // twice: nothing happens
  EXPECT_EQ(index.live_items(), kItems - 5);
  const auto after = index.search(query, 10, {})[0];
  EXPECT_EQ(after.size(), 10u);
  const auto everything = index.search(query, kItems, {})[0];
  EXPECT_EQ(everything.size(), static_cast<size_t>(kItems - 5)) << index.describe();
  for (const auto& hits : {after, everything})
    for (const auto& h : hits) EXPECT_EQ(std::count(best.begin(), best.end(), h.item_row), 0) << index.describe();
}

TEST_P(ItemIndexOnClusters, SaveAndLoadGiveTheSameResults) {
  auto index = build(GetParam());
  index.upsert(kItems, 3.0 * items_[9]);
  index.upsert(40, items_[41]);
  index.remove(7);
  const fs::path dir = dir_ / ("roundtrip_" + ftmamba::enum_name(GetParam()));
  index.save(dir);
  for (const char* f : {serve::ItemIndex::kFaissFile, serve::ItemIndex::kVectorsFile, serve::ItemIndex::kMetaFile})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  const auto loaded = serve::ItemIndex::load(dir, identity_of(kDim));
  EXPECT_EQ(loaded.describe(), index.describe());
  EXPECT_EQ(loaded.live_items(), index.live_items());
  EXPECT_EQ(loaded.rows(), index.rows());
  const std::vector<int64_t> excluded = {1, 2, 3};
  std::vector<const std::vector<int64_t>*> masks(queries_.size(0), nullptr);
  masks[0] = &excluded;
  const auto a = index.search(queries_, 20, masks), b = loaded.search(queries_, 20, masks);
  ASSERT_EQ(a.size(), b.size());
  for (size_t q = 0; q < a.size(); ++q) {
    ASSERT_EQ(rows_of(a[q]), rows_of(b[q])) << "query " << q;
    for (size_t i = 0; i < a[q].size(); ++i) EXPECT_EQ(a[q][i].score, b[q][i].score);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryType, ItemIndexOnClusters, ::testing::ValuesIn(kEveryType),
                         [](const auto& info) { return ftmamba::enum_name(info.param); });

// The Error's message, or "" when none is thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ftmamba::Error& e) {
    return e.what();
  }
  return "";
}

class ItemIndexFiles : public ItemIndexOnClusters {
 protected:
  // A fresh hnsw index folder.
  fs::path saved(const std::string& name) const {
    const fs::path dir = dir_ / name;
    build(IndexType::kHnsw).save(dir);
    return dir;
  }
  static std::string bytes_of(const fs::path& f) { return ftmamba::io::read_file(f); }
  static void write(const fs::path& f, const std::string& bytes) { ftmamba::io::write_file_atomic(f, bytes); }
  // Records the file's current SHA-256 in index.json, as if the damage had been done before the index was saved.
  static void rehash(const fs::path& dir, const std::string& file) {
    auto meta = nlohmann::json::parse(bytes_of(dir / serve::ItemIndex::kMetaFile));
    meta["sha256"][file] = ftmamba::io::sha256_file(dir / file);
    write(dir / serve::ItemIndex::kMetaFile, meta.dump());
  }
};

TEST_F(ItemIndexFiles, AFlippedByteIsRefusedNamingTheFile) {
  for (const std::string file : {serve::ItemIndex::kFaissFile, serve::ItemIndex::kVectorsFile}) {
    const auto dir = saved("flip_" + file);
    auto bytes = bytes_of(dir / file);
    for (size_t at : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    write(dir / file, bytes);
    const auto msg = error_of([&] { serve::ItemIndex::load(dir, identity_of(kDim)); });
    EXPECT_NE(msg.find((dir / file).string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("SHA-256"), std::string::npos) << msg;
  }
}

TEST_F(ItemIndexFiles, ATruncatedFileIsRefusedNamingTheFileEvenWithAMatchingChecksum) {
  const auto dir = saved("truncated");
  const fs::path faiss_file = dir / serve::ItemIndex::kFaissFile;
  const auto bytes = bytes_of(faiss_file);
  write(faiss_file, bytes.substr(0, bytes.size() / 3));
  auto msg = error_of([&] { serve::ItemIndex::load(dir, identity_of(kDim)); });
  EXPECT_NE(msg.find(faiss_file.string()), std::string::npos) << msg;
  // The checksum made to match: FAISS itself meets the short file, and its exception becomes an Error.
  for (size_t keep : {size_t{0}, size_t{3}, size_t{100}, bytes.size() / 3, bytes.size() - 1}) {
    write(faiss_file, bytes.substr(0, keep));
    rehash(dir, serve::ItemIndex::kFaissFile);
    msg = error_of([&] { serve::ItemIndex::load(dir, identity_of(kDim)); });
    EXPECT_NE(msg.find(faiss_file.string()), std::string::npos) << keep << ": " << msg;
  }
  // A header FAISS does not know, checksum matching.
  auto other = bytes;
  other[0] = 'Z';
  write(faiss_file, other);
  rehash(dir, serve::ItemIndex::kFaissFile);
  msg = error_of([&] { serve::ItemIndex::load(dir, identity_of(kDim)); });
  EXPECT_NE(msg.find(faiss_file.string()), std::string::npos) << msg;
  // A truncated vectors file and index.json.
  const auto vdir = saved("truncated_vectors");
  const fs::path vectors = vdir / serve::ItemIndex::kVectorsFile;
  write(vectors, bytes_of(vectors).substr(0, 50));
  rehash(vdir, serve::ItemIndex::kVectorsFile);
  msg = error_of([&] { serve::ItemIndex::load(vdir, identity_of(kDim)); });
  EXPECT_NE(msg.find(vectors.string()), std::string::npos) << msg;
  const fs::path meta = vdir / serve::ItemIndex::kMetaFile;
  write(meta, bytes_of(meta).substr(0, 40));
  msg = error_of([&] { serve::ItemIndex::load(vdir, identity_of(kDim)); });
  EXPECT_NE(msg.find(meta.string()), std::string::npos) << msg;
}

TEST_F(ItemIndexFiles, AnIndexOfAnotherRunIsRefused) {
  const auto dir = saved("other_run");
  const fs::path meta = dir / serve::ItemIndex::kMetaFile;
  auto other = identity_of(kDim);
  other.weights["model.safetensors"] = std::string(64, 'b');
  auto msg = error_of([&] { serve::ItemIndex::load(dir, other); });
  EXPECT_NE(msg.find(meta.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("weights"), std::string::npos) << msg;
  msg = error_of([&] { serve::ItemIndex::load(dir, identity_of(kDim * 2)); });
  EXPECT_NE(msg.find(meta.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 32"), std::string::npos) << msg;
  msg = error_of([&] { serve::ItemIndex::load(dir_ / "nowhere", identity_of(kDim)); });
  EXPECT_NE(msg.find("ftmamba index"), std::string::npos) << msg;
}

TEST(IndexParams, ACatalogTooSmallForIvfNamesNlist) {
  serve::IndexRequest r;
  r.type = IndexType::kIvf;
  auto msg = error_of([&] { serve::resolve_index_params(r, 20, 16); });
  EXPECT_NE(msg.find("--nlist"), std::string::npos) << msg;
  r.nlist = 100;
  msg = error_of([&] { serve::resolve_index_params(r, 1000, 16); });
  EXPECT_NE(msg.find("--nlist 100"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 25"), std::string::npos) << msg;
  r.type = IndexType::kIvfPq;
  r.nlist = 4;
  r.pq_bits = 8;
  msg = error_of([&] { serve::resolve_index_params(r, 1000, 16); });
  EXPECT_NE(msg.find("--pq-bits"), std::string::npos) << msg;
  r.pq_bits.reset();
  r.pq_m = 5;
  msg = error_of([&] { serve::resolve_index_params(r, 1000, 16); });
  EXPECT_NE(msg.find("--pq-m 5"), std::string::npos) << msg;
  // Defaults: nlist about 4 sqrt(n) but at most n / 39, nprobe nlist / 16.
  r = {};
  r.type = IndexType::kIvf;
  auto p = serve::resolve_index_params(r, 100000, 16);
  EXPECT_EQ(p.nlist, 1265);
  EXPECT_EQ(p.nprobe, 79);
  p = serve::resolve_index_params(r, 10000, 16);
  EXPECT_EQ(p.nlist, 256);
  EXPECT_EQ(p.nprobe, 16);
  r.type = IndexType::kHnsw;
  r.nlist = 8;
  msg = error_of([&] { serve::resolve_index_params(r, 10000, 16); });
  EXPECT_NE(msg.find("--nlist does not apply to a hnsw index"), std::string::npos) << msg;
}

// A run trained for one epoch on a small generated dataset: the flat index against the Recommender.
class ItemIndexOfARun : public ftmamba_test::GeneratedDataSuite<3000, 17> {
 protected:
  static void SetUpTestSuite() {
    GeneratedDataSuite::SetUpTestSuite();
    ftmamba_test::train_tiny_run(data_dir(), run_dir(), /*record_hashes=*/true);
    rec_ = std::make_unique<serve::Recommender>(serve::Recommender::load(run_dir()));
  }
  static void TearDownTestSuite() {
    rec_.reset();
    GeneratedDataSuite::TearDownTestSuite();
  }
  static fs::path run_dir() { return root() / "run"; }
  static inline std::unique_ptr<serve::Recommender> rec_;
};

TEST_F(ItemIndexOfARun, FlatEqualsTheRecommendersExactTopK) {
  const auto& rec = *rec_;
  const auto items = rec.item_embeddings();
  const auto identity = serve::run_index_identity(rec.run(), items.size(1));
  EXPECT_TRUE(identity.normalized);  // model.l2_normalize is on by default
  const auto flat = serve::ItemIndex::build(items, serve::IndexParams{}, identity);
  for (int64_t row = 0; row < 40; ++row) {
    const auto query = rec.user_embeddings({row});  // (1, E)
    for (const bool include_seen : {false, true}) {
      const auto want = rec.recommend(rec.data().user_ids[row], 20, include_seen).items;
      const auto got = flat.search(query, 20, {include_seen ? nullptr : &rec.seen_items(row)})[0];
      ASSERT_EQ(got.size(), want.size()) << "user row " << row;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].item_row, want[i].item_row) << "user row " << row << ", rank " << i + 1;
        EXPECT_NEAR(got[i].score, want[i].score, 1e-5);
      }
    }
  }
}

TEST_F(ItemIndexOfARun, BuildRunIndexSavesAnIndexTheRunLoadsAndAnotherRunRefuses) {
  serve::IndexBuildRequest request;
  request.run_dir = run_dir();
  request.index.type = IndexType::kHnsw;
  request.k = 10;
  request.queries = 50;
  std::vector<std::string> lines;
  const auto s = serve::build_run_index(request, torch::kCPU, [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(s.items, rec_->data().n_items());
  EXPECT_EQ(s.queries, 50);
  EXPECT_DOUBLE_EQ(s.exact.recall, 1.0);
  ASSERT_FALSE(s.sweep.empty());
  EXPECT_EQ(s.sweep.front().value, 16);
  EXPECT_EQ(s.params.ef_search, 64);
  const auto identity = serve::run_index_identity(rec_->run(), s.dim);
  const auto loaded = serve::ItemIndex::load(run_dir() / serve::kIndexDir, identity);
  EXPECT_EQ(loaded.live_items(), s.items);
  EXPECT_EQ(loaded.describe(), "hnsw M=32 efConstruction=100 efSearch=64");
  auto other = identity;
  other.weights["model.safetensors"] = std::string(64, '0');
  const auto msg = error_of([&] { serve::ItemIndex::load(run_dir() / serve::kIndexDir, other); });
  EXPECT_NE(msg.find((run_dir() / serve::kIndexDir / serve::ItemIndex::kMetaFile).string()), std::string::npos) << msg;
  // --target-recall 1: the smallest efSearch whose recall is 1 is saved.
  request.target_recall = 1.0;
  const auto t = serve::build_run_index(request, torch::kCPU, [](const std::string&) {});
  const auto first = std::find_if(t.sweep.begin(), t.sweep.end(), [](const auto& p) { return p.recall >= 1.0; });
  ASSERT_NE(first, t.sweep.end());
  EXPECT_EQ(t.params.ef_search, first->value);
  // ivf on a catalog too small for the asked --nlist names it.
  request.index.type = IndexType::kIvf;
  request.index.nlist = 100000;
  request.target_recall.reset();
  EXPECT_NE(error_of([&] { serve::build_run_index(request, torch::kCPU, [](const std::string&) {}); }).find("--nlist"),
            std::string::npos);
}

}  // namespace
