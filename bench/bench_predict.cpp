// Prediction speed: a sweep of every bundled model x hardware x 4 weight formats x 8 batches x
// 10 contexts (103,680 predictions: decode, prefill, memory and max batch each), compiling each
// model per format inside the timing. Goal: 100,000 predictions in under 1 s on 2 cores.
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "llmcost/families.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"

namespace {

using namespace llmcost;

const std::vector<ModelIR>& models() {
  static const std::vector<ModelIR> m = [] {
    std::vector<ModelIR> out;
    const std::string dir = default_config_dir();
    for (const auto& b : list_bundled_models(dir)) out.push_back(load_model(b.path, dir));
    return out;
  }();
  return m;
}
const std::vector<HardwareSpec>& hardware() {
  static const std::vector<HardwareSpec> h = list_hardware(default_config_dir());
  return h;
}

const QuantScheme kQuants[] = {QuantScheme::BF16, QuantScheme::FP8, QuantScheme::INT4_G128, QuantScheme::Q4_K_M};
const int64_t kBatches[] = {1, 2, 4, 8, 16, 32, 64, 128};
const int64_t kContexts[] = {256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};

// Sweeps models [first, last) and returns the number of predictions made.
int64_t sweep(size_t first, size_t last, double* sink) {
  int64_t n = 0;
  double acc = 0;
  for (size_t mi = first; mi < last; ++mi) {
    for (QuantScheme q : kQuants) {
      CompiledModel cm = compile_model(models()[mi], q, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
      for (const auto& hw : hardware())
        for (int64_t b : kBatches)
          for (int64_t c : kContexts) {
            PredictRequest r;
            r.batch = b;
            r.context = c;
            Prediction p = predict(cm, hw, r, false);
            acc += p.decode.time_s + static_cast<double>(p.memory.max_batch);
            ++n;
          }
    }
  }
  *sink = acc;
  return n;
}

void BM_PredictSweep(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  models();
  hardware();
  int64_t predictions = 0;
  for (auto _ : st) {
    std::vector<std::thread> pool;
    std::vector<double> sinks(static_cast<size_t>(threads));
    std::atomic<int64_t> count{0};
    const size_t n = models().size();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        // Interleave models over threads so large and small models share the work.
        int64_t local = 0;
        double s = 0;
        for (size_t mi = static_cast<size_t>(t); mi < n; mi += static_cast<size_t>(threads)) {
          local += sweep(mi, mi + 1, &s);
          sinks[static_cast<size_t>(t)] += s;
        }
        count += local;
      });
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sinks.data());
    predictions = count.load();
  }
  st.counters["predictions"] = static_cast<double>(predictions);
  st.counters["predictions_per_s"] = benchmark::Counter(static_cast<double>(predictions) * static_cast<double>(st.iterations()),
                                                        benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PredictSweep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// One prediction with the per-op list (what `llmcost predict` does), per model.
void BM_PredictOne(benchmark::State& st) {
  const ModelIR& ir = models()[static_cast<size_t>(st.range(0))];
  CompiledModel cm = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  PredictRequest r;
  r.batch = 32;
  r.context = 4096;
  for (auto _ : st) benchmark::DoNotOptimize(predict(cm, hardware().front(), r, true).decode.time_s);
  st.SetLabel(ir.name);
}
BENCHMARK(BM_PredictOne)->DenseRange(0, 26)->Unit(benchmark::kMicrosecond);

// `llmcost predict` on a deep dense model: a generated llama config of N layers (100,000 is the
// most a config may have) built, compiled and predicted with the per-op list. Linear in N: a
// per-op walk over every layer once made 20,000 layers take 131 s.
void BM_PredictDeep(benchmark::State& st) {
  const std::string json = R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 128, "vocab_size": 1000, "num_hidden_layers": )" + std::to_string(st.range(0)) + "}";
  const Value config = parse_json(json, "deep.json");
  PredictRequest r;
  r.batch = 32;
  r.context = 4096;
  for (auto _ : st) {
    CompiledModel cm = compile_model(build_model_ir(config, "deep.json"), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16,
                                     RoutingModel{});
    benchmark::DoNotOptimize(predict(cm, hardware().front(), r, true).decode.time_s);
  }
  st.counters["layers"] = static_cast<double>(st.range(0));
}
BENCHMARK(BM_PredictDeep)->Arg(5000)->Arg(20000)->Arg(100000)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
