// defines: CPU tests of the CUDA selective scan's launch planning (selective_scan_cuda_plan.h): for each
// shape, the kernels' own index arithmetic, fed the plan's grids and layouts, covers every (batch row,
// channel, state, time step) exactly once; shared memory and grids stay within the devices' limits; and the
// layouts the kernels are tuned for are the ones chosen at the LM and tabular shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/kernels/selective_scan_cuda_plan.h"

namespace ftmamba::kernels {
namespace {

constexpr int64_t kH100Sms = 132;
constexpr int64_t kA100Sms = 108;
const std::vector<int64_t> kSmCounts = {1, 16, kA100Sms, kH100Sms};

// Device limits (CUDA programming guide, compute capabilities 8.0 and 9.0).
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxStaticSmem = 48 * 1024;
constexpr int64_t kSm80MaxSmemPerBlock = 163 * 1024;  // opt-in dynamic
constexpr int64_t kSm90MaxSmemPerBlock = 227 * 1024;
constexpr int64_t kSm80SmemPerSm = 164 * 1024;
constexpr int64_t kSm90SmemPerSm = 228 * 1024;
constexpr int64_t kReservedSmemPerBlock = 1024;  // the runtime's share of each resident block

// A fake, 256-byte aligned device address: the plan looks at pointers' alignment only.
const void* fake_ptr(uintptr_t offset_bytes = 0) {
  return reinterpret_cast<const void*>((uintptr_t(1) << 20) | offset_bytes);
}

// Contiguous (batch, L, d_inner) activations and (batch, L, N) B / C, with z, as the binding passes them.
SelectiveScanCudaParams shape(int64_t batch, int64_t dim, int64_t L, int64_t N, CudaDtype dtype = CudaDtype::kFloat32) {
  SelectiveScanCudaParams p;
  p.batch = batch, p.seqlen = L, p.dim = dim, p.dstate = N, p.dtype = dtype;
  p.u = p.delta = p.z = fake_ptr();
  p.out = const_cast<void*>(fake_ptr());
  p.u_batch_stride = p.delta_batch_stride = p.z_batch_stride = L * dim;
  p.u_l_stride = p.delta_l_stride = p.z_l_stride = dim;
  p.B = p.C = fake_ptr();
  p.B_batch_stride = p.C_batch_stride = L * N;
  p.B_l_stride = p.C_l_stride = N;
  return p;
}

std::string describe(const SelectiveScanCudaParams& p, int64_t sms) {
  return "batch " + std::to_string(p.batch) + ", d_inner " + std::to_string(p.dim) + ", L " + std::to_string(p.seqlen) +
         ", N " + std::to_string(p.dstate) + ", " + std::to_string(sms) + " SMs";
}

void expect_all_once(const std::vector<int>& counts, const std::string& what) {
  for (size_t i = 0; i < counts.size(); ++i) {
    ASSERT_EQ(counts[i], 1) << what << ": element " << i;
  }
}

void expect_grid_within_limits(const ScanGrid& g, const std::string& what) {
  EXPECT_GE(g.x, 1) << what;
  EXPECT_GE(g.y, 1) << what;
  EXPECT_GE(g.z, 1) << what;
  EXPECT_LE(g.x, kMaxGridX) << what;
  EXPECT_LE(g.y, kMaxGridYZ) << what;
  EXPECT_LE(g.z, kMaxGridYZ) << what;
}

// Lane<TPC, S> over the grid's x: every (channel, state) is held by exactly one lane, and no block is idle.
void expect_channels_and_states_once(int64_t blocks_x, int lanes, int states_per_lane, int64_t dim, int64_t N,
                                     const std::string& what) {
  const int channels = kScanThreads / lanes;
  EXPECT_EQ(kScanThreads % lanes, 0) << what;
  EXPECT_LT((blocks_x - 1) * channels, dim) << what << ": an idle channel block";
  std::vector<int> held(dim * N, 0);
  for (int64_t bx = 0; bx < blocks_x; ++bx) {
    for (int tid = 0; tid < kScanThreads; ++tid) {
      const int slice = tid % lanes;
      const int64_t d = bx * channels + tid / lanes;
      if (d >= dim) continue;
      for (int s = 0; s < states_per_lane; ++s) {
        const int64_t n = int64_t(slice) * states_per_lane + s;
        if (n < N) ++held[d * N + n];
      }
    }
  }
  expect_all_once(held, what + ": (channel, state)");
}

// A block walks rows blockIdx.y, blockIdx.y + gridDim.y, ...: every batch row exactly once.
void expect_rows_once(int64_t blocks_y, int64_t batch, const std::string& what) {
  std::vector<int> rows(batch, 0);
  for (int64_t y = 0; y < blocks_y; ++y)
    for (int64_t b = y; b < batch; b += blocks_y) ++rows[b];
  expect_all_once(rows, what + ": batch rows");
}

// Segment blockIdx.z takes steps [z len, min(L, (z + 1) len)): every step once, no empty segment, and
// segments start on chunk boundaries, where the forward saves states and the backward restarts.
void expect_segments_cover(const ScanSegments& seg, int64_t L, const std::string& what) {
  ASSERT_GE(seg.count, 1) << what;
  if (seg.count > 1) {
    EXPECT_EQ(seg.len % kScanChunk, 0) << what;
  }
  EXPECT_LT((seg.count - 1) * seg.len, L) << what << ": an empty segment";
  std::vector<int> steps(L, 0);
  for (int64_t z = 0; z < seg.count; ++z)
    for (int64_t t = z * seg.len; t < std::min(L, (z + 1) * seg.len); ++t) ++steps[t];
  expect_all_once(steps, what + ": time steps");
}

void check_forward(const SelectiveScanCudaParams& p, int64_t sms) {
  const std::string what = "forward, " + describe(p, sms);
  const ScanForwardLaunch l = selective_scan_fwd_launch(p, sms);
  const int S = l.plan.states_per_lane;
  ASSERT_TRUE(S == 16 || S == 4 || S == 2) << what;
  EXPECT_TRUE(scan_fwd_compiled(S, l.lanes)) << what << ": " << S << " states a lane, " << l.lanes << " lanes";
  EXPECT_EQ(l.lanes, scan_lanes_per_channel(p.dstate, S)) << what;
  EXPECT_EQ(l.tile, scan_fwd_tile(S, l.lanes)) << what;
  EXPECT_EQ(kScanChunk % l.tile, 0) << what << ": chunk boundaries must fall on tile boundaries";
  EXPECT_EQ(l.tile % l.lanes, 0) << what << ": a loader's steps must stay inside the tile";
  EXPECT_TRUE(S % 4 == 0 || S == 2) << what;
  EXPECT_EQ(l.threads, kScanThreads) << what;

  expect_grid_within_limits(l.main, what + ", main grid");
  EXPECT_EQ(l.main.x, scan_channel_blocks(p.dim, l.lanes)) << what;
  EXPECT_EQ(l.main.y, std::min(p.batch, kScanMaxGridY)) << what;
  EXPECT_EQ(l.main.z, l.plan.seg.count) << what;
  expect_channels_and_states_once(l.main.x, l.lanes, S, p.dim, p.dstate, what);
  expect_rows_once(l.main.y, p.batch, what);
  expect_segments_cover(l.plan.seg, p.seqlen, what);
  if (l.plan.seg.count > 1) {
    EXPECT_EQ(l.summary.x, l.main.x) << what;
    EXPECT_EQ(l.summary.y, l.main.y) << what;
    EXPECT_EQ(l.summary.z, l.plan.seg.count - 1) << what;
    expect_grid_within_limits(l.summary, what + ", summary grid");
    EXPECT_EQ(selective_scan_fwd_workspace_floats(p, sms), p.batch * (l.plan.seg.count - 1) * p.dim * (p.dstate + 1))
        << what;
  } else {
    EXPECT_EQ(l.summary.z, 0) << what << ": no first pass without segments";
    EXPECT_EQ(selective_scan_fwd_workspace_floats(p, sms), 0) << what;
  }

  // The chunk-boundary states the backward reads: each of scan_saved_states(L) written exactly once, at the
  // index the kernel's cursor holds (it starts at max(t_begin, kScanChunk) / kScanChunk - 1 and moves one a
  // chunk, saving at tile starts on chunk boundaries).
  const int64_t n_saved = scan_saved_states(p.seqlen);
  std::vector<int> saved(n_saved, 0);
  for (int64_t z = 0; z < l.plan.seg.count; ++z) {
    const int64_t t_begin = z * l.plan.seg.len, t_end = std::min(p.seqlen, t_begin + l.plan.seg.len);
    int64_t next = std::max(t_begin, int64_t(kScanChunk)) / kScanChunk - 1;
    for (int64_t t0 = t_begin; t0 < t_end; t0 += l.tile) {
      if (t0 > 0 && t0 % kScanChunk == 0) {
        ASSERT_EQ(next, t0 / kScanChunk - 1) << what;
        ASSERT_LT(next, n_saved) << what;
        ++saved[next++];
      }
    }
  }
  expect_all_once(saved, what + ": saved chunk states");

  // The loader's items of a tile: every (step, channel) of the block loaded by exactly one thread.
  const int channels = kScanThreads / l.lanes;
  std::vector<int> items(l.tile * channels, 0);
  const auto load = [&](int k, int c) {
    ASSERT_TRUE(k < l.tile && c < channels) << what << ": step " << k << ", channel " << c;
    ++items[k * channels + c];
  };
  for (int tid = 0; tid < kScanThreads; ++tid) {
    if (l.vec_loads) {
      for (int j = 0; j < 4; ++j) load(tid / 8, 4 * (tid % 8) + j);
    } else {
      for (int j = 0; j < l.tile / l.lanes; ++j) load(tid / channels + j * l.lanes, tid % channels);
    }
  }
  expect_all_once(items, what + ": a tile's loads");
  if (l.vec_loads) {
    EXPECT_TRUE(S == 4 && l.lanes == 4 && l.tile == 16) << what << ": vector loads are the LM layout's main pass";
    EXPECT_EQ(p.dim % 4, 0) << what;
  }

  // Static shared memory: the main pass's bounds the summary pass's; 4 blocks an SM (its launch bounds).
  EXPECT_EQ(l.smem_bytes, scan_fwd_smem(l.lanes, S, l.tile, false).bytes()) << what;
  EXPECT_LE(scan_fwd_smem(l.lanes, S, l.tile, true).bytes(), l.smem_bytes) << what;
  EXPECT_LE(l.smem_bytes, kMaxStaticSmem) << what;
  EXPECT_LE(4 * (l.smem_bytes + kReservedSmemPerBlock), kSm80SmemPerSm) << what;
}

void check_backward(const SelectiveScanCudaParams& p, int64_t sms) {
  const std::string what = "backward, " + describe(p, sms);
  const ScanBackwardLaunch l = selective_scan_bwd_launch(p, sms);
  const ScanBackwardSplit& split = l.split;
  EXPECT_TRUE(scan_bwd_compiled(l.lanes, l.chunk, l.group))
      << what << ": " << l.lanes << " lanes, chunk " << l.chunk << ", group " << l.group;
  EXPECT_EQ(l.lanes, scan_lanes_per_channel(p.dstate, kScanBwdStatesPerLane)) << what;
  EXPECT_EQ(l.chunk, scan_bwd_chunk(l.lanes, p.seqlen)) << what;
  EXPECT_EQ(l.chunk % l.group, 0) << what << ": a chunk is whole groups";
  EXPECT_LE(l.chunk, kScanChunk) << what;
  EXPECT_EQ(l.spread, l.group == 4) << what;
  EXPECT_EQ(l.threads, kScanThreads) << what;

  expect_grid_within_limits(l.main, what + ", main grid");
  EXPECT_EQ(l.main.x, split.channel_groups) << what;
  EXPECT_EQ(l.main.y, split.batch_groups) << what;
  EXPECT_EQ(l.main.z, split.seg.count) << what;
  EXPECT_LE(split.batch_groups, p.batch) << what;
  expect_channels_and_states_once(l.main.x, l.lanes, kScanBwdStatesPerLane, p.dim, p.dstate, what);
  expect_rows_once(l.main.y, p.batch, what);
  expect_segments_cover(split.seg, p.seqlen, what);

  // Each segment's chunks, as the kernel derives them from seg: every step of the sequence exactly once.
  const bool one_chunk = l.chunk < kScanChunk;
  if (one_chunk) {
    EXPECT_LE(p.seqlen, l.chunk) << what << ": short chunks hold the whole sequence";
    EXPECT_EQ(split.seg.count, 1) << what;
  }
  if (split.seg.count > 1) {
    EXPECT_EQ(split.seg.len % l.chunk, 0) << what;
  }
  std::vector<int> steps(p.seqlen, 0);
  for (int64_t z = 0; z < split.seg.count; ++z) {
    const int64_t first = one_chunk ? 0 : z * split.seg.len / l.chunk;
    const int64_t n = one_chunk
                          ? (p.seqlen + l.chunk - 1) / l.chunk
                          : (std::min(p.seqlen, (z + 1) * split.seg.len) - z * split.seg.len + l.chunk - 1) / l.chunk;
    for (int64_t c = first; c < first + n; ++c)
      for (int64_t t = c * l.chunk; t < std::min(p.seqlen, (c + 1) * l.chunk); ++t) ++steps[t];
  }
  expect_all_once(steps, what + ": chunks' steps");

  // Parameter partials: block (y, z) writes partial z gridDim.y + y, one each.
  EXPECT_EQ(split.param_partials(), l.main.y * l.main.z) << what;
  std::vector<int> partials(split.param_partials(), 0);
  for (int64_t z = 0; z < l.main.z; ++z)
    for (int64_t y = 0; y < l.main.y; ++y) ++partials[z * l.main.y + y];
  expect_all_once(partials, what + ": parameter partials");

  // After each group: every (step in group, dB / dC, state) term summed by exactly one thread (the kernel's
  // term_item decoding), and every (step in group, channel) output row formed by exactly one thread.
  const int channels = kScanThreads / l.lanes, pad = l.lanes * kScanBwdStatesPerLane, G = l.group;
  const int writers = l.spread ? G * channels : channels;
  ASSERT_LE(writers, kScanThreads) << what;
  const int term_items = (G * 2 * pad + kScanThreads - 1) / kScanThreads;
  const int64_t N = p.dstate;
  std::vector<int> terms(G * 2 * N, 0);
  for (int tid = 0; tid < kScanThreads; ++tid) {
    for (int j = 0; j < term_items; ++j) {
      const int64_t i = (tid + kScanThreads - writers) % kScanThreads + j * kScanThreads;
      const int64_t kk = i / (2 * N);
      if (kk < G) ++terms[(kk * 2 + (i / N) % 2) * N + i % N];
    }
  }
  expect_all_once(terms, what + ": group term sums");
  std::vector<int> rows(G * channels, 0);
  for (int tid = 0; tid < writers; ++tid) {
    if (l.spread) {
      ++rows[(tid / channels) * channels + tid % channels];
    } else {
      for (int kk = 0; kk < G; ++kk) ++rows[kk * channels + tid];
    }
  }
  expect_all_once(rows, what + ": group output rows");
  // The chunk's staging: every (step, channel) of the block's inputs by exactly one thread.
  std::vector<int> staged(l.chunk * channels, 0);
  for (int tid = 0; tid < kScanThreads; ++tid) {
    for (int j = 0; j < (l.chunk + l.lanes - 1) / l.lanes; ++j) {
      const int k = tid / channels + j * l.lanes;
      if (k < l.chunk) ++staged[k * channels + tid % channels];
    }
  }
  expect_all_once(staged, what + ": chunk staging");

  // Dynamic shared memory: the layout's regions, 16-byte aligned for their float4 and cp.async accesses,
  // within every compiled architecture's per-block limit. At four lanes a channel (d_state 9 .. 16, the
  // tuned layouts) on an H100: 4 blocks an SM in groups of 2 (the launch bounds), 3 and not 4 with spread
  // sums, which is why those are chosen only for grids of at most 3 blocks an SM.
  const ScanBwdSmem s = scan_bwd_smem(l.lanes, l.chunk, l.group);
  EXPECT_EQ(s.floats, s.terms + s.lane_sums + s.staged + s.inputs + s.raw) << what;
  EXPECT_EQ(l.smem_bytes, 4 * int64_t(s.floats)) << what;
  for (const int offset : {s.terms, s.terms + s.lane_sums, s.terms + s.lane_sums + s.staged,
                           s.terms + s.lane_sums + s.staged + s.inputs}) {
    EXPECT_EQ(offset % 4, 0) << what << ": region at float " << offset;
  }
  EXPECT_EQ(s.term_block % 4, 0) << what;
  EXPECT_LE(l.smem_bytes, kSm80MaxSmemPerBlock) << what;
  EXPECT_LE(l.smem_bytes, kSm90MaxSmemPerBlock) << what;
  const int64_t per_block = l.smem_bytes + kReservedSmemPerBlock;
  if (l.spread) {
    EXPECT_LE(3 * per_block, kSm90SmemPerSm) << what;
    EXPECT_GT(4 * per_block, kSm90SmemPerSm) << what;
    if (p.bwd_sums == 0) {
      EXPECT_LE(l.main.blocks(), 3 * sms) << what;
    }
  } else if (l.lanes == 4) {
    EXPECT_LE(4 * per_block, kSm90SmemPerSm) << what;
  }

  // The first pass and the combine, with segments only.
  if (split.seg.count > 1) {
    EXPECT_EQ(l.summary.x, split.channel_groups) << what;
    EXPECT_EQ(l.summary.y, p.batch) << what;
    EXPECT_EQ(l.summary.z, split.seg.count - 1) << what;
    expect_grid_within_limits(l.summary, what + ", summary grid");
    const int64_t threads = p.batch * p.dim * p.dstate;
    EXPECT_GE(l.combine.x * kScanCombineThreads, threads) << what;
    EXPECT_LT((l.combine.x - 1) * kScanCombineThreads, threads) << what;
    expect_grid_within_limits(l.combine, what + ", combine grid");
    EXPECT_EQ(selective_scan_bwd_workspace_floats(p, sms), p.batch * (split.seg.count - 1) * p.dim * (p.dstate + 1))
        << what;
  } else {
    EXPECT_EQ(l.summary.z, 0) << what;
    EXPECT_EQ(l.combine.x, 0) << what;
    EXPECT_EQ(selective_scan_bwd_workspace_floats(p, sms), 0) << what;
  }
}

void check_both(const SelectiveScanCudaParams& p) {
  for (const int64_t sms : kSmCounts) {
    SCOPED_TRACE(describe(p, sms));
    check_forward(p, sms);
    check_backward(p, sms);
  }
}

TEST(ScanLaunchPlan, LmShapeCoversEveryElementWithinLimits) { check_both(shape(8, 1536, 2048, 16)); }

TEST(ScanLaunchPlan, TabularShapeCoversEveryElementWithinLimits) { check_both(shape(2048, 256, 13, 16)); }

TEST(ScanLaunchPlan, OddSizesCoverEveryElementWithinLimits) {
  for (const int64_t L : {1, 2, 7, 8, 9, 12, 13, 14, 15, 16, 17, 63, 64, 65, 200, 2047, 2048, 2049})
    for (const int64_t dim : {1, 37, 129, 256})
      for (const int64_t batch : {1, 3}) check_both(shape(batch, dim, L, 16));
  // Every d_state the kernels take, across each lane count of both passes.
  for (const int64_t N : {1, 2, 3, 4, 5, 8, 9, 12, 16, 17, 24, 32, 33, 48, 64})
    for (const int64_t L : {1, 13, 100, 2049}) {
      check_both(shape(1, 37, L, N));
      check_both(shape(1, 1536, L, N));
      check_both(shape(64, 1536, L, N));
    }
}

TEST(ScanLaunchPlan, ShortGridsSpreadAChannelOverLanesByItsStates) {
  // batch 1 at d_inner 1536 leaves an H100 short of blocks: the forward takes more lanes a channel as d_state
  // allows; the backward always takes 4 states a lane.
  struct Case {
    int64_t N;
    int states_per_lane, lanes, tile, bwd_lanes;
  };
  for (const Case c : {Case{4, 16, 1, 8, 1}, Case{8, 4, 2, 8, 2}, Case{16, 4, 4, 16, 4}, Case{32, 4, 8, 16, 8},
                       Case{33, 16, 4, 8, 16}, Case{64, 16, 4, 8, 16}}) {
    const SelectiveScanCudaParams p = shape(1, 1536, 2048, c.N);
    const ScanForwardLaunch f = selective_scan_fwd_launch(p, kH100Sms);
    EXPECT_EQ(f.plan.states_per_lane, c.states_per_lane) << "N " << c.N;
    EXPECT_EQ(f.lanes, c.lanes) << "N " << c.N;
    EXPECT_EQ(f.tile, c.tile) << "N " << c.N;
    EXPECT_EQ(f.vec_loads, c.lanes == 4 && c.states_per_lane == 4) << "N " << c.N;
    EXPECT_EQ(selective_scan_bwd_launch(p, kH100Sms).lanes, c.bwd_lanes) << "N " << c.N;
  }
}

TEST(ScanLaunchPlan, SmallBatchLongSequencesTakeSegmentsThatCoverEveryStep) {
  for (const int64_t L : {512, 1000, 1024, 2049, 4096})
    for (const int64_t batch : {1, 2, 4}) check_both(shape(batch, 2048, L, 16));
  check_both(shape(1, 37, 2049, 16));
}

TEST(ScanLaunchPlan, BatchesPastTheGridLimitLoopBlocksOverRows) {
  const SelectiveScanCudaParams p = shape(100000, 64, 20, 16);
  check_both(p);
  const ScanForwardLaunch f = selective_scan_fwd_launch(p, kH100Sms);
  EXPECT_EQ(f.main.y, kScanMaxGridY);
  // The backward's first pass takes a block row per batch row, so such batches are never segmented.
  SelectiveScanCudaParams forced = shape(100000, 64, 2048, 16);
  forced.bwd_segments = 4;
  EXPECT_EQ(selective_scan_bwd_split(forced, kH100Sms).seg.count, 1);
}

TEST(ScanLaunchPlan, LmShapeTakesFourLanesAChannelVectorLoadsAndSpreadSums) {
  for (const CudaDtype dtype : {CudaDtype::kFloat32, CudaDtype::kBFloat16, CudaDtype::kFloat16}) {
    const SelectiveScanCudaParams p = shape(8, 1536, 2048, 16, dtype);
    const ScanForwardLaunch f = selective_scan_fwd_launch(p, kH100Sms);
    EXPECT_EQ(f.plan.states_per_lane, 4);
    EXPECT_EQ(f.lanes, 4);
    EXPECT_EQ(f.tile, 16);
    EXPECT_TRUE(f.vec_loads);
    EXPECT_EQ(f.plan.seg.count, 1);
    EXPECT_EQ(f.main.x, 48);  // 1536 channels, 32 a block
    EXPECT_EQ(f.main.y, 8);
    EXPECT_EQ(f.main.z, 1);
    EXPECT_EQ(f.smem_bytes, 14336);  // staged 2 KiB + (dt, dt u) 4 KiB + shares 8 KiB, as ptxas reports
    EXPECT_EQ(scan_fwd_smem(4, 4, 16, true).bytes(), 6144);  // the summary pass parks no shares

    const ScanBackwardLaunch b = selective_scan_bwd_launch(p, kH100Sms);
    EXPECT_EQ(b.split.channel_groups, 48);
    EXPECT_EQ(b.split.batch_groups, 8);
    EXPECT_EQ(b.split.seg.count, 1);
    EXPECT_EQ(b.lanes, 4);
    EXPECT_EQ(b.chunk, 16);
    EXPECT_TRUE(b.spread);  // 384 blocks: at most 3 an SM
    EXPECT_EQ(b.group, 4);
    EXPECT_EQ(b.smem_bytes, 70656);  // 69 KiB
    EXPECT_EQ(selective_scan_bwd_sums(p, kH100Sms), 4);
  }
}

TEST(ScanLaunchPlan, LmShapeVectorLoadsNeedAlignedRows) {
  SelectiveScanCudaParams p = shape(8, 1536, 2048, 16);
  p.fwd_scalar_loads = true;
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1536, 2048, 16);
  p.u = fake_ptr(4);  // one float off a 16-byte boundary
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1536, 2048, 16);
  p.u_batch_stride += 2;  // rows of later batch entries off four elements
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1536, 2048, 16);
  p.z = fake_ptr(4);
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p.z = nullptr;  // no gate: z's rows do not matter
  EXPECT_TRUE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1536, 2048, 16, CudaDtype::kBFloat16);
  p.z = fake_ptr(8);  // four bf16 further: still 8-byte aligned
  EXPECT_TRUE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p.delta_l_stride = 1538;  // a row start off four elements
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1532, 2048, 16);  // d_inner a multiple of 4 but not of the block's 32 channels
  EXPECT_TRUE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  p = shape(8, 1538, 2048, 16);
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
  // Inputs sliced from wider rows (strides of whole vectors) still write contiguous outputs of d_inner a row.
  p.u_l_stride = p.delta_l_stride = p.z_l_stride = 1540;
  p.u_batch_stride = p.delta_batch_stride = p.z_batch_stride = 2048 * 1540;
  EXPECT_FALSE(selective_scan_fwd_launch(p, kH100Sms).vec_loads);
}

