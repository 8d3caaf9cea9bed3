// Serving-benchmark result files (analyzer/measure/measured.cpp) and the efficiency fit to them
// (analyzer/measure/fit.cpp).
//
// The fixtures in tests/data/serving are written by us in each tool's documented format; their
// figures are invented (plausible, not measured). Field names follow:
//   vLLM        vllm-project/vllm vllm/benchmarks/serve.py @ 009e6d4a1cd6 (benchmark(): `result` dict:
//               duration, completed, total_input_tokens, total_output_tokens, request_throughput,
//               output_throughput, mean_/median_/std_/pNN_{ttft,tpot,itl,e2el}_ms; main(): date,
//               endpoint_type, backend, label, model_id, tokenizer_id, num_prompts, request_rate
//               ("inf" when unpaced), burstiness, max_concurrency, and --metadata KEY=VALUE pairs)
//   SGLang      sgl-project/sglang python/sglang/bench_serving.py (`result` dict appended as one JSON
//               line to --output-file: backend, dataset_name, request_rate, max_concurrency, ...,
//               total_output_tokens_retokenized, mean_e2e_latency_ms, ..., concurrency)
//   TensorRT-LLM NVIDIA/TensorRT-LLM tensorrt_llm/bench/dataclasses/reporting.py @ 0249976575050
//               (get_statistics_dict: engine, machine, world_info, request_info, performance,
//               streaming_metrics)
//   AIPerf      ai-dynamo/aiperf docs/tutorials/working-with-profile-exports.md (copy nvda-ci/aiperf
//               @ 8e6a033d162b): profile_export_aiperf.json, {unit, avg, pNN} per metric, input_config
//   llama-bench ggml-org/llama.cpp tools/llama-bench (README "JSON" output; fields model_filename,
//               model_type, n_prompt, n_gen, n_depth, avg_ns, avg_ts, build_commit)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "llmcost/kv_cache.h"
#include "llmcost/measured.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;
const std::string kConfigDir = LLMCOST_CONFIG_DIR;
const std::string kServing = std::string(LLMCOST_TEST_DATA) + "/serving/";

MeasuredDefaults with_hw(const std::string& hw = "h100-sxm", const std::string& model = "") {
  MeasuredDefaults d;
  d.hw = hw;
  d.model = model;
  return d;
}

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("llmcost_measured_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  }
};

TEST(Measured, VllmSaveResult) {
  auto runs = load_measured(kServing + "vllm_llama-3.1-8b_h100_c8.json", MeasuredDefaults{});
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0];
  EXPECT_EQ(r.format, "vllm");
  EXPECT_EQ(r.model, "meta-llama/Llama-3.1-8B");  // model_id
  EXPECT_EQ(r.hw, "h100-sxm");                    // --metadata hardware=h100-sxm
  EXPECT_EQ(r.tp, 1);                             // --metadata tensor_parallel_size=1 (a string)
  EXPECT_EQ(r.input_len, 1024);                   // 204800 / 200
  EXPECT_EQ(r.output_len, 128);                   // 25600 / 200
  EXPECT_EQ(r.concurrency, 8);
  EXPECT_DOUBLE_EQ(*r.ttft_s, 0.0452);
  EXPECT_DOUBLE_EQ(*r.tpot_s, 0.00752);
  EXPECT_DOUBLE_EQ(*r.throughput_tokens_per_s, 999.6);
  auto cs = measured_cases(r);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].metric, "ttft_s");
  EXPECT_EQ(cs[2].metric, "throughput_tokens_per_s");
  EXPECT_EQ(cs[1].count, 1);
}

TEST(Measured, SglangJsonlWithPythonInfinity) {
  auto runs = load_measured(kServing + "sglang_llama-3.1-8b_h100.jsonl", with_hw("h100-sxm", "meta-llama/Llama-3.1-8B"));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].format, "sglang");
  EXPECT_EQ(runs[0].where(), kServing + "sglang_llama-3.1-8b_h100.jsonl#1");
  EXPECT_EQ(runs[0].model, "meta-llama/Llama-3.1-8B");  // from --model: the file names none
  EXPECT_EQ(runs[1].concurrency, 64);
  EXPECT_EQ(runs[1].input_len, 1024);
  EXPECT_EQ(runs[1].output_len, 256);
  EXPECT_DOUBLE_EQ(*runs[1].tpot_s, 0.014);
}

