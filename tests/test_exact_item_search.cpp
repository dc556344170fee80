// ExactItemSearch (serve/) against a brute force over the same embeddings: the top k of the live, not excluded rows,
// best first, ties by the lower row; upsert adds the next row or replaces a live one; removed rows never come back
// and are not reused; a non-finite score is refused naming the query and the row.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/exact_item_search.h"

namespace serve = ftmamba::serve;

namespace {

// (row, score) of every live row not in `excluded`, best first, ties by the lower row, cut to k: in float64.
std::vector<std::pair<int64_t, double>> brute_force(const torch::Tensor& items, const std::set<int64_t>& dead,
                                                    const torch::Tensor& query, const std::set<int64_t>& excluded,
                                                    int64_t k) {
  const auto scores = torch::matmul(items.to(torch::kFloat64), query.to(torch::kFloat64)).contiguous();  // (I)
  std::vector<std::pair<int64_t, double>> out;
  for (int64_t i = 0; i < items.size(0); ++i)
    if (!dead.count(i) && !excluded.count(i)) out.emplace_back(i, scores[i].item<double>());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (static_cast<int64_t>(out.size()) > k) out.resize(static_cast<size_t>(k));
  return out;
}

void expect_hits(const std::vector<serve::SearchHit>& got, const std::vector<std::pair<int64_t, double>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t r = 0; r < got.size(); ++r) {
    EXPECT_EQ(got[r].item_row, want[r].first) << "rank " << r;
    EXPECT_NEAR(got[r].score, want[r].second, 1e-4) << "rank " << r;
  }
}

}  // namespace

TEST(ExactItemSearch, TopKIsTheBruteForceRankingOfLiveRowsNotExcluded) {
  torch::manual_seed(3);
  const auto items = torch::randn({200, 8});  // (I, E)
  const auto queries = torch::randn({5, 8});  // (B, E)
  serve::ExactItemSearch search(items);
  EXPECT_EQ(search.live_items(), 200);
  EXPECT_EQ(search.describe(), "exact");
  const std::vector<int64_t> ex0{1, 7, 50, 199}, ex3{0, 2, 4, 6, 8};
  const auto hits = search.search(queries, 10, {&ex0, nullptr, nullptr, &ex3, nullptr});
  ASSERT_EQ(hits.size(), 5u);
  for (int64_t b = 0; b < 5; ++b) {
    std::set<int64_t> excluded;
    if (b == 0) excluded = {ex0.begin(), ex0.end()};
    if (b == 3) excluded = {ex3.begin(), ex3.end()};
    expect_hits(hits[b], brute_force(items, {}, queries[b], excluded, 10));
  }
  // Alone or among others, a query gets the same list.
  const auto alone = search.search(queries.narrow(0, 3, 1), 10, {&ex3});
  ASSERT_EQ(alone[0].size(), hits[3].size());
  for (size_t r = 0; r < alone[0].size(); ++r) EXPECT_EQ(alone[0][r].item_row, hits[3][r].item_row);
}

TEST(ExactItemSearch, FewerThanKComeBackWhenFewerRemain) {
  const auto items = torch::eye(4);  // (4, 4)
  serve::ExactItemSearch search(items);
  const std::vector<int64_t> ex{0, 2};
  const auto hits = search.search(torch::ones({1, 4}), 10, {&ex});
  ASSERT_EQ(hits[0].size(), 2u);
  EXPECT_EQ(hits[0][0].item_row, 1);
  EXPECT_EQ(hits[0][1].item_row, 3);
  // Excluding rows that do not exist changes nothing.
  const std::vector<int64_t> beyond{7, 100};
  EXPECT_EQ(search.search(torch::ones({1, 4}), 10, {&beyond})[0].size(), 4u);
}

