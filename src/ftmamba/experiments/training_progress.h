// defines: what a training reports while it runs: DataCounts (the sizes of the data it trains on) and
// format_epoch_line (the line `train` and `finetune` print as each epoch ends).
#pragma once
#include <cstdint>
#include <string>

#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {

struct DataCounts {
  int64_t users = 0, items = 0, interactions = 0;
  int64_t train = 0, valid = 0, test = 0;  // interactions in each part of the split
};
DataCounts count_data(const run::PreparedData& data);

// "epoch   3  loss 1.2345  valid HR@10 0.1234  5678 samples/s  9.0s", then "  (N fp16 steps skipped)" when
// a step was skipped and "  *" when the epoch is the best so far. No newline.
std::string format_epoch_line(const run::EpochRecord& epoch);

}  // namespace ftmamba::experiments
