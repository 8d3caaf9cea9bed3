// `llmcost run`'s measurement: prepare a slice on a backend, time warm-up + measured decode steps
// (and prefills), and pair every IR op's measured time with the cost model's roofline prediction
// under calibrated read bandwidth and GEMM FLOP/s. Typed result; the CLI formats it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/backend.h"
#include "llmcost/hardware.h"
#include "llmcost/model_ir.h"
#include "llmcost/profiler.h"

namespace llmcost {

// Hardware-counter pass after the timing steps (per-op DRAM bytes). Auto: the backend's counter
// profiler when it has one, else none (the reason is kept in RunResult::counters_unavailable).
// Off: none. Fake: a stand-in that reports each op range's executed bytes (its bytes annotation)
// as DRAM bytes read and 0 written, so the counter path runs end to end without a device (the
// CPU stand-in of scripts/gpu-check); its figures measure nothing.
enum class CounterMode { Auto, Off, Fake };
// "auto", "off", "fake"; nullopt otherwise.
std::optional<CounterMode> parse_counter_mode(const std::string& text);
// Most replays of the counter step before the pass is given up as incomplete.
constexpr int kMaxCounterPasses = 16;

// The counter pass's replay protocol: runs step(pass) (one decode step under `counters`) inside
// one outermost "counter_step" range per replay until a record of category "op" carries DRAM bytes
// (a counter profiler that needs several passes fills them once it has every metric), at most
// kMaxCounterPasses times. Returns the replays made.
int replay_counter_step(Profiler& counters, const std::function<void(int pass)>& step);
// Per op name, over the "op" records that carry DRAM bytes (one per replay that measured the op):
// the mean bytes read and written (a write figure < 0 counts as 0). Ops without counts are absent.
struct DramCounts {
  double read_bytes = 0, write_bytes = 0;
  int records = 0;
};
std::map<std::string, DramCounts> dram_by_op(const std::vector<RangeRecord>& records);

// The stand-in counter profiler of CounterMode::Fake: host timing as CpuProfiler, and
// dram_read_bytes = the range's bytes annotation, dram_write_bytes = 0 on every record.
std::unique_ptr<Profiler> make_fake_counter_profiler();

struct RunOptions {
  std::string backend = "cpu";
  std::string layers;           // select_layers() spec; empty = every layer
  int64_t batch = 1;            // sequences decoded together
  int64_t context = 1024;       // cached positions per sequence at the first measured step
  int64_t prompt = 0;           // prefill length per sequence; 0 = no prefill
  int64_t tokens = 8;           // measured decode steps
  int64_t warmup = 2;           // unmeasured decode steps before them
  int64_t prefill_reps = 2;     // measured prefills (after one warm-up prefill)
  RoutingOverride routing;
  int threads = 0;              // 0: every hardware thread
  WeightDtype weight_dtype = WeightDtype::BF16;
  uint64_t seed = 1;
  std::string weights_path;     // safetensors; empty = synthetic weights
  bool keep_trace = false;      // keep the profiler records in RunResult::trace
  CounterMode counters = CounterMode::Auto;
  std::optional<bool> cuda_graph;  // cuda only: decode steps as CUDA graphs (true) or plain launches (false)
  std::function<void(const std::string&)> progress;  // called with short status lines
};

// From a hardware spec (a `llmcost calibrate` YAML): effective_rates(), the dtype's GEMM rate.
RunCalibration calibration_from_hardware(const HardwareSpec& hw, WeightDtype dt);
// Measures read bandwidth and GEMM FLOP/s now on the run's backend (Backend::calibrate).
RunCalibration calibrate_in_process(const RunOptions& opts, const std::function<void(const std::string&)>& progress);

struct OpRow {
  std::string name;
  OpKind kind = OpKind::Norm;
  int layer = -1;
  double predicted_s = 0;
  bool predicted_compute_bound = false;
  Stats measured_s;               // over measured steps (seconds)
  double bytes = 0;               // moved per step as executed (weights read + KV read), mean over steps
  double predicted_bytes = 0;     // the cost model's weight + KV + activation bytes
  double flops = 0;               // executed per step, mean over steps
  double achieved_bw_bytes_per_s = 0;  // bytes / measured median
  double error_pct = 0;           // (predicted - measured) / measured x 100
  double distinct_experts = 0;    // RoutedExperts: measured mean; 0 otherwise
  double predicted_distinct_experts = 0;
  double dram_read_bytes = -1;    // counter pass: DRAM bytes read / written in one decode step; < 0 = not measured
  double dram_write_bytes = -1;
};

struct RunResult {
  std::string model;
  std::string backend, device;
  std::string routing;            // routing_override_name()
  std::string weight_dtype;       // "bf16" / "fp32"
  std::vector<int> layers;        // decoder layer indices of the slice
  int64_t params = 0;             // parameters of the slice (count_params total)
  int64_t weight_bytes = 0;       // stored bytes of the slice in the weight dtype
  RunCalibration calibration;
  int64_t batch = 0, context = 0, prompt = 0, tokens = 0, threads = 0;

  double predicted_decode_step_s = 0;
  double predicted_decode_bytes = 0;  // the cost model's weight + KV + activation bytes of one decode step
  double predicted_prefill_s = 0;  // 0 without a prefill
  Stats decode_step_s;
  double decode_bytes = 0;         // per step, as executed
  double achieved_bw_bytes_per_s = 0;
  Stats prefill_s;                 // n = 0 without a prefill
  std::vector<double> distinct_experts_per_layer;   // measured mean per MoE layer
  std::vector<std::vector<int64_t>> distinct_experts_per_step;  // [measured step][MoE layer]
  double predicted_distinct_experts = 0;            // per MoE layer, the cost model's expectation
  std::vector<OpRow> ops;          // decode step, IR order
  std::vector<OpRow> prefill_ops;  // prefill, IR order (empty without a prefill)
  std::optional<bool> cuda_graph;  // as RunOptions::cuda_graph
  // The counter pass: which profiler ran it ("cupti", "fake"; empty when none ran), how many
  // replays of the decode step it took, why it did not run, and the step's DRAM bytes (sum over
  // the op ranges that carry them; < 0 = not measured).
  std::string counter_source;
  int counter_passes = 0;
  std::string counters_unavailable;
  double dram_read_bytes = -1, dram_write_bytes = -1;
  std::vector<RangeRecord> trace;  // when keep_trace
  ProfilerNotes profiler_notes;    // the profiler's own notes (CUPTI: dropped records, unattributed work ...)
};

// The slice `opts` selects and the backend options the run will prepare it with.
ModelIR run_slice(const ModelIR& ir, const RunOptions& opts);
BackendOptions run_backend_options(const RunOptions& opts);
// Refuses (Error stating both figures) a run whose slice memory exceeds what the backend has
// free, before anything is allocated or calibrated.
void check_run_fits(const ModelIR& ir, const RunOptions& opts);

// Throws Error for bad options, a slice that does not fit, unsupported ops.
RunResult run_measurement(const ModelIR& ir, const RunOptions& opts, const RunCalibration& cal);

}  // namespace llmcost
