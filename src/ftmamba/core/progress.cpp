#include "ftmamba/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace ftmamba {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total_steps, bool enabled)
    : label_(std::move(label)),
      total_(total_steps),
      enabled_(enabled && stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t step, int64_t samples_done, double loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (open_ && step < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? samples_done / elapsed : 0.0;
  const double eta = step > 0 ? elapsed * (total_ - step) / step : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : kWidth;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.0f samples/s  loss %.4f  ETA %s\x1b[K", label_.c_str(), bar.c_str(),
               static_cast<long long>(step), static_cast<long long>(total_), rate, loss, format_duration(eta).c_str());
  std::fflush(stderr);
  open_ = true;
}

void ProgressBar::finish() {
  if (enabled_ && open_) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }
  open_ = false;
}

}  // namespace ftmamba
