// Per-element math and index arithmetic of the CUDA kernels (kernels.cu), as inline functions
// that compile for the device under nvcc and for the host under g++ (LLMCOST_HD is empty there),
// so tests/runner/cuda_math_test.cpp checks on the CPU exactly what the device runs: bf16
// rounding, activations, RoPE angles, the KV cache layout, GQA head mapping, scaled and
// soft-capped scores, the online (streaming) softmax the attention kernels use and its merge,
// RMS/LayerNorm factors and the router's scoring + group-limited top-k. Each function mirrors
// the CPU backend's arithmetic (runner/src/cpu/cpu_backend.cpp): double where it uses double.
// No CUDA header is needed. The synthetic weights/KV hashes are synthetic.h's (shared with the CPU).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../hd.h"
#include "../synthetic.h"

namespace llmcost {
namespace cudak {

// ---------------------------------------------------------------- bf16

LLMCOST_HD float bits_to_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
LLMCOST_HD uint32_t f32_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
// bf16 bits -> fp32 (exact).
LLMCOST_HD float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }
// fp32 -> bf16 bits, round to nearest even, NaN stays a quiet NaN (as llmcost::fp32_to_bf16).
LLMCOST_HD uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
// x = hi + lo + r with hi = bf16(x), lo = bf16(x - hi), |r| <= 2^-16 |x|: the matmul's "split"
// activations (two bf16 GEMM rows whose sum is x to ~fp32 accuracy).
LLMCOST_HD void split_bf16(float x, uint16_t& hi, uint16_t& lo) {
  hi = f32_to_bf16(x);
  lo = f32_to_bf16(x - bf16_to_f32(hi));
}

// ---------------------------------------------------------------- activations

// The activations the kernels apply (llmcost::Activation minus the refused clamped/SiTU kinds).
enum class Act : int { Identity = 0, SiLU = 1, GeLU = 2, GeLUTanh = 3, ReLU = 4, ReLU2 = 5 };

LLMCOST_HD float activate(Act a, float x) {
  switch (a) {
    case Act::SiLU: return x / (1.0f + expf(-x));
    case Act::GeLU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Act::GeLUTanh: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case Act::ReLU: return x > 0 ? x : 0.0f;
    case Act::ReLU2: return x > 0 ? x * x : 0.0f;
    default: return x;
  }
}
LLMCOST_HD float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// ---------------------------------------------------------------- norms

// 1 / sqrt(sum_sq / d + eps): the RMSNorm factor of a row (sum of squares accumulated in double).
LLMCOST_HD float rms_factor(double sum_sq, int64_t d, double eps) {
  return static_cast<float>(1.0 / sqrt(sum_sq / static_cast<double>(d) + eps));
}
// LayerNorm of one element given the row's mean and 1/std (double), scale w and shift b.
LLMCOST_HD float layer_norm_elem(float x, double mean, double rstd, float w, float b) {
  return static_cast<float>((x - mean) * rstd) * w + b;
}

// ---------------------------------------------------------------- RoPE

// HF rotate_half: pair (i, i + rot/2) of a head at `pos` turns by pos x theta^(-2i/rot).
LLMCOST_HD double rope_angle(int64_t pos, int64_t i, int64_t rot, double theta) {
  return static_cast<double>(pos) * pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(rot));
}
LLMCOST_HD void rope_rotate(float& x1, float& x2, double angle) {
  const float c = static_cast<float>(cos(angle)), s = static_cast<float>(sin(angle));
  const float a = x1, b = x2;
  x1 = a * c - b * s;
  x2 = b * c + a * s;
}
// Offset of pair element i (the first of the two; the second is + rot / 2) of head `head` of
// row t in an activation [T, ld] whose heads are head_stride apart.
LLMCOST_HD int64_t rope_offset(int64_t t, int64_t ld, int64_t head, int64_t head_stride, int64_t i) {
  return t * ld + head * head_stride + i;
}

// Element i of k_rope's grid-stride range (T rows x heads x rot/2 pairs): row t, head h, pair j.
LLMCOST_HD void rope_element(int64_t i, int64_t heads, int64_t half, int64_t& t, int64_t& h, int64_t& j) {
  t = i / (heads * half);
  h = (i / half) % heads;
  j = i % half;
}

// ---------------------------------------------------------------- KV cache and attention

