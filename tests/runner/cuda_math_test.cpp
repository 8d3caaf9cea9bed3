// The CUDA kernels' per-element math and index arithmetic (runner/src/cuda/kernel_math.h), run
// on the CPU: against the CPU backend's conversions and kernels (safetensors.h, cpu_kernels.h),
// hand-checked cases, and an emulation of the attention kernels' warp partition + streaming
// softmax merge against a plain softmax. The device kernels call exactly these functions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <algorithm>
#include <functional>
#include <string>
#include <set>
#include <vector>

#include "../../runner/src/cuda/kernel_math.h"
#include "llmcost/backend.h"
#include "llmcost/calibrate.h"
#include "llmcost/cpu_kernels.h"
#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/value.h"
#include "llmcost/weights.h"
#include "llmcost/hardware.h"
#include "llmcost/safetensors.h"

namespace llmcost {
namespace {

using namespace cudak;

TEST(CudaMath, Bf16MatchesTheHostConversionsBitForBit) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, -1.5f, 1.00390625f /* tie: 1 + 2^-8 */, 1.01171875f /* tie, odd */, INFINITY,
                           -INFINITY, NAN, 1e-40f /* subnormal */, 3.4e38f};
  for (int i = 0; i < 100000; ++i) {
    const uint32_t u = bits(rng);
    float f;
    std::memcpy(&f, &u, 4);
    xs.push_back(f);
  }
  for (float x : xs) {
    ASSERT_EQ(f32_to_bf16(x), fp32_to_bf16(x)) << x;
    const uint16_t h = fp32_to_bf16(x);
    const float a = bf16_to_f32(h), b = bf16_to_fp32(h);
    ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << x;
  }
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // tie to even (down)
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // tie to even (up)
}

TEST(CudaMath, SplitBf16KeepsActivationsToAboutFp32) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = nd(rng);
    uint16_t hi, lo;
    split_bf16(x, hi, lo);
    EXPECT_EQ(hi, fp32_to_bf16(x));
    const double sum = static_cast<double>(bf16_to_fp32(hi)) + bf16_to_fp32(lo);
    // one bf16 rounding leaves <= 2^-9 relative; the second <= 2^-9 of that
    EXPECT_LE(std::fabs(sum - x), std::ldexp(std::fabs(x), -16) + 1e-38) << x;
  }
}

TEST(CudaMath, ActivationsHandChecked) {
  EXPECT_NEAR(activate(Act::SiLU, 1.0f), 1.0 / (1.0 + std::exp(-1.0)), 1e-7);  // 0.7310586
  EXPECT_NEAR(activate(Act::SiLU, -2.0f), -2.0 / (1.0 + std::exp(2.0)), 1e-7);
  EXPECT_NEAR(activate(Act::GeLU, 1.0f), 0.8413447460685429, 1e-6);            // x Phi(x)
  EXPECT_NEAR(activate(Act::GeLUTanh, 1.0f), 0.8411919906082768, 1e-6);
  EXPECT_EQ(activate(Act::ReLU, -1.0f), 0.0f);
  EXPECT_EQ(activate(Act::ReLU, 2.5f), 2.5f);
  EXPECT_EQ(activate(Act::ReLU2, 3.0f), 9.0f);
  EXPECT_EQ(activate(Act::ReLU2, -3.0f), 0.0f);
  EXPECT_EQ(activate(Act::Identity, -3.0f), -3.0f);
  EXPECT_NEAR(sigmoid(0.0f), 0.5f, 0);
  EXPECT_NEAR(sigmoid(2.0f), 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
}

TEST(CudaMath, NormFactorsHandChecked) {
  // x = [3, 4]: mean square 12.5
  EXPECT_NEAR(rms_factor(25.0, 2, 1e-6), 1.0 / std::sqrt(12.5 + 1e-6), 1e-7);
  // LayerNorm of x = 3 in [1, 3]: mean 2, std 1 -> 1, times w 2 plus b 0.5
  EXPECT_NEAR(layer_norm_elem(3.0f, 2.0, 1.0, 2.0f, 0.5f), 2.5f, 1e-7);
}

TEST(CudaMath, RopeMatchesRotateHalfInDouble) {
  const int64_t rot = 8, pos = 5;
  const double theta = 10000.0;
  std::vector<float> v = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f, 9.0f /* past rot: untouched */};
  std::vector<double> ref(v.begin(), v.end());
  for (int64_t i = 0; i < rot / 2; ++i) {
    const double a = pos * std::pow(theta, -2.0 * i / rot), x1 = ref[i], x2 = ref[i + rot / 2];
    ref[i] = x1 * std::cos(a) - x2 * std::sin(a);
    ref[i + rot / 2] = x2 * std::cos(a) + x1 * std::sin(a);
  }
  for (int64_t i = 0; i < rot / 2; ++i) rope_rotate(v[i], v[i + rot / 2], rope_angle(pos, i, rot, theta));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], ref[i], 1e-6) << i;
  EXPECT_DOUBLE_EQ(rope_angle(3, 0, 8, 10000.0), 3.0);  // pair 0 turns by pos radians
  // head 2 of row 1 in a [T, 100] activation with heads 24 apart, element 5
  EXPECT_EQ(rope_offset(1, 100, 2, 24, 5), 100 + 48 + 5);
}

