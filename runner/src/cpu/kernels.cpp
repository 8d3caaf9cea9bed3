// CPU matmul kernels: a GEMV-style kernel (threads split the weight rows, each row streamed once
// and multiplied with up to 4 activation rows at a time; AVX-512 / AVX2 picked at run time) and
// an sgemm path that converts bf16 weight panels to fp32 for OpenBLAS.
#include "llmcost/cpu_kernels.h"

// GCC 12 reports its own _mm512_undefined_ps() inside the intrinsic headers as uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#ifdef LLMCOST_HAVE_BLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace llmcost::cpu {

namespace {

// A persistent pool; one job at a time (the runner is single-threaded above the kernels). Work is
// taken in chunks from an atomic counter, and a worker that has not woken up by the time the
// caller ran out of chunks is not waited for: on a box shared with other jobs a descheduled
// thread would otherwise stall every matmul.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  // Runs `take` (which takes chunks until none are left) on the caller and up to threads - 1 workers.
  void run(int threads, const std::function<void()>& take) {
    std::lock_guard<std::mutex> one(run_m_);
    while (static_cast<int>(workers_.size()) < threads - 1) {
      const int id = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, id] { loop(id); });
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &take;
      n_ = threads;
      open_ = true;
      started_ = finished_ = 0;
      ++gen_;
    }
    cv_.notify_all();
    in_job() = true;
    take();
    in_job() = false;
    std::unique_lock<std::mutex> lk(m_);
    open_ = false;  // late workers skip this job
    done_.wait(lk, [&] { return finished_ == started_; });
    job_ = nullptr;
  }
  static bool& in_job() {
    thread_local bool v = false;
    return v;
  }

 private:
  void loop(int id) {
    in_job() = true;
    uint64_t seen = 0;
    for (;;) {
      const std::function<void()>* job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
        if (id >= n_ || !open_) continue;
        ++started_;
        job = job_;
      }
      (*job)();
      std::lock_guard<std::mutex> lk(m_);
      ++finished_;
      if (!open_ && finished_ == started_) done_.notify_one();
    }
  }
  std::mutex run_m_, m_;
  std::condition_variable cv_, done_;
  std::vector<std::thread> workers_;
  const std::function<void()>* job_ = nullptr;
  int n_ = 0, started_ = 0, finished_ = 0;
  uint64_t gen_ = 0;
  bool open_ = false, stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void parallel_for(int threads, int64_t n, const std::function<void(int64_t, int64_t)>& f, int64_t grain) {
  if (n <= 0) return;
  if (grain <= 0) grain = std::max<int64_t>(1, n / (std::max(1, threads) * 8));
  const int64_t chunks = (n + grain - 1) / grain;
  const int t_use = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, chunks)));
  if (t_use == 1 || Pool::in_job()) {
    f(0, n);
    return;
  }
  std::atomic<int64_t> next{0};
  const std::function<void()> take = [&] {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
      f(c * grain, std::min(n, (c + 1) * grain));
  };
  pool().run(t_use, take);
}

namespace {

inline float bf16f(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

enum class Isa { Scalar, Avx2, Avx512 };

Isa detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Scalar;
}
const Isa kBestIsa = detect_isa();
Isa kIsa = kBestIsa;  // lowered only by set_simd_isa (tests of the narrower paths)
const char* isa_name(Isa i) {
  switch (i) {
    case Isa::Avx512: return "avx512f";
    case Isa::Avx2: return "avx2+fma";
    default: return "scalar";
  }
}

// ---- GEMV-style kernels: y[m, n] for weight rows n in [n0, n1). A micro-kernel multiplies NB
// weight rows by MB activation rows (MB x NB accumulators), so each activation vector loaded
// serves NB weight rows and each weight vector MB activation rows.

template <class T>
inline float wval(const T* p, int64_t i) {
  if constexpr (sizeof(T) == 2) return bf16f(p[i]); else return p[i];
}

template <int MB, int NB, class T>
void tile_scalar(const float* x, int64_t ldx, const T* w, int64_t ld, int64_t K, int64_t n, float* y, int64_t ldy) {
  for (int j = 0; j < NB; ++j) {
    const T* wr = w + (n + j) * ld;
    for (int m = 0; m < MB; ++m) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += wval(wr, k) * x[m * ldx + k];
      y[m * ldy + n + j] = acc;
    }
  }
}

