// The CUDA backend's own kernels: everything but the matmuls (cuBLAS, cuda_backend.cpp). Each
// kernel is small; its per-element math and index arithmetic are the kernel_math.h functions the
// CPU tests check. Attention (standard and MLA absorbed) is one block per (row, query head):
// 4 warps stride over the attended positions, each warp a streaming softmax with the head's
// values in registers (P = head_dim / 32 per lane), merged through shared memory at the end.
#include "kernels.h"

#include <string>

#include "llmcost/error.h"

namespace llmcost {
namespace cudak {

namespace {

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw Error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e), ErrorKind::Internal);
}

// The launch configurations are kernel_math.h's (checked against the device limits on the CPU).
unsigned blocks_for(int64_t n) { return static_cast<unsigned>(elementwise_launch(n).gx); }
dim3 grid_of(const Launch& l) {
  return dim3(static_cast<unsigned>(l.gx), static_cast<unsigned>(l.gy), static_cast<unsigned>(l.gz));
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide sum of a double (blockDim.x a multiple of 32, <= 1024); every thread gets it.
__device__ double block_sum(double v) {
  __shared__ double part[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // part[] may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  double s = 0;
  for (int i = 0; i < static_cast<int>(blockDim.x >> 5); ++i) s += part[i];
  return s;
}

// ---------------------------------------------------------------- elementwise

__global__ void k_to_bf16(const float* x, int64_t M, int64_t ldx, int64_t cols, uint16_t* out, bool split) {
  const int64_t n = M * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / cols, c = i % cols;
    const float v = x[m * ldx + c];
    if (split) {
      uint16_t hi, lo;
      split_bf16(v, hi, lo);
      out[i] = hi;
      out[n + i] = lo;
    } else {
      out[i] = f32_to_bf16(v);
    }
  }
}

__global__ void k_combine_split(const float* tmp, int64_t M, int64_t N, float* y, int64_t ldy) {
  const int64_t n = M * N;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / N, c = i % N;
    y[m * ldy + c] = tmp[i] + tmp[n + i];
  }
}

__global__ void k_add_bias(const float* b, int64_t nb, float* y, int64_t M, int64_t ldy) {
  const int64_t n = M * nb;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[(i / nb) * ldy + i % nb] += b[i % nb];
}

__global__ void k_glu(Act a, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M, int64_t nn) {
  const int64_t n = M * nn;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / nn, c = i % nn;
    out[i] = activate(a, gate[m * ldg + c]) * up[m * ldu + c];
  }
}

__global__ void k_activate(Act a, float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = activate(a, x[i]);
}

__global__ void k_scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g) {
  const int64_t n = M * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] *= sigmoid(g[i / d]);
}

__global__ void k_embed_add(const void* table, bool bf16, const int64_t* ids, int64_t T, int64_t d, float mult, float* x) {
  const int64_t n = T * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t src = ids[i / d] * d + i % d;
    const float v = bf16 ? bf16_to_f32(static_cast<const uint16_t*>(table)[src]) : static_cast<const float*>(table)[src];
    x[i] += v * mult;
  }
}

__global__ void k_add(float* y, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

__global__ void k_copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[(i / cols) * ldd + i % cols] = src[(i / cols) * lds + i % cols];
}

__global__ void k_gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t rows, float* dst) {
  const int64_t n = rows * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = src[ids[i / d] * d + i % d];
}

// ids may repeat in principle: atomicAdd keeps that correct (the executor's are distinct).
__global__ void k_scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t rows, float* dst) {
  const int64_t n = rows * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    atomicAdd(dst + ids[i / d] * d + i % d, w[i / d] * src[i]);
}

// ---------------------------------------------------------------- norms, rope, cache

__global__ void k_rms_norm(const float* in, float* out, int64_t d, int64_t ld, const float* w, double eps) {
  const float* x = in + blockIdx.x * ld;
  float* y = out + blockIdx.x * ld;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss += static_cast<double>(x[i]) * x[i];
  const float r = rms_factor(block_sum(ss), d, eps);
  // in == out is safe: each thread writes only the elements it read.
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) y[i] = x[i] * r * (w ? w[i] : 1.0f);
}

