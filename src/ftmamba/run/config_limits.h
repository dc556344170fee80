// defines: the documented limits of every RunConfig key (docs/CONFIGURATION.md, "Limits of the config"), which
// RunConfig::validate enforces on a new config and on a run's config.json alike. They keep a typo from ending
// in bad_alloc, a hang or an overflowed step count; each is far above what a two-tower run needs.
#pragma once
#include <cstdint>
#include <limits>

namespace ftmamba::run {

struct IntLimit {
  int64_t min, max;  // inclusive
};
struct RealLimit {
  double min, max;
  bool open_min = false, open_max = false;  // (min, ...] / [..., max)
};

namespace limits {

inline constexpr IntLimit kDToken{1, 4096};
inline constexpr IntLimit kNLayers{0, 64};
inline constexpr IntLimit kDState{1, 64};  // the CUDA scan's largest state (kernels::kScanMaxDstate)
inline constexpr IntLimit kDConv{1, 16};
inline constexpr IntLimit kExpand{1, 16};
inline constexpr IntLimit kNHeads{1, 256};
inline constexpr IntLimit kDFfn{0, 65536};
inline constexpr IntLimit kEmbedDim{0, 4096};
inline constexpr RealLimit kDropout{0.0, 1.0, false, true};

inline constexpr IntLimit kEpochs{1, 100000};
inline constexpr IntLimit kBatchSize{2, 1 << 20};
inline constexpr IntLimit kCpuRowBucket{1, 65536};
inline constexpr IntLimit kCheckpointSteps{0, int64_t{1} << 40};  // 0: off
inline constexpr RealLimit kCheckpointMinutes{0.0, 1e6};          // 0: off
inline constexpr IntLimit kMaxNonfiniteSteps{0, 1000000};
inline constexpr RealLimit kLr{0.0, 10.0, true, false};
inline constexpr RealLimit kWeightDecay{0.0, 10.0};
inline constexpr RealLimit kWarmupFrac{0.0, 1.0, false, true};
inline constexpr RealLimit kMinLrRatio{0.0, 1.0};
inline constexpr RealLimit kGradClip{0.0, 1e6};
inline constexpr RealLimit kTemperature{1e-4, 1e4};
inline constexpr IntLimit kNegatives{1, 1024};
inline constexpr IntLimit kThreads{0, 1024};  // 0: LibTorch's default
inline constexpr IntLimit kPatience{0, 100000};
inline constexpr IntLimit kValidUsers{0, std::numeric_limits<int64_t>::max()};  // 0: all

inline constexpr IntLimit kMinFrequency{1, std::numeric_limits<int32_t>::max()};
inline constexpr RealLimit kMinWeight{0.0, 1e30};  // the CSV reader's largest magnitude
inline constexpr IntLimit kSampledNegatives{1, 100000};
inline constexpr IntLimit kEvalBatchSize{1, 1 << 20};

}  // namespace limits
}  // namespace ftmamba::run
