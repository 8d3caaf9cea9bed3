// Per-op FLOPs and bytes of one decode step or one prefill (expected counts -> cost_of_counts, the one
// per-op formula), and the expected number of distinct experts a batch touches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/kv_cache.h"
#include "llmcost/model_ir.h"
#include "llmcost/quant.h"

namespace llmcost {

// How tokens pick experts. Uniform: every expert equally likely. Zipf: expert i (1-based, by
// popularity) chosen with probability proportional to 1 / i^zipf_s (zipf_s > 0).
struct RoutingModel {
  enum Kind { Uniform, Zipf } kind = Uniform;
  double zipf_s = 1.0;
};
// "uniform" or "zipf:S" (S > 0); nullopt otherwise.
std::optional<RoutingModel> parse_routing(const std::string& text);
std::string routing_name(const RoutingModel& r);  // "uniform", "zipf:1.2"

// Expected number of distinct experts (of n_experts) hit by `tokens` tokens that each pick
// top_k distinct experts. Uniform: E x (1 - (1 - k/E)^B). Zipf: each expert's per-token
// inclusion probability q_i = min(1, c x p_i) with c set so that sum q_i = k, then
// sum_i 1 - (1 - q_i)^B. Limits: tokens = 1 -> k; tokens -> infinity -> E; tokens = 0 -> 0.
double expected_distinct_experts(int64_t n_experts, int64_t top_k, int64_t tokens, const RoutingModel& r);

// Expert-parallel load imbalance: E[max over ep ranks of the (token, expert) pairs a rank gets] /
// the mean T x k / ep, for `tokens` tokens each routing to top_k distinct experts chosen uniformly
// out of n_experts, E / ep whole experts per rank. One token puts a hypergeometric count on a rank
// (mean k / ep, variance k (1/ep)(1 - 1/ep)(E - k)/(E - 1)); over T independent tokens a rank's
// load is ~ normal with sigma^2 = T x that, and the ep loads sum to T x k exactly (correlation
// -1/(ep - 1)), so load_r - mu = sigma sqrt(ep/(ep - 1)) (Z_r - mean Z) and
//   factor = 1 + sigma x sqrt(ep / (ep - 1)) x e(ep) / mu,  e(n) = E[max of n iid N(0, 1)],
// capped at the most a rank can get, T x min(k, E / ep) / mu. 1 when ep <= 1 or tokens <= 0.
// (ep = 2, E = 2, k = 1, T = 100: 1.0798; exact binomial 1.0796.) Routing is taken as uniform:
// engines spread hot experts over ranks (DeepSeek's EPLB), so a Zipf routing is not applied here.
double ep_load_imbalance(int64_t n_experts, int64_t top_k, int64_t tokens, int64_t ep);
// E[max of n iid standard normals] (0 for n <= 1), by quadrature of n x phi(x) Phi(x)^(n-1) x.
double expected_max_std_normal(int64_t n);

struct Workload {
  int64_t batch = 1;          // sequences decoded together
  int64_t context = 4096;     // positions in each sequence's cache at the decode step
  int64_t prompt_tokens = 0;  // prefill length per sequence (0: prefill_cost uses `context`)
  QuantScheme quant = QuantScheme::BF16;
  QuantPolicy policy;
  KvDtype kv = KvDtype::BF16;
  RoutingModel routing;
};

// The shape of a step: a decode step (one new token per sequence, attending to `context` cached
// positions) or a prefill of `per_seq` tokens per sequence (causal, lower triangle incl. diagonal).
struct StepShape {
  bool decode = true;
  int64_t per_seq = 1;
  int64_t context = 1;
};

// Cost of one IR op in one step. Bytes are what the op must move from memory.
struct OpCost {
  std::string name;  // IR op name ("layers.3.self_attn")
  OpKind kind = OpKind::Norm;
  int layer = -1;
  double flops = 0;            // matmul_flops + attention_flops
  double matmul_flops = 0;     // 2 x weights multiplied x tokens
  double attention_flops = 0;  // core attention (Attention ops) or the recurrent mixer's scan (Recurrent ops)
  double weight_bytes = 0;     // weights read once per step (RoutedExperts: the distinct experts touched)
  double kv_bytes = 0;         // KV cache read (decode) or written (prefill); recurrent state read + written
  double activation_bytes = 0; // op inputs read + outputs written, bf16
  // Arithmetic the op's matmuls run in, for choosing a peak: "bf16" | "fp8" | "int8" | "fp32".
  // Weight-only schemes (int4, nf4, mxfp4, GGUF ...) dequantize and run in bf16.
  std::string compute_dtype = "bf16";
  double distinct_experts = 0;  // RoutedExperts: expected distinct experts touched this step
  double bytes() const { return weight_bytes + kv_bytes + activation_bytes; }
};

struct StepCost {
  std::vector<OpCost> ops;  // in IR order: pre, layers, post
  double flops = 0;
  double bytes = 0;
  double weight_bytes = 0;
  double kv_bytes = 0;
  double activation_bytes = 0;
  int64_t tokens = 0;  // tokens processed by the step (decode: batch; prefill: batch x prompt)
  double mean_distinct_experts = 0;  // per MoE layer (0 for dense models)
};

// One decode step: `batch` sequences each produce one token attending to `context` positions.
// Throws Error for batch < 1 or context < 1.
StepCost decode_step_cost(const ModelIR& ir, const Workload& w);
// Prefill of `prompt_tokens` (or `context` when 0) per sequence for `batch` sequences,
// causal attention counted as the lower half of the S x S matrix (incl. the diagonal).
StepCost prefill_cost(const ModelIR& ir, const Workload& w);

// What one op did in one step, as counts: expected ones in the cost walk, counted ones in the
// runner's executor. CostModel::op_cost turns either into FLOPs and bytes with the same formulas.
struct OpCounts {
  double tokens = 0;        // rows of the step that pass through the op
  double copy_rows = 0;     // rows through one copy of the weights, summed over copies (experts: top_k x tokens)
  double copies_read = 1;   // copies whose weights are read (RoutedExperts: distinct experts touched)
  double gathered_rows = 0; // table rows read, each once (embeddings)
  double attended = 0;      // query-key pairs (attention): sum over rows of the positions attended
  double kv_positions = 0;  // cache positions moved (decode: read; prefill: written)
  double indexed = 0;       // query-position pairs a sparse-attention indexer scores
  double index_positions = 0;  // indexer key-cache positions moved (decode: read; prefill: written)
  double states_moved = 0;  // recurrent mixers: sequence states moved (decode: read + written = 2 per sequence; prefill: written)
};

// A model's per-op constants under one scheme, policy and KV dtype, computed once. Evaluating a
// workload is then one arithmetic pass over the ops, for sweeps over many batches / contexts.
// decode_step_cost / prefill_cost build one of these per call. Copies what it needs from the IR.
class CostModel {
 public:
  CostModel(const ModelIR& ir, QuantScheme quant, const QuantPolicy& policy, KvDtype kv);
  // As decode_step_cost / prefill_cost (same errors); with_ops = false leaves StepCost::ops empty.
  StepCost decode(int64_t batch, int64_t context, const RoutingModel& routing, bool with_ops = true) const;
  StepCost prefill(int64_t batch, int64_t prompt_tokens, const RoutingModel& routing, bool with_ops = true) const;

