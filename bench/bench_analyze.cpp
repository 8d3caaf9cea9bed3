// Analyzer speed per bundled model: parse + build IR + analyze() (everything `llmcost analyze`
// computes after reading the file: counts, weight bytes per scheme, KV, FLOPs), load_model
// (read + parse + build + count) and count only. Goal: under 1 ms per model, DeepSeek-V3 included.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace {

using namespace llmcost;

struct Model {
  std::string name, path, text;
  ModelIR ir;
};

// Config text is read once: the benchmark measures parsing and analysis, not the disk.
const std::vector<Model>& models() {
  static const std::vector<Model> m = [] {
    std::vector<Model> out;
    const std::string dir = default_config_dir();
    for (const auto& b : list_bundled_models(dir)) {
      Model x;
      x.name = b.hf_id;
      x.path = b.path;
      x.text = read_text_file(b.path);
      x.ir = build_model_ir(parse_json(x.text, b.path), b.path);
      out.push_back(std::move(x));
    }
    return out;
  }();
  return m;
}

// JSON text -> Value -> ModelIR -> Analysis.
void BM_Analyze(benchmark::State& state, const Model* m) {
  for (auto _ : state) {
    Analysis a = analyze(build_model_ir(parse_json(m->text, m->path), m->path));
    benchmark::DoNotOptimize(a.params.total);
  }
  state.counters["layers"] = static_cast<double>(m->ir.n_layers);
}

// The same including the file read and model lookup (`load_model`).
void BM_LoadModel(benchmark::State& state, const Model* m) {
  const std::string dir = default_config_dir();
  for (auto _ : state) {
    ParamCounts c = count_params(load_model(m->path, dir));
    benchmark::DoNotOptimize(c.total);
  }
}

// Walk an already built IR.
void BM_CountOnly(benchmark::State& state, const Model* m) {
  for (auto _ : state) {
    ParamCounts c = count_params(m->ir);
    benchmark::DoNotOptimize(c.total);
  }
}

const bool kRegistered = [] {
  for (const auto& m : models()) {
    benchmark::RegisterBenchmark(("analyze/" + m.name).c_str(), BM_Analyze, &m)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("load_model/" + m.name).c_str(), BM_LoadModel, &m)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("count_only/" + m.name).c_str(), BM_CountOnly, &m)->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