// The cache layout of every backend (weights.h KvLayout): [seq][kv_head][position][head_dim],
// so one head's positions are contiguous. Element offset of (seq, head, pos, 0).
LLMCOST_HD int64_t kv_offset(int64_t seq, int64_t head, int64_t pos, int64_t heads, int64_t max_ctx, int64_t hd) {
  return ((seq * heads + head) * max_ctx + pos) * hd;
}
// Element i of k_kv_store's range (T rows x heads x hd): its source src[t x ld + h x hd + c] and
// its cache offset at (seq[t], h, pos[t], c).
LLMCOST_HD void kv_store_element(int64_t i, int64_t ld, int64_t heads, int64_t hd, const int64_t* seq, const int64_t* pos,
                                 int64_t max_ctx, int64_t& src, int64_t& dst) {
  const int64_t w = heads * hd, t = i / w, h = (i % w) / hd, c = i % hd;
  src = t * ld + h * hd + c;
  dst = kv_offset(seq[t], h, pos[t], heads, max_ctx, hd) + c;
}
// GQA: the KV head query head h reads (H query heads over G KV heads, H % G == 0).
LLMCOST_HD int64_t kv_head_of(int64_t h, int64_t H, int64_t G) { return h / (H / G); }
// First cached position row `pos` attends with a sliding window (0: none), as the executor.
LLMCOST_HD int64_t window_start(int64_t pos, int64_t window) {
  return window > 0 ? (pos - window + 1 > 0 ? pos - window + 1 : 0) : 0;
}
// A score as the CPU backend forms it: dot x scale, then cap x tanh(s / cap) when cap > 0.
LLMCOST_HD float attn_score(float dot, float scale, double softcap) {
  float s = dot * scale;
  if (softcap > 0) s = static_cast<float>(softcap * tanh(static_cast<double>(s) / softcap));
  return s;
}

// Streaming softmax state of one partial sum over positions: running max m and sum l of
// exp(s - m). The accumulator of values holds sum p_j v_j with the same reference m.
struct OnlineSoftmax {
  float m;
  float l;
};
LLMCOST_HD OnlineSoftmax osm_init() { return OnlineSoftmax{-INFINITY, 0.0f}; }
// Adds score s: returns the factor the accumulator is multiplied by before adding p x v, and p.
LLMCOST_HD float osm_add(OnlineSoftmax& st, float s, float& p) {
  const float m = fmaxf(st.m, s);
  const float corr = st.m == -INFINITY ? 0.0f : expf(st.m - m);
  p = expf(s - m);
  st.l = st.l * corr + p;
  st.m = m;
  return corr;
}
// Weight of a partial (m, l) when partials are merged under the overall max M (M finite).
LLMCOST_HD float osm_weight(float m, float M) { return m == -INFINITY ? 0.0f : expf(m - M); }
// Split-K attention (few rows x heads, long contexts: more blocks than rows x heads): split s of
// `splits` takes the positions [first, last] of lo..pos in equal chunks; first > last when the
// split has none. The splits' partials (m, l, accumulator) merge with osm_weight.
LLMCOST_HD void split_range(int64_t lo, int64_t pos, int64_t splits, int64_t s, int64_t& first, int64_t& last) {
  const int64_t n = pos - lo + 1, chunk = (n + splits - 1) / splits;
  first = lo + s * chunk;
  last = first + chunk - 1 < pos ? first + chunk - 1 : pos;
}
// Splits for T rows x H heads attending up to max_n positions on a device with `sms`
// multiprocessors: enough blocks for eight per multiprocessor, each split at least 128 positions.
// Each warp has one K row and one V row in flight at a time, so the bytes in flight (what HBM
// latency x bandwidth asks for, ~25 KB per multiprocessor) grow with the resident warps: two
// 4-warp blocks per multiprocessor would leave a batch-1 long-context decode at ~15% of HBM
// bandwidth, eight bring ~4x as many rows in flight. A split's own cost (q, one partial of
// head_dim + 2 floats, the merge) is small next to 128 positions' K and V rows.
constexpr int64_t kSplitBlocksPerSm = 8, kSplitMinPositions = 128;
LLMCOST_HD int64_t attention_splits(int64_t T, int64_t H, int64_t max_n, int64_t sms) {
  const int64_t blocks = T * H, want = (kSplitBlocksPerSm * sms + blocks - 1) / blocks,
                most = (max_n + kSplitMinPositions - 1) / kSplitMinPositions;
  const int64_t s = want < most ? want : most;
  return s < 1 ? 1 : s;
}
// The position a kernel's `part` (of `parts`, e.g. a warp) takes as its k-th: strided, so
// consecutive parts read consecutive cache rows.
LLMCOST_HD int64_t part_position(int64_t lo, int64_t part, int64_t parts, int64_t k) { return lo + part + k * parts; }
// Merging `parts` partials (m, l at ml[2p], ml[2p + 1]; accumulators acc[p x dim ..]) under their
// overall max M: M, the merged l, and element i of the merged (unnormalized) accumulator. The
// attention kernels' merge_parts (warps of a block, and the splits of k_merge_splits) is these.
LLMCOST_HD float osm_merge_max(const float* ml, int parts) {
  float M = -INFINITY;
  for (int p = 0; p < parts; ++p) M = fmaxf(M, ml[2 * p]);
  return M;
}
LLMCOST_HD float osm_merge_sum(const float* ml, int parts, float M) {
  float l = 0;
  for (int p = 0; p < parts; ++p) l += ml[2 * p + 1] * osm_weight(ml[2 * p], M);
  return l;
}
LLMCOST_HD float osm_merge_elem(const float* ml, const float* acc, int parts, int64_t dim, int64_t i, float M) {
  float s = 0;
  for (int p = 0; p < parts; ++p) s += acc[p * dim + i] * osm_weight(ml[2 * p], M);
  return s;
}

