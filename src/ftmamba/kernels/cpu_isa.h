// defines: CpuIsa, the instruction-set paths the CPU kernels are compiled for, and the run-time choice of the
// one every kernel call runs: the best this CPU supports, or the one the FTMAMBA_CPU_ISA variable names.
#pragma once
#include <string_view>
#include <vector>

namespace ftmamba::kernels {

// Ordered from the least to the most capable. An x86-64 build holds x86-64-v2 (SSE4.2, 16-byte vectors),
// avx2 (x86-64-v3: AVX2 + FMA, 32 bytes) and avx512 (x86-64-v4: AVX-512 F/BW/CD/DQ/VL, 64 bytes). A build
// with FTMAMBA_NATIVE=ON (-march=native) or for another architecture holds the one path `build`, compiled
// with the build's own flags.
enum class CpuIsa { kBuild, kX86_64_v2, kAvx2, kAvx512 };

// "build", "x86-64-v2", "avx2", "avx512": the names FTMAMBA_CPU_ISA takes.
std::string_view cpu_isa_name(CpuIsa isa);

// Whether this build holds the path and this CPU (and its OS) can run it.
bool cpu_isa_supported(CpuIsa isa);

// The paths cpu_isa_supported accepts, least capable first.
std::vector<CpuIsa> supported_cpu_isas();

// The most capable supported path.
CpuIsa best_cpu_isa();

// Whether this CPU multiplies bfloat16 in hardware (AVX512_BF16 or AMX-BF16). Without it the matrix libraries
// widen every bf16 operand first, and bf16 training is several times slower than float32.
bool cpu_has_bf16_arithmetic();

// The path a value of FTMAMBA_CPU_ISA asks for: null, "" or "auto" give best_cpu_isa(); a path's name gives
// that path. Throws std::invalid_argument for an unknown name or a path that is not supported here.
CpuIsa choose_cpu_isa(const char* request);

// The path kernel calls run. Chosen on first use from the FTMAMBA_CPU_ISA environment variable by
// choose_cpu_isa (which may throw, once per call, until the variable is fixed).
CpuIsa cpu_isa();

// Makes `isa` the path later kernel calls run (tests, benchmarks). Throws std::invalid_argument if it is
// not supported here.
void set_cpu_isa(CpuIsa isa);

// Chooses the path from FTMAMBA_CPU_ISA again, as on first use, makes it current and returns it.
CpuIsa reset_cpu_isa();

}  // namespace ftmamba::kernels
