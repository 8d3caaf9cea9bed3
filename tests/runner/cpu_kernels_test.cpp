// CPU kernels against a naive double loop: every row count 1..9, weight rows not a multiple of the
// tile, reduction lengths with and without a tail past the SIMD blocks, bf16 and fp32 weights,
// strided activations / outputs / weight rows, GEMV and sgemm paths, 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "llmcost/cpu_kernels.h"
#include "llmcost/safetensors.h"

namespace llmcost::cpu {
namespace {

float val(int64_t i, int salt) { return static_cast<float>(((i * 2654435761u + salt * 40503u) >> 8) % 2001) / 1000.0f - 1.0f; }

void check(int64_t M, int64_t N, int64_t K, WeightDtype dt, MatmulImpl impl, int threads) {
  const int64_t ldx = K + 3, ldw = K + 5, ldy = N + 2;
  std::vector<float> x(static_cast<size_t>(M * ldx)), wf(static_cast<size_t>(N * ldw)), y(static_cast<size_t>(M * ldy), 7.0f);
  std::vector<uint16_t> wb(wf.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = val(static_cast<int64_t>(i), 1);
  for (size_t i = 0; i < wf.size(); ++i) {
    wb[i] = fp32_to_bf16(val(static_cast<int64_t>(i), 2));
    wf[i] = dt == WeightDtype::BF16 ? bf16_to_fp32(wb[i]) : val(static_cast<int64_t>(i), 2);
  }
  WeightView v{dt == WeightDtype::BF16 ? static_cast<const void*>(wb.data()) : wf.data(), dt, N, K, ldw};
  matmul(x.data(), M, ldx, v, y.data(), ldy, threads, impl);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        ref += static_cast<double>(x[static_cast<size_t>(m * ldx + k)]) * wf[static_cast<size_t>(n * ldw + k)];
        mag += std::abs(static_cast<double>(x[static_cast<size_t>(m * ldx + k)]) * wf[static_cast<size_t>(n * ldw + k)]);
      }
      ASSERT_NEAR(y[static_cast<size_t>(m * ldy + n)], ref, 1e-5 * mag + 1e-6)
          << "M=" << M << " N=" << N << " K=" << K << " m=" << m << " n=" << n << " " << weight_dtype_name(dt);
    }
  // Padding between output rows untouched.
  for (int64_t m = 0; m < M; ++m) EXPECT_EQ(y[static_cast<size_t>(m * ldy + N)], 7.0f);
}

TEST(CpuKernels, GemvMatchesNaiveForAllShapes) {
  for (WeightDtype dt : {WeightDtype::BF16, WeightDtype::FP32})
    for (int64_t M = 1; M <= 9; ++M)
      for (int64_t K : {1, 15, 32, 77, 256})
        for (int64_t N : {1, 6, 37})
          for (int threads : {1, 2}) check(M, N, K, dt, MatmulImpl::Gemv, threads);
}

TEST(CpuKernels, BlasPathMatchesNaive) {
  if (!have_blas()) GTEST_SKIP() << "built without BLAS";
  for (WeightDtype dt : {WeightDtype::BF16, WeightDtype::FP32})
    for (int64_t M : {1, 5, 40}) check(M, 53, 100, dt, MatmulImpl::Blas, 2);
}

TEST(CpuKernels, SoftmaxMatchesDouble) {
  for (int64_t n : {1, 5, 16, 17, 100, 1025}) {
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i)] = 30.0f * val(i, 3) - (i == 3 ? 100.0f : 0.0f);
    std::vector<double> ref(s.begin(), s.end());
    double mx = *std::max_element(ref.begin(), ref.end()), z = 0;
    for (double& r : ref) z += (r = std::exp(r - mx));
    softmax_f32(s.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(s[static_cast<size_t>(i)], ref[static_cast<size_t>(i)] / z, 1e-6 * ref[static_cast<size_t>(i)] / z + 1e-12) << n << " " << i;
  }
}

TEST(CpuKernels, ParallelForCoversEveryItemOnce) {
  for (int threads : {1, 2, 3})
    for (int64_t n : {1, 7, 1000})
      for (int64_t grain : {0, 1, 64}) {
        std::vector<int> hits(static_cast<size_t>(n), 0);
        parallel_for(threads, n, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        }, grain);
        for (int h : hits) ASSERT_EQ(h, 1);
      }
}

}  // namespace
}  // namespace llmcost::cpu