// The grid-stride loops of k_rope and k_kv_store emulated over a small grid (so each thread takes
// several elements): every pair / element exactly once, at the offsets the CPU backend's loops
// use (cpu_backend.cpp rope: x + t ld + h head_stride, pairs i and i + rot/2; kv_store: k + t ldk
// + g kd into cache_at(seq, g, pos)), with MLA's strided rows (ld > heads x hd) among the cases.
TEST(CudaMath, RopeAndKvStoreGridsVisitTheCpuOffsetsOnce) {
  struct Case {
    int64_t T, ld, heads, head_stride, rot;
  };
  for (const Case& c : {Case{3, 8 * 16, 8, 16, 16}, Case{2, 4 * 24, 4, 24, 8} /* partial rotary */,
                        Case{5, 40 + 8, 1, 8, 8} /* MLA k_pe: one head at offset L in rows L + rope */}) {
    const int64_t half = c.rot / 2, n = c.T * c.heads * half;
    std::vector<int> seen(static_cast<size_t>(c.T * c.ld), 0);
    const int64_t threads = 7 * 32;  // 7 warps: a grid smaller than the work
    for (int64_t tid = 0; tid < threads; ++tid)
      for (int64_t i = tid; i < n; i += threads) {
        int64_t t, h, j;
        rope_element(i, c.heads, half, t, h, j);
        const int64_t off = rope_offset(t, c.ld, h, c.head_stride, j);
        ++seen[static_cast<size_t>(off)];
        seen[static_cast<size_t>(off + half)] += 100;  // the partner
      }
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t j = 0; j < c.rot; ++j)
          EXPECT_EQ(seen[static_cast<size_t>(t * c.ld + h * c.head_stride + j)], j < half ? 1 : 100) << t << " " << h << " " << j;
    int64_t total = 0;
    for (int v : seen) total += v;
    EXPECT_EQ(total, 101 * n);  // nothing else touched
  }
  // kv_store: rows of [T, ld] (heads x hd values at the start), two sequences at their positions.
  const int64_t T = 4, heads = 2, hd = 6, ld = 20, max_ctx = 9, batch = 3;
  const int64_t seq[T] = {0, 2, 2, 1}, pos[T] = {8, 3, 4, 0};
  std::vector<int> dst_seen(static_cast<size_t>(batch * heads * max_ctx * hd), 0), src_seen(static_cast<size_t>(T * ld), 0);
  const int64_t n = T * heads * hd, threads = 3 * 32;
  for (int64_t tid = 0; tid < threads; ++tid)
    for (int64_t i = tid; i < n; i += threads) {
      int64_t from, to;
      kv_store_element(i, ld, heads, hd, seq, pos, max_ctx, from, to);
      ++src_seen[static_cast<size_t>(from)];
      ++dst_seen[static_cast<size_t>(to)];
      // the CPU's mapping of the same (t, g, c)
      const int64_t t = from / ld, g = (from % ld) / hd, c = (from % ld) % hd;
      EXPECT_EQ(to, ((seq[t] * heads + g) * max_ctx + pos[t]) * hd + c);
    }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < ld; ++k) EXPECT_EQ(src_seen[static_cast<size_t>(t * ld + k)], k < heads * hd ? 1 : 0);
  int64_t written = 0;
  for (int v : dst_seen) {
    EXPECT_LE(v, 1);
    written += v;
  }
  EXPECT_EQ(written, n);
}

TEST(CudaMath, KvLayoutAndHeadMapping) {
  // ((seq x heads + head) x ctx + pos) x hd
  EXPECT_EQ(kv_offset(1, 2, 3, 4, 10, 8), ((1 * 4 + 2) * 10 + 3) * 8);
  // every (seq, head, pos) of a 2 x 3 x 5 cache gets its own hd-wide slot, positions contiguous per head
  std::set<int64_t> seen;
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t p = 0; p < 5; ++p) {
        const int64_t o = kv_offset(s, h, p, 3, 5, 4);
        EXPECT_EQ(o % 4, 0);
        EXPECT_TRUE(seen.insert(o).second);
        if (p > 0) {
          EXPECT_EQ(o - kv_offset(s, h, p - 1, 3, 5, 4), 4);
        }
      }
  EXPECT_EQ(*seen.rbegin(), 2 * 3 * 5 * 4 - 4);
  // 8 query heads over 2 KV heads: 0..3 -> 0, 4..7 -> 1; MQA: all -> 0; MHA: identity
  for (int64_t h = 0; h < 8; ++h) {
    EXPECT_EQ(kv_head_of(h, 8, 2), h / 4);
    EXPECT_EQ(kv_head_of(h, 8, 1), 0);
    EXPECT_EQ(kv_head_of(h, 8, 8), h);
  }
  EXPECT_EQ(window_start(10, 3), 8);  // positions 8, 9, 10
  EXPECT_EQ(window_start(1, 3), 0);
  EXPECT_EQ(window_start(10, 0), 0);
}