TEST(Measured, TrtllmBenchReport) {
  auto runs = load_measured(kServing + "trtllm-bench_llama-3.1-70b-fp8_tp2.json", with_hw());
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0];
  EXPECT_EQ(r.format, "trtllm-bench");
  EXPECT_EQ(r.engine, "TensorRT-LLM 1.0.0");
  EXPECT_EQ(r.model, "meta-llama/Llama-3.1-70B");
  EXPECT_EQ(r.precision, "fp8");  // engine.quantization FP8
  EXPECT_EQ(r.tp, 2);
  EXPECT_EQ(r.concurrency, 32);  // round(31.7)
  EXPECT_EQ(r.input_len, 2048);
  EXPECT_DOUBLE_EQ(*r.ttft_s, 0.352);
  EXPECT_DOUBLE_EQ(*r.throughput_tokens_per_s, 2500.0);
}

TEST(Measured, AiperfExport) {
  auto runs = load_measured(kServing + "aiperf_qwen3-8b_h100_c16.json", with_hw());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].format, "aiperf");
  EXPECT_EQ(runs[0].model, "Qwen/Qwen3-8B");
  EXPECT_EQ(runs[0].concurrency, 16);
  EXPECT_EQ(runs[0].output_len, 256);
  EXPECT_DOUBLE_EQ(*runs[0].tpot_s, 0.00875);
}

TEST(Measured, LlamaBenchPpAndTg) {
  auto runs = load_measured(kServing + "llama-bench_llama-3.1-8b-f16.json", with_hw("h100-sxm", "meta-llama/Llama-3.1-8B"));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].model, "meta-llama/Llama-3.1-8B");  // model_filename is not readable here
  EXPECT_DOUBLE_EQ(*runs[0].ttft_s, 512.0 / 9000.0);    // pp512: n_prompt / avg_ts
  EXPECT_FALSE(runs[0].tpot_s);
  EXPECT_DOUBLE_EQ(*runs[1].tpot_s, 1.0 / 95.0);  // tg128: 1 / avg_ts
  EXPECT_EQ(runs[1].output_len, 128);
  // Without --model, the path on the benchmark machine is named.
  try {
    load_measured(kServing + "llama-bench_llama-3.1-8b-f16.json", with_hw());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model_filename: \"/models/Llama-3.1-8B-F16.gguf\" is not readable here; pass --model"),
              std::string::npos)
        << e.what();
  }
}

std::string error_of(const std::string& path, const MeasuredDefaults& d = with_hw()) {
  try {
    load_measured(path, d);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Measured, BadInputsNameFileAndField) {
  TempDir t;
  const std::string base =
      R"("model_id": "meta-llama/Llama-3.1-8B", "max_concurrency": 4, "total_input_tokens": 4000, "total_output_tokens": 400, "mean_ttft_ms": 20.0)";
  // missing field
  auto f1 = t.write("a.json", "{" + base + "}");
  EXPECT_EQ(error_of(f1), f1 + ": unknown result format; expected vLLM `bench serve --save-result` JSON (completed, mean_ttft_ms), "
                               "SGLang bench_serving JSONL, trtllm-bench --report_json (world_info, performance), AIPerf/GenAI-Perf "
                               "profile export (time_to_first_token.avg) or llama-bench -o json (n_prompt, avg_ts)");
  auto f2 = t.write("b.json", R"({"completed": 10, "mean_ttft_ms": 20.0, "total_output_tokens": 400})");
  EXPECT_EQ(error_of(f2), f2 + ": total_input_tokens: missing; expected a number (tokens)");
  // wrong type
  auto f3 = t.write("c.json", "{" + base + R"(, "completed": "ten"})");
  EXPECT_EQ(error_of(f3), f3 + ": completed: expected a number (requests), got the string \"ten\"");
  auto f4 = t.write("d.json", "{" + base + R"(, "completed": 10, "tensor_parallel_size": "two"})");
  EXPECT_EQ(error_of(f4), f4 + ": tensor_parallel_size: expected a whole number, got \"two\"");
  // no hardware anywhere
  auto f5 = t.write("e.json", "{" + base + R"(, "completed": 10})");
  EXPECT_EQ(error_of(f5, MeasuredDefaults{}), f5 + ": hardware: missing; benchmark result files do not name the GPU, pass --hw");
  // a JSONL line that is not JSON
  auto f6 = t.write("f.jsonl", "{" + base + R"(, "completed": 10})" + "\n{oops\n");
  EXPECT_EQ(error_of(f6).rfind(f6 + ":2: not JSON", 0), 0u) << error_of(f6);
  // trtllm-bench: an unknown quantization names the field
  auto f7 = t.write("g.json", R"({"engine": {"model": "meta-llama/Llama-3.1-8B", "quantization": "W4A8_MAGIC"},
    "world_info": {"tp_size": 1}, "request_info": {"avg_num_concurrent_requests": 2, "avg_input_length": 100, "avg_output_length": 10},
    "performance": {"system_output_throughput_tok_s": 100}})");
  EXPECT_EQ(error_of(f7).rfind(f7 + ": engine.quantization: \"W4A8_MAGIC\" has no llmcost scheme of that name", 0), 0u) << error_of(f7);
  // AIPerf: a metric in an unexpected unit
  auto f8 = t.write("h.json", R"({"time_to_first_token": {"unit": "s", "avg": 0.04}, "input_sequence_length": {"unit": "tokens", "avg": 10},
    "output_sequence_length": {"unit": "tokens", "avg": 10}, "input_config": {"loadgen": {"concurrency": 1}}})");
  EXPECT_EQ(error_of(f8), f8 + ": time_to_first_token.unit: expected \"ms\", got \"s\"");
  for (const auto& f : {f1, f2, f3, f4, f5, f6, f7, f8}) EXPECT_EQ(error_of(f).find('\n'), std::string::npos);
}