__global__ void k_layer_norm(const float* in, float* out, int64_t d, const float* w, const float* b, double eps) {
  const float* x = in + blockIdx.x * d;
  float* y = out + blockIdx.x * d;
  double s = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += x[i];
  const double mean = block_sum(s) / static_cast<double>(d);
  double v = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) v += (x[i] - mean) * (x[i] - mean);
  const double rstd = 1.0 / sqrt(block_sum(v) / static_cast<double>(d) + eps);
  __syncthreads();
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) y[i] = layer_norm_elem(x[i], mean, rstd, w[i], b ? b[i] : 0.0f);
}

__global__ void k_rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
                       double theta) {
  const int64_t half = rot / 2, n = T * heads * half;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t t, h, j;
    rope_element(i, heads, half, t, h, j);
    float* p = x + rope_offset(t, ld, h, head_stride, j);
    rope_rotate(p[0], p[half], rope_angle(pos[t], j, rot, theta));
  }
}

__global__ void k_kv_store(const float* src, int64_t ld, int64_t T, int64_t heads, int64_t hd, const int64_t* seq,
                           const int64_t* pos, uint16_t* cache, int64_t max_ctx) {
  const int64_t n = T * heads * hd;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t from, to;
    kv_store_element(i, ld, heads, hd, seq, pos, max_ctx, from, to);
    cache[to] = f32_to_bf16(src[from]);
  }
}

__global__ void k_synthetic_kv(uint16_t* cache, int64_t batch, int64_t heads, int64_t context, int64_t hd, int64_t max_ctx,
                               uint64_t op_stream, bool value) {
  const int64_t per = context * hd, n = batch * heads * per;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t bg = i / per, j = i % per, b = bg / heads, g = bg % heads;
    cache[kv_offset(b, g, 0, heads, max_ctx, hd) + j] = f32_to_bf16(synthetic_kv_unit(op_stream, b, heads, g, value, j));
  }
}

// ---------------------------------------------------------------- attention

// Merges `parts` partials (m, l at ml[2p], ml[2p + 1]; accumulators acc[p x dim ..]) into out[dim]:
// normalized (out = sum / l) when ml_out is null, else the unnormalized sum under the overall max,
// with (M, l) written to ml_out (a split's partial for merge_splits).
__device__ void merge_parts(const float* ml, const float* acc, int parts, int64_t dim, float* out, float* ml_out) {
  const float M = osm_merge_max(ml, parts);
  const float l = osm_merge_sum(ml, parts, M);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    const float s = osm_merge_elem(ml, acc, parts, dim, i, M);
    out[i] = ml_out ? s : s / l;
  }
  if (ml_out && threadIdx.x == 0) {
    ml_out[0] = M;
    ml_out[1] = l;
  }
}
__device__ void merge_warps(const float* sm_ml, const float* sm_acc, int64_t dim, float* out) {
  merge_parts(sm_ml, sm_acc, kAttnWarps, dim, out, nullptr);
}

// Block (t, h): the splits' partials part_acc [T, H, splits, hd], part_ml [T, H, splits, 2] -> out.
__global__ void k_merge_splits(const float* part_acc, const float* part_ml, int64_t H, int64_t splits, int64_t hd, float* out) {
  const int64_t th = blockIdx.x * static_cast<int64_t>(H) + blockIdx.y;
  merge_parts(part_ml + th * splits * 2, part_acc + th * splits * hd, static_cast<int>(splits), hd, out + th * hd, nullptr);
}

// Block (t, h, split). Shared: q [hd], acc [warps][hd], (m, l) [warps]. One split: the output;
// several: the split's partial into part_acc / part_ml (merged by k_merge_splits).
// A lane's share of q . row (P values of the row, lane + 32 c; q in shared memory), before the
// warp's reduction.
template <int P, class W>
__device__ __forceinline__ float lane_dot(const float* q, const uint16_t (&row)[P], W width, int lane) {
  float dot = 0;
#pragma unroll
  for (int c = 0; c < P; ++c) {
    const int i = lane + 32 * c;
    if (i < width) dot += q[i] * bf16_to_f32(row[c]);
  }
  return dot;
}