TEST(CudaMath, ScoresScaleThenSoftCap) {
  EXPECT_FLOAT_EQ(attn_score(10.0f, 0.5f, 0.0), 5.0f);
  EXPECT_NEAR(attn_score(10.0f, 0.5f, 2.0), 2.0 * std::tanh(2.5), 1e-6);
}

// The kernels' loop: `splits` blocks take equal chunks of lo..pos (split_range); in a block,
// `parts` warps take positions first + part + k x parts, each a streaming softmax with its own
// accumulator; the block merges its warps under its max (osm_weight), and the splits' partials
// merge the same way (k_merge_splits). Returns the output and counts the visits per position.
std::vector<float> emulate_attention(const std::vector<float>& q, const std::vector<uint16_t>& K, const std::vector<uint16_t>& V,
                                     int64_t hd, int64_t lo, int64_t pos, float scale, double cap, int parts, int64_t splits,
                                     std::vector<int>* visits) {
  const size_t H = static_cast<size_t>(hd);
  std::vector<float> split_m, split_l;
  std::vector<std::vector<float>> split_acc;
  for (int64_t sp = 0; sp < splits; ++sp) {
    int64_t first, last;
    split_range(lo, pos, splits, sp, first, last);
    std::vector<OnlineSoftmax> st(static_cast<size_t>(parts), osm_init());
    std::vector<std::vector<float>> acc(static_cast<size_t>(parts), std::vector<float>(H, 0.0f));
    for (int w = 0; w < parts; ++w)
      for (int64_t k = 0;; ++k) {
        const int64_t j = part_position(first, w, parts, k);
        if (j > last) break;
        ++(*visits)[static_cast<size_t>(j)];
        float dot = 0;
        for (int64_t i = 0; i < hd; ++i) dot += q[static_cast<size_t>(i)] * bf16_to_f32(K[static_cast<size_t>(j * hd + i)]);
        float p;
        const float corr = osm_add(st[static_cast<size_t>(w)], attn_score(dot, scale, cap), p);
        for (int64_t i = 0; i < hd; ++i) {
          float& a = acc[static_cast<size_t>(w)][static_cast<size_t>(i)];
          a = a * corr + p * bf16_to_f32(V[static_cast<size_t>(j * hd + i)]);
        }
      }
    // The block's merge (merge_parts with ml_out): shared (m, l) [warps] and acc [warps][hd].
    std::vector<float> ml, flat;
    for (int w = 0; w < parts; ++w) {
      ml.push_back(st[static_cast<size_t>(w)].m);
      ml.push_back(st[static_cast<size_t>(w)].l);
      flat.insert(flat.end(), acc[static_cast<size_t>(w)].begin(), acc[static_cast<size_t>(w)].end());
    }
    const float M = osm_merge_max(ml.data(), parts);
    std::vector<float> a(H, 0.0f);
    for (size_t i = 0; i < H; ++i) a[i] = osm_merge_elem(ml.data(), flat.data(), parts, hd, static_cast<int64_t>(i), M);
    split_m.push_back(M);
    split_l.push_back(osm_merge_sum(ml.data(), parts, M));
    split_acc.push_back(a);
  }
  // k_merge_splits: part_ml [splits, 2], part_acc [splits, hd], normalized.
  std::vector<float> ml, flat;
  for (size_t sp = 0; sp < split_m.size(); ++sp) {
    ml.push_back(split_m[sp]);
    ml.push_back(split_l[sp]);
    flat.insert(flat.end(), split_acc[sp].begin(), split_acc[sp].end());
  }
  const int n = static_cast<int>(split_m.size());
  const float M = osm_merge_max(ml.data(), n), l = osm_merge_sum(ml.data(), n, M);
  std::vector<float> out(H, 0.0f);
  for (size_t i = 0; i < H; ++i) out[i] = osm_merge_elem(ml.data(), flat.data(), n, hd, static_cast<int64_t>(i), M) / l;
  return out;
}

