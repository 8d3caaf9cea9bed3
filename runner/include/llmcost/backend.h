// The runner's backend interface: prepare a model slice from the ModelIR, run decode steps and
// prefills, and report what each IR op did (bytes, FLOPs, distinct experts); the registry of
// backends by name with their availability (ggml-backend-reg idea); plus the slice selection
// (--layers), forced routing (--routing) and the memory check done before allocating.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmcost/dtype.h"
#include "llmcost/model_ir.h"
#include "llmcost/profiler.h"

namespace llmcost {

// How routed experts are chosen. Router: the router op on the weights (top-k of its scores).
// Uniform: top_k distinct experts uniformly at random per token. Zipf: top_k distinct experts
// drawn without replacement with P(expert i) ~ 1 / (i + 1)^zipf_s. Fixed: experts 0..top_k-1.
// Forced kinds still run the router op (its cost is real) and give each chosen expert the
// weight 1 / top_k. Draws come from the backend's seed and the step number: deterministic.
struct RoutingOverride {
  enum Kind { Router, Uniform, Zipf, Fixed } kind = Router;
  double zipf_s = 1.0;
};
// "router", "uniform", "zipf:S" (S > 0) or "fixed"; nullopt otherwise.
std::optional<RoutingOverride> parse_routing_override(const std::string& text);
std::string routing_override_name(const RoutingOverride& r);

// Decoder layers of a slice, in model order. "N": the first N layers. "dense:A,moe:B": the first
// A dense and the first B MoE layers (either may be left out). Throws Error naming the spec
// and what was expected (too many layers of a kind, bad syntax).
std::vector<int> select_layers(const ModelIR& ir, const std::string& spec);
// The IR with only `layers` (op names and layer indices kept, so HF tensor names still match)
// plus embeddings, final norm and lm_head. n_layers becomes layers.size(); MTP layers dropped.
ModelIR slice_model(const ModelIR& ir, const std::vector<int>& layers);

// What one op did in one step. Bytes are those it had to move from memory.
struct OpWork {
  std::string name;
  OpKind kind = OpKind::Norm;
  int layer = -1;
  double weight_bytes = 0;      // weights read (routed experts: the experts actually touched)
  double kv_bytes = 0;          // KV cache read (attention)
  double flops = 0;             // matmul + attention FLOPs
  int64_t distinct_experts = 0; // RoutedExperts: experts touched this step
};

struct StepWork {
  std::vector<OpWork> ops;                          // in execution order
  std::vector<int64_t> distinct_experts_per_layer;  // one entry per MoE layer of the slice
  int64_t tokens = 0;
};

struct BackendOptions {
  WeightDtype weight_dtype = WeightDtype::BF16;
  uint64_t seed = 1;           // synthetic weights, synthetic KV and forced routing
  int threads = 0;             // 0: every hardware thread
  RoutingOverride routing;
  std::string weights_path;    // safetensors file / directory with HF names; empty: synthetic
  int64_t max_batch = 1;       // sequences
  int64_t max_context = 64;    // cached positions per sequence (prefill + decode)
  int64_t max_step_tokens = 0; // most tokens in one decode/prefill call (scratch sizing); 0: max_batch x max_context
  bool check_memory = true;    // refuse a slice whose predicted memory exceeds MemAvailable
  bool cuda_graph = false;     // cuda: replay each decode step as a CUDA graph (run.cpp refuses it for other backends)
};

// The rates a run's predictions use, and where they came from.
struct RunCalibration {
  double read_bw_bytes_per_s = 0;
  double gemm_flops_per_s = 0;  // for the weight dtype the run uses
  std::string source;           // "calibrated in-process (...)" or the YAML path
  // In-process calibrations: the read bandwidth of every timed repetition (bytes/s; the run's
  // figure is their median), and the backend's own matmul timed at several row counts M on a
  // weight larger than the caches: {M, FLOP/s} by increasing M. A matmul of M rows is predicted
  // at the rate interpolated there (gemm_rate_at), so a small-M decode GEMM that is neither
  // memory- nor compute-bound is timed as the kernel runs it. Empty from a hardware YAML.
  std::vector<double> read_bw_samples;
  std::vector<std::pair<double, double>> gemm_rate_by_rows;
  std::string stability;        // how stable the read bandwidth was (spread; before vs between the steps); "" unknown
  bool unstable = false;        // the spread or the drift passed kUnstableSpread
  size_t samples_before_run = 0;  // read_bw_samples taken by the calibration; the rest between the run's steps
};
// A calibration whose read-bandwidth spread ((p90 - p10) / median) or drift between the samples
// before and after the run passes this is said to be unstable.
inline constexpr double kUnstableSpread = 0.10;
// The GEMM rate for a matmul of `rows` rows: log-log interpolation in gemm_rate_by_rows (held flat
// past its ends), gemm_flops_per_s when the table is empty.
double gemm_rate_at(const RunCalibration& c, double rows);
// The read bandwidth of read_bw_samples and its verdict: the best sample (a ceiling: a neighbour
// on a shared machine only ever slows a repetition down), the spread (p10..p90 over the median),
// and, when samples_before_run < their number, the drift between the calibration's samples and
// those taken between the run's steps. A drift past kUnstableSpread means the machine changed
// under the run: the figure (and every GEMM rate) is then scaled to the samples between the
// steps, and the calibration is marked unstable. Sets read_bw_bytes_per_s, stability, unstable.
void summarize_read_bw(RunCalibration& c);

// Memory a backend can still allocate, and where the figure comes from (for the refusal line).
struct FreeMemory {
  uint64_t bytes = 0;  // 0: unknown (no check)
  std::string source;  // "/proc/meminfo MemAvailable", "cudaMemGetInfo", ...
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;    // "cpu"
  virtual std::string device() const = 0;  // what runs it, in words
  // Allocates and fills the weights of `ir` (usually a slice_model()) and the KV cache.
  // Throws Error for an op or feature the backend does not execute, a slice that does not fit,
  // or a checkpoint that lacks a tensor.
  virtual void prepare(const ModelIR& ir, const BackendOptions& opts) = 0;
  // Empties every cache and sets the number of sequences (<= max_batch).
  virtual void reset(int64_t batch) = 0;
  // As reset(), then each cache holds `context` positions of deterministic synthetic K/V, so a
  // decode step at a long context can be measured without a long prefill.
  virtual void fill_kv(int64_t batch, int64_t context) = 0;
  // One decode step: tokens[b] is sequence b's next token (size = batch); each sequence's cache
  // grows by one. logits (optional) become [batch, vocab].
  virtual void decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) = 0;
  // Prefill: tokens [batch, seq_len] row-major appended to each sequence (causal). logits
  // (optional) become [batch * seq_len, vocab].
  virtual void prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits,
                       Profiler* prof) = 0;
  // The profiler that times this backend's work (host timers for the CPU; device timers for an
  // asynchronous backend), handed to decode()/prefill().
  virtual std::unique_ptr<Profiler> make_profiler() const = 0;
  // The profiler of a hardware-counter pass (run.cpp, after the timing steps): its records() carry
  // dram_read_bytes / dram_write_bytes per op range. The caller replays one decode step, each
  // replay inside one outermost "step" range, until the op records carry the counters (counter
  // profilers that need several passes collect one group of metrics per replay), at most
  // kMaxCounterPasses times. nullptr with *why_not set to one line when this backend or device
  // has no counters (not permitted, MIG, another profiler attached, built without CUPTI).
  virtual std::unique_ptr<Profiler> make_counter_profiler(std::string* why_not) const {
    *why_not = name() + " has no hardware counters";
    return nullptr;
  }
  // Measures read bandwidth and GEMM FLOP/s of this backend's device now, with its own matmul.
  virtual RunCalibration calibrate(int threads, WeightDtype dt,
                                   const std::function<void(const std::string&)>& progress) const = 0;
  // What prepare() may still allocate on this backend's device.
  virtual FreeMemory free_memory() const = 0;
  // One read-bandwidth sample as the calibration takes them (the same buffer past the caches,
  // allocated once), for the run to interleave with its decode steps; nullptr when the backend
  // has none (or the buffer does not fit).
  virtual std::function<double()> make_read_probe(int /*threads*/) const { return nullptr; }
  // What the last decode()/prefill() did, op by op.
  virtual const StepWork& last_step() const = 0;
  // One tensor's values by Hugging Face name (routed experts "<op>.<e>.<tensor>"), as fp32,
  // exactly as the backend multiplies them (bf16-rounded when stored in bf16). For tests.
  virtual std::vector<float> tensor_values(const std::string& hf_name) const = 0;
};