TEST(ScanLaunchPlan, TabularShapeTakesOneLaneAChannelAndAFourteenStepChunk) {
  const SelectiveScanCudaParams p = shape(2048, 256, 13, 16);
  const ScanForwardLaunch f = selective_scan_fwd_launch(p, kH100Sms);
  EXPECT_EQ(f.plan.states_per_lane, 16);
  EXPECT_EQ(f.lanes, 1);
  EXPECT_EQ(f.tile, 8);
  EXPECT_FALSE(f.vec_loads);
  EXPECT_EQ(f.plan.seg.count, 1);
  EXPECT_EQ(f.main.x, 2);
  EXPECT_EQ(f.main.y, 2048);
  EXPECT_EQ(f.smem_bytes, 1024);  // B and C of 8 steps; no shared (dt, dt u) or shares at one lane

  const ScanBackwardLaunch b = selective_scan_bwd_launch(p, kH100Sms);
  EXPECT_EQ(b.split.channel_groups, 8);
  EXPECT_EQ(b.split.batch_groups, 132);  // about 8 blocks an SM
  EXPECT_EQ(b.split.seg.count, 1);
  EXPECT_EQ(b.lanes, 4);
  EXPECT_EQ(b.chunk, 14);  // 13 tokens
  EXPECT_FALSE(b.spread);
  EXPECT_EQ(b.group, 2);
  EXPECT_EQ(b.smem_bytes, 43008);
  EXPECT_EQ(selective_scan_bwd_sums(p, kH100Sms), 1);
}

