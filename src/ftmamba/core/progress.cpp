// defines: ProgressBar's drawing and throttling, fit_progress_line, terminal_columns and format_duration.
#include "ftmamba/core/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ftmamba {
namespace {
constexpr int kBarWidth = 24;    // characters of the bar between its brackets, when there is room
constexpr int kMinBarWidth = 8;  // narrower than this the bar says too little: it goes instead
constexpr int kDefaultColumns = 80;
constexpr auto kRedraw = std::chrono::milliseconds(100);
constexpr const char* kFieldGap = "  ";

std::string join_fields(const std::vector<ProgressField>& fields, const std::vector<bool>& kept) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!kept[i]) continue;
    if (!out.empty()) out += kFieldGap;
    out += fields[i].text;
  }
  return out;
}

// "[=====>      ]", `width` characters between the brackets.
std::string bar_text(double done, int width) {
  // The epsilon keeps a step/total that is exact in integers (8 of 24) from flooring to one less.
  const int filled = std::clamp(static_cast<int>(width * std::clamp(done, 0.0, 1.0) + 1e-9), 0, width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  return "[" + bar + "]";
}

}  // namespace

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

int terminal_columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n < 100000) return static_cast<int>(n);
  }
  return kDefaultColumns;
}

std::string fit_progress_line(std::string_view label, double done, const std::vector<ProgressField>& fields,
                              int columns) {
  const size_t budget = static_cast<size_t>(std::max(columns - 1, 1));
  std::vector<bool> kept(fields.size(), true);
  for (;;) {
    const std::string text = join_fields(fields, kept);
    // label + " " + text without a bar; the bar adds "[...]" and a space.
    const std::string bare = text.empty() ? std::string(label) : std::string(label) + " " + text;
    const size_t bar_room = budget > bare.size() + 3 ? budget - bare.size() - 3 : 0;
    if (bar_room >= static_cast<size_t>(kMinBarWidth)) {
      const std::string bar = bar_text(done, std::min(kBarWidth, static_cast<int>(bar_room)));
      return text.empty() ? std::string(label) + " " + bar : std::string(label) + " " + bar + " " + text;
    }
    if (bare.size() <= budget) return bare;
    // The kept field that gives way first, if any.
    size_t drop = fields.size();
    for (size_t i = 0; i < fields.size(); ++i)
      if (kept[i] && (drop == fields.size() || fields[i].keep < fields[drop].keep)) drop = i;
    if (drop == fields.size()) return bare.substr(0, budget);
    kept[drop] = false;
  }
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
  const double done = total_ > 0 ? static_cast<double>(step) / static_cast<double>(total_) : 1.0;
  draw(done, {{fmt::format("{}/{}", step, total_), 4},
              {fmt::format("{:.0f} samples/s", rate), 1},
              {fmt::format("loss {:.4f}", loss), 2},
              {"ETA " + format_duration(eta), 3}});
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
  draw(frac, {{fmt::format("{:3.0f}%", 100 * frac), 4},
              {fmt::format("{:.0f} / {:.0f} MB", done / 1e6, total / 1e6), 2},
              {fmt::format("{:.2f} M rows/s", rows_per_sec), 1},
              {"ETA " + format_duration(eta), 3}});
}

void ProgressBar::update_count(int64_t done, const std::string& unit) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!due(now, done >= total_)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
  const double fraction = total_ > 0 ? static_cast<double>(std::min(done, total_)) / static_cast<double>(total_) : 1.0;
  draw(fraction, {{fmt::format("{}/{} {}", done, total_, unit), 4},
                  {fmt::format("{:.0f} {}/s", rate, unit), 1},
                  {"ETA " + format_duration(eta), 3}});
}

void ProgressBar::draw(double done, const std::vector<ProgressField>& fields) {
  if (!terminal_) {
    std::string text;
    for (const auto& f : fields) text += (text.empty() ? "" : kFieldGap) + f.text;
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), text.c_str());
    std::fflush(stderr);
    return;
  }
  // The width is read at every draw, so that a resized terminal gets lines that fit it.
  const std::string line = fit_progress_line(label_, done, fields, terminal_columns(STDERR_FILENO));
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
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
