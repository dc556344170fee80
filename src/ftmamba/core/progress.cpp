// defines: ProgressBar's drawing and throttling, and format_duration.
#include "ftmamba/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ftmamba {
namespace {
constexpr int kWidth = 24;  // characters of the bar
constexpr auto kRedraw = std::chrono::milliseconds(100);
}  // namespace

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, Output output,
                         std::chrono::milliseconds log_every)
    : label_(std::move(label)),
      total_(total),
      terminal_(stderr_is_terminal()),
      enabled_(enabled && (terminal_ || output == Output::kTerminalOrLog)),
      log_every_(log_every),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

bool ProgressBar::due(std::chrono::steady_clock::time_point now, bool last_step) const {
  if (last_step) return true;
  if (!terminal_) return now - last_draw_ >= log_every_;  // the first log line comes after log_every
  return !open_ || now - last_draw_ >= kRedraw;
}

void ProgressBar::update(int64_t step, int64_t samples_done, double loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!due(now, step >= total_)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? samples_done / elapsed : 0.0;
  const double eta = step > 0 ? elapsed * (total_ - step) / step : 0.0;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : kWidth;
  draw(filled,
       fmt::format("{}/{}  {:.0f} samples/s  loss {:.4f}  ETA {}", step, total_, rate, loss, format_duration(eta)));
}

void ProgressBar::update_bytes(int64_t bytes_done, int64_t rows_done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!due(now, false)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double done = static_cast<double>(bytes_done), total = static_cast<double>(total_);
  const double frac = total > 0 ? std::min(1.0, done / total) : 0.0;
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0.0;
  const double rows_per_sec = elapsed > 0 ? static_cast<double>(rows_done) / elapsed / 1e6 : 0.0;
  draw(static_cast<int>(kWidth * frac), fmt::format("{:3.0f}%  {:.0f} / {:.0f} MB  {:.2f} M rows/s  ETA {}", 100 * frac,
                                                    done / 1e6, total / 1e6, rows_per_sec, format_duration(eta)));
}

void ProgressBar::update_count(int64_t done, const std::string& unit) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!due(now, done >= total_)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * std::min(done, total_) / total_) : kWidth;
  draw(filled, fmt::format("{}/{} {}  {:.0f} {}/s  ETA {}", done, total_, unit, rate, unit, format_duration(eta)));
}

void ProgressBar::draw(int filled, const std::string& text) {
  if (!terminal_) {
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), text.c_str());
    std::fflush(stderr);
    return;
  }
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::fprintf(stderr, "\r%s [%s] %s\x1b[K", label_.c_str(), bar.c_str(), text.c_str());
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