// A lane's share of a row (P values, lane + 32 c) folded into its running output: acc = acc x corr
// + p x row (the streaming softmax's rescale and add).
template <int P, class W>
__device__ __forceinline__ void fold_row(float (&acc)[P], float corr, float p, const uint16_t (&row)[P], W width, int lane) {
#pragma unroll
  for (int c = 0; c < P; ++c) {
    const int i = lane + 32 * c;
    if (i < width) acc[c] = acc[c] * corr + p * bf16_to_f32(row[c]);
  }
}

// A warp's running output and softmax state into shared memory for the block's merge: acc
// [warps][width], (m, l) [warps].
template <int P>
__device__ __forceinline__ void spill_warp(const float (&acc)[P], const OnlineSoftmax& st, float* sacc, float* sml, int64_t width,
                                           int warp, int lane) {
#pragma unroll
  for (int c = 0; c < P; ++c) {
    const int i = lane + 32 * c;
    if (i < width) sacc[warp * width + i] = acc[c];
  }
  if (lane == 0) {
    sml[2 * warp] = st.m;
    sml[2 * warp + 1] = st.l;
  }
}

template <int P>
__global__ void __launch_bounds__(kAttnWarps * 32) k_attention(const float* q, const uint16_t* kc, const uint16_t* vc,
                                                             const int64_t* seq, const int64_t* pos, const int64_t* lo,
                                                             int64_t H, int64_t G, int64_t hd, int64_t max_ctx, float scale,
                                                             double softcap, float* out, float* part_acc, float* part_ml) {
  extern __shared__ float sm[];
  float* sq = sm;
  float* sacc = sm + hd;
  float* sml = sacc + kAttnWarps * hd;
  const int64_t t = blockIdx.x, h = blockIdx.y, g = kv_head_of(h, H, G);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t i = threadIdx.x; i < hd; i += blockDim.x) sq[i] = q[(t * H + h) * hd + i];
  __syncthreads();
  const int hdi = static_cast<int>(hd);  // <= 512
  const int64_t splits = gridDim.z;
  int64_t first, last;
  split_range(lo[t], pos[t], splits, blockIdx.z, first, last);
  const uint16_t* kb = kc + kv_offset(seq[t], g, 0, G, max_ctx, hd);
  const uint16_t* vb = vc + kv_offset(seq[t], g, 0, G, max_ctx, hd);
  OnlineSoftmax st = osm_init();
  float acc[P];
#pragma unroll
  for (int c = 0; c < P; ++c) acc[c] = 0.0f;
  for (int64_t k = 0;; ++k) {
    const int64_t j = part_position(first, warp, kAttnWarps, k);
    if (j > last) break;
    const uint16_t* kr = kb + j * hd;
    const uint16_t* vr = vb + j * hd;
    // The K and V rows' loads issued together (V does not wait for the score's reduction).
    uint16_t kx[P], vx[P];
#pragma unroll
    for (int c = 0; c < P; ++c) {
      const int i = lane + 32 * c;
      kx[c] = i < hdi ? kr[i] : uint16_t{0};
      vx[c] = i < hdi ? vr[i] : uint16_t{0};
    }
    const float dot = warp_sum(lane_dot(sq, kx, hdi, lane));
    float p;
    const float corr = osm_add(st, attn_score(dot, scale, softcap), p);
    fold_row(acc, corr, p, vx, hdi, lane);
  }
  spill_warp(acc, st, sacc, sml, hd, warp, lane);
  __syncthreads();
  if (splits == 1) {
    merge_warps(sml, sacc, hd, out + (t * H + h) * hd);
  } else {
    const int64_t part = (t * H + h) * splits + blockIdx.z;
    merge_parts(sml, sacc, kAttnWarps, hd, part_acc + part * hd, part_ml + part * 2);
  }
}