// Little's law where the client set no concurrency cap: requests in flight = request throughput x
// mean request latency (vLLM mean_e2el_ms) = 2.0 / s x 3.0 s = 6.
TEST(Measured, ConcurrencyFromLittlesLaw) {
  TempDir t;
  auto f = t.write("r.json", R"({"model_id": "meta-llama/Llama-3.1-8B", "request_rate": 2.0, "max_concurrency": null,
    "completed": 100, "total_input_tokens": 10000, "total_output_tokens": 10000, "request_throughput": 2.0,
    "mean_ttft_ms": 50, "mean_tpot_ms": 10, "mean_e2el_ms": 3000, "output_throughput": 200})");
  auto runs = load_measured(f, with_hw());
  EXPECT_EQ(runs[0].concurrency, 6);
}

// SGLang bench_serving of late 2024 wrote medians only and no request_throughput (the line format of
// datacrunch-research/h200-benchmarks sglang/outputs/*.jsonl @ c091ef5; figures here invented):
// TTFT = median_ttft_ms, TPOT = median_itl_ms, each named in the run's note; requests in flight by
// Little's law from completed / duration = 300 / 150 s = 2 / s x mean_e2e_latency_ms 4 s = 8.
// A file with means keeps them and no note.
TEST(Measured, SglangLate2024MediansOnly) {
  TempDir t;
  auto f = t.write("old.jsonl", R"({"backend": "sglang", "dataset_name": "random", "request_rate": 2.0, "max_concurrency": null, "total_input_tokens": 30000, "total_output_tokens": 60000, "total_output_tokens_retokenized": 59990, "mean_e2e_latency_ms": 4000.0, "median_e2e_latency_ms": 3900.0, "median_ttft_ms": 80.0, "median_itl_ms": 12.5, "output_throughput": 400.0, "duration": 150.0, "completed": 300}
{"backend": "sglang", "dataset_name": "random", "request_rate": Infinity, "max_concurrency": null, "total_input_tokens": 30000, "total_output_tokens": 60000, "mean_e2e_latency_ms": 4000.0, "median_ttft_ms": 80.0, "mean_ttft_ms": 90.0, "median_itl_ms": 12.5, "mean_tpot_ms": 13.0, "output_throughput": 400.0, "request_throughput": 3.0, "duration": 150.0, "completed": 300}
)");
  auto runs = load_measured(f, with_hw("h100-sxm", "meta-llama/Llama-3.1-8B"));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].format, "sglang");
  EXPECT_EQ(runs[0].input_len, 100);
  EXPECT_EQ(runs[0].output_len, 200);
  EXPECT_DOUBLE_EQ(*runs[0].ttft_s, 0.080);
  EXPECT_DOUBLE_EQ(*runs[0].tpot_s, 0.0125);
  EXPECT_DOUBLE_EQ(*runs[0].throughput_tokens_per_s, 400.0);
  EXPECT_EQ(runs[0].concurrency, 8);
  EXPECT_EQ(runs[0].note, "medians, not means (the file has no mean): TTFT = median_ttft_ms, TPOT = median_itl_ms");
  EXPECT_DOUBLE_EQ(*runs[1].ttft_s, 0.090);
  EXPECT_DOUBLE_EQ(*runs[1].tpot_s, 0.013);
  EXPECT_EQ(runs[1].concurrency, 12);  // the file's request_throughput 3 / s x 4 s
  EXPECT_EQ(runs[1].note, "");
  // Neither request_throughput nor duration: nothing to derive the requests in flight from.
  auto g = t.write("nodur.jsonl", R"({"backend": "sglang", "max_concurrency": null, "total_input_tokens": 300, "total_output_tokens": 600, "mean_e2e_latency_ms": 4000.0, "median_ttft_ms": 80.0, "output_throughput": 400.0, "completed": 3})");
  try {
    load_measured(g, with_hw("h100-sxm", "meta-llama/Llama-3.1-8B"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), g + ": max_concurrency: null, and no request_throughput (or duration) with request latency to "
                                         "derive it from; pass --concurrency");
  }
}

