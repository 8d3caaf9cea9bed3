// Cost-model speed per bundled model: building a CostModel, evaluating a decode step from it
// (totals only, and with per-op rows), and the one-shot decode_step_cost. Goal: a totals-only
// decode under 10 us for every bundled model (DeepSeek-V3 included), so a sweep of 100,000
// predictions spends well under 1 s in the cost model on 2 cores.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "llmcost/cost_model.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"

namespace {

using namespace llmcost;

struct Model {
  std::string name;
  ModelIR ir;
};

const std::vector<Model>& models() {
  static const std::vector<Model> m = [] {
    std::vector<Model> out;
    const std::string dir = default_config_dir();
    for (const auto& b : list_bundled_models(dir)) out.push_back({b.hf_id, load_model(b.path, dir)});
    return out;
  }();
  return m;
}

const RoutingModel kZipf{RoutingModel::Zipf, 1.2};

void build_cost_model(benchmark::State& st, const Model* m) {
  for (auto _ : st) {
    CostModel cm(m->ir, QuantScheme::Q4_K_M, QuantPolicy{}, KvDtype::BF16);
    benchmark::DoNotOptimize(cm.ops().data());
  }
}

// Batches 1..64 and contexts 1k..64k in turn, Zipf routing (the slower expert count).
void decode_totals(benchmark::State& st, const Model* m, bool with_ops) {
  CostModel cm(m->ir, QuantScheme::INT4_G128, QuantPolicy{}, KvDtype::FP8);
  int64_t i = 0;
  for (auto _ : st) {
    StepCost s = cm.decode(1 + i % 64, 1024 << (i % 7), kZipf, with_ops);
    benchmark::DoNotOptimize(s.bytes);
    ++i;
  }
  st.counters["ops"] = static_cast<double>(cm.ops().size());
}

void decode_one_shot(benchmark::State& st, const Model* m) {
  Workload w;
  w.quant = QuantScheme::Q4_K_M;
  for (auto _ : st) benchmark::DoNotOptimize(decode_step_cost(m->ir, w).bytes);
}

void weight_bytes_all_schemes(benchmark::State& st, const Model* m) {
  for (auto _ : st)
    for (QuantScheme s : all_quant_schemes()) benchmark::DoNotOptimize(weight_bytes(m->ir, s, QuantPolicy{}));
}

const bool registered = [] {
  for (const auto& m : models()) {
    benchmark::RegisterBenchmark(("cost_model_build/" + m.name).c_str(), build_cost_model, &m);
    benchmark::RegisterBenchmark(("decode_totals/" + m.name).c_str(), decode_totals, &m, false);
    benchmark::RegisterBenchmark(("decode_with_ops/" + m.name).c_str(), decode_totals, &m, true);
    benchmark::RegisterBenchmark(("decode_step_cost/" + m.name).c_str(), decode_one_shot, &m);
    benchmark::RegisterBenchmark(("weight_bytes_21_schemes/" + m.name).c_str(), weight_bytes_all_schemes, &m);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