TEST(CudaMath, StreamingSoftmaxPartitionMatchesThePlainSoftmax) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t hd = 40, ctx = 50;
  std::vector<uint16_t> K(static_cast<size_t>(ctx * hd)), V(K.size());
  for (auto& x : K) x = fp32_to_bf16(3.0f * u(rng));
  for (auto& x : V) x = fp32_to_bf16(u(rng));
  std::vector<float> q(static_cast<size_t>(hd));
  for (auto& x : q) x = u(rng);
  struct Case {
    int64_t lo, pos;
    double cap;
    int parts;
    int64_t splits;
  };
  for (const Case& c : {Case{0, 36, 0.0, 4, 1}, Case{30, 36, 0.0, 4, 1}, Case{36, 36, 0.0, 4, 1} /* one position: 3 warps idle */,
                        Case{0, 49, 5.0, 4, 1}, Case{2, 4, 0.0, 4, 1}, Case{0, 49, 0.0, 1, 1}, Case{0, 49, 0.0, 4, 3},
                        Case{5, 44, 5.0, 4, 7}, Case{2, 4, 0.0, 4, 5} /* more splits than positions: empty splits */}) {
    const float scale = 0.3f;
    // The CPU backend's way: scores (dot x scale, soft-capped), cpu::softmax_f32, weighted values.
    const int64_t n = c.pos - c.lo + 1;
    std::vector<float> s(static_cast<size_t>(n));
    std::vector<float> row(static_cast<size_t>(hd));
    for (int64_t j = 0; j < n; ++j) {
      cpu::bf16_row_to_f32(&K[static_cast<size_t>((c.lo + j) * hd)], row.data(), hd);
      float v = cpu::dot_f32(q.data(), row.data(), hd) * scale;
      if (c.cap > 0) v = static_cast<float>(c.cap * std::tanh(v / c.cap));
      s[static_cast<size_t>(j)] = v;
    }
    cpu::softmax_f32(s.data(), n);
    std::vector<float> ref(static_cast<size_t>(hd), 0.0f);
    for (int64_t j = 0; j < n; ++j) {
      cpu::bf16_row_to_f32(&V[static_cast<size_t>((c.lo + j) * hd)], row.data(), hd);
      cpu::axpy_f32(s[static_cast<size_t>(j)], row.data(), ref.data(), hd);
    }
    std::vector<int> visits(static_cast<size_t>(ctx), 0);
    const std::vector<float> got = emulate_attention(q, K, V, hd, c.lo, c.pos, scale, c.cap, c.parts, c.splits, &visits);
    for (int64_t j = 0; j < ctx; ++j)  // every attended position exactly once, no other
      EXPECT_EQ(visits[static_cast<size_t>(j)], j >= c.lo && j <= c.pos ? 1 : 0) << j;
    for (int64_t i = 0; i < hd; ++i) EXPECT_NEAR(got[static_cast<size_t>(i)], ref[static_cast<size_t>(i)], 2e-6) << c.lo << ".." << c.pos << " dim " << i;
  }
}

TEST(CudaMath, AttentionSplitsHandChecked) {
  // Llama-3.1-8B decode at batch 1 on 132 SMs, 8k context: 32 blocks -> 33 splits (>= 8 per SM:
  // 8 x 132 = 1056 blocks over 32 row-heads)
  EXPECT_EQ(attention_splits(1, 32, 8192, 132), 33);
  EXPECT_EQ(attention_splits(1, 32, 1000, 132), 8);   // at most one split per 128 positions
  EXPECT_EQ(attention_splits(1, 32, 100, 132), 1);
  EXPECT_EQ(attention_splits(8, 32, 8192, 132), 5);   // 256 row-heads: ceil(1056 / 256)
  EXPECT_EQ(attention_splits(64, 32, 8192, 132), 1);  // enough blocks already
  EXPECT_EQ(attention_splits(1, 4, 601, 132), 5);     // the gpu test's long context: 601 positions / 128
  int64_t f, l;
  split_range(10, 19, 3, 0, f, l);  // 10 positions in chunks of 4: 10..13, 14..17, 18..19
  EXPECT_EQ(f, 10);
  EXPECT_EQ(l, 13);
  split_range(10, 19, 3, 2, f, l);
  EXPECT_EQ(f, 18);
  EXPECT_EQ(l, 19);
  split_range(2, 4, 5, 4, f, l);  // 3 positions, 5 splits: the last splits are empty
  EXPECT_GT(f, l);
}

// ---------------------------------------------------------------- launch configurations

