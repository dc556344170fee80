// defines: the CUDA selective scan's launch planning (see selective_scan_cuda_plan.h).
#include "ftmamba/kernels/selective_scan_cuda_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ftmamba::kernels {
namespace {

// The largest power of two <= n (n >= 1), for segment counts: on the H100 at d_inner 2048 the segment counts
// between powers of two measured no better than the power below them (backward, batch 4, L 512: 238 us in 4
// segments, 248 in 5; forward, batch 2, L 512: 47 us in 4, 54 in 5).
int64_t floor_pow2(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

// Floats of scratch a segmented pass needs: (batch, count - 1, dim, dstate + 1); 0 without segments.
int64_t segment_workspace_floats(const SelectiveScanCudaParams& p, const ScanSegments& seg) {
  return seg.count > 1 ? p.batch * (seg.count - 1) * p.dim * (p.dstate + 1) : 0;
}

int64_t elem_bytes(CudaDtype dtype) { return dtype == CudaDtype::kFloat32 ? 4 : 2; }

}  // namespace

int scan_lanes_per_channel(int64_t dstate, int per_lane) {
  int tpc = 1;
  while (tpc * per_lane < dstate) tpc *= 2;
  return tpc;
}

int64_t scan_channel_blocks(int64_t dim, int lanes) {
  const int64_t per_block = kScanThreads / lanes;
  return (dim + per_block - 1) / per_block;
}

// `forced` segments when it is set (1: never split), else, when the grid leaves an SM under 2 blocks, the
// power of two at or below the count that gives about `aim_per_sm` blocks an SM, each segment at least
// kMinSegment steps so that the first pass and the combination stay small beside the main pass. Sequences of
// one chunk are never split.
ScanSegments scan_split_into_segments(int64_t seqlen, int64_t have, int64_t aim_per_sm, int64_t forced,
                                      int64_t sm_count) {
  constexpr int64_t kMinSegment = 64;
  const int64_t sms = sm_count;
  have = std::max<int64_t>(have, 1);
  int64_t count = forced;
  if (count == 0)
    count =
        have >= 2 * sms
            ? 1
            : floor_pow2(std::max<int64_t>(1, std::min((aim_per_sm * sms + have - 1) / have, seqlen / kMinSegment)));
  count = std::min(count, (seqlen + kScanChunk - 1) / kScanChunk);
  ScanSegments seg;
  seg.len = std::max<int64_t>(seqlen, 1);
  if (count < 2) return seg;
  seg.len = ((seqlen + count - 1) / count + kScanChunk - 1) / kScanChunk * kScanChunk;
  seg.count = (seqlen + seg.len - 1) / seg.len;
  return seg;
}

void check_scan_params(const SelectiveScanCudaParams& p) {
  if (p.dstate < 1 || p.dstate > kScanMaxDstate)
    throw std::runtime_error("selective_scan (CUDA): d_state must be in 1.." + std::to_string(kScanMaxDstate) +
                             ", got " + std::to_string(p.dstate));
  // The kernels address elements inside one batch row with 32-bit offsets (t * l_stride + column).
  // (A tile's cursor may run one tile past the end: a chunk of margin.)
  const auto row_span = [&](int64_t l_stride, int64_t width) { return (p.seqlen + kScanChunk) * l_stride + width; };
  const int64_t span = std::max({row_span(p.u_l_stride, p.dim), row_span(p.delta_l_stride, p.dim),
                                 row_span(p.z ? p.z_l_stride : 0, p.dim), row_span(p.B_l_stride, p.dstate),
                                 row_span(p.C_l_stride, p.dstate), p.seqlen * p.dim, p.seqlen * p.dstate});
  if (p.seqlen > 0 && span >= (int64_t(1) << 31))
    throw std::runtime_error("selective_scan (CUDA): one batch row spans " + std::to_string(span) +
                             " elements; the kernels take under 2^31 (split the batch or the sequence)");
}

// ---- forward -----------------------------------------------------------------------------------------------

ScanForwardPlan selective_scan_fwd_plan(const SelectiveScanCudaParams& p, int64_t sm_count) {
  ScanForwardPlan plan;
  const int64_t sms = sm_count, rows = std::min(p.batch, kScanMaxGridY);
  const auto blocks = [&](int per_lane) {
    return scan_channel_blocks(p.dim, scan_lanes_per_channel(p.dstate, per_lane)) * rows;
  };
  // One lane a channel (at d_state <= 16) while that gives 4 blocks (16 warps) an SM; four lanes below that.
  // Four a lane applies for 4 < d_state <= 32 only: below, it would be the same single lane; above, the
  // 16 lanes' B / C staging would not fit the registers.
  if (p.fwd_states_per_lane != 0 && p.fwd_states_per_lane != 16 && p.fwd_states_per_lane != 4 &&
      p.fwd_states_per_lane != 2)
    throw std::runtime_error("selective_scan (CUDA): fwd_states_per_lane must be 16, 4 or 2");
  // Two a lane (eight lanes a channel, at 8 < d_state <= 16) when four a lane leaves an SM under 2 blocks and
  // doubling the lanes lifts it to 2 without segments. (H100, d_inner 2048, batch 4, L 512: 52.8 us against
  // 63.7 at four a lane in 2 segments. At the LM shape, 2.9 blocks an SM at four, two a lane is slower, 271
  // against 252 us: each step's shared-memory reads and share store serve half the states. Where even eight
  // lanes stay under 2 blocks an SM, segments at four a lane measured faster: batch 1, L 1024, 39.9 us in 8
  // against 42.7 at two a lane in 4.)
  const bool four_apply = p.dstate > 4 && p.dstate <= 32, two_apply = p.dstate > 8 && p.dstate <= 16;
  const int by_shape = blocks(16) >= 4 * sms ? 16 : (blocks(4) < 2 * sms && blocks(2) >= 2 * sms) ? 2 : 4;
  const int want_lane = p.fwd_states_per_lane ? p.fwd_states_per_lane : by_shape;
  plan.states_per_lane = (want_lane == 2 && two_apply) ? 2 : (want_lane != 16 && four_apply) ? 4 : 16;
  // Segments when even that leaves under 2 blocks an SM, aiming at 4 an SM. (H100, fp32, d_inner 2048: batch
  // 1, L 512 takes 8 segments, 29.7 us against 40.0 in 4; L 1024 keeps 8 of 128 steps, 50.6 us, where 16
  // take 55.1. Aiming at 8 blocks an SM, as the backward does, measured slower here.)
  plan.seg = scan_split_into_segments(p.seqlen, blocks(plan.states_per_lane), 4, p.fwd_segments, sms);
  return plan;
}

int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p, int64_t sm_count) {
  return segment_workspace_floats(p, selective_scan_fwd_plan(p, sm_count).seg);
}

