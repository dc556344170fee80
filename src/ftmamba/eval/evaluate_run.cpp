// defines: evaluate_run (see evaluate_run.h).
#include "ftmamba/eval/evaluate_run.h"

#include "ftmamba/core/threads.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/run/run.h"

namespace ftmamba::eval {

nlohmann::ordered_json evaluate_run(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir,
                                    ops::Precision precision, torch::Device device) {
  auto run = run::Run::load(run_dir, device);
  ops::cast_weights(*run.model, precision);
  ops::AutocastScope autocast(precision, device);
  set_cpu_threads(static_cast<int>(run.config.train.threads));
  const auto data =
      run::prepare_data(data_dir.empty() ? run.data_dir : data_dir, run.config, &run.user_encoding, &run.item_encoding);
  // The run's stored negatives, so that every eval scores as training did; drawn, but not saved, when it has none.
  const auto negatives = load_or_draw_negatives(run.dir, data, run.config.eval.sampled_negatives,
                                                static_cast<uint64_t>(run.config.eval.sample_seed), /*save=*/false);
  return evaluate_test(run.model, data, run.config.eval.batch_size, negatives);
}

}  // namespace ftmamba::eval
