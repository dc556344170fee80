// Tests for split_interactions (time and random modes) and the split mode's names.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/split.h"

using ftmamba::data::Interactions;
using ftmamba::data::Split;
using ftmamba::data::split_interactions;
using ftmamba::data::SplitMode;

namespace {

Interactions make(const std::vector<int64_t>& users, const std::vector<double>& ts) {
  Interactions in;
  in.user = users;
  in.item.assign(users.size(), 0);
  in.timestamp = ts;
  in.weight.assign(users.size(), 1.0);
  return in;
}

// user 0: four interactions out of time order; user 1: one; user 2: two; user 3: three tied; user 4: none.
Interactions sample() {
  //               idx: 0  1  2  3  4  5  6  7  8  9
  return make({0, 1, 2, 0, 2, 0, 3, 3, 0, 3}, {5, 8, 7, 1, 2, 9, 4, 4, 3, 4});
}

// Every interaction lands in exactly one part, and each part is sorted.
void expect_partition(const Split& s, int64_t n) {
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.valid.begin(), s.valid.end()));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.valid.begin(), s.valid.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> want(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) want[k] = k;
  EXPECT_EQ(all, want);
}

}  // namespace

TEST(Split, ParseMode) {
  EXPECT_EQ(ftmamba::parse_enum<SplitMode>("time"), SplitMode::Time);
  EXPECT_EQ(ftmamba::parse_enum<SplitMode>("random"), SplitMode::Random);
  EXPECT_THROW(ftmamba::parse_enum<SplitMode>("Time"), ftmamba::Error);
  EXPECT_THROW(ftmamba::parse_enum<SplitMode>(""), ftmamba::Error);
  try {
    ftmamba::parse_enum<SplitMode>("rnd");
    FAIL() << "no error";
  } catch (const ftmamba::Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown split mode 'rnd'; known: time, random");
  }
}

TEST(Split, TimeModeHoldsOutLastAndSecondLast) {
  const Split s = split_interactions(sample(), 5, SplitMode::Time, 0);
  // user 0 by time: 3 (t1), 8 (t3), 0 (t5), 5 (t9) -> test 5, valid 0.
  // user 1: 1 -> train. user 2: 4 (t2), 2 (t7) -> test 2, no validation.
  // user 3: 6, 7, 9 all at t4 -> file order breaks the tie: test 9, valid 7.
  EXPECT_EQ(s.train, (std::vector<int64_t>{1, 3, 4, 6, 8}));
  EXPECT_EQ(s.valid, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(s.test, (std::vector<int64_t>{2, 5, 9}));
  expect_partition(s, 10);
}

TEST(Split, TimeModeIgnoresSeed) {
  const Split a = split_interactions(sample(), 5, SplitMode::Time, 1);
  const Split b = split_interactions(sample(), 5, SplitMode::Time, 99);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.test, b.test);
}

TEST(Split, RandomModeSmallUsersFollowTheRules) {
  const Split s = split_interactions(sample(), 5, SplitMode::Random, 42);
  expect_partition(s, 10);
  // One and two interactions: the same as time mode, whatever the seed.
  EXPECT_TRUE(std::binary_search(s.train.begin(), s.train.end(), 1));
  EXPECT_TRUE(std::binary_search(s.test.begin(), s.test.end(), 2));
  EXPECT_TRUE(std::binary_search(s.train.begin(), s.train.end(), 4));
  // Users 0 and 3 each give one test and one validation interaction.
  EXPECT_EQ(s.test.size(), 3u);
  EXPECT_EQ(s.valid.size(), 2u);
  const Interactions in = sample();
  std::multiset<int64_t> test_users, valid_users;
  for (const int64_t k : s.test) test_users.insert(in.user[k]);
  for (const int64_t k : s.valid) valid_users.insert(in.user[k]);
  EXPECT_EQ(test_users, (std::multiset<int64_t>{0, 2, 3}));
  EXPECT_EQ(valid_users, (std::multiset<int64_t>{0, 3}));
}

TEST(Split, RandomModeIsDeterministicPerSeedAndUniform) {
  // 2000 users with 5 interactions each, in time order.
  constexpr int kUsers = 2000, kPer = 5;
  std::vector<int64_t> users;
  std::vector<double> ts;
  for (int u = 0; u < kUsers; ++u) {
    for (int k = 0; k < kPer; ++k) {
      users.push_back(u);
      ts.push_back(k);
    }
  }
  const Interactions in = make(users, ts);
  const Split a = split_interactions(in, kUsers, SplitMode::Random, 7);
  const Split b = split_interactions(in, kUsers, SplitMode::Random, 7);
  const Split c = split_interactions(in, kUsers, SplitMode::Random, 8);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.test, c.test);
  expect_partition(a, kUsers * kPer);
  ASSERT_EQ(a.test.size(), static_cast<size_t>(kUsers));
  ASSERT_EQ(a.valid.size(), static_cast<size_t>(kUsers));

  // Each position within a user is the test pick about 1/5 of the time (400 +- 4 sd), and the
  // validation pick never coincides with the test pick.
  std::vector<int> test_pos(kPer, 0), valid_pos(kPer, 0);
  for (size_t u = 0; u < a.test.size(); ++u) {
    ++test_pos[a.test[u] % kPer];
    ++valid_pos[a.valid[u] % kPer];
    EXPECT_EQ(a.test[u] / kPer, static_cast<int64_t>(u));
    EXPECT_EQ(a.valid[u] / kPer, static_cast<int64_t>(u));
    EXPECT_NE(a.test[u], a.valid[u]);
  }
  for (int k = 0; k < kPer; ++k) {
    EXPECT_GT(test_pos[k], 320) << k;
    EXPECT_LT(test_pos[k], 480) << k;
    EXPECT_GT(valid_pos[k], 320) << k;
    EXPECT_LT(valid_pos[k], 480) << k;
  }
}

TEST(Split, RejectsUserOutsideRange) {
  EXPECT_THROW(split_interactions(make({0, 3}, {1, 2}), 3, SplitMode::Time, 0), ftmamba::Error);
  EXPECT_THROW(split_interactions(make({-1}, {1}), 3, SplitMode::Random, 0), ftmamba::Error);
}

TEST(Split, EmptyInteractions) {
  const Split s = split_interactions(make({}, {}), 4, SplitMode::Random, 0);
  EXPECT_TRUE(s.train.empty());
  EXPECT_TRUE(s.valid.empty());
  EXPECT_TRUE(s.test.empty());
}