template <class T>
__attribute__((target("avx512f"))) inline __m512 load16_512(const T* p) {
  if constexpr (sizeof(T) == 2) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_loadu_ps(p);
  }
}

template <int MB, int NB, class T>
__attribute__((target("avx512f"))) void tile_avx512(const float* x, int64_t ldx, const T* w, int64_t ld, int64_t K,
                                                    int64_t n, float* y, int64_t ldy) {
  const int64_t K16 = K & ~int64_t{15};
  __m512 acc[MB][NB];
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) acc[m][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K16; k += 16) {
    __m512 wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = load16_512(w + (n + j) * ld + k);
    for (int m = 0; m < MB; ++m) {
      const __m512 xv = _mm512_loadu_ps(x + m * ldx + k);
      for (int j = 0; j < NB; ++j) acc[m][j] = _mm512_fmadd_ps(wv[j], xv, acc[m][j]);
    }
  }
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) {
      float s = _mm512_reduce_add_ps(acc[m][j]);
      const T* wr = w + (n + j) * ld;
      for (int64_t k = K16; k < K; ++k) s += wval(wr, k) * x[m * ldx + k];
      y[m * ldy + n + j] = s;
    }
}

// bf16 weights without a shuffle per element: a 512-bit load holds 32 bf16; shifting each 32-bit
// lane left by 16 gives the even elements as fp32, masking the low half gives the odd ones. The
// activations are pre-permuted to match (per 32-block: 16 evens, then 16 odds; see permute_x).
template <int MB, int NB>
__attribute__((target("avx512f"))) void tile_avx512_bf16p(const float* xp, int64_t ldx, const uint16_t* w, int64_t ld,
                                                          int64_t K, int64_t n, float* y, int64_t ldy) {
  const int64_t K32 = K & ~int64_t{31};
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512 acc[MB][NB];
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) acc[m][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K32; k += 32) {
    __m512 we[NB], wo[NB];
    for (int j = 0; j < NB; ++j) {
      const __m512i v = _mm512_loadu_si512(reinterpret_cast<const void*>(w + (n + j) * ld + k));
      we[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      wo[j] = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
    }
    for (int m = 0; m < MB; ++m) {
      const __m512 xe = _mm512_loadu_ps(xp + m * ldx + k);
      const __m512 xo = _mm512_loadu_ps(xp + m * ldx + k + 16);
      for (int j = 0; j < NB; ++j) {
        acc[m][j] = _mm512_fmadd_ps(we[j], xe, acc[m][j]);
        acc[m][j] = _mm512_fmadd_ps(wo[j], xo, acc[m][j]);
      }
    }
  }
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) {
      float s = _mm512_reduce_add_ps(acc[m][j]);
      const uint16_t* wr = w + (n + j) * ld;
      for (int64_t k = K32; k < K; ++k) s += bf16f(wr[k]) * xp[m * ldx + k];
      y[m * ldy + n + j] = s;
    }
}

// x [M, K] (rows ldx apart) -> xp [M, K] contiguous, each full 32-block as 16 evens then 16 odds.
void permute_x(const float* x, int64_t M, int64_t ldx, int64_t K, float* xp) {
  const int64_t K32 = K & ~int64_t{31};
  for (int64_t m = 0; m < M; ++m) {
    const float* src = x + m * ldx;
    float* dst = xp + m * K;
    for (int64_t k = 0; k < K32; k += 32)
      for (int i = 0; i < 16; ++i) {
        dst[k + i] = src[k + 2 * i];
        dst[k + 16 + i] = src[k + 2 * i + 1];
      }
    for (int64_t k = K32; k < K; ++k) dst[k] = src[k];
  }
}

