// Roofline predictions on a device: per op t = max(flops / peak(dtype), bytes / bandwidth),
// decode step and prefill latency, memory per device vs capacity, MoE expert reuse and the
// communication of tensor / expert / pipeline parallelism.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmcost/cost_model.h"
#include "llmcost/hardware.h"
#include "llmcost/model_ir.h"
#include "llmcost/parallel.h"

namespace llmcost {

// Roofline of one piece of work on one device.
struct RooflineTime {
  double compute_s = 0;  // flops / flops_per_s
  double memory_s = 0;   // bytes / bytes_per_s
  double time_s = 0;     // the larger of the two
  bool compute_bound = false;
};
RooflineTime roofline(double flops, double bytes, double flops_per_s, double bytes_per_s);

// A model prepared for many predictions at one quantization, KV dtype and routing: the
// per-op coefficients of cost_model.h's decode_step_cost / prefill_cost, with ops of equal
// cost merged into groups so a prediction is a short loop (tests check it against
// decode_step_cost and prefill_cost op for op).
struct OpGroup {
  std::string name;            // "model.layers.*.self_attn" (the members' names with the layer as *)
  OpKind kind = OpKind::Norm;
  std::vector<int> members;    // indices into CompiledModel::op_names
  ComputeDtype dtype = ComputeDtype::BF16;
  CostModel::OpConstants cost;  // the cost model's per-op constants, shared by every member
};

struct CompiledModel {
  std::shared_ptr<const ModelIR> ir;  // for validating parallel layouts
  std::string name;
  std::string source_file;
  QuantScheme quant = QuantScheme::BF16;
  QuantPolicy policy;
  // What the weights are stored as (weight_format_description): "as shipped: fp8 block-128 (...)"
  // or the what-if "nvfp4 (policy default)"; quant_label is its short form for table cells:
  // "as shipped (fp8)" or the scheme's name.
  std::string weight_format, quant_label;
  KvDtype kv = KvDtype::BF16;
  RoutingModel routing;
  int64_t n_layers = 0, d_model = 0, vocab_size = 0;
  std::vector<std::string> op_names;  // every IR op, in IR order
  std::vector<OpGroup> groups;
  // Memory: stored weight bytes per decoder layer (routed experts apart, all copies), and
  // outside the layers (embeddings on the first stage, final norm + lm_head on the last).
  std::vector<double> layer_dense_bytes, layer_expert_bytes;
  double pre_bytes = 0, post_bytes = 0;
  double total_weight_bytes = 0;  // == weight_bytes(ir, quant, policy)
  // KV: per layer, the attention spec (caps) and bytes per cached token; MLA layers keep one
  // latent cache per tensor-parallel rank (not split by heads).
  std::vector<AttentionSpec> layer_attn;
  std::vector<double> layer_kv_bytes_per_token;
  // Recurrent mixers: per layer, one sequence's constant state (conv + ssm), split over tp by heads.
  std::vector<double> layer_state_bytes;
  // Activation workspace per token: the residual plus the widest op output (bf16).
  double workspace_bytes_per_token = 0;
  int64_t n_moe_layers = 0, n_experts = 0, top_k = 0;
  // Sublayers (one residual add each) holding tensor-parallel compute: each ends in one all-reduce
  // under tp (2 per layer for attention + FFN; 1 for a Nemotron-H block; 0 for a no-op block). Of
  // them, those holding routed experts (an all-to-all instead under ep).
  int64_t n_tp_sublayers = 0, n_moe_sublayers = 0;
};

CompiledModel compile_model(const ModelIR& ir, QuantScheme quant, const QuantPolicy& policy, KvDtype kv,
                            const RoutingModel& routing);

// Share of each device's memory an engine may use, as vLLM's gpu_memory_utilization (default
// 0.9 there too: vllm/config/cache.py): the rest is left to the driver, other processes and
// allocator fragmentation.
constexpr double kDefaultMemUtil = 0.9;
// Tokens one forward pass takes at most (chunked prefill): vLLM's max_num_batched_tokens for its
// OpenAI server on a >= 70 GiB GPU (vllm/engine/arg_utils.py, EngineArgs.get_batch_defaults:
// 8192; 2048 on smaller GPUs and A100). It sizes the activation workspace.
constexpr int64_t kDefaultPrefillChunkTokens = 8192;

// Memory an engine holds on each device besides weights, KV cache and activations; named terms
// with sourced defaults (bytes, per device), applied to GPUs (HardwareSpec::kind "gpu") only.
struct EngineOverhead {
  // Runtime context and the kernels and library workspaces it loads (CUDA/HIP context, cuBLAS):
  // ~300 MB for the primary context alone (ollama, llama/patches/0024-ggml-Enable-resetting-
  // backend-devices.patch: "a primary context (~300 MB VRAM)"), 723 MiB for a PyTorch process
  // after its first CUDA call (discuss.pytorch.org/t/73021); 512 MiB between the two.
  double runtime_context_bytes = 512.0 * (1 << 20);
  // Captured CUDA graphs: vLLM logs 0.21 GiB (Llama-3.2-1B, vllm-project/vllm PR 11349) and
  // 0.36 GiB ("Estimated CUDA graph memory", vLLM 0.27, gpustack/runner PR 251); the larger.
  double cuda_graph_bytes = 0.36 * (1 << 30);
  // Collective-communication buffers when a replica spans devices (NCCL/RCCL, one communicator):
  // 544 MiB for a 2-GPU and 688 MiB for a 3-4-GPU communicator (4 x A100 NVLink, all-reduce;
  // NVIDIA/nccl issue 964). Larger groups are charged the 688 MiB.
  double comm_buffer_bytes_2 = 544.0 * (1 << 20);
  double comm_buffer_bytes_more = 688.0 * (1 << 20);
};

struct PredictRequest {
  int64_t batch = 1;          // sequences decoded together
  int64_t context = 4096;     // cached positions per sequence at the decode step
  int64_t prompt_tokens = 0;  // prefill length of one request (0: = context)
  ParallelConfig parallel;
  double memory_fraction = kDefaultMemUtil;  // share of each device's memory usable (--mem-util)
  int64_t prefill_chunk_tokens = kDefaultPrefillChunkTokens;  // tokens per forward pass at most
  EngineOverhead overhead;
  // Derated (default): the hardware YAML's efficiency block applies; Datasheet: the pure roofline.
  EfficiencyMode efficiency = EfficiencyMode::Derated;
  // Prompts prefilled together in the prefill phase (1: one request's time to first token; more:
  // a batch of prompts read the weights once per chunk, as continuous batching does).
  int64_t prefill_batch = 1;
  // Speculative decoding (--spec-tokens, --spec-acceptance): draft tokens proposed per step (0:
  // off) and the probability that each is accepted, in [0, 1] (assumed, not derived).
  int64_t spec_tokens = 0;
  double spec_acceptance = 0;
};

// Tokens one speculative step emits per sequence, expected, with n draft tokens each accepted with
// probability a (independently; the verify pass adds one of its own): (1 - a^(n+1)) / (1 - a),
// n + 1 at a = 1 (Leviathan et al. 2023, arXiv:2211.17192, eq. 1). Throws Error for n < 1 or a
// outside [0, 1].
double spec_tokens_per_step(int64_t n, double a);

// One op group on one device of its stage, per member op.
struct OpGroupTime {
  std::string name;
  std::vector<int> members;            // indices of the member ops in IR order (CompiledModel::op_names)
  std::vector<std::string> op_names;   // the member ops' IR names (profiler range names)
  OpKind kind = OpKind::Norm;
  int64_t count = 0;               // member ops (identical cost)
  ComputeDtype dtype = ComputeDtype::BF16;       // the op's arithmetic
  ComputeDtype peak_dtype = ComputeDtype::BF16;  // the unit whose peak was used
  double flops = 0, weight_bytes = 0, kv_bytes = 0, activation_bytes = 0;  // per device, per member
  RooflineTime t;                  // per member
  double bytes() const { return weight_bytes + kv_bytes + activation_bytes; }
};

struct CommVolume {
  double tp_allreduce_bytes = 0;  // sent per device per step, ring all-reduce 2(n-1)/n x message
  double ep_alltoall_bytes = 0;   // sent per device per step, dispatch + combine
  double pp_send_bytes = 0;       // stage-to-stage activations, per step in total
  int64_t n_collectives = 0;
  double time_s = 0;              // over the interconnect's per-direction bandwidth (+ latency when known)
};

struct PhaseResult {
  int64_t tokens = 0;        // tokens the phase produces (decode: batch) or consumes (prefill: prompt)
  double time_s = 0;         // ops (all stages in turn) + communication + fixed overhead
  int64_t passes = 1;        // forward passes (prefill: one per chunk of prefill_chunk_tokens)
  double overhead_s = 0;     // passes x step_overhead_s (derated only)
  double ops_s = 0;
  double compute_bound_s = 0, memory_bound_s = 0;  // ops_s split by each op's bound
  double flops = 0;          // per device, summed over stages (the devices a token passes through)
  double bytes = 0;          // per device, summed over stages
  double flops_all_devices = 0;  // the whole model's work (== cost_model's StepCost)
  double bytes_all_devices = 0;
  std::string bound;         // "memory", "compute" or "communication": the largest share of time_s
  // Expert parallel: the most loaded rank's routed (token, expert) pairs over the mean
  // (ep_load_imbalance at one pass's tokens; 1 without ep). Routed-expert FLOPs, activations and
  // the all-to-all are charged at it.
  double ep_imbalance = 1.0;
  CommVolume comm;
  std::vector<OpGroupTime> ops;
};

// Speculative decoding's step: one verify pass (the decode step with n + 1 tokens per sequence:
// weights read once, matmul and attention FLOPs and activations x (n + 1), the KV cache read once)
// plus the draft: n passes of the model's MTP layers (a model without them: not counted).
struct SpecResult {
  bool present = false;
  int64_t draft_tokens = 0;     // n
  double acceptance = 0;        // a
  double tokens_per_step = 0;   // spec_tokens_per_step(n, a), per sequence
  PhaseResult verify;           // tokens: sequences x (n + 1) checked
  bool draft_counted = false;   // the model has MTP layers
  PhaseResult draft;            // one draft pass of the MTP layers (tokens: one per sequence)
  double draft_s = 0;           // n x draft.time_s (0 when not counted)
  double step_s = 0;            // verify.time_s + draft_s
  double tokens_per_s_per_sequence = 0;  // tokens_per_step / step_s
  double tokens_per_s = 0;               // batch x the above
  std::string draft_note;       // what the draft cost is, or why it is not counted
};

struct MemoryResult {
  double weights_bytes = 0;     // per device, the fullest pipeline stage
  double kv_bytes = 0;          // per device at batch and context
  // Workspace per device for the tokens of one forward pass, T = min(max(sequences, prompt),
  // prefill chunk): T x (2 x d_model x 2 B (residual + normed input, bf16) + widest op output / tp
  // x 2 B) + sequences x vocab / tp x 4 B (fp32 logits of the sampled positions).
  double activation_bytes = 0;
  int64_t activation_tokens = 0;  // T above
  // Engine overhead per device (EngineOverhead; 0 on CPUs, communication only with > 1 device).
  double runtime_context_bytes = 0, cuda_graph_bytes = 0, comm_buffer_bytes = 0;
  double overhead_bytes() const { return runtime_context_bytes + cuda_graph_bytes + comm_buffer_bytes; }
  double per_device_bytes = 0;  // weights + KV + activations + overhead
  double capacity_bytes = 0;    // usable: device memory x memory_fraction
  double device_memory_bytes = 0;  // the spec's memory_bytes
  double memory_fraction = 1.0;    // as requested (--mem-util)
  bool fits = false;
  int64_t max_batch = 0;        // largest batch that fits at this context (0: the weights alone do not)
  // Largest context per sequence that fits at this batch, capped by the model's
  // max_position_embeddings when the config has one (0: not even one token fits).
  int64_t max_context = 0;
  std::string max_context_limit;  // "memory", "max_position_embeddings" or "search cap" (2^30 tokens)
  double model_weight_bytes = 0;      // all devices together
  double kv_bytes_per_sequence = 0;   // whole model, one sequence at context
  int stage = 0;                // the stage the figures are for
};

struct MoeResult {
  bool present = false;
  int64_t n_experts = 0, top_k = 0, n_moe_layers = 0;
  std::string routing;                  // the routing the bytes use
  double expected_experts_per_layer = 0;  // distinct experts one decode step reads, under `routing`
  double uniform_experts_per_layer = 0;   // E x (1 - (1 - k/E)^B)
  double zipf_s = 1.0;
  double zipf_experts_per_layer = 0;      // under zipf:zipf_s (the given s, else 1)
  double prefill_experts_per_layer = 0;   // for the prompt's tokens, under `routing`
};

struct Prediction {
  std::string model;
  std::string model_source;
  HardwareSpec hardware;
  EffectiveRates rates;
  AppliedEfficiency efficiency;  // the factors used and their label (datasheet / derated / calibrated)
  std::string quant, policy, kv_dtype;  // quant: the scheme's name ("auto" = as shipped)
  std::string weight_format;  // CompiledModel::weight_format
  PredictRequest request;
  ParallelLayout layout;
  PhaseResult decode;
  double tokens_per_s_per_sequence = 0;  // 1 / decode step
  double tokens_per_s = 0;               // batch / decode step
  PhaseResult prefill;                   // one request's prompt: time to first token
  MemoryResult memory;
  MoeResult moe;
  SpecResult spec;  // present when request.spec_tokens > 0
  std::vector<std::string> notes;
  // False when the request cannot run: a layout the model or device cannot form (no figures at
  // all then), a context past the model's max_position_embeddings, or memory that does not fit
  // (memory figures kept, no timing to be used). `reason` says why, in one line.
  bool runnable = true;
  std::string reason;
  bool has_figures = true;  // false: the layout could not be formed, nothing was computed
};

// Throws Error for batch < 1, context < 1, a memory fraction outside (0, 1], prefill chunk < 1,
// an impossible parallel layout (parallel.h). `with_ops` false skips the per-op list (for sweeps).
Prediction predict(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r, bool with_ops = true);
// The same, but a layout the model or device cannot form gives a Prediction with runnable and
// has_figures false and the layout error as its reason, instead of throwing.
Prediction predict_or_why(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r, bool with_ops = true);
// Seconds from the first prompt to the last output token of a batch served together: its prompts
// prefilled together (a prediction made with prefill_batch = batch), then output_tokens - 1 decode
// steps (the first token comes from the prefill). Continuous batching's steady state, where a
// sequence that finishes is replaced by a new one: batch x output_tokens per lifetime is the
// throughput. The one formula of plan throughput and `llmcost validate` / `check`.
double batch_lifetime_s(const Prediction& batched, int64_t output_tokens);
Prediction predict(const ModelIR& ir, const HardwareSpec& hw, const Workload& w, const ParallelConfig& par);

// Why `tokens` positions per sequence are past what the model was built for (its config's
// max_position_embeddings), or "" when they are not (or the config has no such key). predict()
// uses it for `runnable`; a plan checks it once per model, before any layout.
std::string past_max_positions(const CompiledModel& m, int64_t tokens);

// Every IR op's decode time (name, seconds per step) from a prediction's groups, in IR order,
// for lining up with profiler ranges.
std::vector<std::pair<std::string, double>> per_op_decode_s(const Prediction& p);

}  // namespace llmcost