// Block (t, h): scores (qlat . c_kv_j + q_rope . k_pe_j) x scale, values c_kv_j. Shared: qlat [L],
// q_rope [rope], acc [warps][L], (m, l) [warps].
template <int P>
__global__ void __launch_bounds__(kAttnWarps * 32) k_mla(const float* qlat, const float* q, int64_t qhd, int64_t nope,
                                                       int64_t rope, const uint16_t* ckv, const uint16_t* kpe,
                                                       const int64_t* seq, const int64_t* pos, const int64_t* lo, int64_t H,
                                                       int64_t L, int64_t max_ctx, float scale, float* olat) {
  extern __shared__ float sm[];
  float* sq = sm;
  float* sr = sq + L;
  float* sacc = sr + rope;
  float* sml = sacc + kAttnWarps * L;
  const int64_t t = blockIdx.x, h = blockIdx.y;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) sq[i] = qlat[(t * H + h) * L + i];
  for (int64_t i = threadIdx.x; i < rope; i += blockDim.x) sr[i] = q[(t * H + h) * qhd + nope + i];
  __syncthreads();
  const int64_t first = lo[t], last = pos[t];
  const uint16_t* cb = ckv + kv_offset(seq[t], 0, 0, 1, max_ctx, L);
  const uint16_t* pb = kpe + kv_offset(seq[t], 0, 0, 1, max_ctx, rope);
  OnlineSoftmax st = osm_init();
  float acc[P];
#pragma unroll
  for (int c = 0; c < P; ++c) acc[c] = 0.0f;
  for (int64_t k = 0;; ++k) {
    const int64_t j = part_position(first, warp, kAttnWarps, k);
    if (j > last) break;
    const uint16_t* cr = cb + j * L;
    const uint16_t* pr = pb + j * rope;
    // The latent row is the key and the value: loaded once.
    uint16_t cx[P];
#pragma unroll
    for (int c = 0; c < P; ++c) {
      const int i = lane + 32 * c;
      cx[c] = i < L ? cr[i] : uint16_t{0};
    }
    float dot = lane_dot(sq, cx, L, lane);
    for (int64_t i = lane; i < rope; i += 32) dot += sr[i] * bf16_to_f32(pr[i]);
    dot = warp_sum(dot);
    float p;
    const float corr = osm_add(st, attn_score(dot, scale, 0.0), p);
    fold_row(acc, corr, p, cx, L, lane);
  }
  spill_warp(acc, st, sacc, sml, L, warp, lane);
  __syncthreads();
  merge_warps(sml, sacc, L, olat + (t * H + h) * L);
}

// ---------------------------------------------------------------- router

__global__ void k_route(const float* logits, int64_t T, RouteSpec m, const float* corr, double* scratch, int32_t* idx, float* w) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= T) return;
  const int64_t E = m.n_experts, per = 2 * E + m.n_group;
  double* s = scratch + t * per;
  route_token(logits + t * E, m, corr, s, s + E, s + 2 * E, idx + t * m.top_k, w + t * m.top_k);
}

// ---------------------------------------------------------------- calibration

__global__ void k_read_sum(const float4* a, int64_t n4, float* partial) {
  float s = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  // Four independent 16-byte loads in flight per thread (one is too few to cover HBM latency at
  // full occupancy), then the tail one at a time. Streaming loads: no reuse expected.
  for (; i + 3 * stride < n4; i += 4 * stride) {
    const float4 v0 = __ldcs(a + i), v1 = __ldcs(a + i + stride), v2 = __ldcs(a + i + 2 * stride), v3 = __ldcs(a + i + 3 * stride);
    s += ((v0.x + v0.y) + (v0.z + v0.w)) + ((v1.x + v1.y) + (v1.z + v1.w)) + ((v2.x + v2.y) + (v2.z + v2.w)) +
         ((v3.x + v3.y) + (v3.z + v3.w));
  }
  for (; i < n4; i += stride) {
    const float4 v = __ldcs(a + i);
    s += (v.x + v.y) + (v.z + v.w);
  }
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) atomicAdd(partial + blockIdx.x, s);
}

__global__ void k_empty() {}

}  // namespace