TEST(ScanLaunchPlan, ShortSequencesTakeTheShortestChunkThatHoldsThem) {
  for (const auto& [L, chunk] : std::vector<std::pair<int64_t, int>>{
           {1, 8}, {8, 8}, {9, 12}, {12, 12}, {13, 14}, {14, 14}, {15, 16}, {16, 16}, {17, 16}}) {
    EXPECT_EQ(selective_scan_bwd_launch(shape(4, 256, L, 16), kH100Sms).chunk, chunk) << "L " << L;
    // Other lane counts are compiled for full chunks only.
    EXPECT_EQ(selective_scan_bwd_launch(shape(4, 256, L, 32), kH100Sms).chunk, kScanChunk) << "L " << L;
  }
}

// Where each choice switches, in blocks an SM of an H100 (132 SMs).
TEST(ScanLaunchPlan, ChoicesSwitchAtTheirBlocksPerSmThresholds) {
  // Forward, one lane a channel from 4 blocks an SM: d_inner 128 is one block a row at one lane a channel.
  EXPECT_EQ(selective_scan_fwd_plan(shape(4 * kH100Sms, 128, 64, 16), kH100Sms).states_per_lane, 16);
  EXPECT_EQ(selective_scan_fwd_plan(shape(4 * kH100Sms - 1, 128, 64, 16), kH100Sms).states_per_lane, 4);
  // Two states a lane when four leave under 2 blocks an SM and eight lanes reach 2 (32 and 16 channels a block).
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 32 * 2 * kH100Sms, 64, 16), kH100Sms).states_per_lane, 4);
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 32 * (2 * kH100Sms - 1), 64, 16), kH100Sms).states_per_lane, 2);
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 16 * 2 * kH100Sms, 64, 16), kH100Sms).states_per_lane, 2);
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 16 * (2 * kH100Sms - 1), 64, 16), kH100Sms).states_per_lane, 4);
  // Forward segments under 2 blocks an SM (d_state 32: four a lane on eight lanes, 16 channels a block),
  // aiming at 4 an SM: 263 blocks take 2 segments.
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 16 * 2 * kH100Sms, 2048, 32), kH100Sms).seg.count, 1);
  EXPECT_EQ(selective_scan_fwd_plan(shape(1, 16 * (2 * kH100Sms - 1), 2048, 32), kH100Sms).seg.count, 2);
  // Backward segments under 2 blocks an SM (32 channels a block), aiming at 8 an SM: 263 blocks take 4.
  EXPECT_EQ(selective_scan_bwd_split(shape(1, 32 * 2 * kH100Sms, 2048, 16), kH100Sms).seg.count, 1);
  EXPECT_EQ(selective_scan_bwd_split(shape(1, 32 * (2 * kH100Sms - 1), 2048, 16), kH100Sms).seg.count, 4);
  // Spread sums at up to 3 blocks an SM, on sequences longer than 14 steps.
  EXPECT_TRUE(selective_scan_bwd_launch(shape(1, 32 * 3 * kH100Sms, 64, 16), kH100Sms).spread);
  EXPECT_FALSE(selective_scan_bwd_launch(shape(1, 32 * (3 * kH100Sms + 1), 64, 16), kH100Sms).spread);
  EXPECT_FALSE(selective_scan_bwd_launch(shape(1, 32 * 3 * kH100Sms, 14, 16), kH100Sms).spread);
  EXPECT_TRUE(selective_scan_bwd_launch(shape(1, 32 * 3 * kH100Sms, 15, 16), kH100Sms).spread);
  EXPECT_EQ(selective_scan_bwd_sums(shape(1, 32 * 3 * kH100Sms, 14, 16), kH100Sms), 1);
  EXPECT_EQ(selective_scan_bwd_sums(shape(1, 32 * 3 * kH100Sms, 15, 16), kH100Sms), 4);
}