// A hardware YAML's profiles: parsed, applied over the efficiency block, refused by unknown name.
TEST(Measured, ProfileWrittenAndApplied) {
  TempDir t;
  HardwareSpec hw = load_hardware("h100-sxm", kConfigDir);
  EfficiencyFit f{0.8, 0.5, 0.004, 3e-5};
  std::string yaml = hardware_yaml_with_profile(hw, "vllm", "vllm-0.11", f, "test fit");
  auto path = t.write("h.yaml", yaml);
  HardwareSpec h2 = load_hardware(path, kConfigDir);
  ASSERT_EQ(h2.profiles.size(), 1u);
  EXPECT_EQ(h2.profiles[0].engine, "vllm-0.11");
  HardwareSpec p = apply_profile(h2, "vllm");
  EXPECT_DOUBLE_EQ(p.efficiency.mem_bw_fraction->value, 0.8);
  EXPECT_DOUBLE_EQ(p.efficiency.collective_latency_s->value, 3e-5);
  EXPECT_DOUBLE_EQ(p.efficiency.gemm_m_half->value, hw.efficiency.gemm_m_half->value);  // not in the profile: kept
  EXPECT_DOUBLE_EQ(apply_profile(h2, "").efficiency.mem_bw_fraction->value, hw.efficiency.mem_bw_fraction->value);
  // A second profile keeps the first; rewriting one replaces it.
  HardwareSpec h3 = load_hardware(t.write("h3.yaml", hardware_yaml_with_profile(h2, "sglang", "sglang", f, "x")), kConfigDir);
  EXPECT_EQ(h3.profiles.size(), 2u);
  HardwareSpec h4 = load_hardware(t.write("h4.yaml", hardware_yaml_with_profile(h3, "vllm", "vllm-0.12", f, "y")), kConfigDir);
  ASSERT_EQ(h4.profiles.size(), 2u);
  EXPECT_EQ(h4.profiles[1].engine, "vllm-0.12");
  try {
    apply_profile(h2, "trt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": profiles: no profile \"trt\"; expected one of: vllm");
  }
}