void to_bf16(const float* x, int64_t M, int64_t ldx, int64_t cols, uint16_t* out, bool split, cudaStream_t s) {
  k_to_bf16<<<blocks_for(M * cols), kThreads, 0, s>>>(x, M, ldx, cols, out, split);
  check_launch("to_bf16");
}
void combine_split(const float* tmp, int64_t M, int64_t N, float* y, int64_t ldy, cudaStream_t s) {
  k_combine_split<<<blocks_for(M * N), kThreads, 0, s>>>(tmp, M, N, y, ldy);
  check_launch("combine_split");
}
void add_bias(const float* b, int64_t n, float* y, int64_t M, int64_t ldy, cudaStream_t s) {
  k_add_bias<<<blocks_for(M * n), kThreads, 0, s>>>(b, n, y, M, ldy);
  check_launch("add_bias");
}
void rms_norm(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const float* w, double eps, cudaStream_t s) {
  if (T <= 0) return;
  const Launch l = row_launch(T);
  k_rms_norm<<<grid_of(l), static_cast<unsigned>(l.block), 0, s>>>(in, out, d, ld, w, eps);
  check_launch("rms_norm");
}
void layer_norm(const float* in, float* out, int64_t T, int64_t d, const float* w, const float* b, double eps, cudaStream_t s) {
  if (T <= 0) return;
  const Launch l = row_launch(T);
  k_layer_norm<<<grid_of(l), static_cast<unsigned>(l.block), 0, s>>>(in, out, d, w, b, eps);
  check_launch("layer_norm");
}
void rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos, double theta,
          cudaStream_t s) {
  k_rope<<<blocks_for(T * heads * (rot / 2)), kThreads, 0, s>>>(x, T, ld, heads, head_stride, rot, pos, theta);
  check_launch("rope");
}
void kv_store(const float* src, int64_t ld, int64_t T, int64_t heads, int64_t hd, const int64_t* seq, const int64_t* pos,
              uint16_t* cache, int64_t max_ctx, cudaStream_t s) {
  k_kv_store<<<blocks_for(T * heads * hd), kThreads, 0, s>>>(src, ld, T, heads, hd, seq, pos, cache, max_ctx);
  check_launch("kv_store");
}


void attention(const float* q, const uint16_t* k, const uint16_t* v, const int64_t* seq, const int64_t* pos, const int64_t* lo,
               int64_t T, int64_t H, int64_t G, int64_t hd, int64_t max_ctx, float scale, double softcap, float* out,
               int64_t splits, float* part_acc, float* part_ml, cudaStream_t s) {
  if (T <= 0) return;
  const Launch l = attention_launch(T, H, hd, splits);
  if (!launch_fits(l))
    throw Error("cuda: attention: " + std::to_string(T) + " rows x " + std::to_string(H) + " heads x " + std::to_string(splits) +
                    " splits (head_dim " + std::to_string(hd) + ") exceed the launch limits",
                ErrorKind::Unsupported);
  const dim3 grid = grid_of(l);
  const size_t smem = static_cast<size_t>(l.smem);
  switch (attn_regs_per_lane(hd)) {
#define LLMCOST_ATTN(P)                                                                                     \
  case P:                                                                                                   \
    k_attention<P><<<grid, kAttnWarps * 32, smem, s>>>(q, k, v, seq, pos, lo, H, G, hd, max_ctx, scale, softcap, out, \
                                                       part_acc, part_ml);                                            \
    break;
    LLMCOST_ATTN(2)
    LLMCOST_ATTN(4)
    LLMCOST_ATTN(8)
    LLMCOST_ATTN(16)
#undef LLMCOST_ATTN
    default: throw Error("cuda: attention: head_dim " + std::to_string(hd) + " above 512 is not supported", ErrorKind::Unsupported);
  }
  check_launch("attention");
  if (splits > 1) {
    const Launch m = merge_launch(T, H);
    k_merge_splits<<<grid_of(m), static_cast<unsigned>(m.block), 0, s>>>(part_acc, part_ml, H, splits, hd, out);
    check_launch("attention merge");
  }
}

