// defines: Side (user | item) and write_embeddings, which encodes every user or item of a run's dataset and
// writes the embeddings (and optionally the exact encoder inputs) to a safetensors file, rows in file order.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <utility>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::serve {

enum class Side { kUser, kItem };

}  // namespace ftmamba::serve

template <>
struct ftmamba::EnumText<ftmamba::serve::Side> {
  static constexpr std::string_view what = "side";
  static constexpr std::array<std::pair<serve::Side, std::string_view>, 2> names{{
      {serve::Side::kUser, "user"},
      {serve::Side::kItem, "item"},
  }};
};

namespace ftmamba::serve {

struct EncodeOptions {
  Side side = Side::kItem;
  std::filesystem::path data_dir;  // empty: the users and items the run stores, else the dataset it was trained on
  ops::Precision precision = ops::Precision::kFp32;
  bool with_inputs = false;  // also write the encoder inputs: numerical, missing, categorical
};

struct EncodeSummary {
  int64_t rows = 0;  // users or items written
  int64_t dim = 0;   // embedding size
};

// Loads the run onto `device` and writes `out`: tensor "embeddings" (n, E) float32, rows in the order of
// users.csv / items.csv, plus "numerical", "missing", "categorical" with with_inputs; metadata "side", "ids",
// "numerical_names", "categorical_names" (JSON lists). The tower runs in the chosen precision (autocast, or bf16
// weights for bf16-pure). Throws Error naming the user or item whose embedding is not finite, writing nothing,
// and when `out` is one of the files of the run, its base run or the dataset (it would replace it).
EncodeSummary write_embeddings(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                               const EncodeOptions& options, torch::Device device);

}  // namespace ftmamba::serve