// The measured choices of the plan's comments (H100, d_inner 2048).
TEST(ScanLaunchPlan, ShortGridsTakeMoreLanesOrSegmentsAsMeasured) {
  const ScanForwardPlan b1 = selective_scan_fwd_plan(shape(1, 2048, 512, 16), kH100Sms);
  EXPECT_EQ(b1.states_per_lane, 4);
  EXPECT_EQ(b1.seg.count, 8);
  EXPECT_EQ(b1.seg.len, 64);
  const ScanForwardPlan b1_long = selective_scan_fwd_plan(shape(1, 2048, 1024, 16), kH100Sms);
  EXPECT_EQ(b1_long.seg.count, 8);
  EXPECT_EQ(b1_long.seg.len, 128);
  const ScanForwardLaunch b4 = selective_scan_fwd_launch(shape(4, 2048, 512, 16), kH100Sms);
  EXPECT_EQ(b4.plan.states_per_lane, 2);  // eight lanes a channel lift the grid to 2 blocks an SM
  EXPECT_EQ(b4.lanes, 8);
  EXPECT_EQ(b4.tile, 16);
  EXPECT_EQ(b4.plan.seg.count, 1);
  EXPECT_EQ(selective_scan_fwd_workspace_floats(shape(1, 2048, 512, 16), kH100Sms), 7 * 2048 * 17);

  EXPECT_EQ(selective_scan_bwd_split(shape(1, 2048, 512, 16), kH100Sms).seg.count, 8);
  EXPECT_EQ(selective_scan_bwd_split(shape(4, 2048, 512, 16), kH100Sms).seg.count, 4);
  EXPECT_EQ(selective_scan_bwd_split(shape(8, 1536, 2048, 16), kH100Sms).seg.count, 1);
  // Never shorter than 64 steps a segment.
  EXPECT_EQ(selective_scan_bwd_split(shape(1, 2048, 128, 16), kH100Sms).seg.count, 2);
  EXPECT_EQ(selective_scan_bwd_split(shape(1, 2048, 100, 16), kH100Sms).seg.count, 1);
  // Nor for a sequence of one chunk, whatever is forced.
  SelectiveScanCudaParams one_chunk = shape(1, 64, 16, 16);
  one_chunk.fwd_segments = 8;
  one_chunk.bwd_segments = 8;
  EXPECT_EQ(selective_scan_fwd_plan(one_chunk, kH100Sms).seg.count, 1);
  EXPECT_EQ(selective_scan_bwd_split(one_chunk, kH100Sms).seg.count, 1);
}

