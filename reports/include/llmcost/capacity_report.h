// The capacity-planning page (`llmcost report`) and the hardware-sizing page (`llmcost compare
// --format html`): typed inputs that the CLI fills from the analyzer's plan and predictions,
// turned into a ReportDoc. Formatting only: every number shown is one of these fields.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/hardware.h"
#include "llmcost/kv_cache.h"
#include "llmcost/plan.h"
#include "llmcost/report_doc.h"

namespace llmcost {

struct WorkloadInfo {
  int64_t concurrency = 1;     // requests in flight (sequences decoded together, over all replicas)
  int64_t prompt_tokens = 0;   // per request
  int64_t output_tokens = 0;   // per request (0: a single prediction, no generation)
  int64_t context = 0;         // tokens cached per sequence for memory (prompt + output)
  std::vector<std::string> quants;  // weight schemes compared, "bf16", "int4_g128" ...
  std::string quant_policy;    // "default", "experts" ...
  std::string kv_dtype;        // "bf16", "fp8" ...
  std::string routing;         // "uniform", "zipf:1.2"
  std::optional<double> max_decode_step_s, max_ttft_s;  // latency targets
};

// One model on one kind of hardware at one quantization, per device of the chosen layout.
struct DeviceMemory {
  std::string hw, quant;
  int64_t devices = 1;          // devices of one replica
  std::string layout;           // "1 device", "tp=4", "tp=8, pp=2"
  double capacity_bytes = 0;    // usable memory of one device (its memory x mem_util)
  double weight_bytes = 0;      // per device (the fullest pipeline stage)
  double kv_bytes = 0;          // per device at the planned batch and full context
  double activation_bytes = 0;  // per device workspace
  bool fits = false;
  double overhead_bytes = 0;    // per device engine overhead (runtime context, CUDA graphs, NCCL buffers)
  double used_bytes() const { return weight_bytes + kv_bytes + activation_bytes + overhead_bytes; }
};

struct BatchPoint {
  int64_t batch = 1;
  double decode_step_s = 0;        // one decode step of `batch` sequences on one replica
  double decode_tokens_per_s = 0;  // batch / decode_step_s
  // MoE: distinct experts one decode step reads per MoE layer (0 for dense models).
  double experts_per_layer = 0;          // under the workload's routing
  double experts_per_layer_uniform = 0;  // E x (1 - (1 - k/E)^B)
  double experts_per_layer_zipf = 0;     // under zipf:s (ModelPlan::zipf_s)
};

// The batch sweep on one hardware (one replica of the planned layout, first quantization).
struct HwSweep {
  std::string hw, quant, layout;
  std::vector<BatchPoint> by_batch;  // ascending; ends where memory runs out
};

// One op group placed on a roofline: FLOPs and bytes of one member op in one step, its time.
struct OpPoint {
  std::string name;
  std::string phase;  // "decode" / "prefill"
  double flops = 0;
  double bytes = 0;
  double time_s = 0;
  bool memory_bound = true;
};

struct RooflineData {
  std::string hw, quant, layout;
  std::string dtype;  // compute dtype whose peak is drawn
  double peak_flops_per_s = 0;
  double mem_bw_bytes_per_s = 0;
  int64_t batch = 1, context = 0, prompt_tokens = 0;
  std::vector<OpPoint> ops;
};

// A run file (`llmcost run --format json`) shown beside the prediction.
struct MeasuredOp {
  std::string name;
  double predicted_s = 0;
  double measured_s = 0;
  double measured_p10_s = 0, measured_p90_s = 0;  // 0: not given
  double bytes = 0;
  double error_pct = 0;  // as the run file states it
};
struct RunData {
  std::string file, backend, device, model;
  std::string slice;  // the layers run, as the run file states them ("2", "dense:1,moe:2", "0, 1")
  int64_t batch = 0, context = 0;  // the run's workload (0: not stated)
  double read_bw_bytes_per_s = 0;
  double predicted_decode_step_s = 0, measured_decode_step_s = 0;
  double measured_p10_s = 0, measured_p90_s = 0;
  std::vector<MeasuredOp> ops;
};

struct QuantWeights {
  std::string quant;
  int64_t weight_bytes = 0;  // whole main model
  std::array<int64_t, kNumParamGroups> by_group{};
};

struct ModelPlan {
  Analysis analysis;
  std::vector<QuantWeights> weights;  // one per quantization compared
  KvCache kv;                         // one sequence at the workload's context
  std::vector<DeviceMemory> memory;   // feasible (hardware, quant) pairs
  std::vector<std::string> not_fitting;  // "l4 (bf16): reason": pairs that are not runnable
  std::vector<PlanRow> rows;          // the plan rows of this model
  std::vector<HwSweep> sweeps;
  std::vector<RooflineData> roofline;
  int64_t n_experts = 0, top_k = 0;  // MoE: routed experts per layer, used per token (0: dense)
  double zipf_s = 1.0;               // the skew of the zipf comparison curve
};

struct ReportInput {
  std::string title;
  std::string source;  // scenario file, or the compare command line
  std::string description;
  WorkloadInfo workload;
  std::vector<std::string> assumptions;  // stated on the page (routing, quantization, efficiency ...)
  std::vector<std::string> missing;      // what could not be shown, and why
  std::vector<HardwareSpec> hardware;
  std::vector<std::string> price_sources;  // "h100-sxm: $2.49/h (source)"
  std::vector<ModelPlan> models;
  std::optional<RunData> run;
};

// Indices of the points no other point beats on both axes: cost (lower is better) and speed
// (higher is better); a point equal to another on both is kept once (the first). Sorted by cost.
std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& speed);

// Every model on every hardware: summary, memory, devices, throughput, cost, roofline,
// predicted vs measured.
ReportDoc capacity_report(const ReportInput& in);
// One model across hardware (the sizing comparison); uses in.models[0].
ReportDoc sizing_report(const ReportInput& in);
// The sizing page as one self-contained HTML file (for `llmcost compare --format html`).
std::string compare_html(const ReportInput& in);

}  // namespace llmcost
