// Published serving measurements (tests/data/published/*.tsv) and llmcost's prediction of each:
// the one place a published case (model, precision, GPU, layout, lengths, concurrency, metric)
// becomes a PredictRequest and a predicted figure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmcost/hardware.h"

namespace llmcost {

struct PublishedCase {
  std::string file;  // the TSV and its line, for messages
  int line = 0;
  std::string model, precision, kv_dtype, gpu;
  int64_t count = 1, tp = 1, ep = 1, pp = 1;
  std::string engine;
  int64_t input_len = 0, output_len = 0;
  int64_t concurrency = 1;  // 0 = "max": every request queued at once
  std::string metric;       // ttft_s | tpot_s | e2e_latency_s | throughput_tokens_per_s | decode_tokens_per_s_per_user
  double value = 0;
  std::string role;    // "fit" (set the efficiency figures) or "holdout"
  std::string source;  // URL + date + table
};

// Reads one TSV or every *.tsv in a directory (sorted). Lines starting with '#' are comments; the
// first other line is the header (column names, any order). Throws Error naming file:line and column.
std::vector<PublishedCase> load_published(const std::string& path);

// Metric class for the error summary: "decode" (per-token latency at up to 16 requests in flight),
// "ttft", "throughput" (64 or more in flight, or max).
std::string published_class(const PublishedCase& c);

struct PublishedResult {
  PublishedCase c;
  bool ok = false;        // false: not predicted; `why` says why
  std::string why;
  double predicted = 0;   // same unit as c.value
  double ratio = 0;       // predicted / published
  int64_t batch = 0;      // sequences the prediction ran (concurrency capped by memory)
  std::string basis;      // "datasheet", "derated", ...
};

// Predicts one case with bundled models/hardware from config_dir. Model: prefill of the batch's
// prompts in chunks + (output_len - 1) decode steps at batch B (min(concurrency, largest batch
// that fits at input + output tokens)) and context input + output / 2.
PublishedResult predict_published(const PublishedCase& c, const std::string& config_dir, EfficiencyMode mode);
// The same with the model compiled and the hardware given (c.model, c.gpu, c.precision and
// c.kv_dtype are not read again): for fits that predict one case at many efficiency figures.
struct CompiledModel;
PublishedResult predict_published(const PublishedCase& c, const CompiledModel& m, const HardwareSpec& hw, EfficiencyMode mode);

struct ClassSummary {
  std::string cls, role;  // role "all", "fit" or "holdout"
  int n = 0;
  double median_abs_error = 0;  // median |predicted / published - 1|
  double worst_ratio = 1;       // the ratio farthest from 1 (in log terms)
};
std::vector<ClassSummary> summarize_published(const std::vector<PublishedResult>& rs);

}  // namespace llmcost