TEST(ExactItemSearch, EqualScoresAreOrderedByTheLowerRow) {
  // Rows 0, 3, 5 score 2; rows 1, 4 score 1; rows 2, 6 score 0 against the query (1, 1).
  const auto items = torch::tensor({1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 2.f, 0.f, 0.f, 1.f, 0.f, 2.f, 0.f, 0.f}).view({7, 2});
  serve::ExactItemSearch search(items);
  const auto hits = search.search(torch::ones({1, 2}), 5, {nullptr});
  std::vector<int64_t> rows;
  for (const auto& h : hits[0]) rows.push_back(h.item_row);
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 3, 5, 1, 4}));
  // The same with k = 4: the tie at rank 4-5 keeps the lower row.
  const auto four = search.search(torch::ones({1, 2}), 4, {nullptr});
  EXPECT_EQ(four[0].back().item_row, 1);
}

TEST(ExactItemSearch, UpsertAddsTheNextRowOrReplacesALiveOne) {
  torch::manual_seed(4);
  const auto items = torch::randn({20, 6});
  serve::ExactItemSearch search(items);
  const auto query = torch::randn({1, 6});
  // A new row far along the query: first.
  const auto best = query[0] * 10;
  search.upsert(20, best);
  EXPECT_EQ(search.live_items(), 21);
  auto hits = search.search(query, 3, {nullptr});
  EXPECT_EQ(hits[0][0].item_row, 20);
  // Many new rows (the storage grows several times), then row 5 replaced by the opposite of the query: last.
  for (int64_t r = 21; r < 100; ++r) search.upsert(r, torch::randn({6}) * 0.01);
  search.upsert(5, -best);
  hits = search.search(query, 100, {nullptr});
  ASSERT_EQ(hits[0].size(), 100u);
  EXPECT_EQ(hits[0][0].item_row, 20);
  EXPECT_EQ(hits[0].back().item_row, 5);
  EXPECT_NEAR(hits[0].back().score, -10 * query[0].dot(query[0]).item<float>(), 1e-3);
  // A row beyond the next one, or of the wrong size, is refused.
  EXPECT_THROW(search.upsert(150, torch::zeros({6})), ftmamba::Error);
  EXPECT_THROW(search.upsert(100, torch::zeros({5})), ftmamba::Error);
}

TEST(ExactItemSearch, RemovedRowsAreNeverFoundNorReused) {
  torch::manual_seed(5);
  const auto items = torch::randn({30, 4});
  serve::ExactItemSearch search(items);
  const auto query = torch::randn({1, 4});
  const auto before = search.search(query, 3, {nullptr});
  const int64_t top = before[0][0].item_row;
  search.remove(top);
  search.remove(top);  // a second time: nothing
  search.remove(999);  // not a row: nothing
  EXPECT_EQ(search.live_items(), 29);
  const auto after = search.search(query, 30, {nullptr});
  ASSERT_EQ(after[0].size(), 29u);
  expect_hits(after[0], brute_force(items, {top}, query[0], {}, 30));
  EXPECT_THROW(search.upsert(top, torch::zeros({4})), ftmamba::Error);  // removed rows are not reused
  search.upsert(30, items[top]);                                        // the same item comes back as a new row
  EXPECT_EQ(search.search(query, 1, {nullptr})[0][0].item_row, 30);
}

TEST(ExactItemSearch, ANonFiniteScoreIsRefusedNamingTheQueryAndRow) {
  auto items = torch::eye(3);
  items[1][1] = std::numeric_limits<float>::quiet_NaN();
  serve::ExactItemSearch search(items);
  try {
    search.search(torch::ones({2, 3}), 2, {nullptr, nullptr});
    FAIL() << "no NonFiniteScore";
  } catch (const serve::NonFiniteScore& e) {
    EXPECT_EQ(e.query, 0);
    EXPECT_EQ(e.item_row, 1);
  }
  // Excluded or removed, the row is never scored, so nothing is refused.
  const std::vector<int64_t> ex{1};
  EXPECT_EQ(search.search(torch::ones({1, 3}), 3, {&ex})[0].size(), 2u);
  search.remove(1);
  EXPECT_EQ(search.search(torch::ones({1, 3}), 3, {nullptr})[0].size(), 2u);
}