void mla_core(const float* qlat, const float* q, int64_t qhd, int64_t nope, int64_t rope, const uint16_t* ckv, const uint16_t* kpe,
              const int64_t* seq, const int64_t* pos, const int64_t* lo, int64_t T, int64_t H, int64_t L, int64_t max_ctx,
              float scale, float* olat, cudaStream_t s) {
  if (T <= 0) return;
  const Launch l = mla_launch(T, H, L, rope);
  if (!launch_fits(l))
    throw Error("cuda: mla_attention: " + std::to_string(T) + " rows x " + std::to_string(H) + " heads (kv_lora_rank " +
                    std::to_string(L) + ") exceed the launch limits",
                ErrorKind::Unsupported);
  const dim3 grid = grid_of(l);
  const size_t smem = static_cast<size_t>(l.smem);
  switch (attn_regs_per_lane(L)) {
#define LLMCOST_MLA(P)                                                                                                   \
  case P:                                                                                                                \
    k_mla<P><<<grid, kAttnWarps * 32, smem, s>>>(qlat, q, qhd, nope, rope, ckv, kpe, seq, pos, lo, H, L, max_ctx, scale, olat); \
    break;
    LLMCOST_MLA(2)
    LLMCOST_MLA(4)
    LLMCOST_MLA(8)
    LLMCOST_MLA(16)
#undef LLMCOST_MLA
    default: throw Error("cuda: mla_attention: kv_lora_rank " + std::to_string(L) + " above 512 is not supported", ErrorKind::Unsupported);
  }
  check_launch("mla_attention");
}

void glu(Act a, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M, int64_t n, cudaStream_t s) {
  k_glu<<<blocks_for(M * n), kThreads, 0, s>>>(a, gate, ldg, up, ldu, out, M, n);
  check_launch("glu");
}
void activate(Act a, float* x, int64_t n, cudaStream_t s) {
  k_activate<<<blocks_for(n), kThreads, 0, s>>>(a, x, n);
  check_launch("activate");
}
void scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g, cudaStream_t s) {
  k_scale_rows_sigmoid<<<blocks_for(M * d), kThreads, 0, s>>>(y, M, d, g);
  check_launch("scale_rows_sigmoid");
}
void route(const float* logits, int64_t T, const RouteSpec& m, const float* corr, double* scratch, int32_t* idx, float* w,
           cudaStream_t s) {
  if (T <= 0) return;
  const Launch l = route_launch(T);
  k_route<<<grid_of(l), static_cast<unsigned>(l.block), 0, s>>>(logits, T, m, corr, scratch, idx, w);
  check_launch("route");
}
void embed_add(const void* table, bool bf16, const int64_t* ids, int64_t T, int64_t d, float mult, float* x, cudaStream_t s) {
  k_embed_add<<<blocks_for(T * d), kThreads, 0, s>>>(table, bf16, ids, T, d, mult, x);
  check_launch("embed_add");
}
void add(float* y, const float* x, int64_t n, cudaStream_t s) {
  k_add<<<blocks_for(n), kThreads, 0, s>>>(y, x, n);
  check_launch("add");
}
void copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols, cudaStream_t s) {
  k_copy2d<<<blocks_for(rows * cols), kThreads, 0, s>>>(dst, ldd, src, lds, rows, cols);
  check_launch("copy2d");
}
void gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t n, float* dst, cudaStream_t s) {
  k_gather_rows<<<blocks_for(n * d), kThreads, 0, s>>>(src, d, ids, n, dst);
  check_launch("gather_rows");
}
void scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t n, float* dst, cudaStream_t s) {
  k_scatter_add_rows<<<blocks_for(n * d), kThreads, 0, s>>>(src, d, ids, w, n, dst);
  check_launch("scatter_add_rows");
}
void synthetic_kv(uint16_t* cache, int64_t batch, int64_t heads, int64_t context, int64_t hd, int64_t max_ctx,
                  uint64_t op_stream, bool value, cudaStream_t s) {
  k_synthetic_kv<<<blocks_for(batch * heads * context * hd), kThreads, 0, s>>>(cache, batch, heads, context, hd, max_ctx,
                                                                                op_stream, value);
  check_launch("synthetic_kv");
}
void read_sum(const float4* a, int64_t n4, float* partial, int blocks, cudaStream_t s) {
  k_read_sum<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(a, n4, partial);
  check_launch("read_sum");
}
void empty_kernel(cudaStream_t s) {
  k_empty<<<1, 32, 0, s>>>();
  check_launch("empty_kernel");
}

}  // namespace cudak
}  // namespace llmcost
