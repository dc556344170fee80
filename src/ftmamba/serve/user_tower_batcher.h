// defines: UserTowerBatcher, which encodes new users (cold start) for concurrent requests: the rows that arrive
// while a forward runs go together into the next one, so that under load one forward of the user tower serves many
// requests, and a request alone runs at once, waiting for nobody.
#pragma once
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "ftmamba/data/preprocess.h"

namespace ftmamba::serve {

class UserTowerBatcher {
 public:
  // encode: rows of encoded features -> (n, E) embeddings (the user tower's forward). max_rows: the most rows one
  // forward takes; 1 encodes each request alone.
  using Encode = std::function<torch::Tensor(const data::EncodedFeatures&)>;
  UserTowerBatcher(Encode encode, int64_t max_rows);

  // The embedding ((n, E), the rows of `users` in order) computed in a forward with whatever other requests' rows
  // were waiting; throws what the forward threw. Callable from any number of threads.
  torch::Tensor embed(data::EncodedFeatures users);

  // Forwards run so far, and the rows they carried (their ratio is the mean batch).
  int64_t forwards() const;
  int64_t rows() const;

 private:
  struct Pending {
    data::EncodedFeatures users;
    torch::Tensor embedding;
    std::exception_ptr error;
    bool done = false;
  };
  // Runs one forward over the longest prefix of the queue that fits max_rows_ (at least one entry), unlocked, and
  // hands each entry its rows. Called with `lock` held by the thread that leads this round.
  void run_round(std::unique_lock<std::mutex>& lock);

  Encode encode_;
  int64_t max_rows_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool running_ = false;  // a thread is running a forward
  int64_t forwards_ = 0, rows_ = 0;
};

}  // namespace ftmamba::serve