TEST(ScanLaunchPlan, ForcedLayoutsApplyWhereTheKernelsHaveThem) {
  SelectiveScanCudaParams p = shape(8, 1536, 2048, 16);
  for (const int S : {16, 4, 2}) {
    p.fwd_states_per_lane = S;
    EXPECT_EQ(selective_scan_fwd_plan(p, kH100Sms).states_per_lane, S);
    check_forward(p, kH100Sms);
  }
  // Two a lane exists for 8 < N <= 16 only, four for 4 < N <= 32.
  p = shape(8, 1536, 2048, 32);
  p.fwd_states_per_lane = 2;
  EXPECT_EQ(selective_scan_fwd_plan(p, kH100Sms).states_per_lane, 4);
  p = shape(8, 1536, 2048, 4);
  p.fwd_states_per_lane = 4;
  EXPECT_EQ(selective_scan_fwd_plan(p, kH100Sms).states_per_lane, 16);

  p = shape(8, 1536, 2048, 16);
  p.fwd_segments = 4;
  EXPECT_EQ(selective_scan_fwd_plan(p, kH100Sms).seg.count, 4);
  check_forward(p, kH100Sms);
  p = shape(1, 2048, 512, 16);
  p.fwd_segments = 1;
  EXPECT_EQ(selective_scan_fwd_plan(p, kH100Sms).seg.count, 1);

  p = shape(8, 1536, 2048, 16);
  p.bwd_sums = 1;
  EXPECT_FALSE(selective_scan_bwd_launch(p, kH100Sms).spread);
  p = shape(2048, 256, 13, 16);
  p.bwd_sums = 4;  // no spread sums on a short chunk
  EXPECT_FALSE(selective_scan_bwd_launch(p, kH100Sms).spread);
  p = shape(2048, 256, 64, 16);
  p.bwd_sums = 4;
  EXPECT_TRUE(selective_scan_bwd_launch(p, kH100Sms).spread);
  p = shape(2048, 256, 64, 32);
  p.bwd_sums = 4;  // nor at eight lanes a channel
  EXPECT_FALSE(selective_scan_bwd_launch(p, kH100Sms).spread);

  p = shape(2, 2048, 2048, 16);
  p.bwd_segments = 1;
  EXPECT_EQ(selective_scan_bwd_split(p, kH100Sms).seg.count, 1);
  p.bwd_segments = 4;
  EXPECT_EQ(selective_scan_bwd_split(p, kH100Sms).seg.count, 4);
  check_backward(p, kH100Sms);
}

