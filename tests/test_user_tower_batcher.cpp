// defines: tests of UserTowerBatcher: requests that arrive while a forward runs share the next one, each gets its
// own rows back, a lone request runs at once, max_rows bounds a forward, and a failed forward fails every request
// it carried without stopping later ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/user_tower_batcher.h"

namespace {

using ftmamba::data::EncodedFeatures;
using ftmamba::serve::UserTowerBatcher;

// One user whose every input holds `value`: (1, 2) numerical and missing, (1, 1) categorical.
EncodedFeatures user(float value) {
  return {torch::full({1, 2}, value), torch::zeros({1, 2}), torch::full({1, 1}, static_cast<int64_t>(value))};
}

// The "tower": each row's embedding is (2 x, x + categorical), so a row given back to the wrong request shows.
torch::Tensor fake_tower(const EncodedFeatures& f) {
  const auto x = f.numerical.select(1, 0);
  return torch::stack({2 * x, x + f.categorical.select(1, 0).to(torch::kFloat32)}, 1);  // (n, 2)
}

TEST(UserTowerBatcher, ALoneRequestRunsAtOnce) {
  UserTowerBatcher batcher(fake_tower, 64);
  const auto e = batcher.embed(user(3));
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(e[0][0].item<float>(), 6);
  EXPECT_EQ(e[0][1].item<float>(), 6);
  EXPECT_EQ(batcher.forwards(), 1);
  EXPECT_EQ(batcher.rows(), 1);
}

// Users 1..6 through a batcher of `max_rows` whose first forward (user 1's) is held until users 2..6 have queued
// behind it. Each request must get its own rows back. Returns the rows of each forward, in order.
std::vector<int64_t> forwards_while_one_is_held(int64_t max_rows) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  std::vector<int64_t> sizes;
  UserTowerBatcher batcher(
      [&](const EncodedFeatures& f) {
        if (calls++ == 0) released.wait();
        sizes.push_back(f.size());
        return fake_tower(f);
      },
      max_rows);
  auto first = std::async(std::launch::async, [&] { return batcher.embed(user(1)); });
  while (calls.load() == 0) std::this_thread::yield();  // the first forward is running
  std::vector<std::future<torch::Tensor>> others;
  for (int i = 2; i <= 6; ++i)
    others.push_back(
        std::async(std::launch::async, [&batcher, i] { return batcher.embed(user(static_cast<float>(i))); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // time for the five to queue
  release.set_value();
  EXPECT_EQ(first.get()[0][0].item<float>(), 2);
  for (int i = 2; i <= 6; ++i) {
    const auto e = others[static_cast<size_t>(i - 2)].get();
    EXPECT_EQ(e[0][0].item<float>(), 2.0F * static_cast<float>(i)) << "request " << i;
    EXPECT_EQ(e[0][1].item<float>(), 2.0F * static_cast<float>(i)) << "request " << i;
  }
  EXPECT_EQ(batcher.rows(), 6);
  EXPECT_EQ(batcher.forwards(), static_cast<int64_t>(sizes.size()));
  return sizes;
}

TEST(UserTowerBatcher, RequestsArrivingDuringAForwardShareTheNext) {
  EXPECT_EQ(forwards_while_one_is_held(64), (std::vector<int64_t>{1, 5}));
}

TEST(UserTowerBatcher, MaxRowsBoundsAForward) {
  // 1, then the five queued in forwards of 2, 2, 1.
  EXPECT_EQ(forwards_while_one_is_held(2), (std::vector<int64_t>{1, 2, 2, 1}));
}

TEST(UserTowerBatcher, AFailedForwardFailsItsRequestsAndNotTheNext) {
  std::atomic<bool> fail{true};
  UserTowerBatcher batcher(
      [&](const EncodedFeatures& f) {
        if (fail.load()) throw std::runtime_error("tower broke");
        return fake_tower(f);
      },
      64);
  EXPECT_THROW(batcher.embed(user(1)), std::runtime_error);
  fail = false;
  EXPECT_EQ(batcher.embed(user(4))[0][0].item<float>(), 8);
}

TEST(UserTowerBatcher, ManyThreadsEachGetTheirOwnRows) {
  UserTowerBatcher batcher(fake_tower, 8);
  std::vector<std::future<bool>> done;
  for (int t = 0; t < 8; ++t)
    done.push_back(std::async(std::launch::async, [&batcher, t] {
      bool ok = true;
      for (int i = 0; i < 50; ++i) {
        const float v = static_cast<float>(t * 100 + i);
        ok = ok && batcher.embed(user(v))[0][0].item<float>() == 2 * v;
      }
      return ok;
    }));
  for (auto& d : done) EXPECT_TRUE(d.get());
  EXPECT_EQ(batcher.rows(), 400);
  EXPECT_LE(batcher.forwards(), 400);
}

TEST(UserTowerBatcher, RefusesAZeroBatch) { EXPECT_THROW(UserTowerBatcher(fake_tower, 0), ftmamba::Error); }

}  // namespace