bool scan_fwd_rows_vectorizable(const SelectiveScanCudaParams& p, int64_t elem_bytes) {
  const auto vec_bytes = static_cast<uintptr_t>(4 * elem_bytes);
  const auto rows_ok = [&](const void* ptr, int64_t batch_stride, int64_t l_stride) {
    return reinterpret_cast<uintptr_t>(ptr) % vec_bytes == 0 && batch_stride % 4 == 0 && l_stride % 4 == 0;
  };
  return p.dim % 4 == 0 && reinterpret_cast<uintptr_t>(p.out) % vec_bytes == 0 &&
         rows_ok(p.u, p.u_batch_stride, p.u_l_stride) && rows_ok(p.delta, p.delta_batch_stride, p.delta_l_stride) &&
         (p.z == nullptr || rows_ok(p.z, p.z_batch_stride, p.z_l_stride));
}

ScanForwardLaunch selective_scan_fwd_launch(const SelectiveScanCudaParams& p, int64_t sm_count) {
  ScanForwardLaunch l;
  l.plan = selective_scan_fwd_plan(p, sm_count);
  const int S = l.plan.states_per_lane;
  l.lanes = scan_lanes_per_channel(p.dstate, S);
  l.tile = scan_fwd_tile(S, l.lanes);
  l.vec_loads = S == 4 && l.lanes == 4 && !p.fwd_scalar_loads && scan_fwd_rows_vectorizable(p, elem_bytes(p.dtype));
  l.main = ScanGrid{scan_channel_blocks(p.dim, l.lanes), std::min(p.batch, kScanMaxGridY), l.plan.seg.count};
  l.summary = l.main;
  l.summary.z = l.plan.seg.count - 1;
  l.smem_bytes = scan_fwd_smem(l.lanes, S, l.tile, false).bytes();
  return l;
}

