// defines: count_data and format_epoch_line (see training_progress.h).
#include "ftmamba/experiments/training_progress.h"

#include <fmt/format.h>

namespace ftmamba::experiments {

DataCounts count_data(const run::PreparedData& data) {
  DataCounts c;
  c.users = data.users.size();
  c.items = data.items.size();
  c.interactions = data.dataset.interactions.size();
  c.train = static_cast<int64_t>(data.split.train.size());
  c.valid = static_cast<int64_t>(data.split.valid.size());
  c.test = static_cast<int64_t>(data.split.test.size());
  return c;
}

std::string format_epoch_line(const run::EpochRecord& e) {
  return fmt::format("epoch {:>3}  loss {:.4f}  valid HR@10 {:.4f}  {:.0f} samples/s  {:.1f}s{}{}", e.epoch, e.loss,
                     e.valid_hr10(), e.samples_per_sec, e.seconds,
                     e.skipped_steps > 0 ? fmt::format("  ({} fp16 steps skipped)", e.skipped_steps) : "",
                     e.best ? "  *" : "");
}

}  // namespace ftmamba::experiments
