// defines: the CUDA selective scan's launch planning for a given SM count: layouts, segments, grids, shared
// memory, and the size checks. Plain C++ (no CUDA header), so the CPU build compiles and tests it.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"
#include "ftmamba/kernels/selective_scan_cuda.h"

namespace ftmamba::kernels {

// Threads a block of every scan kernel but the backward's combine and the partial sums.
constexpr int kScanThreads = 128;
// States a lane in the backward: a chunk's recomputed states (kScanChunk x 4 floats) fit in registers.
constexpr int kScanBwdStatesPerLane = 4;
// CUDA's limit on gridDim.y (and .z); the scans take larger batches by looping a block over rows.
constexpr int64_t kScanMaxGridY = 65535;
// Threads a block of the backward's combine pass and of the partial sums.
constexpr int kScanCombineThreads = 256;
constexpr int kScanSumThreads = 256;

// A launch's grid, as CUDA's dim3 without its header.
struct ScanGrid {
  int64_t x = 1, y = 1, z = 1;
  int64_t blocks() const { return x * y * z; }
};

// Lanes per channel: enough for d_state states at `per_lane` each, a power of two.
int scan_lanes_per_channel(int64_t dstate, int per_lane);
// Blocks of kScanThreads that cover `dim` channels at `lanes` lanes a channel.
int64_t scan_channel_blocks(int64_t dim, int lanes);
// How a pass whose grid has `have` blocks cuts L into segments of whole chunks (see ScanSegments).
ScanSegments scan_split_into_segments(int64_t seqlen, int64_t have, int64_t aim_per_sm, int64_t forced,
                                      int64_t sm_count);

// Throws std::runtime_error unless 1 <= d_state <= kScanMaxDstate and every offset inside a batch row fits
// the kernels' 32-bit arithmetic.
void check_scan_params(const SelectiveScanCudaParams& p);

// The plans of selective_scan_cuda.h, for a device of `sm_count` SMs.
ScanForwardPlan selective_scan_fwd_plan(const SelectiveScanCudaParams& p, int64_t sm_count);
int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p, int64_t sm_count);
ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p, int64_t sm_count);
int64_t selective_scan_bwd_workspace_floats(const SelectiveScanCudaParams& p, int64_t sm_count);
int selective_scan_bwd_sums(const SelectiveScanCudaParams& p, int64_t sm_count);

// ---- forward -----------------------------------------------------------------------------------------------
// Steps the forward stages a tile: 8 at 16 states a lane (registers go to the states) or at 2 lanes a channel
// (whose loader has twice the items a tile), else 16. A tile divides kScanChunk.
constexpr int scan_fwd_tile(int states_per_lane, int lanes) { return (states_per_lane == 16 || lanes == 2) ? 8 : 16; }
// The lane counts the forward is compiled for at each states-per-lane: those its plans produce for
// d_state <= kScanMaxDstate (16 a lane: 1, 2 or 4 lanes; 4: 2, 4 or 8; 2: eight lanes, d_state 9 .. 16).
constexpr bool scan_fwd_compiled(int states_per_lane, int lanes) {
  return states_per_lane == 16  ? lanes <= 4
         : states_per_lane == 2 ? lanes == 8
                                : (states_per_lane == 4 && lanes >= 2 && lanes <= 8);
}

// scan_fwd_kernel's static shared memory, whose arrays it declares from these dimensions:
//   staged  (2, tile, pad) floats: B (0) and C (1) of the tile's steps, pad = lanes x states a lane
//   step_dt (dt_rows, dt_cols) float2s: (dt, dt u) per (step, channel), at several lanes a channel
//   y_share (share_rows, share_cols) floats: each lane's share of the output, main pass at several lanes
struct ScanFwdSmem {
  int pad, channels, tile, dt_rows, dt_cols, share_rows, share_cols;
  // Bytes, each array starting 16-byte aligned. A 1 x 1 array is a placeholder the layout does not use,
  // which the compiler drops (as ptxas -v reports for every instantiation).
  constexpr int64_t bytes() const {
    const auto array = [](int64_t elem, int64_t rows, int64_t cols) {
      return rows * cols == 1 ? 0 : (elem * rows * cols + 15) / 16 * 16;
    };
    return array(4, 2 * tile, pad) + array(8, dt_rows, dt_cols) + array(4, share_rows, share_cols);
  }
};
FTMAMBA_HOST_DEVICE constexpr ScanFwdSmem scan_fwd_smem(int lanes, int states_per_lane, int tile, bool summary) {
  const bool own_lane = lanes == 1, shares = !own_lane && !summary;
  const int channels = kScanThreads / lanes;
  return ScanFwdSmem{
      lanes * states_per_lane,      channels, tile, own_lane ? 1 : tile, own_lane ? 1 : channels, shares ? tile : 1,
      shares ? channels * lanes : 1};
}

// Whether the forward's loader may take four channels at a time (scan_fwd_kernel's kVec): d_inner, the
// strides and the starts of u, delta, z and out multiples of four elements of `elem_bytes`, so that every row
// of four channels is one aligned 8- or 16-byte access.
bool scan_fwd_rows_vectorizable(const SelectiveScanCudaParams& p, int64_t elem_bytes);

