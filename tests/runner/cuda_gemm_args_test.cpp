// The CUDA backend's cuBLAS calls (runner/src/cuda/gemm_args.h) through a host column-major GEMM
// with cuBLAS's semantics, the way cuda_backend.cpp drives them (bf16 conversion, the hi/lo row
// split into a temporary, combine_split), against the CPU backend's matmul (cpu_kernels.h) and
// the CPU backend's MLA projections (runner/src/cpu/cpu_backend.cpp mla_attention).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../../runner/src/cuda/gemm_args.h"
#include "../../runner/src/cuda/kernel_math.h"
#include "llmcost/cpu_kernels.h"

namespace llmcost {
namespace {

using namespace cudak;

// cublasGemmStridedBatchedEx (alpha 1, beta 0, op(B) = B) on floats, column-major.
void host_gemm(const GemmCall& c, const float* A, const float* B, float* C) {
  ASSERT_TRUE(gemm_call_valid(c));
  for (int64_t b = 0; b < c.batch; ++b) {
    const float* Ab = A + c.a_offset + b * c.stride_a;
    const float* Bb = B + b * c.stride_b;
    float* Cb = C + b * c.stride_c;
    for (int64_t j = 0; j < c.n; ++j)
      for (int64_t i = 0; i < c.m; ++i) {
        double s = 0;
        for (int64_t l = 0; l < c.k; ++l) {
          const float a = c.trans_a ? Ab[l + i * c.lda] : Ab[i + l * c.lda];
          s += static_cast<double>(a) * Bb[l + j * c.ldb];
        }
        Cb[i + j * c.ldc] = static_cast<float>(s);
      }
  }
}

std::vector<float> bf16_values(const std::vector<uint16_t>& b) {
  std::vector<float> f(b.size());
  for (size_t i = 0; i < b.size(); ++i) f[i] = bf16_to_f32(b[i]);
  return f;
}

// to_bf16 (k_to_bf16) on the host: x [M, cols] (ldx) -> dense [M, cols], split: hi rows then lo rows.
std::vector<float> convert(const std::vector<float>& x, int64_t M, int64_t ldx, int64_t cols, bool split) {
  const int64_t n = M * cols;
  std::vector<float> out(static_cast<size_t>(split ? 2 * n : n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[static_cast<size_t>((i / cols) * ldx + i % cols)];
    if (split) {
      uint16_t hi, lo;
      split_bf16(v, hi, lo);
      out[static_cast<size_t>(i)] = bf16_to_f32(hi);
      out[static_cast<size_t>(n + i)] = bf16_to_f32(lo);
    } else {
      out[static_cast<size_t>(i)] = bf16_to_f32(f32_to_bf16(v));
    }
  }
  return out;
}

// combine_split: y[m, n] (ldy) = tmp[m, n] + tmp[M + m, n], tmp dense [2M, N].
void combine(const std::vector<float>& tmp, int64_t M, int64_t N, float* y, int64_t ldy) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < N; ++c)
      y[m * ldy + c] = tmp[static_cast<size_t>(m * N + c)] + tmp[static_cast<size_t>((M + m) * N + c)];
}

TEST(CudaGemmArgs, LinearMatchesTheCpuMatmulWithStridesAndTheSplit) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Case {
    int64_t M, N, K, ldx, ldy;
  };
  for (const Case& c : {Case{1, 7, 5, 5, 7}, Case{3, 6, 9, 12, 10}, Case{64, 5, 8, 8, 5}, Case{65, 4, 6, 7, 9}, Case{2, 1, 16, 16, 1}}) {
    SCOPED_TRACE("M " + std::to_string(c.M) + " N " + std::to_string(c.N) + " K " + std::to_string(c.K));
    std::vector<uint16_t> W(static_cast<size_t>(c.N * c.K));
    for (auto& w : W) w = f32_to_bf16(u(rng));
    const std::vector<float> Wf = bf16_values(W);
    std::vector<float> x(static_cast<size_t>(c.M * c.ldx));
    for (auto& v : x) v = u(rng);
    // The CPU backend: fp32 activations x bf16 weights.
    std::vector<float> want(static_cast<size_t>(c.M * c.ldy), 0.0f);
    cpu::matmul(x.data(), c.M, c.ldx, cpu::WeightView{W.data(), WeightDtype::BF16, c.N, c.K, c.K}, want.data(), c.ldy, 1);

    // fp32 weights: the activations straight in (ldx), y written at ldy.
    std::vector<float> got(static_cast<size_t>(c.M * c.ldy), 0.0f);
    host_gemm(linear_call(c.M, c.N, c.K, c.ldx, c.ldy), Wf.data(), x.data(), got.data());
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n)
        EXPECT_NEAR(got[static_cast<size_t>(m * c.ldy + n)], want[static_cast<size_t>(m * c.ldy + n)], 1e-5) << m << "," << n;

    // bf16 weights: converted activations; split (<= 64 rows) through the temporary.
    const bool split = c.M <= 64;
    const std::vector<float> xb = convert(x, c.M, c.ldx, c.K, split);
    std::vector<float> got16(static_cast<size_t>(c.M * c.ldy), 0.0f);
    const GemmCall call = linear_call_bf16(c.M, c.N, c.K, c.ldy, split);
    if (split) {
      std::vector<float> tmp(static_cast<size_t>(2 * c.M * c.N));
      host_gemm(call, Wf.data(), xb.data(), tmp.data());
      combine(tmp, c.M, c.N, got16.data(), c.ldy);
    } else {
      host_gemm(call, Wf.data(), xb.data(), got16.data());
    }
    const double tol = split ? 1e-5 : 2e-2;  // split: ~fp32 exact; one bf16 rounding: 2^-9 per element
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n)
        EXPECT_NEAR(got16[static_cast<size_t>(m * c.ldy + n)], want[static_cast<size_t>(m * c.ldy + n)], tol) << m << "," << n;
  }
}

