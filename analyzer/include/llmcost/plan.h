// Capacity planning (`llmcost plan SCENARIO.yaml`) and hardware sizing (`llmcost compare`):
// scenarios read into typed structs, and results kept typed so every report can draw them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/cost_model.h"
#include "llmcost/hardware.h"
#include "llmcost/roofline.h"

namespace llmcost {

struct ScenarioHardware {
  std::string name;                          // a bundled name or a path, as load_hardware takes
  std::optional<double> usd_per_device_hour;  // price of one device for one hour
  std::string price_source;                   // where the price comes from
};

struct Scenario {
  std::string name;
  std::string title;                // optional, for reports
  std::string source_file;
  std::vector<std::string> models;  // as load_model takes
  bool all_models = false;          // `models: all`: every bundled model (run_plan expands it)
  std::vector<ScenarioHardware> hardware;
  bool all_hardware = false;        // `hardware: all`: every bundled spec
  std::map<std::string, double> prices;  // prices_usd_per_device_hour: by hardware name
  std::vector<QuantScheme> quants;
  QuantPolicy policy;
  KvDtype kv = KvDtype::BF16;
  RoutingModel routing;
  int64_t concurrency = 1;      // requests in flight to serve at once
  int64_t prompt_tokens = 1;    // per request
  int64_t output_tokens = 1;    // generated per request
  std::optional<double> max_decode_step_s;  // latency target: time between output tokens
  std::optional<double> max_ttft_s;         // latency target: time to first token
  int64_t max_devices_per_replica = 8;      // `max_devices`: largest tp x pp a replica may use
  double memory_fraction = kDefaultMemUtil; // `mem_util` (or `memory_fraction`): share of device memory usable
  int64_t prefill_chunk_tokens = kDefaultPrefillChunkTokens;  // workload `prefill_chunk_tokens`
  std::vector<int64_t> batches;             // optional batch sweep for reports
  std::string roofline_hardware;            // optional, for reports
};

// Reads a scenario YAML (or JSON); errors name the file and the pointer. `spec` is a path or a
// name in <config_dir>/scenarios.
Scenario load_scenario(const std::string& spec, const std::string& config_dir);
Scenario parse_scenario(const Value& doc, const std::string& file);

// One model x hardware x quantization of a plan.
struct PlanRow {
  std::string model, hardware, quant;
  // Its keys: indices into the scenario's models, quants and hardware (PlanResult::row).
  size_t model_index = 0, quant_index = 0, hardware_index = 0;
  bool feasible = false;        // false: not runnable (no layout within max_devices can run it)
  std::string reason;           // why not runnable, or which target was missed
  ParallelConfig parallel;      // the layout of one replica
  int64_t devices_per_replica = 0;
  int64_t replicas = 0;
  int64_t devices = 0;          // replicas x devices_per_replica
  int64_t max_concurrency_per_replica = 0;  // memory (and latency target) limit at prompt + output
  int64_t batch_per_replica = 0;            // ceil(concurrency / replicas)
  double decode_step_s = 0;     // at batch_per_replica, context prompt + output / 2 (the mean)
  double ttft_s = 0;            // prefill of one prompt
  double request_latency_s = 0; // ttft + output x decode step
  double tokens_per_s_per_sequence = 0;
  double output_tokens_per_s = 0;  // all replicas: batch x output / batch_lifetime_s (prompts prefilled together, then decode)
  bool meets_latency = true;
  std::string bound;            // what limits the decode step
  double per_device_bytes = 0, capacity_bytes = 0;  // at the planned batch and the full context
  std::optional<double> usd_per_device_hour;
  std::optional<double> usd_per_million_output_tokens;
  // Why this layout won, against the best runner-up ("dp-attention 8 x ep 8 (8 devices): fewest
  // devices; tp 8 needs 16 ..."), and every other layout that could run it, best first, each one
  // line: layout, devices, max concurrency per replica, KV per device, output tokens/s.
  std::string layout_why;
  std::vector<std::string> runner_ups;
};

struct PlanResult {
  Scenario scenario;
  std::vector<HardwareSpec> hardware;  // as used, with their sources
  std::vector<PlanRow> rows;           // model, then quant, then hardware; read them through row()
  // The row of scenario.models[model], quants[quant], hardware[hw]: the one place that knows the
  // order. Throws Error (internal) when out of range or when the row there has other keys.
  const PlanRow& row(size_t model, size_t quant, size_t hw) const;
};

// Every combination, in scenario order (model, then quant, then hardware); `all` expanded.
PlanResult run_plan(const Scenario& s, const std::string& config_dir);

// The request a plan predicts with for one layout: the scenario's prompt, memory share, prefill
// chunk, at `batch` sequences and `context` cached tokens. Reports re-predicting a plan row use it
// so that their figures are the plan's.
PredictRequest plan_request(const Scenario& s, const ParallelConfig& layout, int64_t batch, int64_t context);
// The contexts a plan row's figures are at: memory at prompt + output, decode step at the mean
// context prompt + output / 2.
int64_t plan_full_context(const Scenario& s);
int64_t plan_mean_context(const Scenario& s);

// The plan for one combination (compiled model at the scenario's quant).
PlanRow plan_one(const CompiledModel& m, const HardwareSpec& hw, const Scenario& s,
                 std::optional<double> usd_per_device_hour);

// The fewest devices (powers of two up to max_devices; tp <= 8 first, then pp, for MoE then ep) whose layout can run
// `r` (Prediction::runnable; r.parallel ignored); nullopt when none within max_devices can.
std::optional<ParallelConfig> smallest_fitting_layout(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r,
                                                      int64_t max_devices);

// The layouts a plan and compare try for n devices (a power of two): tp a power of two up to 8
// (one node's NVLink domain) times pp, the widest tp first; for a mixture-of-experts model (`moe`)
// then expert parallelism over all n devices: data-parallel attention (tp 1, ep n: how DeepSeek
// and Kimi are served), tp min(n, 8) with ep n, each without pp.
std::vector<ParallelConfig> plan_layouts(int64_t n, bool moe = false);

// Per device count (1, 2, 4 ... up to max_devices; 1 only without an interconnect): the first
// layout of plan_layouts(n) that can be formed, with the largest concurrency that fits at r.context
// and the largest context that fits at r.batch.
struct DeviceCountFit {
  int64_t devices = 1;
  ParallelConfig layout;
  bool formed = false;        // false: no layout of n devices can be formed (reason says why)
  std::string reason;
  int64_t max_batch = 0;      // at r.context (0: not even one sequence)
  int64_t max_context = 0;    // at r.batch
  std::string max_context_limit;  // Prediction's MemoryResult::max_context_limit
};
std::vector<DeviceCountFit> fit_by_device_count(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r,
                                                int64_t max_devices);

// US dollars per million output tokens: `devices` devices at `usd_per_device_hour` each, making
// `tokens_per_s` output tokens per second between them: price x devices / (tokens/s x 3600) x 1e6.
// NaN when tokens_per_s is not positive.
double usd_per_million_tokens(double usd_per_device_hour, int64_t devices, double tokens_per_s);
// Where a hardware YAML's hourly price comes from: "FILE: /price/usd_per_device_hour, DATE (source)";
// empty when it has none.
std::string price_basis(const HardwareSpec& hw);

// `llmcost compare`: one model on several devices, same workload.
struct CompareRow {
  Prediction prediction;     // runnable false: prediction.reason says why (has_figures false: no layout formed)
  bool auto_layout = false;  // layout chosen by smallest_fitting_layout
  bool fits_any = true;      // false: no layout within the device limit can run it
};
struct CompareResult {
  std::string model;
  std::vector<CompareRow> rows;
};
// With auto_layout, each device gets the smallest layout that can run r (r.parallel ignored); a
// device where none within max_devices can is reported with fits_any false and the prediction of
// the largest layout tried. A fixed layout a device cannot form is a row that is not runnable.
CompareResult run_compare(const CompiledModel& m, const std::vector<HardwareSpec>& hws, const PredictRequest& r,
                          bool auto_layout, int64_t max_devices);

}  // namespace llmcost