// The shapes the gpu tests and scripts/gpu-check's matrix run (decode at batch 1, 8, 64 with 1k
// and 8k contexts, prefills of whole contexts), on the largest and smallest multiprocessor
// counts of the supported devices: every launch of kernels.cu within the device limits.
struct Shape {
  const char* name;
  int64_t d, H, G, hd, ff, vocab, E, K;
  int64_t mla_L = 0, mla_rope = 0;
};
TEST(CudaMath, LaunchConfigsFitTheDeviceLimitsForTheMatrixShapes) {
  const Shape shapes[] = {
      {"Llama-3.1-8B", 4096, 32, 8, 128, 14336, 128256, 0, 0},
      {"Qwen3-30B-A3B", 2048, 32, 4, 128, 768, 151936, 128, 8},
      {"Mixtral-8x7B", 4096, 32, 8, 128, 14336, 32000, 8, 2},
      {"DeepSeek-V3 (MLA)", 7168, 128, 128, 192, 2048, 129280, 256, 8, 512, 64},
      {"gemma-2 (head_dim 256)", 3584, 16, 8, 256, 14336, 256000, 0, 0},
      {"tiny gpu-test", 64, 4, 2, 16, 96, 101, 8, 3, 32, 8},
  };
  for (const Shape& s : shapes)
    for (int64_t sms : {108, 132, 148})
      for (int64_t batch : {1, 8, 64})
        for (int64_t ctx : {1, 600, 1024, 8192}) {
          for (int64_t T : {batch, batch * ctx}) {  // a decode step, a whole-context prefill
            SCOPED_TRACE(std::string(s.name) + " batch " + std::to_string(batch) + " ctx " + std::to_string(ctx) +
                         " T " + std::to_string(T));
            if (s.mla_L > 0) {
              EXPECT_TRUE(launch_fits(mla_launch(T, s.H, s.mla_L, s.mla_rope)));
              EXPECT_GT(attn_regs_per_lane(s.mla_L), 0);
            } else {
              const int64_t splits = attention_splits(T, s.H, ctx, sms);
              EXPECT_TRUE(launch_fits(attention_launch(T, s.H, s.hd, splits)));
              EXPECT_TRUE(launch_fits(merge_launch(T, s.H)));
              EXPECT_GT(attn_regs_per_lane(s.hd), 0);
            }
            EXPECT_TRUE(launch_fits(row_launch(T)));
            EXPECT_TRUE(launch_fits(row_launch(T * s.H)));  // per-head q/k norms
            if (s.E > 0) {
              EXPECT_TRUE(launch_fits(route_launch(T)));
            }
            for (int64_t n : {T * s.d, T * s.ff * 2, T * s.vocab, T * s.H * s.hd, batch * s.G * ctx * s.hd})
              EXPECT_TRUE(launch_fits(elementwise_launch(n))) << n;
          }
        }
  // Zero-size work still launches one block (a zero grid is a launch error); the grid-stride
  // loop then does nothing.
  EXPECT_EQ(elementwise_launch(0).gx, 1);
  EXPECT_TRUE(launch_fits(elementwise_launch(0)));
  // The limits themselves: 65536 heads do not fit grid y; 64 KB of shared memory is past the default.
  EXPECT_FALSE(launch_fits(attention_launch(1, 65536, 128, 1)));
  Launch big = attention_launch(1, 32, 128, 1);
  big.smem = 64 * 1024;
  EXPECT_FALSE(launch_fits(big));
  // head_dim 512 (the largest supported) still fits the default 48 KB: no opt-in is needed.
  EXPECT_TRUE(launch_fits(attention_launch(1, 8, 512, 1)));
  EXPECT_TRUE(launch_fits(mla_launch(1, 128, 512, 64)));
  EXPECT_EQ(attn_regs_per_lane(513), -1);
}

