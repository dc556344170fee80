// defines: UserTowerBatcher: a leader-follower queue. The request that finds no forward running leads: it takes the
// waiting rows, its own among them, and runs their forward; requests arriving meanwhile queue and wait, and one of
// them leads the next round. No thread waits for a batch to fill, so a lone request costs one forward.
#include "ftmamba/serve/user_tower_batcher.h"

#include <utility>
#include <vector>

#include "ftmamba/core/error.h"

namespace ftmamba::serve {

UserTowerBatcher::UserTowerBatcher(Encode encode, int64_t max_rows) : encode_(std::move(encode)), max_rows_(max_rows) {
  if (max_rows_ < 1)
    throw Error("the most rows of a user-tower forward must be at least 1, got " + std::to_string(max_rows_));
}

torch::Tensor UserTowerBatcher::embed(data::EncodedFeatures users) {
  auto mine = std::make_shared<Pending>();
  mine->users = std::move(users);
  std::unique_lock lock(mutex_);
  queue_.push_back(mine);
  while (!mine->done) {
    if (running_) {
      done_.wait(lock);
    } else {
      run_round(lock);
    }
  }
  if (mine->error) std::rethrow_exception(mine->error);
  return mine->embedding;
}

void UserTowerBatcher::run_round(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<Pending>> round;
  int64_t rows = 0;
  while (!queue_.empty() && (round.empty() || rows + queue_.front()->users.size() <= max_rows_)) {
    rows += queue_.front()->users.size();
    round.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  running_ = true;
  lock.unlock();
  torch::Tensor embedding;
  std::exception_ptr error;
  try {
    std::vector<data::EncodedFeatures> parts;
    parts.reserve(round.size());
    for (const auto& p : round) parts.push_back(p->users);
    embedding = encode_(data::EncodedFeatures::cat(parts));  // (rows, E)
  } catch (...) {
    error = std::current_exception();
  }
  lock.lock();
  int64_t start = 0;
  for (const auto& p : round) {
    const int64_t n = p->users.size();
    if (error) {
      p->error = error;
    } else {
      p->embedding = embedding.narrow(0, start, n);
    }
    start += n;
    p->done = true;
  }
  running_ = false;
  ++forwards_;
  rows_ += rows;
  done_.notify_all();
}

int64_t UserTowerBatcher::forwards() const {
  std::lock_guard lock(mutex_);
  return forwards_;
}

int64_t UserTowerBatcher::rows() const {
  std::lock_guard lock(mutex_);
  return rows_;
}

}  // namespace ftmamba::serve
