// CPU kernels against a naive double loop: every row count 1..9, weight rows not a multiple of the
// tile, reduction lengths with and without a tail past the SIMD blocks, bf16 and fp32 weights,
// strided activations / outputs / weight rows, GEMV and sgemm paths, 1 and 2 threads; degenerate
// shapes (1, 2, 3, 7, 15, 17, 31, 33, 65 ...) on exact-size buffers under every ISA the CPU has.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llmcost/cpu_kernels.h"
#include "llmcost/safetensors.h"

namespace llmcost::cpu {
namespace {

float val(int64_t i, int salt) { return static_cast<float>(((i * 2654435761u + salt * 40503u) >> 8) % 2001) / 1000.0f - 1.0f; }

// Strided (`padded`: rows a few elements apart, the padding checked untouched) or dense with
// buffers of exactly M x K, N x K and M x N elements, so that under ASan any read or write past a
// tail is a report, not a silent read of the padding.
void check(int64_t M, int64_t N, int64_t K, WeightDtype dt, MatmulImpl impl, int threads, bool padded = true) {
  const int64_t ldx = padded ? K + 3 : K, ldw = padded ? K + 5 : K, ldy = padded ? N + 2 : N;
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
  if (padded) {
    for (int64_t m = 0; m < M; ++m) EXPECT_EQ(y[static_cast<size_t>(m * ldy + N)], 7.0f);
  }
}

TEST(CpuKernels, GemvMatchesNaiveForAllShapes) {
  for (WeightDtype dt : {WeightDtype::BF16, WeightDtype::FP32})
    for (int64_t M = 1; M <= 9; ++M)
      for (int64_t K : {1, 15, 32, 77, 256})
        for (int64_t N : {1, 6, 37})
          for (int threads : {1, 2}) check(M, N, K, dt, MatmulImpl::Gemv, threads);
}

// Degenerate and odd shapes on exact-size buffers: widths below one vector (16 fp32 / 32 bf16
// lanes), one past a block, weight-row tails of the 4- and 2-row tiles, 1..5 activation rows
// (the 4-row tile and its 3/2/1 tails), each ISA path the machine has.
TEST(CpuKernels, DegenerateShapesOnExactBuffers) {
  const std::vector<int64_t> sizes = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};
  const std::string best = simd_isa();
  int isas = 0;
  for (const char* isa : {"scalar", "avx2+fma", "avx512f"}) {
    if (!set_simd_isa(isa)) continue;
    ++isas;
    SCOPED_TRACE(isa);
    for (WeightDtype dt : {WeightDtype::BF16, WeightDtype::FP32})
      for (int64_t M = 1; M <= 5; ++M)
        for (int64_t K : sizes)
          for (int64_t N : sizes) check(M, N, K, dt, MatmulImpl::Gemv, N % 2 ? 1 : 2, false);
  }
  ASSERT_TRUE(set_simd_isa(best.c_str()));
  EXPECT_GE(isas, 1);
  if (have_blas())
    for (WeightDtype dt : {WeightDtype::BF16, WeightDtype::FP32})
      for (int64_t K : {1, 3, 17})
        for (int64_t N : {1, 2, 33}) check(3, N, K, dt, MatmulImpl::Blas, 2, false);
}

// The vector helpers (bf16 rows, dot, axpy) at every length around their 16- and 32-wide blocks,
// on exact-size buffers, against scalar loops.
TEST(CpuKernels, VectorHelpersAtEveryLength) {
  const std::string best = simd_isa();
  for (const char* isa : {"scalar", "avx512f"})
  for (int64_t n = 1; n <= 70; ++n) {
    if (!set_simd_isa(isa)) continue;
    SCOPED_TRACE(isa);
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n)), y(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    std::vector<uint16_t> h(static_cast<size_t>(n));
    double dot = 0;
    for (int64_t i = 0; i < n; ++i) {
      a[static_cast<size_t>(i)] = val(i, 4);
      b[static_cast<size_t>(i)] = val(i, 5);
      h[static_cast<size_t>(i)] = fp32_to_bf16(val(i, 6));
      y[static_cast<size_t>(i)] = val(i, 7);
      dot += static_cast<double>(a[static_cast<size_t>(i)]) * b[static_cast<size_t>(i)];
    }
    EXPECT_NEAR(dot_f32(a.data(), b.data(), n), dot, 1e-5 * static_cast<double>(n)) << n;
    bf16_row_to_f32(h.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], bf16_to_fp32(h[static_cast<size_t>(i)])) << n << " " << i;
    std::vector<float> y1 = y, y2 = y;
    axpy_f32(0.5f, a.data(), y1.data(), n);
    axpy_bf16(-2.0f, h.data(), y2.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t u = static_cast<size_t>(i);
      ASSERT_NEAR(y1[u], y[u] + 0.5f * a[u], 1e-6) << n << " " << i;
      ASSERT_NEAR(y2[u], y[u] - 2.0f * bf16_to_fp32(h[u]), 1e-6) << n << " " << i;
    }
  }
  ASSERT_TRUE(set_simd_isa(best.c_str()));
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