// An attention warp's lane partition (lane + 32 c, c < P, masked at the head dim) covers every
// dimension exactly once for the head dims the runner meets.
TEST(CudaMath, AttentionLanePartitionCoversTheHeadDim) {
  for (int64_t hd : {8, 16, 32, 40, 64, 80, 96, 112, 128, 160, 192, 256, 320, 512}) {
    const int P = attn_regs_per_lane(hd);
    ASSERT_GT(P, 0) << hd;
    std::vector<int> seen(static_cast<size_t>(hd), 0);
    for (int lane = 0; lane < 32; ++lane)
      for (int c = 0; c < P; ++c) {
        const int i = lane + 32 * c;
        if (i < hd) ++seen[static_cast<size_t>(i)];
      }
    for (int64_t i = 0; i < hd; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << "hd " << hd << " dim " << i;
    EXPECT_LE(32 * P, 4 * hd + 64) << "registers wasted at hd " << hd;
  }
}

TEST(CudaMath, OnlineSoftmaxStateHandChecked) {
  OnlineSoftmax st = osm_init();
  float p;
  EXPECT_EQ(osm_add(st, 1.0f, p), 0.0f);  // empty accumulator: factor 0
  EXPECT_FLOAT_EQ(p, 1.0f);
  EXPECT_NEAR(osm_add(st, 3.0f, p), std::exp(-2.0), 1e-7);  // new max: old terms scale by e^(1-3)
  EXPECT_FLOAT_EQ(p, 1.0f);
  EXPECT_NEAR(st.l, 1.0 + std::exp(-2.0), 1e-6);
  EXPECT_FLOAT_EQ(st.m, 3.0f);
  EXPECT_EQ(osm_weight(-INFINITY, 3.0f), 0.0f);  // an idle warp adds nothing
}

// The CUDA fill_kv kernel writes f32_to_bf16(synthetic_kv_unit(...)) at kv_offset: the same
// values as the host synthetic_kv every backend's fill_kv used before.
TEST(CudaMath, SyntheticKvElementsMatchTheHostFill) {
  ModelIR ir = build_model_ir(parse_json(R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":1,
    "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":96,"vocab_size":101})", "tiny.json"), "tiny.json");
  const Op* attn = nullptr;
  for (const Op& op : ir.layers[0].ops)
    if (op.kind == OpKind::Attention) attn = &op;
  ASSERT_NE(attn, nullptr);
  const int64_t heads = 2, n = 7 * 16;
  const uint64_t stream = synthetic_kv_stream(9, *attn);
  std::vector<uint16_t> host(static_cast<size_t>(n));
  for (int64_t seq : {0, 3})
    for (int64_t g = 0; g < heads; ++g)
      for (bool value : {false, true}) {
        synthetic_kv(9, *attn, seq, g, value, n, host.data(), 1);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(f32_to_bf16(synthetic_kv_unit(stream, seq, heads, g, value, i)), host[static_cast<size_t>(i)]) << i;
      }
  // different heads / keys vs values / ops are different streams
  EXPECT_NE(synthetic_kv_unit(stream, 0, heads, 0, false, 0), synthetic_kv_unit(stream, 0, heads, 1, false, 0));
  EXPECT_NE(synthetic_kv_unit(stream, 0, heads, 0, false, 0), synthetic_kv_unit(stream, 0, heads, 0, true, 0));
}

// ---------------------------------------------------------------- router

struct Routed {
  std::vector<int32_t> idx;
  std::vector<float> w;
};
Routed route(const std::vector<float>& lg, const RouteSpec& m, const std::vector<float>* corr = nullptr) {
  std::vector<double> score(lg.size()), sel(lg.size()), group(static_cast<size_t>(std::max<int64_t>(1, m.n_group)));
  Routed r{std::vector<int32_t>(static_cast<size_t>(m.top_k)), std::vector<float>(static_cast<size_t>(m.top_k))};
  route_token(lg.data(), m, corr ? corr->data() : nullptr, score.data(), sel.data(), group.data(), r.idx.data(), r.w.data());
  return r;
}

TEST(CudaMath, RouterSoftmaxTopKHandChecked) {
  RouteSpec m;
  m.n_experts = 4;
  m.top_k = 2;
  const std::vector<float> lg = {1, 3, 2, 0};
  const double Z = std::exp(0) + std::exp(1) + std::exp(2) + std::exp(3);
  Routed r = route(lg, m);  // softmax over all, no renormalization (Qwen2-MoE default)
  EXPECT_EQ(r.idx, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.w[0], std::exp(3) / Z, 1e-7);
  EXPECT_NEAR(r.w[1], std::exp(2) / Z, 1e-7);
  m.norm_topk_prob = true;  // Mixtral / Qwen3-MoE: renormalized over the k
  r = route(lg, m);
  EXPECT_NEAR(r.w[0], std::exp(3) / (std::exp(3) + std::exp(2)), 1e-7);
  EXPECT_NEAR(r.w[1], std::exp(2) / (std::exp(3) + std::exp(2)), 1e-7);
  m.norm_topk_prob = false;
  m.softmax_after_topk = true;  // top-k of the logits, softmax over them
  m.routed_scaling_factor = 2.0;
  r = route(lg, m);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.w[0], 2.0 * std::exp(1) / (std::exp(1) + 1.0), 1e-6);
  // ties go to the lower expert
  m = RouteSpec{};
  m.n_experts = 4;
  m.top_k = 2;
  r = route({0.5f, 2.0f, 0.5f, 2.0f}, m);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{1, 3}));
  r = route({0.5f, 0.5f, 0.5f, 0.5f}, m);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{0, 1}));
}