// ---------------------------------------------------------------- launch configurations

// Every launch of kernels.cu takes its grid, block and dynamic shared memory from these, so the
// CPU tests check them against the device limits (launch_fits) for the shapes the runner meets.
constexpr int kThreads = 256;   // elementwise, norms, merges
constexpr int kAttnWarps = 4;   // attention blocks: 4 warps
constexpr int kRouteThreads = 64;
constexpr int64_t kMaxGridX = 2147483647LL, kMaxGridYZ = 65535, kMaxBlock = 1024;
constexpr int64_t kDefaultSmem = 48 * 1024;  // dynamic shared memory without cudaFuncSetAttribute

struct Launch {
  int64_t gx = 1, gy = 1, gz = 1;
  int64_t block = 1;
  int64_t smem = 0;  // dynamic shared memory, bytes
};
// Within the limits of every supported device (sm_80 .. sm_100): grid, block (whole warps) and
// shared memory no larger than the default 48 KB (kernels.cu raises no limit).
LLMCOST_HD bool launch_fits(const Launch& l) {
  return l.gx >= 1 && l.gx <= kMaxGridX && l.gy >= 1 && l.gy <= kMaxGridYZ && l.gz >= 1 && l.gz <= kMaxGridYZ &&
         l.block >= 32 && l.block <= kMaxBlock && l.block % 32 == 0 && l.smem >= 0 && l.smem <= kDefaultSmem;
}
// Grid-stride kernels over n elements: at least one block (a zero-size launch is an error), at
// most 65535 x 32 (the loop covers the rest).
LLMCOST_HD Launch elementwise_launch(int64_t n) {
  Launch l;
  const int64_t b = (n + kThreads - 1) / kThreads;
  l.gx = b < 1 ? 1 : (b > kMaxGridYZ * 32 ? kMaxGridYZ * 32 : b);
  l.block = kThreads;
  return l;
}
// One block per row (RMSNorm, LayerNorm); rows > 0.
LLMCOST_HD Launch row_launch(int64_t rows) {
  Launch l;
  l.gx = rows;
  l.block = kThreads;
  return l;
}
// Registers per lane of an attention warp holding a head (or latent) vector: dims up to 32 x P;
// -1 above 512.
LLMCOST_HD int attn_regs_per_lane(int64_t dim) {
  return dim <= 64 ? 2 : dim <= 128 ? 4 : dim <= 256 ? 8 : dim <= 512 ? 16 : -1;
}
// k_attention: block (t, h, split); shared q [hd], acc [warps][hd], (m, l) [warps].
LLMCOST_HD Launch attention_launch(int64_t T, int64_t H, int64_t hd, int64_t splits) {
  Launch l;
  l.gx = T;
  l.gy = H;
  l.gz = splits;
  l.block = kAttnWarps * 32;
  l.smem = static_cast<int64_t>(sizeof(float)) * (hd + kAttnWarps * hd + 2 * kAttnWarps);
  return l;
}
// k_merge_splits: block (t, h).
LLMCOST_HD Launch merge_launch(int64_t T, int64_t H) {
  Launch l;
  l.gx = T;
  l.gy = H;
  l.block = kThreads;
  return l;
}
// k_mla: block (t, h); shared q_lat [L], q_rope [rope], acc [warps][L], (m, l) [warps].
LLMCOST_HD Launch mla_launch(int64_t T, int64_t H, int64_t L, int64_t rope) {
  Launch l;
  l.gx = T;
  l.gy = H;
  l.block = kAttnWarps * 32;
  l.smem = static_cast<int64_t>(sizeof(float)) * (L + rope + kAttnWarps * L + 2 * kAttnWarps);
  return l;
}
// k_route: one thread per token.
LLMCOST_HD Launch route_launch(int64_t T) {
  Launch l;
  l.gx = (T + kRouteThreads - 1) / kRouteThreads;
  l.block = kRouteThreads;
  return l;
}

