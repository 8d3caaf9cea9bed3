// CPU kernels of the runner (Google Benchmark): decode GEMV bandwidth on bf16/fp32 weights
// (bytes of weights streamed per second) and the GEMV kernel vs OpenBLAS sgemm by row count
// (FLOP/s), which sets cpu::blas_min_rows().
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "llmcost/calibrate.h"
#include "llmcost/cpu_kernels.h"

namespace {

using llmcost::WeightDtype;
using llmcost::cpu::MatmulImpl;
using llmcost::cpu::WeightView;

struct Weights {
  std::vector<uint16_t> bf16;
  std::vector<float> f32;
  WeightView view;
};

// [n, k] weights of small deterministic values, larger than any cache when n*k is large.
Weights make_weights(int64_t n, int64_t k, WeightDtype dt) {
  Weights w;
  const size_t sz = static_cast<size_t>(n * k);
  if (dt == WeightDtype::BF16) {
    w.bf16.resize(sz);
    for (size_t i = 0; i < sz; ++i) w.bf16[i] = static_cast<uint16_t>(0x3c00u + (i * 2654435761u >> 24) % 128);
    w.view = WeightView{w.bf16.data(), dt, n, k, k};
  } else {
    w.f32.resize(sz);
    for (size_t i = 0; i < sz; ++i) w.f32[i] = static_cast<float>((i * 2654435761u >> 20) % 1000) * 1e-3f;
    w.view = WeightView{w.f32.data(), dt, n, k, k};
  }
  return w;
}

// Decode: M activation rows (the batch) times a 14336 x 4096 weight (Llama-3.1-8B's gate_proj,
// 117 MB in bf16). Counter GB_per_s = weight bytes streamed / s; the target is the calibrated
// read bandwidth (llmcost calibrate).
void BM_GemvBandwidth(benchmark::State& st) {
  const int64_t M = st.range(0), threads = st.range(1);
  const WeightDtype dt = st.range(2) ? WeightDtype::FP32 : WeightDtype::BF16;
  const int64_t N = 14336, K = 4096;
  Weights w = make_weights(N, K, dt);
  std::vector<float> x(static_cast<size_t>(M * K), 0.5f), y(static_cast<size_t>(M * N));
  for (auto _ : st) {
    llmcost::cpu::matmul(x.data(), M, K, w.view, y.data(), N, static_cast<int>(threads), MatmulImpl::Gemv);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(N * K * llmcost::cpu::weight_dtype_bytes(dt));
  st.counters["GB_per_s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP_per_s"] = benchmark::Counter(2.0 * M * N * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(std::string(llmcost::cpu::weight_dtype_name(dt)) + " " + llmcost::cpu::simd_isa());
}
BENCHMARK(BM_GemvBandwidth)
    ->ArgNames({"rows", "threads", "fp32"})
    ->Args({1, 1, 0})
    ->Args({1, 2, 0})
    ->Args({4, 2, 0})
    ->Args({16, 2, 0})
    ->Args({1, 2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// GEMV kernel (impl 0) vs bf16 -> fp32 panels + OpenBLAS sgemm (impl 1), 4096 x 4096 bf16
// weights, by activation rows: where sgemm starts to win.
void BM_MatmulImpl(benchmark::State& st) {
  const int64_t M = st.range(0);
  const MatmulImpl impl = st.range(1) ? MatmulImpl::Blas : MatmulImpl::Gemv;
  if (impl == MatmulImpl::Blas && !llmcost::cpu::have_blas()) {
    st.SkipWithError("built without BLAS");
    return;
  }
  const int64_t N = 4096, K = 4096;
  Weights w = make_weights(N, K, WeightDtype::BF16);
  std::vector<float> x(static_cast<size_t>(M * K), 0.5f), y(static_cast<size_t>(M * N));
  for (auto _ : st) {
    llmcost::cpu::matmul(x.data(), M, K, w.view, y.data(), N, 2, impl);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP_per_s"] = benchmark::Counter(2.0 * M * N * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(impl == MatmulImpl::Blas ? "openblas sgemm" : std::string("gemv ") + llmcost::cpu::simd_isa());
}
BENCHMARK(BM_MatmulImpl)
    ->ArgNames({"rows", "blas"})
    ->ArgsProduct({{8, 16, 32, 64, 256, 1024}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same bytes read by the calibration's read_sum (fp32 sum, 2 threads): the bandwidth the
// GEMV above is judged against (target >= 80%). Run next to it, on the same load.
void BM_ReadSumBaseline(benchmark::State& st) {
  const size_t floats = static_cast<size_t>(14336) * 4096 / 2;  // 117 MB, as the bf16 weight above
  llmcost::BandwidthBuffer buf(floats, 2, 0.5f);
  for (auto _ : st) benchmark::DoNotOptimize(llmcost::read_sum(buf.data(), buf.size(), 2));
  st.counters["GB_per_s"] = benchmark::Counter(static_cast<double>(buf.size_bytes()) * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadSumBaseline)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
