// defines: tests of hnsw_walk, our search of a FAISS HNSW graph: on clustered random embeddings its recall@k
// against exact search reaches FAISS's own search's at the same efSearch and grows with it; results come best
// first with their exact inner products; a selector's rejected slots never come back but still guide the walk;
// fetch beyond the catalog gives every accepted slot; an empty graph gives nothing; the scratch is reused.
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <vector>

#include "ftmamba/serve/hnsw_walk.h"

namespace {

using ftmamba::serve::hnsw_walk;
using ftmamba::serve::HnswScratch;

constexpr int64_t kItems = 4000, kDim = 24, kQueries = 50, kK = 20;

struct EvenSlotsOut : faiss::IDSelector {
  bool is_member(faiss::Index::idx_t id) const override { return id % 2 == 1; }
};

class HnswWalk : public testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(11);
    // 40 clusters: near neighbours are many and close, as item embeddings are.
    const auto centres = torch::randn({40, kDim});
    items_ = (centres.index_select(0, torch::randint(40, {kItems})) + 0.3 * torch::randn({kItems, kDim})).contiguous();
    items_ = (items_ / items_.norm(2, 1, true)).contiguous();
    queries_ = torch::randn({kQueries, kDim}).contiguous();
    index_ = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(kDim), 16, faiss::METRIC_INNER_PRODUCT);
    index_->hnsw.efConstruction = 40;
    index_->add(kItems, items_.data_ptr<float>());
    truth_ = std::get<1>(torch::matmul(queries_, items_.t()).topk(kK, 1));  // (Q, k)
  }

  std::vector<std::pair<float, int64_t>> walk(int64_t q, int64_t ef, int64_t fetch,
                                              const faiss::IDSelector* sel = nullptr) {
    return hnsw_walk(index_->hnsw, items_.data_ptr<float>(), kItems, kDim, queries_[q].data_ptr<float>(), ef, fetch,
                     sel, scratch_);
  }

  double recall_at(int64_t ef) {
    double hit = 0;
    for (int64_t q = 0; q < kQueries; ++q) {
      std::set<int64_t> want;
      for (int64_t j = 0; j < kK; ++j) want.insert(truth_[q][j].item<int64_t>());
      for (const auto& [score, slot] : walk(q, ef, kK)) hit += want.count(slot);
    }
    return hit / (kQueries * kK);
  }

  double faiss_recall_at(int64_t ef) {
    faiss::SearchParametersHNSW params;
    params.efSearch = static_cast<int>(ef);
    index_->hnsw.efSearch = static_cast<int>(ef);
    std::vector<float> d(kQueries * kK);
    std::vector<faiss::Index::idx_t> ids(kQueries * kK);
    index_->search(kQueries, queries_.data_ptr<float>(), kK, d.data(), ids.data(), &params);
    double hit = 0;
    for (int64_t q = 0; q < kQueries; ++q) {
      std::set<int64_t> want;
      for (int64_t j = 0; j < kK; ++j) want.insert(truth_[q][j].item<int64_t>());
      for (int64_t j = 0; j < kK; ++j) hit += want.count(ids[q * kK + j]);
    }
    return hit / (kQueries * kK);
  }

  torch::Tensor items_, queries_, truth_;
  std::unique_ptr<faiss::IndexHNSWFlat> index_;
  HnswScratch scratch_;
};

TEST_F(HnswWalk, RecallMatchesFaissAndGrowsWithEf) {
  const double low = recall_at(kK), high = recall_at(200);
  EXPECT_GE(high, 0.97);
  EXPECT_GE(high, low);
  for (const int64_t ef : {32, 64, 128}) EXPECT_GE(recall_at(ef), faiss_recall_at(ef) - 0.02) << "efSearch " << ef;
}

TEST_F(HnswWalk, BestFirstWithExactScores) {
  for (int64_t q = 0; q < 5; ++q) {
    const auto found = walk(q, 64, kK);
    ASSERT_EQ(static_cast<int64_t>(found.size()), kK);
    for (size_t i = 0; i < found.size(); ++i) {
      const float exact = torch::dot(queries_[q], items_[found[i].second]).item<float>();
      EXPECT_NEAR(found[i].first, exact, 1e-5);
      if (i > 0) {
        EXPECT_GE(found[i - 1].first, found[i].first);
      }
    }
  }
}

TEST_F(HnswWalk, RejectedSlotsNeverComeBack) {
  EvenSlotsOut odd_only;
  double hit = 0;
  for (int64_t q = 0; q < kQueries; ++q) {
    const auto found = walk(q, 128, kK, &odd_only);
    ASSERT_EQ(static_cast<int64_t>(found.size()), kK);
    for (const auto& [score, slot] : found) EXPECT_EQ(slot % 2, 1);
    // Against the exact ranking of the odd slots alone.
    const auto scores = torch::matmul(items_, queries_[q]);
    const auto odd = torch::arange(1, kItems, 2);
    const auto best = odd.index_select(0, std::get<1>(scores.index_select(0, odd).topk(kK)));
    std::set<int64_t> want;
    for (int64_t j = 0; j < kK; ++j) want.insert(best[j].item<int64_t>());
    for (const auto& [score, slot] : found) hit += want.count(slot);
  }
  EXPECT_GE(hit / (kQueries * kK), 0.95);
}

TEST_F(HnswWalk, FetchBeyondTheCatalogGivesEveryAcceptedSlot) {
  EvenSlotsOut odd_only;
  const auto found = walk(0, 16, 3 * kItems, &odd_only);
  EXPECT_EQ(static_cast<int64_t>(found.size()), kItems / 2);
  std::set<int64_t> distinct;
  for (const auto& [score, slot] : found) distinct.insert(slot);
  EXPECT_EQ(distinct.size(), found.size());
}

TEST_F(HnswWalk, ScratchIsReusedAcrossWalks) {
  const auto first = walk(3, 64, kK);
  for (int i = 0; i < 300; ++i) walk(i % kQueries, 32, 5);  // many walks: the marks must not leak between them
  EXPECT_EQ(walk(3, 64, kK), first);
}

TEST(HnswWalkEmpty, AnEmptyGraphGivesNothing) {
  faiss::IndexHNSWFlat empty(8, 16, faiss::METRIC_INNER_PRODUCT);
  HnswScratch scratch;
  const std::vector<float> q(8, 1.0F);
  EXPECT_TRUE(hnsw_walk(empty.hnsw, nullptr, 0, 8, q.data(), 16, 10, nullptr, scratch).empty());
}

}  // namespace
