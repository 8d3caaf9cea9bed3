// Launchers of the CUDA backend's own kernels (kernels.cu), one per kernel, all asynchronous on
// `stream`. Pointers are device pointers; host arrays were staged to the device by the caller.
// Each launcher throws llmcost::Error "cuda: <kernel>: <error>" when the launch fails. The
// per-element math is in kernel_math.h (tested on the CPU).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernel_math.h"

namespace llmcost {
namespace cudak {

// fp32 [M, cols] (rows ldx apart) -> bf16 [M, cols] dense; split: hi rows then lo rows ([2M, cols]).
void to_bf16(const float* x, int64_t M, int64_t ldx, int64_t cols, uint16_t* out, bool split, cudaStream_t s);
// y[m, n] (rows ldy apart) = tmp[m, n] + tmp[M + m, n] for n < N (tmp dense [2M, N]).
void combine_split(const float* tmp, int64_t M, int64_t N, float* y, int64_t ldy, cudaStream_t s);
// y[m, i] += b[i], i < n.
void add_bias(const float* b, int64_t n, float* y, int64_t M, int64_t ldy, cudaStream_t s);
// out[t, :d] = in[t, :d] x rms_factor x (w ? w : 1), rows ld apart.
void rms_norm(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const float* w, double eps, cudaStream_t s);
void layer_norm(const float* in, float* out, int64_t T, int64_t d, const float* w, const float* b, double eps,
                cudaStream_t s);
// RoPE on x [T, ld] (heads head_stride apart), first `rot` dims, position pos[t] (device).
void rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
          double theta, cudaStream_t s);
// Writes row t of src [T, ld] (heads x hd values, head h at h x hd) to cache at (seq[t], h, pos[t]).
void kv_store(const float* src, int64_t ld, int64_t T, int64_t heads, int64_t hd, const int64_t* seq,
              const int64_t* pos, uint16_t* cache, int64_t max_ctx, cudaStream_t s);
// Standard attention (see Kernels::attention): q [T, H x hd] -> out [T, H x hd]. splits > 1
// (attention_splits): each row's positions in that many blocks, partials in part_acc
// [T, H, splits, hd] and part_ml [T, H, splits, 2], then merged.
void attention(const float* q, const uint16_t* k, const uint16_t* v, const int64_t* seq, const int64_t* pos,
               const int64_t* lo, int64_t T, int64_t H, int64_t G, int64_t hd, int64_t max_ctx, float scale,
               double softcap, float* out, int64_t splits, float* part_acc, float* part_ml, cudaStream_t s);
// MLA absorbed core: qlat [T, H, L] and the rope part of q (q [T, H x qhd] at offset nope) against
// c_kv [B][ctx][L] and k_pe [B][ctx][rope] -> olat [T, H, L].
void mla_core(const float* qlat, const float* q, int64_t qhd, int64_t nope, int64_t rope, const uint16_t* ckv,
              const uint16_t* kpe, const int64_t* seq, const int64_t* pos, const int64_t* lo, int64_t T, int64_t H,
              int64_t L, int64_t max_ctx, float scale, float* olat, cudaStream_t s);
// out[m, i] = act(gate[m, i]) x up[m, i] (out dense [M, n]).
void glu(Act a, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M, int64_t n,
         cudaStream_t s);
void activate(Act a, float* x, int64_t n, cudaStream_t s);
void scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g, cudaStream_t s);
// One token per thread: route_token() with scratch [T, 2E + n_group] doubles.
void route(const float* logits, int64_t T, const RouteSpec& m, const float* corr, double* scratch, int32_t* idx,
           float* w, cudaStream_t s);
// x[t, :d] += table[ids[t], :d] x mult; table bf16 (bf16 true) or fp32.
void embed_add(const void* table, bool bf16, const int64_t* ids, int64_t T, int64_t d, float mult, float* x,
               cudaStream_t s);
void add(float* y, const float* x, int64_t n, cudaStream_t s);
void copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols, cudaStream_t s);
void gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t n, float* dst, cudaStream_t s);
void scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t n, float* dst,
                      cudaStream_t s);

// Synthetic cache contents (fill_kv) of `batch` sequences x `heads` KV heads, `context` positions
// each: the CPU's synthetic_kv values (synthetic_kv_unit) rounded to bf16, keys or values.
void synthetic_kv(uint16_t* cache, int64_t batch, int64_t heads, int64_t context, int64_t hd, int64_t max_ctx,
                  uint64_t op_stream, bool value, cudaStream_t s);

// Calibration kernels (calibrate_cuda.cu): sum of n floats per block into partial[gridDim].
void read_sum(const float4* a, int64_t n4, float* partial, int blocks, cudaStream_t s);
void empty_kernel(cudaStream_t s);

}  // namespace cudak
}  // namespace llmcost
