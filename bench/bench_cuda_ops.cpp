// CUDA backend ops (built with CUDA; every benchmark is skipped with the reason when no device is
// available): one decode step of a 2-layer slice of Llama-3.1-8B (dense) and of Qwen3-30B-A3B
// (MoE, router-chosen experts) with synthetic bf16 weights at a synthetic-KV context of 1024, for
// batch 1, 8 and 64. Counters: bytes/s = the bytes the step must move (weights read + KV read,
// the executor's counted figures) / the step's time, frac_peak = that over the HBM read bandwidth
// `calibrate_cuda` measures once per process; and per op kind (matmul-heavy ops vs attention)
// the same from the ops' profiler ranges (each op synchronized; host timer).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

#include "llmcost/backend.h"
#include "llmcost/calibrate.h"
#include "llmcost/error.h"
#include "llmcost/model_loader.h"

namespace {

using namespace llmcost;

double peak_read_bw(std::string* why) {
  static double bw = -1;
  static std::string err;
  if (bw < 0) {
    try {
      CalibrationOptions o;
      o.seconds = 1.0;
      bw = calibrate_cuda(o).read_bw_bytes_per_s.median;
    } catch (const Error& e) {
      bw = 0;
      err = e.what();
    }
  }
  *why = err;
  return bw;
}

void decode_step(benchmark::State& state, const char* config) {
  std::string why;
  const double peak = peak_read_bw(&why);
  if (peak <= 0) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t batch = state.range(0), ctx = 1024;
  ModelIR full = load_model(config, LLMCOST_CONFIG_DIR);
  ModelIR ir = slice_model(full, select_layers(full, "2"));
  std::unique_ptr<Backend> be = make_backend("cuda");
  BackendOptions o;
  o.max_batch = batch;
  o.max_context = ctx + 64;
  o.max_step_tokens = batch;
  be->prepare(ir, o);
  be->fill_kv(batch, ctx);
  std::vector<int32_t> tok(static_cast<size_t>(batch), 1);
  be->decode(tok, nullptr, nullptr);  // warm-up (cuBLAS heuristics, pools)
  double bytes = 0, seconds = 0;
  std::map<std::string, std::pair<double, double>> by_kind;  // kind -> (bytes, seconds)
  for (auto _ : state) {
    state.PauseTiming();
    be->fill_kv(batch, ctx);  // the same context every step
    auto prof = std::make_unique<CpuProfiler>();
    state.ResumeTiming();
    be->decode(tok, nullptr, prof.get());
    state.PauseTiming();
    for (const RangeRecord& r : prof->records()) {
      bytes += r.bytes;
      seconds += r.duration_s();
      const std::string kind = r.name.find("attn") != std::string::npos || r.name.find("self_attn") != std::string::npos ? "attention" : "other";
      by_kind[kind].first += r.bytes;
      by_kind[kind].second += r.duration_s();
    }
    state.ResumeTiming();
  }
  if (seconds > 0) {
    state.counters["bytes_per_s"] = bytes / seconds;
    state.counters["frac_peak"] = bytes / seconds / peak;
    for (const auto& [k, v] : by_kind)
      if (v.second > 0) state.counters[k + "_frac_peak"] = v.first / v.second / peak;
  }
  state.counters["peak_read_bw"] = peak;
}

void BM_DecodeLlama31_8B(benchmark::State& s) { decode_step(s, "meta-llama/Llama-3.1-8B"); }
void BM_DecodeQwen3_30B_A3B(benchmark::State& s) { decode_step(s, "Qwen/Qwen3-30B-A3B"); }
BENCHMARK(BM_DecodeLlama31_8B)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_DecodeQwen3_30B_A3B)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
