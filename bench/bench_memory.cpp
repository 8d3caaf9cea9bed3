// Memory bandwidth benchmarks: read-only sum (what decode's weight streaming needs) and STREAM
// triad, over buffers much larger than the last-level cache; bytes/s reported per run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <thread>

#include "llmcost/calibrate.h"

namespace {

size_t default_buffer_bytes() {
  return std::max<size_t>(8 * llmcost::last_level_cache_bytes(), size_t{256} << 20);
}

int hw_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// Args: {buffer MiB (0 = max(8 x LLC, 256 MiB)), threads (0 = all)}.
void BM_ReadOnly(benchmark::State& state) {
  size_t bytes = state.range(0) ? static_cast<size_t>(state.range(0)) << 20 : default_buffer_bytes();
  int threads = state.range(1) ? static_cast<int>(state.range(1)) : hw_threads();
  size_t n = bytes / sizeof(float);
  llmcost::BandwidthBuffer buf(n, threads, 1.0f);
  for (auto _ : state) benchmark::DoNotOptimize(llmcost::read_sum(buf.data(), n, threads));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * sizeof(float)));
  state.counters["threads"] = threads;
  state.counters["buffer_MiB"] = static_cast<double>(bytes >> 20);
}

// STREAM convention: 2 arrays read + 1 written = 12 bytes per element (write-allocate not counted).
void BM_Triad(benchmark::State& state) {
  size_t bytes = state.range(0) ? static_cast<size_t>(state.range(0)) << 20 : default_buffer_bytes();
  int threads = state.range(1) ? static_cast<int>(state.range(1)) : hw_threads();
  size_t n = bytes / sizeof(float);
  llmcost::BandwidthBuffer a(n, threads, 0.0f), b(n, threads, 1.0f), c(n, threads, 2.0f);
  for (auto _ : state) {
    llmcost::triad(a.data(), b.data(), c.data(), 3.0f, n, threads);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(3 * n * sizeof(float)));
  state.counters["threads"] = threads;
  state.counters["buffer_MiB"] = static_cast<double>(bytes >> 20);
}

// Default size with all threads and with one; a cache-resident 1 MiB on one thread for contrast
// (threads are started per call, which would dominate so small a buffer).
// Google Benchmark prints bytes_per_second in binary units (G/s = 2^30 bytes/s).
BENCHMARK(BM_ReadOnly)->Args({0, 0})->Args({0, 1})->Args({1, 1})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Triad)->Args({0, 0})->Args({0, 1})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