// Tiles of 4 weight rows x MB <= 4 activation rows. Measured alternatives: 2 x 8 tiles 97 vs 200
// GFLOP/s at 256 rows; for one row, 1 or 2 weight rows per tile 24 / 23 GB/s vs 28 GB/s.
template <int MB>
void rows_bf16p(const float* xp, int64_t ldx, const uint16_t* w, int64_t ld, int64_t K, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  constexpr int NB = 4;
  int64_t n = n0;
  for (; n + NB <= n1; n += NB) tile_avx512_bf16p<MB, NB>(xp, ldx, w, ld, K, n, y, ldy);
  for (; n < n1; ++n) tile_avx512_bf16p<MB, 1>(xp, ldx, w, ld, K, n, y, ldy);
}

void gemv_range_bf16p(const float* xp, int64_t M, const uint16_t* w, int64_t ld, int64_t K, int64_t n0, int64_t n1,
                      float* y, int64_t ldy) {
  constexpr int64_t kChunk = 16;
  for (int64_t c0 = n0; c0 < n1; c0 += kChunk) {
    const int64_t c1 = std::min(n1, c0 + kChunk);
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) rows_bf16p<4>(xp + m * K, K, w, ld, K, c0, c1, y + m * ldy, ldy);
    switch (M - m) {
      case 3: rows_bf16p<3>(xp + m * K, K, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      case 2: rows_bf16p<2>(xp + m * K, K, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      case 1: rows_bf16p<1>(xp + m * K, K, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      default: break;
    }
  }
}

template <class T>
__attribute__((target("avx2,fma"))) inline __m256 load8_256(const T* p) {
  if constexpr (sizeof(T) == 2) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_loadu_ps(p);
  }
}

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

template <int MB, int NB, class T>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* x, int64_t ldx, const T* w, int64_t ld, int64_t K,
                                                   int64_t n, float* y, int64_t ldy) {
  const int64_t K8 = K & ~int64_t{7};
  __m256 acc[MB][NB];
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) acc[m][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K8; k += 8) {
    __m256 wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = load8_256(w + (n + j) * ld + k);
    for (int m = 0; m < MB; ++m) {
      const __m256 xv = _mm256_loadu_ps(x + m * ldx + k);
      for (int j = 0; j < NB; ++j) acc[m][j] = _mm256_fmadd_ps(wv[j], xv, acc[m][j]);
    }
  }
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < NB; ++j) {
      float s = hsum256(acc[m][j]);
      const T* wr = w + (n + j) * ld;
      for (int64_t k = K8; k < K; ++k) s += wval(wr, k) * x[m * ldx + k];
      y[m * ldy + n + j] = s;
    }
}

// Weight rows [n0, n1) in tiles of NB rows (AVX-512: 4, AVX2: 2) x MB <= 4 activation rows.
template <int MB, class T>
void rows_dispatch(const float* x, int64_t ldx, const T* w, int64_t ld, int64_t K, int64_t n0, int64_t n1, float* y,
                   int64_t ldy) {
  int64_t n = n0;
  switch (kIsa) {
    case Isa::Avx512:
      for (; n + 4 <= n1; n += 4) tile_avx512<MB, 4, T>(x, ldx, w, ld, K, n, y, ldy);
      for (; n < n1; ++n) tile_avx512<MB, 1, T>(x, ldx, w, ld, K, n, y, ldy);
      break;
    case Isa::Avx2:
      for (; n + 2 <= n1; n += 2) tile_avx2<MB, 2, T>(x, ldx, w, ld, K, n, y, ldy);
      for (; n < n1; ++n) tile_avx2<MB, 1, T>(x, ldx, w, ld, K, n, y, ldy);
      break;
    default:
      for (; n < n1; ++n) tile_scalar<MB, 1, T>(x, ldx, w, ld, K, n, y, ldy);
      break;
  }
}

