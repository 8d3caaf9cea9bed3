// CPU kernels of the runner: y = x W^T with bf16 or fp32 weights (nn.Linear layout [out, in]),
// a multithreaded SIMD GEMV-style kernel for few rows (decode: weights streamed once) and an
// OpenBLAS sgemm path for many rows (prefill), plus the small vector helpers attention uses.
#pragma once

#include <cstdint>
#include <functional>

#include "llmcost/dtype.h"

namespace llmcost::cpu {

using ::llmcost::WeightDtype;
using ::llmcost::weight_dtype_bytes;
using ::llmcost::weight_dtype_name;

// A row-major weight matrix [rows, cols] (rows = out features, cols = in features); row r starts
// at element r * ld. data points at uint16_t (bf16 bits) or float.
struct WeightView {
  const void* data = nullptr;
  WeightDtype dtype = WeightDtype::BF16;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  WeightView sub_rows(int64_t r0, int64_t n) const;  // rows [r0, r0 + n)
};

enum class MatmulImpl { Auto, Gemv, Blas };

// y[m, n] = sum_k x[m, k] * W[n, k] for m < M, n < W.rows, k < W.cols. x rows are ldx floats
// apart, y rows ldy floats apart. Auto: the GEMV kernel below blas_min_rows() rows, else BLAS
// (when built with it). `threads` >= 1.
void matmul(const float* x, int64_t M, int64_t ldx, const WeightView& w, float* y, int64_t ldy, int threads,
            MatmulImpl impl = MatmulImpl::Auto);
// Rows from which Auto uses sgemm (measured in bench/bench_cpu_kernels.cpp); 0 = never (no BLAS).
int64_t blas_min_rows();
bool have_blas();
// The SIMD path picked at run time: "avx512f", "avx2+fma" or "scalar".
const char* simd_isa();
// For tests: run the kernels on `name` (one of the three above) instead; false (and no change)
// when this CPU lacks it. Not thread-safe against running kernels.
bool set_simd_isa(const char* name);

// f(begin, end) over chunks of [0, n) of `grain` items (0: about n / (8 x threads)), taken by
// up to `threads` threads from a persistent pool (the caller is one of them). Idle workers sleep
// on a condition variable rather than spin (spinning OpenMP/OpenBLAS threads starve each other
// on a shared box), and a worker that wakes after the chunks ran out is not waited for. Called
// from inside a chunk, runs f(0, n) inline.
void parallel_for(int threads, int64_t n, const std::function<void(int64_t, int64_t)>& f, int64_t grain = 0);

// s[i] = exp(s[i] - max) / sum over [0, n): a vectorized exp (relative error < 2e-7) on AVX-512.
void softmax_f32(float* s, int64_t n);

// out[i] = bf16 -> fp32 of in[i].
void bf16_row_to_f32(const uint16_t* in, float* out, int64_t n);
// sum_i a[i] * b[i]
float dot_f32(const float* a, const float* b, int64_t n);
// y[i] += alpha * x[i]
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
// y[i] += alpha * bf16(x[i])
void axpy_bf16(float alpha, const uint16_t* x, float* y, int64_t n);

}  // namespace llmcost::cpu