TEST(ScanLaunchPlan, RefusesWhatTheKernelsCannotTake) {
  SelectiveScanCudaParams p = shape(8, 1536, 2048, 16);
  p.fwd_states_per_lane = 8;
  EXPECT_THROW(selective_scan_fwd_plan(p, kH100Sms), std::runtime_error);
  p = shape(8, 1536, 2048, 16);
  p.bwd_sums = 2;
  EXPECT_THROW(selective_scan_bwd_launch(p, kH100Sms), std::runtime_error);
  p = shape(8, 1536, 2048, 16);
  p.bwd_segments = -1;
  EXPECT_THROW(selective_scan_bwd_split(p, kH100Sms), std::runtime_error);

  EXPECT_NO_THROW(check_scan_params(shape(8, 1536, 2048, 1)));
  EXPECT_NO_THROW(check_scan_params(shape(8, 1536, 2048, kScanMaxDstate)));
  EXPECT_THROW(check_scan_params(shape(8, 1536, 2048, 0)), std::runtime_error);
  EXPECT_THROW(check_scan_params(shape(8, 1536, 2048, kScanMaxDstate + 1)), std::runtime_error);
  // A batch row's offsets must fit 32 bits, with a chunk of margin past its end.
  EXPECT_NO_THROW(check_scan_params(shape(1, 2048, (int64_t(1) << 20) - 2 * kScanChunk, 16)));
  EXPECT_THROW(check_scan_params(shape(1, 2048, int64_t(1) << 20, 16)), std::runtime_error);
  SelectiveScanCudaParams strided = shape(1, 64, 4096, 16);
  strided.B_l_stride = int64_t(1) << 20;  // B and C with a huge step stride
  EXPECT_THROW(check_scan_params(strided), std::runtime_error);
  // The backward's items a block: batch x chunks under 2^31.
  EXPECT_THROW(selective_scan_bwd_launch(shape(int64_t(1) << 27, 1, 256, 1), kH100Sms), std::runtime_error);
  EXPECT_NO_THROW(selective_scan_bwd_launch(shape((int64_t(1) << 27) - 1, 1, 256, 1), kH100Sms));
}

TEST(ScanLaunchPlan, PartialSumsCoverEveryOutputWithACappedGrid) {
  ScanPartialSums s;
  s.batch = 8, s.seqlen = 2048, s.dim = 1536, s.dstate = 16;
  const ScanSumLaunch l = selective_scan_sum_partials_launch(s, kH100Sms);
  EXPECT_EQ(l.total, 2 * 8 * 2048 * 16 + 1536 * 16 + 2 * 1536);
  EXPECT_EQ(l.grid.x, 16 * kH100Sms);  // capped: the threads loop over the rest
  EXPECT_EQ(l.threads, kScanSumThreads);
  s.batch = 1, s.seqlen = 1, s.dim = 1, s.dstate = 1;
  const ScanSumLaunch small = selective_scan_sum_partials_launch(s, kH100Sms);
  EXPECT_EQ(small.total, 5);
  EXPECT_EQ(small.grid.x, 1);
  s.batch = s.seqlen = s.dim = s.dstate = 0;
  EXPECT_EQ(selective_scan_sum_partials_launch(s, kH100Sms).total, 0);
}

}  // namespace
}  // namespace ftmamba::kernels