// All M rows for weight rows [n0, n1), walked in chunks of 16 weight rows (256 KiB of bf16 at
// K = 8192) so that a chunk is still in L2 when the next block of 4 activation rows reuses it.
template <class T>
void gemv_range(const float* x, int64_t M, int64_t ldx, const T* w, int64_t ld, int64_t K, int64_t n0, int64_t n1,
                float* y, int64_t ldy) {
  constexpr int64_t kChunk = 16;
  for (int64_t c0 = n0; c0 < n1; c0 += kChunk) {
    const int64_t c1 = std::min(n1, c0 + kChunk);
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) rows_dispatch<4, T>(x + m * ldx, ldx, w, ld, K, c0, c1, y + m * ldy, ldy);
    switch (M - m) {
      case 3: rows_dispatch<3, T>(x + m * ldx, ldx, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      case 2: rows_dispatch<2, T>(x + m * ldx, ldx, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      case 1: rows_dispatch<1, T>(x + m * ldx, ldx, w, ld, K, c0, c1, y + m * ldy, ldy); break;
      default: break;
    }
  }
}

void matmul_gemv(const float* x, int64_t M, int64_t ldx, const WeightView& w, float* y, int64_t ldy, int threads) {
  const int64_t N = w.rows;
  // Chunks of >= 16 weight rows, ~16 per thread: contiguous streams, and slack for a slow thread.
  const int64_t grain = std::max<int64_t>(16, N / (std::max(1, threads) * 16));
  if (w.dtype == WeightDtype::BF16 && kIsa == Isa::Avx512) {
    thread_local std::vector<float> xp;
    xp.resize(static_cast<size_t>(M * w.cols));
    permute_x(x, M, ldx, w.cols, xp.data());
    const float* xpp = xp.data();
    parallel_for(threads, N, [&](int64_t n0, int64_t n1) {
      gemv_range_bf16p(xpp, M, static_cast<const uint16_t*>(w.data), w.ld, w.cols, n0, n1, y, ldy);
    }, grain);
    return;
  }
  parallel_for(threads, N, [&](int64_t n0, int64_t n1) {
    if (w.dtype == WeightDtype::BF16)
      gemv_range(x, M, ldx, static_cast<const uint16_t*>(w.data), w.ld, w.cols, n0, n1, y, ldy);
    else
      gemv_range(x, M, ldx, static_cast<const float*>(w.data), w.ld, w.cols, n0, n1, y, ldy);
  }, grain);
}

#ifdef LLMCOST_HAVE_BLAS
// OpenBLAS runs single-threaded inside our own threads: each thread converts its share of the
// weight rows (bf16 -> fp32, in panels of ~1 MiB) and multiplies it, so no OpenBLAS thread pool
// spins against ours.
void matmul_blas(const float* x, int64_t M, int64_t ldx, const WeightView& w, float* y, int64_t ldy, int threads) {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  const int64_t K = w.cols, N = w.rows;
  // Panels of ~4 MiB of fp32 weights (at least 16 rows).
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 20) / std::max<int64_t>(1, K));
  parallel_for(threads, N, [&](int64_t n0, int64_t n1) {
    if (w.dtype == WeightDtype::FP32) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(n1 - n0),
                  static_cast<int>(K), 1.0f, x, static_cast<int>(ldx), static_cast<const float*>(w.data) + n0 * w.ld,
                  static_cast<int>(w.ld), 0.0f, y + n0, static_cast<int>(ldy));
      return;
    }
    thread_local std::vector<float> buf;
    buf.resize(static_cast<size_t>((n1 - n0) * K));
    const uint16_t* wb = static_cast<const uint16_t*>(w.data);
    for (int64_t r = n0; r < n1; ++r) bf16_row_to_f32(wb + r * w.ld, buf.data() + (r - n0) * K, K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(n1 - n0), static_cast<int>(K),
                1.0f, x, static_cast<int>(ldx), buf.data(), static_cast<int>(K), 0.0f, y + n0, static_cast<int>(ldy));
  }, grain);
}
#endif

// ---- vector helpers

__attribute__((target("avx512f"))) void bf16_row_avx512(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, load16_512(in + i));
  for (; i < n; ++i) out[i] = bf16f(in[i]);
}
__attribute__((target("avx512f"))) float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}
template <class T>
__attribute__((target("avx512f"))) void axpy_avx512(float alpha, const T* x, float* y, int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(a, load16_512(x + i), _mm512_loadu_ps(y + i)));
  for (; i < n; ++i) {
    float xv;
    if constexpr (sizeof(T) == 2) xv = bf16f(x[i]); else xv = x[i];
    y[i] += alpha * xv;
  }
}