// ---- backward ----------------------------------------------------------------------------------------------

ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p, int64_t sm_count) {
  ScanBackwardSplit s;
  const int64_t sms = sm_count;
  s.channel_groups =
      std::max<int64_t>(1, scan_channel_blocks(p.dim, scan_lanes_per_channel(p.dstate, kScanBwdStatesPerLane)));
  // Enough blocks for about 8 per SM; each extra batch group costs one more (dim, dstate) partial.
  const int64_t want = (sms * 8 + s.channel_groups - 1) / s.channel_groups;
  s.batch_groups = std::max<int64_t>(1, std::min({p.batch, want, kScanMaxGridY}));
  // Segments when the grid leaves SMs short of blocks (under 2 an SM), aiming at 8 blocks an SM: more than
  // fit at once, but shorter segments keep finishing, so the SMs stay busy. Measured on the H100 at d_inner
  // 2048 (64 channel blocks), fp32: batch 1, L 512: 237 us unsplit, 104 in 4 segments, 76 in 8; batch 4,
  // L 512: 286 unsplit, 236 in 4, 244 in 8. At the LM shape (384 blocks) splitting costs time (1,231 us
  // unsplit, 1,300-1,555 in 2-8 segments), so 2 blocks an SM is where it stops. Above kScanMaxGridY rows,
  // never: the first pass takes a block row per batch row.
  if (p.bwd_segments < 0) throw std::runtime_error("selective_scan (CUDA): bwd_segments must be >= 0");
  s.seg = scan_split_into_segments(p.seqlen, s.channel_groups * s.batch_groups, 8,
                                   p.batch > kScanMaxGridY ? 1 : p.bwd_segments, sms);
  return s;
}

int64_t selective_scan_bwd_workspace_floats(const SelectiveScanCudaParams& p, int64_t sm_count) {
  return segment_workspace_floats(p, selective_scan_bwd_split(p, sm_count).seg);
}

int selective_scan_bwd_sums(const SelectiveScanCudaParams& p, int64_t sm_count) {
  if (p.bwd_sums != 0 && p.bwd_sums != 1 && p.bwd_sums != 4)
    throw std::runtime_error("selective_scan (CUDA): bwd_sums must be 0, 1 or 4");
  if (p.bwd_sums != 0) return p.bwd_sums;
  // Groups of 4 on full chunks when the grid leaves an SM at most 3 blocks anyway (their shared memory allows
  // no more): the LM shape's 384 blocks, 1,307 -> 1,237 us (fp32, H100). Spreading groups of 2 over the
  // block gained nothing there and cost 1% at the tabular shape, which keeps the first-warp form.
  const ScanBackwardSplit split = selective_scan_bwd_split(p, sm_count);
  const int64_t blocks = split.channel_groups * split.batch_groups * split.seg.count;
  return p.seqlen > 14 && blocks <= 3 * sm_count ? 4 : 1;
}

ScanBackwardLaunch selective_scan_bwd_launch(const SelectiveScanCudaParams& p, int64_t sm_count) {
  if (p.batch * ((p.seqlen + kScanChunk - 1) / kScanChunk) >= (int64_t(1) << 31))
    throw std::runtime_error("selective_scan (CUDA): batch x L / 16 must stay under 2^31 for the backward");
  ScanBackwardLaunch l;
  l.split = selective_scan_bwd_split(p, sm_count);
  l.lanes = scan_lanes_per_channel(p.dstate, kScanBwdStatesPerLane);
  l.chunk = scan_bwd_chunk(l.lanes, p.seqlen);
  // Groups of 4 (spread sums) exist at 4 lanes a channel (d_state 9..16, the usual 16) on full chunks only;
  // elsewhere the first warp forms the outputs of groups of 2.
  l.spread = selective_scan_bwd_sums(p, sm_count) == 4 && scan_bwd_compiled(l.lanes, l.chunk, 4);
  l.group = l.spread ? 4 : 2;
  l.main = ScanGrid{l.split.channel_groups, l.split.batch_groups, l.split.seg.count};
  if (l.split.seg.count > 1) {
    l.summary = ScanGrid{l.split.channel_groups, p.batch, l.split.seg.count - 1};
    l.combine = ScanGrid{(p.batch * p.dim * p.dstate + kScanCombineThreads - 1) / kScanCombineThreads, 1, 1};
  } else {
    l.summary.z = 0;
    l.combine.x = 0;
  }
  l.smem_bytes = int64_t(sizeof(float)) * scan_bwd_smem(l.lanes, l.chunk, l.group).floats;
  return l;
}

ScanSumLaunch selective_scan_sum_partials_launch(const ScanPartialSums& s, int64_t sm_count) {
  ScanSumLaunch l;
  l.total = 2 * s.batch * s.seqlen * s.dstate + s.dim * s.dstate + 2 * s.dim;
  l.grid.x = std::min<int64_t>((l.total + kScanSumThreads - 1) / kScanSumThreads, sm_count * 16);
  return l;
}

}  // namespace ftmamba::kernels
