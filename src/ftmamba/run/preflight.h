// defines: check_before_training, every check that depends only on the config and the prepared data, run before
// the first training step so that a run which cannot finish fails at once, naming the config key, instead of
// after hours of training.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"

namespace ftmamba::run {

// Throws Error naming the key when:
//   - the step count, epochs * ceil(training pairs / batch_size), or a step's item rows,
//     batch_size * (1 + negatives) for the pointwise losses, overflows;
//   - a test user has fewer unseen items than eval.sampled_negatives (the sampled protocol draws that many
//     distinct unseen items per user), naming the user and the catalog size.
void check_before_training(const RunConfig& cfg, const PreparedData& data);

// What in the data makes part of the result meaningless without stopping the run, one line each, said before
// training: users whose whole history is one item (nothing about them is learned that is not also their test
// item), and a catalog no larger than the top-k cutoffs (every ranker then scores HR@k = 1).
std::vector<std::string> data_warnings(const PreparedData& data);

}  // namespace ftmamba::run