// exp(x) for x <= 0 (softmax inputs after subtracting the max): 2^n x p(r), r = x - n ln2 in
// [-ln2/2, ln2/2], p the degree-6 Taylor polynomial (relative error < 2e-7); below -87.3 -> 0.
__attribute__((target("avx512f"))) inline __m512 exp_nonpos_512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) void softmax_avx512(float* s, int64_t n) {
  __m512 mv = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) mv = _mm512_max_ps(mv, _mm512_loadu_ps(s + i));
  float mx = _mm512_reduce_max_ps(mv);
  for (int64_t j = i; j < n; ++j) mx = std::max(mx, s[j]);
  const __m512 m = _mm512_set1_ps(mx);
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = exp_nonpos_512(_mm512_sub_ps(_mm512_loadu_ps(s + i), m));
    _mm512_storeu_ps(s + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  double total = _mm512_reduce_add_ps(sum);
  for (int64_t j = i; j < n; ++j) total += (s[j] = std::exp(s[j] - mx));
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / total));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(s + i, _mm512_mul_ps(_mm512_loadu_ps(s + i), inv));
  for (int64_t j = i; j < n; ++j) s[j] *= static_cast<float>(1.0 / total);
}

}  // namespace

void softmax_f32(float* s, int64_t n) {
  if (n <= 0) return;
  if (kIsa == Isa::Avx512) return softmax_avx512(s, n);
  float mx = s[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, s[i]);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += (s[i] = std::exp(s[i] - mx));
  for (int64_t i = 0; i < n; ++i) s[i] = static_cast<float>(s[i] / total);
}

WeightView WeightView::sub_rows(int64_t r0, int64_t n) const {
  WeightView v = *this;
  v.data = static_cast<const char*>(data) + r0 * ld * weight_dtype_bytes(dtype);
  v.rows = n;
  return v;
}

bool have_blas() {
#ifdef LLMCOST_HAVE_BLAS
  return true;
#else
  return false;
#endif
}

// From bench_cpu_kernels on this 2-core AVX-512 box (4096 x 4096 bf16, 2 threads): the tiled
// GEMV kernel with shuffle-free bf16 loads gives 141 / 181 / 208 / 175 GFLOP/s at 8 / 32 / 256 /
// 1024 rows; bf16 panels + OpenBLAS sgemm 18 / 48 / 168 / 162. sgemm only from 2048 rows.
int64_t blas_min_rows() { return have_blas() ? 2048 : 0; }

const char* simd_isa() { return isa_name(kIsa); }

bool set_simd_isa(const char* name) {
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (i <= kBestIsa && std::strcmp(isa_name(i), name) == 0) {
      kIsa = i;
      return true;
    }
  return false;
}

void matmul(const float* x, int64_t M, int64_t ldx, const WeightView& w, float* y, int64_t ldy, int threads,
            MatmulImpl impl) {
  if (M <= 0 || w.rows <= 0) return;
  if (w.cols == 0) {
    for (int64_t m = 0; m < M; ++m) std::fill(y + m * ldy, y + m * ldy + w.rows, 0.0f);
    return;
  }
  threads = std::max(1, threads);
  if (impl == MatmulImpl::Auto) impl = (blas_min_rows() > 0 && M >= blas_min_rows()) ? MatmulImpl::Blas : MatmulImpl::Gemv;
#ifdef LLMCOST_HAVE_BLAS
  if (impl == MatmulImpl::Blas) {
    matmul_blas(x, M, ldx, w, y, ldy, threads);
    return;
  }
#endif
  matmul_gemv(x, M, ldx, w, y, ldy, threads);
}

void bf16_row_to_f32(const uint16_t* in, float* out, int64_t n) {
  if (kIsa == Isa::Avx512) return bf16_row_avx512(in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = bf16f(in[i]);
}

float dot_f32(const float* a, const float* b, int64_t n) {
  if (kIsa == Isa::Avx512) return dot_avx512(a, b, n);
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  if (kIsa == Isa::Avx512) return axpy_avx512(alpha, x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void axpy_bf16(float alpha, const uint16_t* x, float* y, int64_t n) {
  if (kIsa == Isa::Avx512) return axpy_avx512(alpha, x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * bf16f(x[i]);
}

}  // namespace llmcost::cpu
