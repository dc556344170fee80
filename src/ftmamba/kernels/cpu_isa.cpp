// defines: the run-time choice among the CPU kernels' instruction-set paths (cpu_isa.h) and the kernels' entry
// points of selective_scan_cpu.h / causal_conv1d_cpu.h /
// inner_product_cpu.h, which call the chosen path. Compiled with the build's
// baseline flags: it runs before anything is known about the CPU.
#include "ftmamba/kernels/cpu_isa.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "ftmamba/kernels/causal_conv1d_cpu.h"
#include "ftmamba/kernels/cpu_path.h"
#include "ftmamba/kernels/inner_product_cpu.h"
#include "ftmamba/kernels/selective_scan_cpu.h"

// FTMAMBA_CPU_DISPATCH: set by CMake when the x86-64 paths are compiled (the default there).
#if FTMAMBA_CPU_DISPATCH
FTMAMBA_DECLARE_CPU_PATH(x86_64_v2)
FTMAMBA_DECLARE_CPU_PATH(avx2)
FTMAMBA_DECLARE_CPU_PATH(avx512)
#else
FTMAMBA_DECLARE_CPU_PATH(build)
#endif

namespace ftmamba::kernels {
namespace {

constexpr std::array<CpuIsa, 4> kAll = {CpuIsa::kBuild, CpuIsa::kX86_64_v2, CpuIsa::kAvx2, CpuIsa::kAvx512};

// One path's entry points; null for a path this build does not hold.
struct CpuPath {
  void (*scan_fwd_f32)(const SelectiveScanParams<float>&) = nullptr;
  void (*scan_fwd_f64)(const SelectiveScanParams<double>&) = nullptr;
  void (*scan_bwd_f32)(const SelectiveScanParams<float>&, const SelectiveScanGrads<float>&) = nullptr;
  void (*scan_bwd_f64)(const SelectiveScanParams<double>&, const SelectiveScanGrads<double>&) = nullptr;
  void (*conv_fwd_f32)(const CausalConv1dParams<float>&) = nullptr;
  void (*conv_fwd_f64)(const CausalConv1dParams<double>&) = nullptr;
  void (*conv_bwd_f32)(const CausalConv1dParams<float>&, const CausalConv1dGrads<float>&) = nullptr;
  void (*conv_bwd_f64)(const CausalConv1dParams<double>&, const CausalConv1dGrads<double>&) = nullptr;
  float (*dot_f32)(const float*, const float*, int64_t) = nullptr;
  double (*dot_f64)(const double*, const double*, int64_t) = nullptr;
  void (*scan_fwd_bf16)(const SelectiveScanParams<float, Bf16>&) = nullptr;
  void (*scan_bwd_bf16)(const SelectiveScanParams<float, Bf16>&, const SelectiveScanGrads<float, Bf16>&) = nullptr;
  void (*conv_fwd_bf16)(const CausalConv1dParams<float, Bf16>&) = nullptr;
  void (*conv_bwd_bf16)(const CausalConv1dParams<float, Bf16>&, const CausalConv1dGrads<float, Bf16>&) = nullptr;
};

// The member types pick each overload.
#define FTMAMBA_CPU_PATH_TABLE(ns)                                                                              \
  CpuPath {                                                                                                     \
    &ns::selective_scan_fwd_cpu, &ns::selective_scan_fwd_cpu, &ns::selective_scan_bwd_cpu,                      \
        &ns::selective_scan_bwd_cpu, &ns::causal_conv1d_fwd_cpu, &ns::causal_conv1d_fwd_cpu,                    \
        &ns::causal_conv1d_bwd_cpu, &ns::causal_conv1d_bwd_cpu, &ns::inner_product_cpu, &ns::inner_product_cpu, \
        &ns::selective_scan_fwd_cpu, &ns::selective_scan_bwd_cpu, &ns::causal_conv1d_fwd_cpu,                   \
        &ns::causal_conv1d_bwd_cpu                                                                              \
  }

// Indexed by CpuIsa.
#if FTMAMBA_CPU_DISPATCH
constexpr std::array<CpuPath, 4> kPaths = {CpuPath{}, FTMAMBA_CPU_PATH_TABLE(x86_64_v2), FTMAMBA_CPU_PATH_TABLE(avx2),
                                           FTMAMBA_CPU_PATH_TABLE(avx512)};
#else
constexpr std::array<CpuPath, 4> kPaths = {FTMAMBA_CPU_PATH_TABLE(build), CpuPath{}, CpuPath{}, CpuPath{}};
#endif

bool in_build(CpuIsa isa) { return kPaths[static_cast<std::size_t>(isa)].scan_fwd_f32 != nullptr; }

// Whether the CPU and the OS (which must save the wider registers) support the path's instructions.
bool cpu_runs(CpuIsa isa) {
  if (isa == CpuIsa::kBuild) return true;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();  // may run before libgcc's own initialiser (static constructors)
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  // GCC knows the levels by name, with every feature the -march level lets the compiler use.
  switch (isa) {
    case CpuIsa::kX86_64_v2:
      return __builtin_cpu_supports("x86-64-v2") != 0;
    case CpuIsa::kAvx2:
      return __builtin_cpu_supports("x86-64-v3") != 0;
    case CpuIsa::kAvx512:
      return __builtin_cpu_supports("x86-64-v4") != 0;
    default:
      return false;
  }
#else
  // Clang (14) names no levels and not every feature of one (F16C, LZCNT, MOVBE, XSAVE are missing); these
  // are the levels' defining features, which every CPU that has them pairs with the rest.
  const bool v2 = __builtin_cpu_supports("sse3") && __builtin_cpu_supports("ssse3") &&
                  __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2") &&
                  __builtin_cpu_supports("popcnt");
  const bool v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
                  __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case CpuIsa::kX86_64_v2:
      return v2;
    case CpuIsa::kAvx2:
      return v3;
    case CpuIsa::kAvx512:
      return v4;
    default:
      return false;
  }
#endif
#else
  return false;
#endif
}

std::string supported_names() {
  std::string s;
  for (CpuIsa isa : supported_cpu_isas()) s += (s.empty() ? "" : ", ") + std::string(cpu_isa_name(isa));
  return s;
}

// The path in use, as an int; -1 until first chosen.
std::atomic<int> g_active{-1};

const CpuPath& active_path() { return kPaths[static_cast<std::size_t>(cpu_isa())]; }

}  // namespace

