// defines: ProgressBar, a one-line progress display on stderr (epoch, step, samples/s, loss, ETA) that
// stays silent when stderr is not a terminal or when quiet.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace ftmamba {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total_steps, bool enabled);
  ~ProgressBar();
  // Redraws at most ~10 times a second.
  void update(int64_t step, int64_t samples_done, double loss);
  void finish();
  static bool stderr_is_terminal();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, open_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);  // "1:02:03" or "2:03"

}  // namespace ftmamba