// The CPU backend's route() (runner/src/cpu/cpu_backend.cpp), restated: groups ranked by a stable
// sort, experts by a partial sort with ties to the lower index. route_token (argmax passes) must
// choose the same experts in the same order with the same weights.
Routed cpu_route(const std::vector<float>& lg, const RouteSpec& m, const std::vector<float>* corr) {
  const int64_t E = m.n_experts, K = m.top_k;
  std::vector<double> score(static_cast<size_t>(E)), sel(static_cast<size_t>(E));
  if (m.scoring == 0 && !m.softmax_after_topk) {
    double mx = -1e300, sum = 0;
    for (int64_t e = 0; e < E; ++e) mx = std::max(mx, static_cast<double>(lg[static_cast<size_t>(e)]));
    for (int64_t e = 0; e < E; ++e) sum += (score[static_cast<size_t>(e)] = std::exp(lg[static_cast<size_t>(e)] - mx));
    for (auto& x : score) x /= sum;
  } else if (m.scoring == 1) {
    for (int64_t e = 0; e < E; ++e) score[static_cast<size_t>(e)] = 1.0 / (1.0 + std::exp(-static_cast<double>(lg[static_cast<size_t>(e)])));
  } else {
    for (int64_t e = 0; e < E; ++e) score[static_cast<size_t>(e)] = lg[static_cast<size_t>(e)];
  }
  for (int64_t e = 0; e < E; ++e) sel[static_cast<size_t>(e)] = score[static_cast<size_t>(e)] + (corr ? (*corr)[static_cast<size_t>(e)] : 0.0);
  if (m.n_group > 1) {
    const int64_t per = E / m.n_group;
    std::vector<std::pair<double, int64_t>> gs;
    for (int64_t g = 0; g < m.n_group; ++g) {
      std::vector<double> v(sel.begin() + g * per, sel.begin() + (g + 1) * per);
      std::sort(v.begin(), v.end(), std::greater<double>());
      gs.push_back({corr ? v[0] + (per > 1 ? v[1] : 0.0) : v[0], g});
    }
    std::stable_sort(gs.begin(), gs.end(), [](auto& x, auto& y) { return x.first > y.first; });
    for (int64_t r = m.topk_group; r < m.n_group; ++r)
      for (int64_t e = gs[static_cast<size_t>(r)].second * per; e < (gs[static_cast<size_t>(r)].second + 1) * per; ++e)
        sel[static_cast<size_t>(e)] = -INFINITY;
  }
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) order[static_cast<size_t>(e)] = static_cast<int32_t>(e);
  std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](int32_t x, int32_t y) {
    return sel[static_cast<size_t>(x)] > sel[static_cast<size_t>(y)] || (sel[static_cast<size_t>(x)] == sel[static_cast<size_t>(y)] && x < y);
  });
  Routed r{std::vector<int32_t>(order.begin(), order.begin() + K), std::vector<float>(static_cast<size_t>(K))};
  double sum = 0;
  for (int32_t i : r.idx) sum += score[static_cast<size_t>(i)];
  if (m.softmax_after_topk && m.scoring == 0) {
    double mx = -1e300, z = 0;
    for (int32_t i : r.idx) mx = std::max(mx, score[static_cast<size_t>(i)]);
    for (int32_t i : r.idx) z += std::exp(score[static_cast<size_t>(i)] - mx);
    for (int64_t k = 0; k < K; ++k)
      r.w[static_cast<size_t>(k)] = static_cast<float>(std::exp(score[static_cast<size_t>(r.idx[static_cast<size_t>(k)])] - mx) / z * m.routed_scaling_factor);
    return r;
  }
  const double denom = m.norm_topk_prob ? sum + 1e-20 : 1.0;
  for (int64_t k = 0; k < K; ++k)
    r.w[static_cast<size_t>(k)] = static_cast<float>(score[static_cast<size_t>(r.idx[static_cast<size_t>(k)])] / denom * m.routed_scaling_factor);
  return r;
}

TEST(CudaMath, RouterChoosesWhatTheCpuBackendChoosesIncludingTies) {
  std::mt19937 rng(17);
  int tied = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    RouteSpec m;
    const int64_t groups[] = {1, 2, 4, 8};
    m.n_group = groups[rng() % 4];
    m.n_experts = m.n_group * (1 + static_cast<int64_t>(rng() % 8));
    m.topk_group = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(m.n_group));
    if (m.n_group > 1 && rng() % 5 == 0) m.topk_group = m.n_group + 1;  // more than there are: keeps every group
    const int64_t selectable = m.n_group > 1 ? std::min(m.topk_group, m.n_group) * (m.n_experts / m.n_group) : m.n_experts;
    m.top_k = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(std::min<int64_t>(selectable, 8)));
    m.scoring = static_cast<int>(rng() % 3);
    m.softmax_after_topk = m.scoring == 0 && rng() % 3 == 0;
    m.norm_topk_prob = rng() % 2 == 0;
    m.routed_scaling_factor = rng() % 2 ? 1.0 : 2.5;
    // Logits on a coarse grid (many exact ties), sometimes all equal.
    std::vector<float> lg(static_cast<size_t>(m.n_experts));
    const bool flat = rng() % 10 == 0;
    for (float& x : lg) x = flat ? 0.25f : static_cast<float>(static_cast<int>(rng() % 7) - 3) * 0.5f;
    std::vector<float> corr(lg.size());
    for (float& x : corr) x = static_cast<float>(static_cast<int>(rng() % 3)) * 0.125f;
    const bool with_corr = rng() % 2 == 0;
    const Routed want = cpu_route(lg, m, with_corr ? &corr : nullptr);
    const Routed got = route(lg, m, with_corr ? &corr : nullptr);
    std::set<float> distinct(lg.begin(), lg.end());
    tied += distinct.size() < lg.size();
    ASSERT_EQ(got.idx, want.idx) << "trial " << trial << ": E " << m.n_experts << " K " << m.top_k << " groups " << m.n_group
                                 << "/" << m.topk_group << " scoring " << m.scoring;
    for (size_t k = 0; k < want.w.size(); ++k) EXPECT_FLOAT_EQ(got.w[k], want.w[k]) << "trial " << trial;
  }
  EXPECT_GT(tied, 1000);  // the ties were exercised
}

