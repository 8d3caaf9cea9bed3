// Measurements from serving engines: the result files of common benchmark clients read into
// runs (model, hardware, layout, lengths, concurrency, measured TTFT / TPOT / throughput), each
// run turned into PublishedCase rows so that published.cpp's one mapping predicts them, and the
// fit of a hardware's global efficiency figures to such runs (`llmcost calibrate --from`).
//
// Formats (field names as written by each tool; sources in docs/MEASURED.md and the tests):
//   vllm         `vllm bench serve --save-result` JSON (vllm/benchmarks/serve.py)
//   sglang       `python -m sglang.bench_serving --output-file` JSONL, one run per line
//   trtllm-bench `trtllm-bench ... --report_json` (tensorrt_llm/bench/dataclasses/reporting.py)
//   aiperf       AIPerf profile_export_aiperf.json / GenAI-Perf profile_export_genai_perf.json
//   llama-bench  `llama-bench -o json` (an array of tests; pp tests give TTFT, tg tests TPOT)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/hardware.h"
#include "llmcost/published.h"
#include "llmcost/value.h"

namespace llmcost {

// What the command line says where a file does not (the file's own figures come first).
struct MeasuredDefaults {
  std::string model, hw, engine;
  std::string precision = "auto", kv_dtype = "bf16";
  std::optional<int64_t> tp, ep, pp, concurrency;
  // false (the CI gate, which compares runs with runs, not with predictions): a file naming no
  // model or hardware is read anyway, with those left as the file has them (possibly empty).
  bool require_model_and_hw = true;
};

struct MeasuredRun {
  std::string file;   // the result file
  int index = 0;      // 1-based run within the file (JSONL line, array element); 1 for single-run files
  std::string format;  // vllm | sglang | trtllm-bench | aiperf | llama-bench
  std::string engine;  // "vllm", "sglang", "TensorRT-LLM 0.x", ... (format name when the file says none)
  std::string model, hw, precision, kv_dtype;
  int64_t tp = 1, ep = 1, pp = 1;
  int64_t input_len = 0, output_len = 0;  // mean tokens per request
  int64_t concurrency = 1;                // requests in flight (0 = all queued at once, "max")
  // Measured figures, each in seconds or output tokens per second; absent when the file has none.
  std::optional<double> ttft_s, tpot_s, throughput_tokens_per_s;
  // Where a figure is not the mean the report's header promises (a file with medians only), the
  // fields it was read from, printed under the table; empty otherwise.
  std::string note;
  std::string where() const { return file + (index > 0 ? "#" + std::to_string(index) : ""); }
};

// Reads one result file; the format is recognised from its fields. Throws Error with one line
// naming the file, the field (JSON path) and what was expected.
std::vector<MeasuredRun> load_measured(const std::string& path, const MeasuredDefaults& defaults);

// The format of a parsed result document ("vllm", "sglang", "trtllm-bench", "aiperf",
// "llama-bench"; an array by its first element), or "" when it is none of them.
std::string measured_format(const Value& doc);

// One PublishedCase per measured figure (metric ttft_s, tpot_s, throughput_tokens_per_s), for
// predict_published. `role` is copied into each case.
std::vector<PublishedCase> measured_cases(const MeasuredRun& r, const std::string& role = "fit");

// A run and the prediction of each figure it measured (measured_cases order: ttft, tpot, throughput).
struct CheckedRun {
  MeasuredRun run;
  std::vector<PublishedResult> results;
};
// Per metric over every predicted figure: "ttft_s", "tpot_s", "throughput_tokens_per_s", then "all".
struct MetricSummary {
  std::string metric;
  int n = 0, not_predicted = 0;
  double median_abs_error = 0;  // median |predicted / measured - 1|
  double worst_ratio = 1;       // farthest from 1 in log terms
};
std::vector<MetricSummary> summarize_by_metric(const std::vector<PublishedResult>& rs);

// ---- calibrate --from: fit the hardware's global efficiency figures to measured cases.

// The four figures a fit sets (gemm_m_half stays as the YAML has it).
struct EfficiencyFit {
  double mem_bw_fraction = 0.9, tensor_fraction = 0.55, step_overhead_s = 0.003, collective_latency_s = 2e-5;
};
// `hw` with its efficiency block's four figures replaced by `f` (source: `source`).
HardwareSpec with_efficiency(const HardwareSpec& hw, const EfficiencyFit& f, const std::string& source);

struct FitResult {
  EfficiencyFit fit;
  double fit_rms_log_error = 0;  // sqrt(mean (log predicted/measured)^2) over the fit cases
  std::vector<PublishedResult> fit_results, holdout_results;  // at the fitted figures
  int evaluations = 0;
  // Per figure (mem_bw_fraction, tensor_fraction, step_overhead_s, collective_latency_s): false when
  // no fit case depends on it (e.g. collective latency with every run on one device); it is then
  // kept at its starting value.
  bool determined[4] = {false, false, false, false};
};

// Minimises the summed squared log ratio over `fit_cases` (Nelder-Mead on log figures, started
// from `start`; fractions capped at 1), then predicts `holdout_cases` at the result. Every case
// must name `hw.name`'s hardware (the fit runs on `hw`, not the bundled spec). Throws Error when a
// fit case cannot be predicted.
FitResult fit_efficiency(const std::vector<PublishedCase>& fit_cases, const std::vector<PublishedCase>& holdout_cases,
                         const HardwareSpec& hw, const std::string& config_dir, const EfficiencyFit& start);

// The hardware YAML text with `profiles: {name: {...}}` holding `f` added (an existing profile of
// that name replaced; other profiles kept). Parsed back before it is returned.
std::string hardware_yaml_with_profile(const HardwareSpec& hw, const std::string& name, const std::string& engine,
                                       const EfficiencyFit& f, const std::string& source);

}  // namespace llmcost
