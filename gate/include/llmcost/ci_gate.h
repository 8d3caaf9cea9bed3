// CI regression gate: records of analytic numbers (exact) and measured timings (median and
// spread, with the machine's calibrated bandwidth), read from our baseline files, `llmcost run`
// JSON or Google Benchmark JSON, and the comparison of a current record against a baseline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/value.h"

namespace llmcost::ci {

// One analytic number: exact integers (counts, bytes, FLOPs) or a real (compared to 1e-12).
struct AnalyticValue {
  std::string key;   // "params.total", "params.breakdown.attention", ...
  std::string unit;  // "parameters", "bytes", "FLOP"
  bool is_int = true;
  int64_t int_value = 0;
  double real_value = 0.0;
};

struct ModelRecord {
  std::string model;  // what the loader resolves: bundled HF id, alias or path
  std::vector<AnalyticValue> metrics;
};

// One measured timing.
struct Measurement {
  std::string name;             // "decode_step", "op:layers.0.mlp", "BM_Gemv/4096"
  double median_s = 0.0;
  double noise_rel = 0.0;       // relative half-spread: (p90 - p10) / (2 median), or stddev / median
  double read_bw_bytes_per_s = 0.0;  // calibrated read bandwidth of the machine; 0 = unknown
  int64_t bytes = 0;            // bytes the work moves, when known (0 = unknown)
  int64_t samples = 0;          // repetitions the median is taken over (0 = unknown)
  std::string source;           // file it came from
};

struct Record {
  std::string llmcost_version;  // who wrote it ("" for records older than the field; record_json stamps this build)
  std::vector<ModelRecord> models;
  std::vector<Measurement> measurements;
};

// The analytic numbers of one analyzed model: parameter counts and breakdown, weight bytes per
// quantization scheme (default policy) and as shipped, KV bytes per token and at 4096 tokens per
// cache dtype, matmul / attention FLOPs of a decoded token at 4096 and of a 1024-token prefill.
ModelRecord analytic_record(const std::string& model, const Analysis& a);

// Reads a baseline/current file: our record (`llmcost ci record`), an `llmcost run --format json`
// output, or Google Benchmark JSON (--benchmark_format=json / --benchmark_out). Throws
// ConfigError naming the file, the JSON pointer and what was expected.
Record parse_record(const Value& doc, const std::string& file);
Record load_record(const std::string& path);

// Measurements from one `llmcost run` JSON or Google Benchmark JSON document (for `ci record`).
std::vector<Measurement> parse_measurements(const Value& doc, const std::string& file);

// Measurements from one file of any kind `ci record --measured` takes: run JSON, Google Benchmark
// JSON, or a serving-benchmark result file as `llmcost check` reads it (vLLM, SGLang,
// trtllm-bench, AIPerf/GenAI-Perf, llama-bench). A serving run gives one measurement per figure,
// named "serving FORMAT MODEL IN/OUT cCONC tpN FIGURE", in seconds: ttft_s, tpot_s, and
// s_per_output_token (1 / output throughput, so that slower is larger as for every timing).
std::vector<Measurement> load_measurements(const std::string& path);

// Our record as JSON (exact integers).
std::string record_json(const Record& r);

struct CheckOptions {
  double tolerance_pct = 5.0;           // allowed slow-down of a normalized median, beyond noise
  std::vector<std::string> declared;    // "MODEL:KEY" globs (* matches anything) of intended analytic changes
  // A median over fewer repetitions than this (in the baseline or the current record, where the
  // file says how many) is not compared: too few samples to tell a slow-down from noise. 0: off.
  int64_t min_samples = 0;
};

enum class Status {
  Same,          // analytic equal / measured within tolerance and noise
  Declared,      // analytic changed, and the change was declared
  Changed,       // analytic changed, undeclared: a regression
  Missing,       // in the baseline, not in the current record (analytic: a regression)
  Added,         // new in the current record (informational: re-record the baseline)
  Slower,        // measured slower beyond tolerance + noise: a regression
  Faster,        // measured faster beyond tolerance + noise (informational)
  NotCompared,   // measured in the baseline but nothing current to compare with
};
const char* status_name(Status s);

struct Finding {
  std::string subject;  // model id or "measured"
  std::string key;      // metric key or measurement name
  Status status = Status::Same;
  std::string baseline, current;  // values as text with units
  double change_pct = 0.0;        // relative change (measured: normalized)
  std::string note;               // threshold used, normalization, ...
  bool is_regression() const;
};

struct CheckResult {
  std::vector<Finding> findings;
  int64_t analytic_compared = 0;
  int64_t measured_compared = 0;
  double tolerance_pct = 0.0;
  int64_t regressions() const;
  bool clean() const { return regressions() == 0; }
};

CheckResult check(const Record& baseline, const Record& current, const CheckOptions& opts);

// Glob match with `*` (any run of characters).
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace llmcost::ci
