// The cuBLAS calls of the CUDA backend (cuda_backend.cpp gemm / gemm_heads) as plain argument
// sets, so tests/runner/cuda_gemm_args_test.cpp runs them through a host column-major GEMM and
// compares with the CPU backend's matmul and MLA. cuBLAS is column-major: a row-major [R, C]
// array with row stride ld is, to cuBLAS, a column-major C x R matrix with leading dimension ld
// (its transpose). Host-only; no CUDA header.
#pragma once

#include <cstdint>

namespace llmcost {
namespace cudak {

// C [m, n] (ldc) = op(A) [m, k] x B [k, n] (ldb), column-major, op(A) = A^T when trans_a (A
// stored k x m, lda), else A (stored m x k, lda). Strided batch: item b uses A + a_offset +
// b x stride_a, B + b x stride_b, C + b x stride_c (elements).
struct GemmCall {
  bool trans_a = true;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t a_offset = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, batch = 1;
};

// y [M, N] (rows ldy apart) = x [M, K] (rows ldx apart) W^T, W [N, K] row-major: y^T (N x M,
// ldy) = (W as K x N, ld K)^T x (x^T as K x M, ldx).
inline GemmCall linear_call(int64_t M, int64_t N, int64_t K, int64_t ldx, int64_t ldy) {
  GemmCall c;
  c.trans_a = true;
  c.m = N;
  c.n = M;
  c.k = K;
  c.lda = K;
  c.ldb = ldx;
  c.ldc = ldy;
  return c;
}
// The bf16 path: B is the converted activations, dense [Mx, K] (Mx = 2M split into hi rows then
// lo rows, else M); C is y (ldy), or with the split a dense [2M, N] temporary that
// combine_split adds up (y[m] = tmp[m] + tmp[M + m]).
inline GemmCall linear_call_bf16(int64_t M, int64_t N, int64_t K, int64_t ldy, bool split) {
  return split ? linear_call(2 * M, N, K, K, N) : linear_call(M, N, K, K, ldy);
}

// MLA absorbed, kv_b [H x (nope + vd), L] row-major (head h's key rows h (nope + vd) .. + nope,
// its value rows the vd after). Per head h, T rows (2T when split: the converted copy and the
// temporary keep the row widths, so only n doubles):
// q_lat [T, H, L] (row t, head h at t H L + h L) = q_nope [t, h] W_uk_h: C (L x T, ldc H L) =
// (W_uk_h row-major [nope, L] = column-major L x nope, lda L) x (q rows: nope x T, ldb H qhd).
inline GemmCall mla_q_call(int64_t T, int64_t H, int64_t nope, int64_t rope, int64_t vd, int64_t L, bool split) {
  GemmCall c;
  c.trans_a = false;
  c.m = L;
  c.n = split ? 2 * T : T;
  c.k = nope;
  c.lda = L;
  c.stride_a = (nope + vd) * L;
  c.ldb = H * (nope + rope);
  c.stride_b = nope + rope;
  c.ldc = H * L;
  c.stride_c = L;
  c.batch = H;
  return c;
}
// out [T, H, vd] = W_uv_h o_lat [t, h]: C (vd x T, ldc H vd) = (W_uv_h row-major [vd, L] =
// column-major L x vd, lda L)^T x (o_lat rows: L x T, ldb H L).
inline GemmCall mla_v_call(int64_t T, int64_t H, int64_t nope, int64_t vd, int64_t L, bool split) {
  GemmCall c;
  c.trans_a = true;
  c.m = vd;
  c.n = split ? 2 * T : T;
  c.k = L;
  c.lda = L;
  c.a_offset = nope * L;
  c.stride_a = (nope + vd) * L;
  c.ldb = H * L;
  c.stride_b = L;
  c.ldc = H * vd;
  c.stride_c = vd;
  c.batch = H;
  return c;
}

// cuBLAS's own argument checks (CUBLAS_STATUS_INVALID_VALUE otherwise): lda >= rows of A as
// stored, ldb >= k, ldc >= m, all >= 1.
inline bool gemm_call_valid(const GemmCall& c) {
  const int64_t a_rows = c.trans_a ? c.k : c.m;
  return c.m >= 0 && c.n >= 0 && c.k >= 0 && c.lda >= (a_rows > 1 ? a_rows : 1) && c.ldb >= (c.k > 1 ? c.k : 1) &&
         c.ldc >= (c.m > 1 ? c.m : 1) && c.batch >= 1;
}

}  // namespace cudak
}  // namespace llmcost