  struct OpConstants {
    std::string name;
    OpKind kind = OpKind::Norm;
    int layer = -1;
    std::string compute_dtype;
    double copy_bytes = 0;               // one copy (one expert) as read
    double matmul_flops_per_copy_row = 0;  // one row through one copy
    double attention_flops_per_position = 0;
    double kv_bytes_per_position = 0;    // this layer, one sequence, the chosen KV dtype
    double index_flops_per_position = 0; // sparse-attention indexer scoring, per (query, position)
    double index_bytes_per_position = 0; // its key cache, per position
    double gather_rows = 0;              // rows of a gathered table
    double state_bytes = 0;              // recurrent mixer: one sequence's state (conv + ssm)
    double recurrent_flops_per_token = 0;
    double activation_bytes_per_token = 0;
    AttentionSpec attn;                  // windows / chunks (Attention ops)
    int64_t n_experts = 0, top_k = 0;    // RoutedExperts
  };
  const std::vector<OpConstants>& ops() const { return ops_; }
  // Cost of op `i` (index into ops(), IR order: pre, layers, post) for the counts `n`: the formulas
  // of the walk, for the runner to turn what it executed into FLOPs and bytes. Sets kind and layer, not name.
  OpCost op_cost(size_t i, const OpCounts& n) const;

 private:
  StepCost walk(int64_t batch, const StepShape& shape, const RoutingModel& routing, bool with_ops) const;
  std::vector<OpConstants> ops_;
};

// One op's FLOPs and bytes when `seqs` sequences run a step of `shape`: THE per-op formula, used by
// CostModel::decode/prefill and by the roofline's per-device split (roofline.cpp). Routed experts
// read `distinct_experts` copies (expected_distinct_experts over all of the step's tokens); a
// gathered table reads one row per token, each row once. Sets kind and layer; name and
// compute_dtype are left for the caller (sweeps skip the string copies).
OpCost op_step_cost(const CostModel::OpConstants& k, double seqs, const StepShape& shape, double distinct_experts);

// Compute dtype name a scheme runs its matmuls in (see OpCost::compute_dtype).
const char* scheme_compute_dtype(QuantScheme s);

}  // namespace llmcost
