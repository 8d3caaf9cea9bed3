// CI gate speed: `ci check` of a record of N measurements (and one model of N metrics) against
// a baseline of the same N names in reverse order. Linear in N since issue 14 (hash lookups).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "llmcost/ci_gate.h"

namespace {

llmcost::ci::Record record(int64_t n) {
  llmcost::ci::Record r;
  llmcost::ci::ModelRecord m;
  m.model = "m";
  for (int64_t i = 0; i < n; ++i) {
    llmcost::ci::Measurement x;
    x.name = "op:layers." + std::to_string(i) + ".mlp";
    x.median_s = 1e-3;
    x.noise_rel = 0.01;
    x.read_bw_bytes_per_s = 2e10;
    r.measurements.push_back(x);
    llmcost::ci::AnalyticValue v;
    v.key = "metric." + std::to_string(i);
    v.int_value = i;
    m.metrics.push_back(v);
  }
  r.models.push_back(m);
  return r;
}

// Arg: N measurements (and N metrics) on each side.
void BM_CiCheck(benchmark::State& state) {
  const llmcost::ci::Record base = record(state.range(0));
  llmcost::ci::Record cur = record(state.range(0));
  std::reverse(cur.measurements.begin(), cur.measurements.end());
  std::reverse(cur.models[0].metrics.begin(), cur.models[0].metrics.end());
  for (auto _ : state) benchmark::DoNotOptimize(llmcost::ci::check(base, cur, {}));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CiCheck)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
