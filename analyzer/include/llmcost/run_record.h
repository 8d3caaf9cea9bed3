// The run file: what `llmcost run --format json` writes, as one plain record with its writer and
// reader. The run command writes it, the CI gate and the report's predicted-vs-measured page read
// it; this is the only place that knows its keys. It lives in the analyzer because that is the one
// module every reader and the writer depend on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmcost/value.h"

namespace llmcost {

// One op of a measured step. Seconds, bytes and FLOPs per step.
struct RunOpRecord {
  std::string name;                  // IR op name: "model.layers.0.self_attn"
  std::string kind;                  // op kind name: "attention", "routed_experts", ...
  std::optional<double> predicted_s;  // always written; optional in files read (the CI gate does not need it)
  double measured_s = 0;             // median over the measured steps
  std::optional<double> measured_s_p10, measured_s_p90;
  double bytes = 0;                  // moved as executed (weights read + KV read), mean over steps
  double flops = 0;
  double achieved_bw_bytes_per_s = 0;
  double error_pct = 0;              // (predicted - measured) / measured x 100
  // Optional (written only when set; files from older runs lack them):
  std::optional<double> predicted_bytes;   // the cost model's weight + KV + activation bytes of the op per step
  std::optional<double> dram_read_bytes;   // counter pass: DRAM bytes read / written by the op in one step
  std::optional<double> dram_write_bytes;
};

// The counter pass of a run (`counters` object): which profiler measured DRAM bytes, in how many
// replays of the decode step, or why none did.
struct RunCounters {
  std::optional<std::string> source;       // "cupti", "fake" (the CPU stand-in); null when none ran
  int64_t passes = 0;
  std::optional<std::string> unavailable;  // one line: "cpu has no hardware counters", "counters: not permitted: ..."
};

struct RunRecord {
  std::string backend, device, model;
  // workload
  int64_t batch = 0, context = 0, prompt = 0, tokens = 0;
  std::string routing, weight_dtype;
  std::optional<bool> cuda_graph;  // workload.cuda_graph: cuda decode steps as CUDA graphs; absent for other backends
  // slice
  std::vector<int64_t> layers;  // decoder layer indices run
  std::string layers_spec;      // read only: a file that states the slice as a count or spec ("2", "dense:1,moe:2")
  int64_t params = 0, weight_bytes = 0;
  // calibration the predictions used
  double read_bw_bytes_per_s = 0, gemm_flops_per_s = 0;
  std::string calibration_source;
  std::string calibration_stability;  // calibration.stability: spread / drift of the read bandwidth; "" unknown
  bool calibration_unstable = false;  // calibration.unstable
  std::vector<std::pair<double, double>> gemm_flops_per_s_by_rows;  // calibration.gemm_flops_per_s_by_rows: [[M, FLOP/s], ...]
  // predicted
  double predicted_decode_step_s = 0;
  std::optional<double> predicted_prefill_s;  // written as null without a prefill
  double predicted_distinct_experts = 0;      // per MoE layer
  std::optional<double> predicted_decode_bytes;  // predicted.decode_bytes: weight + KV + activation bytes per step
  // measured
  std::optional<double> decode_step_s;  // median; always written, optional in files read
  std::optional<double> decode_step_s_p10, decode_step_s_p90;
  double decode_bytes = 0, achieved_bw_bytes_per_s = 0;
  std::optional<double> prefill_s;  // median; null without a prefill
  std::vector<double> distinct_experts_per_layer;
  std::vector<std::vector<int64_t>> distinct_experts_per_step;  // [measured step][MoE layer]
  std::optional<double> dram_read_bytes, dram_write_bytes;  // measured.*: counter pass, per decode step
  std::optional<RunCounters> counters;  // absent in files written before the counter pass existed
  std::optional<std::vector<RunOpRecord>> ops;  // decode step, IR order; always written, optional in files read
  std::vector<RunOpRecord> prefill_ops;

  // The slice in words: "0, 1", or the count / spec the file stated.
  std::string slice_text() const;
};

// The run file's JSON text (2-space indent, keys sorted, trailing newline).
std::string run_record_to_json(const RunRecord& r);

// Reads a parsed run file. `file` names it in errors: a ConfigError with the JSON pointer and what
// was expected (e.g. "run.json: /ops/3/measured_s must be a non-negative number of seconds").
RunRecord run_record_from_json(const Value& doc, const std::string& file);
RunRecord read_run_record(const std::string& path);

}  // namespace llmcost