// Every backend this source tree knows, in order, whether this build can run it and why not.
struct BackendInfo {
  std::string name;         // "cpu", "cuda"
  bool available = false;
  std::string unavailable;  // empty when available: "built without the CUDA backend"
};
std::vector<BackendInfo> list_backends();
// A backend by name. Throws Error "cuda: not available: built without the CUDA backend" for a
// known backend this build cannot run, and one listing the known names for an unknown one.
std::unique_ptr<Backend> make_backend(const std::string& name);

// Bytes prepare() will allocate: the analyzer's weight bytes of the slice (bf16 or fp32) plus the
// KV cache of max_batch x max_context positions (bf16) plus activation scratch for max_step_tokens.
struct SliceMemory {
  int64_t weight_bytes = 0;
  int64_t kv_bytes = 0;
  int64_t scratch_bytes = 0;
  int64_t total_bytes() const { return weight_bytes + kv_bytes + scratch_bytes; }
};
SliceMemory predict_slice_memory(const ModelIR& slice, const BackendOptions& opts);
// /proc/meminfo MemAvailable in bytes; 0 when unknown (the host memory figure).
uint64_t available_memory_bytes();
// Throws Error "<model>: slice (<layers>) needs X GB (weights .., KV ..), only Y GB available
// (<free.source>)" when the prediction exceeds what is available; no check when free.bytes is 0.
void check_slice_fits(const ModelIR& slice, const SliceMemory& need, const FreeMemory& free);

}  // namespace llmcost