// Everything the forward's launch takes: the plan, the kernel's compile-time layout and the grids.
struct ScanForwardLaunch {
  ScanForwardPlan plan;
  int lanes = 1;           // lanes a channel (the kernel's TPC)
  int tile = 8;            // steps staged a tile (TILE)
  bool vec_loads = false;  // kVec: the main pass at 4 states a lane and 4 lanes, on vectorisable rows
  ScanGrid summary;        // the first pass of a segmented forward: (channel blocks, rows, count - 1); z 0: none
  ScanGrid main;           // (channel blocks, min(batch, kScanMaxGridY), segments); a block loops over rows
  int threads = kScanThreads;
  int64_t smem_bytes = 0;  // the main pass's static shared memory (the summary pass's is at most this)
};
ScanForwardLaunch selective_scan_fwd_launch(const SelectiveScanCudaParams& p, int64_t sm_count);

// ---- backward ----------------------------------------------------------------------------------------------
// The backward's per-(step, channel) values in shared memory: u, dt = softplus(delta + bias), gy = d loss /
// d y_pre and d dt / d delta as one float4, then the factor that turns y_pre into d loss / d z.
constexpr int kScanBwdInputs = 5;

// The backward's dynamic shared memory, in floats, for `lanes` lanes a channel, chunks of `chunk` steps and
// groups of `group` steps; offsets run in the order of the fields:
//   terms     (2 buffers, group, 2, term_block): each lane's dB (0) and dC (1) terms of its states, at
//             channel x pad + state. The 16 floats of padding put dC 16 banks from dB, so that the warps
//             summing them over channels read without bank conflicts;
//   lane_sums (2 buffers, group, kScanThreads, 4): each lane's share of <C, h>, of d loss / d dt and of <dh, B>;
//   staged    (2, chunk, pad): B (0) and C (1) of the chunk's steps for the block's batch row;
//   inputs    (chunk, channels) float4s (u, dt, gy, d dt / d delta), then (chunk, channels) dz factors;
//   raw       (4, chunk, channels) elements of u, delta, z and dout as loaded (float-sized room, so any dtype
//             fits): the next chunk's, copied asynchronously; at four lanes a channel only (async).
struct ScanBwdSmem {
  int pad, channels, term_block;
  bool async;
  int terms, lane_sums, staged, inputs, raw, floats;
};
FTMAMBA_HOST_DEVICE constexpr ScanBwdSmem scan_bwd_smem(int lanes, int chunk, int group) {
  ScanBwdSmem s{};
  s.pad = lanes * kScanBwdStatesPerLane;
  s.channels = kScanThreads / lanes;
  s.term_block = s.channels * s.pad + 16;
  s.async = lanes == 4;
  s.terms = 2 * group * 2 * s.term_block;
  s.lane_sums = 2 * group * kScanThreads * 4;
  s.staged = 2 * chunk * s.pad;
  s.inputs = kScanBwdInputs * chunk * s.channels;
  s.raw = s.async ? 4 * chunk * s.channels : 0;
  s.floats = s.terms + s.lane_sums + s.staged + s.inputs + s.raw;
  return s;
}

// The backward's chunk: kScanChunk, or at four lanes a channel the shortest of 8, 12 or 14 steps that holds
// the whole sequence, so that the step loop (unrolled over the chunk) does not pay for idle steps: 14 for the
// 13 tokens of a 12-feature table.
constexpr int scan_bwd_chunk(int lanes, int64_t seqlen) {
  if (lanes == 4 && seqlen <= 8) return 8;
  if (lanes == 4 && seqlen <= 12) return 12;
  if (lanes == 4 && seqlen <= 14) return 14;
  return kScanChunk;
}
// The (lanes, chunk, group) the backward is compiled for: short chunks and groups of 4 (spread sums) at four
// lanes a channel only, groups of 4 on full chunks only, to bound the kernels compiled.
constexpr bool scan_bwd_compiled(int lanes, int chunk, int group) {
  const bool lanes_ok = lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8 || lanes == 16;
  const bool chunk_ok = chunk == kScanChunk || (lanes == 4 && (chunk == 8 || chunk == 12 || chunk == 14));
  const bool group_ok = group == 2 || (group == 4 && lanes == 4 && chunk == kScanChunk);
  return lanes_ok && chunk_ok && group_ok;
}

// Everything the backward's launch takes. Passes: the summary (a segmented backward's first pass), the
// combine (between the passes) and the main pass.
struct ScanBackwardLaunch {
  ScanBackwardSplit split;
  int lanes = 4;        // lanes a channel (TPC), kScanBwdStatesPerLane states each
  int chunk = 16;       // steps a chunk (K)
  int group = 2;        // steps a group of sums (G)
  bool spread = false;  // the group's sums spread over the block (selective_scan_bwd_sums 4)
  ScanGrid summary;     // (channel groups, batch, count - 1), chunks of kScanChunk; z 0: no segments
  ScanGrid combine;     // one thread of kScanCombineThreads a (row, channel, state); x 0: no segments
  ScanGrid main;        // (channel groups, batch groups, segments)
  int threads = kScanThreads;
  int64_t smem_bytes = 0;  // the main pass's dynamic shared memory
};
// Throws std::runtime_error where the backward cannot run (batch x chunks of 2^31 or more) or an option is
// out of range. For batch > 0.
ScanBackwardLaunch selective_scan_bwd_launch(const SelectiveScanCudaParams& p, int64_t sm_count);

// The partial sums' launch: `total` output elements, one a thread, the grid capped at 16 blocks an SM (the
// threads loop over the rest). total 0: nothing to launch.
struct ScanSumLaunch {
  int64_t total = 0;
  ScanGrid grid;
  int threads = kScanSumThreads;
};
ScanSumLaunch selective_scan_sum_partials_launch(const ScanPartialSums& s, int64_t sm_count);

}  // namespace ftmamba::kernels