// calibrate --from recovers known figures: vLLM result files generated from h100-sxm at known
// efficiency figures (plus +-2% noise on every measured figure), read back, fit from the YAML's own
// figures as the start; every figure within 5% and a held-out error reported.
TEST(Measured, CalibrateRecoversKnownFigures) {
  TempDir t;
  HardwareSpec hw = load_hardware("h100-sxm", kConfigDir);
  const EfficiencyFit truth{0.78, 0.62, 0.0045, 3.5e-5};
  HardwareSpec true_hw = with_efficiency(hw, truth, "truth");
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(-0.02, 0.02);
  struct Layout {
    const char* model;
    int64_t tp;
  };
  const Layout layouts[] = {{"meta-llama/Llama-3.1-8B", 1}, {"meta-llama/Llama-3.1-8B", 2}, {"meta-llama/Llama-3.1-70B", 4},
                            {"meta-llama/Llama-3.1-70B", 8}, {"Qwen/Qwen3-8B", 1}};
  std::vector<std::string> files;
  int n = 0;
  for (const auto& l : layouts) {
    CompiledModel m = compile_model(load_model(l.model, kConfigDir), QuantScheme::Auto, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
    for (int64_t conc : {1, 16, 64}) {
      for (auto [in, out] : {std::pair<int64_t, int64_t>{1024, 128}, {4096, 256}}) {
        PublishedCase c;
        c.model = l.model;
        c.precision = "auto";
        c.kv_dtype = "bf16";
        c.gpu = "h100-sxm";
        c.tp = l.tp;
        c.count = l.tp;
        c.input_len = in;
        c.output_len = out;
        c.concurrency = conc;
        double v[3];
        const char* metrics[] = {"ttft_s", "tpot_s", "throughput_tokens_per_s"};
        for (int k = 0; k < 3; ++k) {
          c.metric = metrics[k];
          auto r = predict_published(c, m, true_hw, EfficiencyMode::Derated);
          ASSERT_TRUE(r.ok) << r.why;
          v[k] = r.predicted * (1.0 + noise(rng));
        }
        char buf[1024];
        std::snprintf(buf, sizeof buf,
                      R"({"backend": "vllm", "model_id": "%s", "tensor_parallel_size": %lld, "hardware": "h100-sxm", "max_concurrency": %lld,
                      "completed": 100, "total_input_tokens": %lld, "total_output_tokens": %lld, "mean_ttft_ms": %.9g,
                      "mean_tpot_ms": %.9g, "output_throughput": %.9g})",
                      l.model, static_cast<long long>(l.tp), static_cast<long long>(conc), static_cast<long long>(100 * in),
                      static_cast<long long>(100 * out), v[0] * 1e3, v[1] * 1e3, v[2]);
        files.push_back(t.write("run" + std::to_string(++n) + ".json", buf));
      }
    }
  }
  std::vector<PublishedCase> fit, hold;
  int i = 0;
  for (const auto& f : files)
    for (const auto& r : load_measured(f, MeasuredDefaults{})) {
      const bool held = ++i % 4 == 0;
      for (const auto& c : measured_cases(r, held ? "holdout" : "fit")) (held ? hold : fit).push_back(c);
    }
  EfficiencyFit start;  // the YAML's figures
  start.mem_bw_fraction = hw.efficiency.mem_bw_fraction->value;
  start.tensor_fraction = hw.efficiency.tensor_fraction->value;
  start.step_overhead_s = hw.efficiency.step_overhead_s->value;
  start.collective_latency_s = hw.efficiency.collective_latency_s->value;
  FitResult res = fit_efficiency(fit, hold, hw, kConfigDir, start);
  auto near = [](double got, double want) { return std::fabs(got / want - 1.0); };
  EXPECT_LT(near(res.fit.mem_bw_fraction, truth.mem_bw_fraction), 0.05) << res.fit.mem_bw_fraction;
  EXPECT_LT(near(res.fit.tensor_fraction, truth.tensor_fraction), 0.05) << res.fit.tensor_fraction;
  EXPECT_LT(near(res.fit.step_overhead_s, truth.step_overhead_s), 0.05) << res.fit.step_overhead_s;
  EXPECT_LT(near(res.fit.collective_latency_s, truth.collective_latency_s), 0.05) << res.fit.collective_latency_s;
  for (bool d : res.determined) EXPECT_TRUE(d);
  ASSERT_FALSE(res.holdout_results.empty());
  auto s = summarize_by_metric(res.holdout_results);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().metric, "all");
  EXPECT_LT(s.back().median_abs_error, 0.03);  // the noise is +-2%
  std::printf("recovered: mem_bw_fraction %.4f (truth %.4f), tensor_fraction %.4f (%.4f), step_overhead_s %.6f (%.6f), "
              "collective_latency_s %.3g (%.3g); fit rms log error %.4f; held-out median |error| %.2f%% over %d figures; "
              "%d evaluations\n",
              res.fit.mem_bw_fraction, truth.mem_bw_fraction, res.fit.tensor_fraction, truth.tensor_fraction,
              res.fit.step_overhead_s, truth.step_overhead_s, res.fit.collective_latency_s, truth.collective_latency_s,
              res.fit_rms_log_error, 100 * s.back().median_abs_error, s.back().n, res.evaluations);
}

// With every run on one device, collective latency is not determined and stays at its start.
TEST(Measured, UndeterminedFigureKept) {
  HardwareSpec hw = load_hardware("h100-sxm", kConfigDir);
  auto runs = load_measured(kServing + "vllm_llama-3.1-8b_h100_c8.json", MeasuredDefaults{});
  auto cs = measured_cases(runs[0]);
  EfficiencyFit start;
  FitResult res = fit_efficiency(cs, {}, hw, kConfigDir, start);
  EXPECT_FALSE(res.determined[3]);
  EXPECT_DOUBLE_EQ(res.fit.collective_latency_s, start.collective_latency_s);
}

}  // namespace
}  // namespace llmcost
