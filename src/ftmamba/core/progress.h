// defines: ProgressBar, the one progress display on stderr: training steps (step, samples/s, loss, ETA) or
// bytes of a file (percent, MB, rows/s, ETA) or things done (users); a line redrawn in place on a terminal, and
// off a terminal either silent or, for long jobs, a plain line every so often. On a terminal the line is fitted
// to the terminal's width (fit_progress_line): a line that wrapped would leave one stale row per redraw.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba {

// One part of a progress line after the bar. When the line is too wide the part with the lowest `keep` goes
// first (samples/s before loss before ETA; the step count or percentage stays).
struct ProgressField {
  std::string text;
  int keep;
};

class ProgressBar {
 public:
  // kTerminal: nothing when stderr is not a terminal (training, whose epochs print their own lines).
  // kTerminalOrLog: off a terminal, a plain line every `log_every` (an import writing to a log still
  // shows that it is moving).
  enum class Output { kTerminal, kTerminalOrLog };

  // `total` is the unit count at the end: steps for update(), bytes for update_bytes().
  ProgressBar(std::string label, int64_t total, bool enabled, Output output = Output::kTerminal,
              std::chrono::milliseconds log_every = std::chrono::seconds(10));
  ~ProgressBar();

  // "LABEL [====>   ] 12/40  5300 samples/s  loss 0.4321  ETA 0:07". Redraws at most ~10 times a second,
  // and always at the last step.
  void update(int64_t step, int64_t samples_done, double loss);
  // "LABEL [====>   ]  31%  240 / 784 MB  2.10 M rows/s  ETA 0:12" (off a terminal "LABEL:  31%  ...").
  // Reads the clock on every call: a caller in a tight loop calls it every few thousand rows.
  void update_bytes(int64_t bytes_done, int64_t rows_done);
  // "LABEL [====>   ] 3072/10000 users  5400 users/s  ETA 0:01": `done` of `total` things named `unit`.
  void update_count(int64_t done, const std::string& unit);
  void finish();  // clears the terminal line
  static bool stderr_is_terminal();

 private:
  bool due(std::chrono::steady_clock::time_point now, bool last_step) const;
  void draw(double done, const std::vector<ProgressField>& fields);

  std::string label_;
  int64_t total_;
  bool terminal_, enabled_, open_ = false;
  std::chrono::milliseconds log_every_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "LABEL [bar] FIELD  FIELD ..." in at most columns - 1 characters (the last column stays free: a line that
// reaches it wraps on some terminals). What gives way, in order: the bar narrows from 24 to 8 characters, the
// bar goes, fields go by `keep`, and last the line is cut. `done` in [0, 1] is the bar's filled fraction.
std::string fit_progress_line(std::string_view label, double done, const std::vector<ProgressField>& fields,
                              int columns);

// The width of the terminal on `fd` (ioctl TIOCGWINSZ), else $COLUMNS when it is a positive number, else 80.
int terminal_columns(int fd);

std::string format_duration(double seconds);  // "1:02:03" or "2:03"

}  // namespace ftmamba