std::string_view cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kBuild:
      return "build";
    case CpuIsa::kX86_64_v2:
      return "x86-64-v2";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
  }
  return "?";
}

bool cpu_isa_supported(CpuIsa isa) {
  // Probed once: the answer cannot change while the process runs.
  static const std::array<bool, 4> supported = [] {
    std::array<bool, 4> s{};
    for (CpuIsa isa : kAll) s[static_cast<std::size_t>(isa)] = in_build(isa) && cpu_runs(isa);
    return s;
  }();
  return supported[static_cast<std::size_t>(isa)];
}

std::vector<CpuIsa> supported_cpu_isas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : kAll)
    if (cpu_isa_supported(isa)) out.push_back(isa);
  return out;
}

bool cpu_has_bf16_arithmetic() {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return true;  // no probe here: say nothing rather than guess
#endif
}

CpuIsa best_cpu_isa() {
  const std::vector<CpuIsa> all = supported_cpu_isas();
  if (all.empty()) {
    // The x86-64-v2 path is this build's floor; an older CPU cannot run the kernels.
    throw std::runtime_error("this CPU lacks x86-64-v2 (SSE4.2, POPCNT), the least the CPU kernels are built for");
  }
  return all.back();
}

CpuIsa choose_cpu_isa(const char* request) {
  const std::string_view want = request ? request : "";
  if (want.empty() || want == "auto") return best_cpu_isa();
  for (CpuIsa isa : kAll) {
    if (cpu_isa_name(isa) != want) continue;
    if (!cpu_isa_supported(isa)) {
      throw std::invalid_argument("FTMAMBA_CPU_ISA=" + std::string(want) +
                                  ": this build or CPU cannot run that path; supported here: " + supported_names());
    }
    return isa;
  }
  throw std::invalid_argument("FTMAMBA_CPU_ISA=" + std::string(want) +
                              ": not a CPU kernel path; supported here: " + supported_names() + " (or auto)");
}

CpuIsa cpu_isa() {
  const int active = g_active.load(std::memory_order_acquire);
  return active >= 0 ? static_cast<CpuIsa>(active) : reset_cpu_isa();
}

void set_cpu_isa(CpuIsa isa) {
  if (!cpu_isa_supported(isa)) {
    throw std::invalid_argument("CPU kernel path " + std::string(cpu_isa_name(isa)) +
                                " is not supported here; supported: " + supported_names());
  }
  g_active.store(static_cast<int>(isa), std::memory_order_release);
}

CpuIsa reset_cpu_isa() {
  const CpuIsa isa = choose_cpu_isa(std::getenv("FTMAMBA_CPU_ISA"));
  g_active.store(static_cast<int>(isa), std::memory_order_release);
  return isa;
}

void selective_scan_fwd_cpu(const SelectiveScanParams<float>& p) { active_path().scan_fwd_f32(p); }
void selective_scan_fwd_cpu(const SelectiveScanParams<double>& p) { active_path().scan_fwd_f64(p); }
void selective_scan_bwd_cpu(const SelectiveScanParams<float>& p, const SelectiveScanGrads<float>& g) {
  active_path().scan_bwd_f32(p, g);
}
void selective_scan_bwd_cpu(const SelectiveScanParams<double>& p, const SelectiveScanGrads<double>& g) {
  active_path().scan_bwd_f64(p, g);
}
void causal_conv1d_fwd_cpu(const CausalConv1dParams<float>& p) { active_path().conv_fwd_f32(p); }
void causal_conv1d_fwd_cpu(const CausalConv1dParams<double>& p) { active_path().conv_fwd_f64(p); }
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float>& p, const CausalConv1dGrads<float>& g) {
  active_path().conv_bwd_f32(p, g);
}
void causal_conv1d_bwd_cpu(const CausalConv1dParams<double>& p, const CausalConv1dGrads<double>& g) {
  active_path().conv_bwd_f64(p, g);
}
void selective_scan_fwd_cpu(const SelectiveScanParams<float, Bf16>& p) { active_path().scan_fwd_bf16(p); }
void selective_scan_bwd_cpu(const SelectiveScanParams<float, Bf16>& p, const SelectiveScanGrads<float, Bf16>& g) {
  active_path().scan_bwd_bf16(p, g);
}
void causal_conv1d_fwd_cpu(const CausalConv1dParams<float, Bf16>& p) { active_path().conv_fwd_bf16(p); }
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float, Bf16>& p, const CausalConv1dGrads<float, Bf16>& g) {
  active_path().conv_bwd_bf16(p, g);
}
float inner_product_cpu(const float* a, const float* b, int64_t n) { return active_path().dot_f32(a, b, n); }
double inner_product_cpu(const double* a, const double* b, int64_t n) { return active_path().dot_f64(a, b, n); }

}  // namespace ftmamba::kernels