// MLA: q_lat[t, h, :] = sum_i q_nope[t, h, i] W[h (nope + vd) + i, :] and
// out[t, h, v] = sum_l W[h (nope + vd) + nope + v, l] o_lat[t, h, l], as the CPU backend.
TEST(CudaGemmArgs, MlaHeadProductsMatchTheCpuFormulas) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t H = 3, nope = 5, rope = 3, vd = 4, L = 7, qhd = nope + rope;
  std::vector<float> W(static_cast<size_t>(H * (nope + vd) * L));
  for (auto& w : W) w = bf16_to_f32(f32_to_bf16(u(rng)));
  for (int64_t T : {1, 2, 66}) {
    SCOPED_TRACE("T " + std::to_string(T));
    std::vector<float> q(static_cast<size_t>(T * H * qhd)), olat(static_cast<size_t>(T * H * L));
    for (auto& v : q) v = u(rng);
    for (auto& v : olat) v = u(rng);
    std::vector<double> want_q(static_cast<size_t>(T * H * L), 0.0), want_o(static_cast<size_t>(T * H * vd), 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t i = 0; i < nope; ++i)
          for (int64_t l = 0; l < L; ++l)
            want_q[static_cast<size_t>((t * H + h) * L + l)] +=
                static_cast<double>(q[static_cast<size_t>(t * H * qhd + h * qhd + i)]) * W[static_cast<size_t>((h * (nope + vd) + i) * L + l)];
        for (int64_t v = 0; v < vd; ++v)
          for (int64_t l = 0; l < L; ++l)
            want_o[static_cast<size_t>((t * H + h) * vd + v)] += static_cast<double>(W[static_cast<size_t>((h * (nope + vd) + nope + v) * L + l)]) *
                                                                 olat[static_cast<size_t>((t * H + h) * L + l)];
      }
    for (bool bf16 : {false, true}) {
      const bool split = bf16 && T <= 64;
      const double tol = bf16 && !split ? 2e-2 : 1e-5;
      // gemm_heads: B = the activations (fp32) or their converted copy (same row width).
      auto run = [&](const GemmCall& unsplit, const std::vector<float>& x, int64_t width, int64_t out_width) {
        std::vector<float> out(static_cast<size_t>(T * out_width), 0.0f);
        if (!bf16) {
          host_gemm(unsplit, W.data(), x.data(), out.data());
          return out;
        }
        const std::vector<float> xb = convert(x, T, width, width, split);
        GemmCall cx = unsplit;
        if (split) cx.n = 2 * unsplit.n;
        if (!split) {
          host_gemm(cx, W.data(), xb.data(), out.data());
          return out;
        }
        std::vector<float> tmp(static_cast<size_t>(2 * T * out_width), 0.0f);
        host_gemm(cx, W.data(), xb.data(), tmp.data());
        combine(tmp, T, out_width, out.data(), out_width);
        return out;
      };
      const std::vector<float> got_q = run(mla_q_call(T, H, nope, rope, vd, L, false), q, H * qhd, H * L);
      const std::vector<float> got_o = run(mla_v_call(T, H, nope, vd, L, false), olat, H * L, H * vd);
      for (size_t i = 0; i < want_q.size(); ++i) EXPECT_NEAR(got_q[i], want_q[i], tol) << "q_lat " << i << (bf16 ? " bf16" : " fp32");
      for (size_t i = 0; i < want_o.size(); ++i) EXPECT_NEAR(got_o[i], want_o[i], tol) << "out " << i << (bf16 ? " bf16" : " fp32");
      // The split call the backend derives is gemm_args.h's own split form.
      GemmCall a = mla_q_call(T, H, nope, rope, vd, L, false), b = mla_q_call(T, H, nope, rope, vd, L, true);
      EXPECT_EQ(b.n, 2 * a.n);
      EXPECT_EQ(b.ldb, a.ldb);
      EXPECT_EQ(b.ldc, a.ldc);
    }
  }
}

// The calls satisfy cuBLAS's argument checks for the runner's shapes, and the ints they pass fit.
TEST(CudaGemmArgs, CallsAreValidForTheMatrixShapes) {
  for (int64_t M : {1, 8, 64, 65, 512 * 64})
    for (int64_t N : {1, 4096, 14336, 151936})
      for (int64_t K : {64, 2048, 14336}) {
        EXPECT_TRUE(gemm_call_valid(linear_call(M, N, K, K, N)));
        EXPECT_TRUE(gemm_call_valid(linear_call(M, N, K, K + 3 * N, 3 * N)));  // fused qkv rows
        EXPECT_TRUE(gemm_call_valid(linear_call_bf16(M, N, K, N, M <= 64)));
        EXPECT_LE(std::max({N, 2 * M, K}), int64_t{2147483647});
      }
  for (int64_t T : {1, 64, 8192}) {
    EXPECT_TRUE(gemm_call_valid(mla_q_call(T, 128, 128, 64, 128, 512, T <= 64)));
    EXPECT_TRUE(gemm_call_valid(mla_v_call(T, 128, 128, 128, 512, T <= 64)));
  }
  // A wrong mapping is caught: ldc smaller than m.
  GemmCall bad = linear_call(2, 10, 4, 4, 10);
  bad.ldc = 5;
  EXPECT_FALSE(gemm_call_valid(bad));
}

}  // namespace
}  // namespace llmcost