// DeepSeek-V3: sigmoid scores, selection by score + correction bias within the topk_group groups
// of the best top-2 sums; the weights are the (uncorrected) scores renormalized and scaled.
TEST(CudaMath, RouterGroupLimitedWithCorrectionBiasHandChecked) {
  RouteSpec m;
  m.n_experts = 8;
  m.top_k = 2;
  m.scoring = 1;
  m.n_group = 4;
  m.topk_group = 2;
  m.norm_topk_prob = true;
  m.routed_scaling_factor = 2.5;
  const std::vector<float> lg(8, 0.0f);  // every score sigmoid(0) = 0.5
  const std::vector<float> corr = {0.9f, -0.9f, 0.3f, 0.3f, 0.0f, 0.0f, 0.5f, 0.2f};
  // selection scores 1.4 -0.4 | 0.8 0.8 | 0.5 0.5 | 1.0 0.7 -> group top-2 sums 1.0, 1.6, 1.0, 1.7:
  // groups 3 and 1 kept, so expert 0 (the best single score) is out; then 6 (1.0) and 2 (0.8, tie with 3).
  Routed r = route(lg, m, &corr);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{6, 2}));
  EXPECT_NEAR(r.w[0], 0.5 / 1.0 * 2.5, 1e-6);
  EXPECT_NEAR(r.w[1], 1.25, 1e-6);
  // Without group limits expert 0 wins.
  m.n_group = 1;
  r = route(lg, m, &corr);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{0, 6}));
}

// DeepSeek-V2: softmax scores, groups ranked by their best expert (no correction bias).
TEST(CudaMath, RouterGroupLimitedByMaxHandChecked) {
  RouteSpec m;
  m.n_experts = 6;
  m.top_k = 2;
  m.n_group = 3;
  m.topk_group = 1;
  const std::vector<float> lg = {2.0f, 1.9f, 2.1f, -5.0f, 0.0f, 0.0f};
  // group maxima (softmax is monotone): 2.0, 2.1, 0 -> only group 1 kept: experts 2 then 3
  Routed r = route(lg, m);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{2, 3}));
  double Z = 0;
  for (float x : lg) Z += std::exp(static_cast<double>(x));
  EXPECT_NEAR(r.w[0], std::exp(2.1) / Z, 1e-6);
  EXPECT_NEAR(r.w[1], std::exp(-5.0) / Z, 1e-9);
}

// ---------------------------------------------------------------- calibration YAML of a GPU

TEST(CudaCalibration, YamlOfAGpuParsesBackAsKindGpu) {
  Calibration c;
  c.backend = "cuda";
  c.cpu_model = "NVIDIA H200";
  c.host = "node1";
  c.date_utc = "2026-12-02T00:00:00Z";
  c.threads = 132;
  c.memory_bytes = 150000000000ull;
  c.buffer_bytes = 1ull << 30;
  auto st = [](double v) {
    Stats s;
    s.n = 5;
    s.median = s.p10 = s.p90 = s.min = s.max = s.mean = v;
    return s;
  };
  c.read_bw_bytes_per_s = st(4.2e12);
  c.copy_bw_bytes_per_s = st(7.9e12);
  c.gemm_bf16_flops_per_s = st(7.0e14);
  c.gemm_fp32_flops_per_s = st(5.0e13);
  c.launch_latency_s = st(2.5e-6);
  c.gemm_bf16_impl = "cuBLAS bf16";
  c.gemm_fp32_impl = "cuBLAS fp32";
  const std::string y = calibration_yaml(c, default_calibration_name(c));
  EXPECT_NE(y.find("kind: gpu\n"), std::string::npos) << y;
  EXPECT_NE(y.find("name: \"cuda-node1\""), std::string::npos) << y;
  EXPECT_NE(y.find("copy_bw_bytes_per_s: {value: 7.900000e+12"), std::string::npos) << y;
  EXPECT_NE(y.find("launch_latency_s: {value: 2.500000e-06"), std::string::npos) << y;
  const HardwareSpec hw = calibration_hardware(c, "cuda-node1");
  EXPECT_EQ(hw.kind, "gpu");
  ASSERT_TRUE(hw.calibrated.read_bw_bytes_per_s.has_value());
  EXPECT_DOUBLE_EQ(hw.calibrated.read_bw_bytes_per_s->value, 4.2e12);
}

// Without the CUDA backend, or without a device: one line naming why, DeviceUnavailable.
TEST(CudaCalibration, WithoutADeviceSaysWhy) {
  try {
    make_backend("cuda");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cuda: not available: ", 0), 0u) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::DeviceUnavailable);
    try {
      calibrate_cuda();
      ADD_FAILURE() << "calibrate_cuda ran without a device";
    } catch (const Error& e2) {
      EXPECT_EQ(std::string(e2.what()).rfind("cuda: not available: ", 0), 0u) << e2.what();
      EXPECT_EQ(e2.kind(), ErrorKind::DeviceUnavailable);
    }
    return;
  }
  GTEST_SKIP() << "a CUDA device is present: tests/gpu covers it";
}

}  // namespace
}  // namespace llmcost