// ---------------------------------------------------------------- router

// A router's scoring and selection (llmcost::MoeSpec, in plain fields).
struct RouteSpec {
  int64_t n_experts = 0, top_k = 0;
  int scoring = 0;                 // 0 softmax, 1 sigmoid, 2 the raw logits
  bool softmax_after_topk = false; // softmax over the k selected logits (scoring 0 only)
  int64_t n_group = 1, topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
};

// One token's routing, exactly as the CPU backend's route(): scores (softmax / sigmoid / raw, in
// double), selection scores = score + correction bias, group-limited selection (keep the
// topk_group groups with the best top-2 sum when there is a correction bias, else the best max;
// ties to the lower group), top-k (ties to the lower expert), weights renormalized when
// norm_topk_prob (or softmax over the selected logits) times routed_scaling_factor.
// Scratch: score[E], sel[E], group[n_group] doubles. Out: idx[K], w[K].
LLMCOST_HD void route_token(const float* lg, const RouteSpec& m, const float* corr, double* score, double* sel,
                            double* group, int32_t* idx, float* w) {
  const int64_t E = m.n_experts, K = m.top_k;
  if (m.scoring == 0 && !m.softmax_after_topk) {
    double mx = -1e300, sum = 0;
    for (int64_t e = 0; e < E; ++e) mx = lg[e] > mx ? static_cast<double>(lg[e]) : mx;
    for (int64_t e = 0; e < E; ++e) sum += (score[e] = exp(lg[e] - mx));
    for (int64_t e = 0; e < E; ++e) score[e] /= sum;
  } else if (m.scoring == 1) {
    for (int64_t e = 0; e < E; ++e) score[e] = 1.0 / (1.0 + exp(-static_cast<double>(lg[e])));
  } else {
    for (int64_t e = 0; e < E; ++e) score[e] = lg[e];
  }
  for (int64_t e = 0; e < E; ++e) sel[e] = score[e] + (corr ? corr[e] : 0.0);
  if (m.n_group > 1) {
    const int64_t per = E / m.n_group;
    for (int64_t g = 0; g < m.n_group; ++g) {
      double v0 = -INFINITY, v1 = -INFINITY;  // the group's two largest
      for (int64_t e = g * per; e < (g + 1) * per; ++e) {
        const double v = sel[e];
        if (v > v0) {
          v1 = v0;
          v0 = v;
        } else if (v > v1) {
          v1 = v;
        }
      }
      group[g] = corr ? v0 + (per > 1 ? v1 : 0.0) : v0;
    }
    // Keep the topk_group best groups: mark them by flipping the sign bit of their rank slot.
    // (At most n_group groups: topk_group >= n_group keeps them all, as the CPU's loop over the
    // ranks past topk_group masks none.)
    for (int64_t r = 0; r < m.topk_group && r < m.n_group; ++r) {
      int64_t best = -1;
      for (int64_t g = 0; g < m.n_group; ++g) {
        if (group[g] == INFINITY) continue;  // already kept
        if (best < 0 || group[g] > group[best]) best = g;
      }
      if (best >= 0) group[best] = INFINITY;
    }
    for (int64_t g = 0; g < m.n_group; ++g)
      if (group[g] != INFINITY)
        for (int64_t e = g * per; e < (g + 1) * per; ++e) sel[e] = -INFINITY;
  }
  // Top-k by repeated argmax (first maximum wins: ties to the lower index, as a partial sort
  // with that tie rule), skipping experts already taken.
  double sum = 0;
  for (int64_t k = 0; k < K; ++k) {
    int64_t best = -1;
    for (int64_t e = 0; e < E; ++e) {
      bool taken = false;
      for (int64_t j = 0; j < k; ++j) taken = taken || idx[j] == e;
      if (taken) continue;
      if (best < 0 || sel[e] > sel[best]) best = e;
    }
    idx[k] = static_cast<int32_t>(best);
    sum += score[best];
  }
  if (m.softmax_after_topk && m.scoring == 0) {
    double mx = -1e300, z = 0;
    for (int64_t k = 0; k < K; ++k) mx = score[idx[k]] > mx ? score[idx[k]] : mx;
    for (int64_t k = 0; k < K; ++k) z += exp(score[idx[k]] - mx);
    for (int64_t k = 0; k < K; ++k) w[k] = static_cast<float>(exp(score[idx[k]] - mx) / z * m.routed_scaling_factor);
    return;
  }
  const double denom = m.norm_topk_prob ? sum + 1e-20 : 1.0;
  for (int64_t k = 0; k < K; ++k) w[k] = static_cast<float>(score[idx[k]] / denom * m.routed_scaling_factor);
}

}  // namespace cudak
}  // namespace llmcost
