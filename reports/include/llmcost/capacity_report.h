// The capacity-planning page (`llmcost report`) and the hardware-sizing page (`llmcost compare
// --format html`): typed inputs that the CLI fills from the analyzer's results, turned into a
// ReportDoc. Formatting only: every number shown is one of these fields in display units.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/hardware.h"
#include "llmcost/kv_cache.h"
#include "llmcost/report_doc.h"

namespace llmcost {

struct WorkloadInfo {
  int64_t batch = 1;          // concurrent sequences
  int64_t context = 0;        // tokens in each sequence's KV cache
  int64_t prompt_tokens = 0;  // prefill length per sequence
  std::string quant;          // weight scheme name, "bf16", "int4_g128" ...
  std::string quant_policy;   // "default", "experts" ...
  std::string kv_dtype;       // "bf16", "fp8" ...
  std::string routing;        // "uniform", "zipf:1.2"
};

// One model on one kind of hardware, per device.
struct DeviceMemory {
  std::string hw;
  int64_t devices = 1;        // devices used (the smallest layout that fits, or the largest tried)
  std::string layout;         // "1 device", "tp=4", "tp=8, pp=2"
  double capacity_bytes = 0;  // memory of one device
  double weight_bytes = 0;      // per device (the fullest pipeline stage)
  double kv_bytes = 0;          // per device at the workload's batch and context
  double activation_bytes = 0;  // per device; 0 = not estimated
  bool fits = false;
  int64_t max_batch = -1;       // largest batch that fits at the context with this layout; -1 = unknown
  std::string note;
  double used_bytes() const { return weight_bytes + kv_bytes + activation_bytes; }
};

struct BatchPoint {
  int64_t batch = 1;
  double decode_step_s = 0;       // one decode step of `batch` sequences
  double decode_tokens_per_s = 0; // batch / decode_step_s
  double prefill_s = 0;           // prefill of `batch` prompts (0 = not predicted)
};

struct HwPerformance {
  std::string hw;
  std::string layout;
  std::vector<BatchPoint> by_batch;  // ascending batch; includes the workload's batch
  BatchPoint at_workload;
  std::string decode_bound;          // "memory" / "compute": what limits the decode step
  bool calibrated = false;           // calibrated rates used (else datasheet peaks)
  std::optional<double> usd_per_device_hour;
  std::optional<double> usd_per_million_tokens;  // decode at the workload's batch
};

// One op placed on a roofline: FLOPs and bytes of the op in one step and its predicted time.
struct OpPoint {
  std::string name;
  std::string phase;  // "decode" / "prefill"
  double flops = 0;
  double bytes = 0;
  double time_s = 0;
  bool memory_bound = true;
};

struct RooflineData {
  std::string hw;
  std::string dtype;  // compute dtype whose peak is drawn
  double peak_flops_per_s = 0;
  double mem_bw_bytes_per_s = 0;
  std::vector<OpPoint> ops;
};

// A run file (`llmcost run --format json`) shown beside the prediction.
struct MeasuredOp {
  std::string name;
  double predicted_s = 0;
  double measured_s = 0;
  double bytes = 0;
  double error_pct = 0;
};
struct RunData {
  std::string file, backend, device, model;
  int64_t slice_layers = 0;
  double read_bw_bytes_per_s = 0;
  double predicted_decode_step_s = 0, measured_decode_step_s = 0;
  double measured_p10_s = 0, measured_p90_s = 0;
  std::vector<MeasuredOp> ops;
};

struct ModelPlan {
  Analysis analysis;
  int64_t weight_bytes = 0;  // whole model under the workload's scheme
  std::array<int64_t, kNumParamGroups> weight_bytes_by_group{};
  KvCache kv;                // one sequence at the workload's context
  std::vector<DeviceMemory> memory;   // per hardware
  std::vector<HwPerformance> perf;    // per hardware (empty: not predicted)
  std::vector<RooflineData> roofline; // ops placed on a roof (usually the first hardware)
};

struct ReportInput {
  std::string title;
  std::string source;  // scenario file, or the compare command line
  WorkloadInfo workload;
  std::vector<std::string> assumptions;  // stated on the page (routing, quantization, efficiency ...)
  std::vector<std::string> missing;      // what could not be shown, and why
  std::vector<HardwareSpec> hardware;
  std::vector<ModelPlan> models;
  std::optional<RunData> run;
};

// Every model on every hardware: memory, fit, throughput, roofline, predicted vs measured.
ReportDoc capacity_report(const ReportInput& in);
// One model across hardware (the sizing comparison); uses in.models[0].
ReportDoc sizing_report(const ReportInput& in);
// The sizing page as one self-contained HTML file (for `llmcost compare --format html`).
std::string compare_html(const ReportInput& in);

}  // namespace llmcost
