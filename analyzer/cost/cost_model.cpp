// Per-op FLOPs and bytes of a decode step and a prefill; distinct experts touched by a batch.
#include "llmcost/cost_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "llmcost/flops.h"
#include "llmcost/memory.h"
#include "llmcost/value.h"

namespace llmcost {

namespace {

constexpr double kActBytes = 2.0;  // activations are bf16

// Per-token inclusion probability of each expert under the routing model (sums to top_k).
// Zipf weights p_i = i^-s are never formed: with a large exponent (zipf:400) they underflow to 0
// past the first few experts and the water-filling below divided 0 by 0. Only ratios p_i / p_m
// = exp(-s log((i+1)/(m+1))) <= 1 for i >= m are, which go to 0 and never to NaN, whatever s.
std::vector<double> inclusion_probabilities(int64_t n_experts, int64_t top_k, const RoutingModel& r) {
  std::vector<double> q(static_cast<size_t>(n_experts), static_cast<double>(top_k) / static_cast<double>(n_experts));
  if (r.kind == RoutingModel::Uniform) return q;
  const size_t n = q.size();
  std::vector<double> log_rank(n);  // log(i + 1)
  for (size_t i = 0; i < n; ++i) log_rank[i] = std::log(static_cast<double>(i + 1));
  auto ratio = [&](size_t i, size_t m) { return std::exp(-r.zipf_s * (log_rank[i] - log_rank[m])); };  // p_i / p_m
  // rel_tail[m] = sum_{i >= m} p_i / p_m, in [1, n]: 1 + (p_{m+1} / p_m) rel_tail[m + 1].
  std::vector<double> rel_tail(n, 1.0);
  for (size_t m = n - 1; m-- > 0;) rel_tail[m] = 1.0 + ratio(m + 1, m) * rel_tail[m + 1];
  // Water-filling: the m most popular experts are saturated (picked by every token), the rest
  // get c x p_i with c = (top_k - m) / sum_{i >= m} p_i, for the first m where c x p_m <= 1.
  for (size_t m = 0; m < n; ++m) {
    const double left = static_cast<double>(top_k) - static_cast<double>(m);
    if (left > rel_tail[m]) continue;
    double sum = 0;
    for (size_t i = m; i < n; ++i) sum += q[i] = ratio(i, m);
    for (size_t i = 0; i < n; ++i) q[i] = i < m ? 1.0 : left * q[i] / sum;
    return q;
  }
  std::fill(q.begin(), q.end(), 1.0);
  return q;
}

// The compute dtype of an op: the scheme's when one of its matmul weights is stored in it.
std::string op_compute_dtype(const Op& op, const Workload& w) {
  if (w.quant == QuantScheme::Auto) {  // as shipped: the format of the op's largest matmul weight
    const Tensor* big = nullptr;
    for (const auto& t : op.tensors)
      if (t.use == TensorUse::Matmul && (!big || t.numel > big->numel)) big = &t;
    return big ? stored_compute_name(big->stored.compute) : "bf16";
  }
  if (w.quant == QuantScheme::FP32) return "fp32";
  for (const auto& t : op.tensors)
    if (t.use == TensorUse::Matmul && (is_plain_dtype(w.quant) || w.policy.covers(t.group)))
      return scheme_compute_dtype(w.quant);
  return "bf16";
}

int64_t out_width(const Op& op, const ModelIR& ir) {
  switch (op.kind) {
    case OpKind::Router: return op.moe.n_experts;
    case OpKind::LmHead: return ir.vocab_size;
    default: return ir.d_model;
  }
}

void validate(int64_t batch, int64_t tokens_per_seq, const RoutingModel& routing, const char* what) {
  const std::string w = what;
  if (batch < 1) throw Error(w + ": batch must be >= 1, got " + std::to_string(batch));
  if (tokens_per_seq < 1)
    throw Error(w + ": " + (w == "decode" ? "context" : "prompt tokens") + " must be >= 1, got " +
                std::to_string(tokens_per_seq));
  if (routing.kind == RoutingModel::Zipf && !(routing.zipf_s > 0))
    throw Error(w + ": zipf routing exponent must be > 0, got " + std::to_string(routing.zipf_s));
}

}  // namespace

std::optional<RoutingModel> parse_routing(const std::string& text) {
  if (text == "uniform") return RoutingModel{RoutingModel::Uniform, 1.0};
  if (text.rfind("zipf:", 0) == 0) {
    const std::string num = text.substr(5);
    char* end = nullptr;
    double s = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || !(s > 0) || !std::isfinite(s)) return std::nullopt;
    return RoutingModel{RoutingModel::Zipf, s};
  }
  return std::nullopt;
}

std::string routing_name(const RoutingModel& r) {
  if (r.kind == RoutingModel::Uniform) return "uniform";
  char buf[64];
  std::snprintf(buf, sizeof buf, "zipf:%g", r.zipf_s);
  return buf;
}

double expected_max_std_normal(int64_t n) {
  if (n <= 1) return 0.0;
  // Integrand n x phi(x) Phi(x)^(n-1) x on [-12, 12] (the tails beyond add < 1e-12 for n <= 2^20).
  const int kSteps = 4800;
  const double lo = -12.0, h = 24.0 / kSteps, nn = static_cast<double>(n);
  double sum = 0;
  for (int i = 0; i <= kSteps; ++i) {
    const double x = lo + h * i;
    const double phi = std::exp(-0.5 * x * x) / std::sqrt(2.0 * 3.14159265358979323846);
    const double Phi = 0.5 * std::erfc(-x / std::sqrt(2.0));
    const double v = nn * phi * std::pow(Phi, nn - 1.0) * x;
    sum += (i == 0 || i == kSteps ? 0.5 : 1.0) * v;
  }
  return sum * h;
}

double ep_load_imbalance(int64_t n_experts, int64_t top_k, int64_t tokens, int64_t ep) {
  if (ep <= 1 || tokens <= 0 || n_experts <= 0 || top_k <= 0) return 1.0;
  top_k = std::min(top_k, n_experts);
  const double E = static_cast<double>(n_experts), k = static_cast<double>(top_k), n = static_cast<double>(ep);
  const double T = static_cast<double>(tokens);
  const double mu = T * k / n;
  const double var_token = n_experts > 1 ? k * (1.0 / n) * (1.0 - 1.0 / n) * (E - k) / (E - 1.0) : 0.0;
  const double sigma = std::sqrt(T * var_token);
  // e(n) for the ep values used (powers of two up to thousands): memoised per thread.
  thread_local int64_t memo_n = -1;
  thread_local double memo_e = 0;
  if (memo_n != ep) {
    memo_n = ep;
    memo_e = expected_max_std_normal(ep);
  }
  const double factor = 1.0 + sigma * std::sqrt(n / (n - 1.0)) * memo_e / mu;
  const double cap = T * std::min(k, E / n) / mu;
  return std::min(factor, cap);
}

double expected_distinct_experts(int64_t n_experts, int64_t top_k, int64_t tokens, const RoutingModel& r) {
  if (n_experts <= 0 || top_k <= 0 || tokens <= 0) return 0.0;
  top_k = std::min(top_k, n_experts);
  const double B = static_cast<double>(tokens);
  if (r.kind == RoutingModel::Uniform || top_k == n_experts) {
    const double q = static_cast<double>(top_k) / static_cast<double>(n_experts);
    return q >= 1.0 ? static_cast<double>(n_experts) : static_cast<double>(n_experts) * -std::expm1(B * std::log1p(-q));
  }
  // The per-expert log(1 - q_i) depend only on (E, k, s): keep the last set per thread, since a
  // sweep evaluates the same model's experts at many batch sizes.
  struct Memo {
    int64_t e = -1, k = -1;
    double s = 0;
    std::vector<double> log1m_q;  // log(1 - q_i); -inf where q_i == 1
  };
  thread_local Memo memo;
  if (memo.e != n_experts || memo.k != top_k || memo.s != r.zipf_s) {
    memo.e = n_experts;
    memo.k = top_k;
    memo.s = r.zipf_s;
    memo.log1m_q.clear();
    for (double q : inclusion_probabilities(n_experts, top_k, r))
      memo.log1m_q.push_back(q >= 1.0 ? -std::numeric_limits<double>::infinity() : std::log1p(-q));
  }
  double sum = 0;
  for (double l : memo.log1m_q) sum += std::isinf(l) ? 1.0 : -std::expm1(B * l);  // 1 - (1 - q)^B
  return sum;
}

const char* scheme_compute_dtype(QuantScheme s) {
  switch (s) {
    case QuantScheme::FP32: return "fp32";
    case QuantScheme::FP8:
    case QuantScheme::FP8Block128: return "fp8";
    case QuantScheme::INT8: return "int8";
    // NVFP4 (ModelOpt) quantizes activations too (W4A4): its matmuls run on FP4 tensor cores
    // where the device has them (effective_rates falls back to FP8, then BF16).
    case QuantScheme::NVFP4: return "fp4";
    default: return "bf16";
  }
}

CostModel::CostModel(const ModelIR& ir, QuantScheme quant, const QuantPolicy& policy, KvDtype kv) {
  if (quant == QuantScheme::Auto) check_as_shipped(ir);
  Workload w;
  w.quant = quant;
  w.policy = policy;
  const int64_t n_experts = model_n_experts(ir);
  auto add = [&](const Op& op) {
    OpConstants c;
    c.name = op.name;
    c.kind = op.kind;
    c.layer = op.layer;
    c.compute_dtype = op_compute_dtype(op, w);
    c.copy_bytes = static_cast<double>(op_copy_read_bytes(op, quant, policy, op_site(op, ir, n_experts)));
    c.matmul_flops_per_copy_row = static_cast<double>(op_matmul_flops(op, 1));
    const double d = static_cast<double>(ir.d_model);
    switch (op.kind) {
      case OpKind::TokenEmbedding:
      case OpKind::PositionEmbedding:
        c.gather_rows = 1;
        for (const auto& t : op.tensors)
          if (t.use == TensorUse::Gather && !t.shape.empty()) c.gather_rows = static_cast<double>(t.shape[0]);
        c.activation_bytes_per_token = d * kActBytes;  // the row written
        break;
      case OpKind::Norm:
        c.activation_bytes_per_token = 2 * d * kActBytes;  // read + write
        break;
      case OpKind::RoutedExperts:
        c.n_experts = op.moe.n_experts;
        c.top_k = op.moe.top_k;
        c.activation_bytes_per_token = static_cast<double>(op.moe.top_k) * 2 * d * kActBytes;  // per expert in + out
        break;
      default:
        c.activation_bytes_per_token = (d + static_cast<double>(out_width(op, ir))) * kActBytes;
        if (op.kind == OpKind::Attention) {
          c.attn = op.attn;
          c.attention_flops_per_position = static_cast<double>(attention_core_flops(op.attn, 1));
          c.kv_bytes_per_position = static_cast<double>(kv_layer_bytes_per_token(op.attn, kv));
          c.index_flops_per_position = static_cast<double>(indexer_flops_per_position(op.attn));
          c.index_bytes_per_position = static_cast<double>(indexer_key_bytes_per_token(op.attn));
        } else if (op.kind == OpKind::Recurrent) {
          c.state_bytes = static_cast<double>(recurrent_state_bytes(op.rec));
          c.recurrent_flops_per_token = static_cast<double>(recurrent_flops_per_token(op.rec));
        }
        break;
    }
    ops_.push_back(std::move(c));
  };
  for (const auto& op : ir.pre) add(op);
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops) add(op);
  for (const auto& op : ir.post) add(op);
}

namespace {

// What the cost walk expects an op to do when `seqs` sequences run a step of `shape`.
OpCounts expected_op_counts(const CostModel::OpConstants& k, double seqs, const StepShape& shape, double distinct_experts) {
  OpCounts n;
  n.tokens = seqs * static_cast<double>(shape.per_seq);
  n.copy_rows = n.tokens * (k.kind == OpKind::RoutedExperts ? static_cast<double>(k.top_k) : 1.0);
  switch (k.kind) {
    case OpKind::TokenEmbedding:
    case OpKind::PositionEmbedding:
      n.gathered_rows = std::min(n.tokens, k.gather_rows);  // one row per token, each once
      break;
    case OpKind::RoutedExperts:
      n.copies_read = distinct_experts;
      break;
    case OpKind::Attention: {
      // Decode reads the attended positions (all cached ones, or the index_topk a sparse-attention
      // indexer picks); a prefill writes every prompt token's K/V once (a windowed layer
      // overwrites its ring buffer; a layer reading another layer's cache writes none) and attends
      // the causal pairs. An indexer scores every cached position against its own key cache.
      const double attended = static_cast<double>(attended_positions(k.attn, shape.context));
      const double written = kv_cache_owned(k.attn) ? static_cast<double>(shape.per_seq) : 0.0;
      // (A decode step of several tokens per sequence, a speculative verify, attends the cache once
      // per token and reads it once.)
      const double queries = static_cast<double>(shape.per_seq);
      n.attended = seqs * (shape.decode ? attended * queries : static_cast<double>(prefill_attended_pairs(k.attn, shape.per_seq)));
      n.kv_positions = seqs * (shape.decode ? attended : written);
      if (k.index_flops_per_position > 0) {
        // (A compressed layer's indexer scores and writes one key per compress_ratio tokens.)
        const double indexed = static_cast<double>(indexer_cached_tokens(k.attn, shape.context));
        n.indexed = seqs * (shape.decode ? indexed * queries : static_cast<double>(prefill_indexed_pairs(k.attn, shape.per_seq)));
        n.index_positions =
            seqs * (shape.decode ? indexed : static_cast<double>(k.attn.compress_ratio > 0 ? shape.per_seq / k.attn.compress_ratio
                                                                                           : shape.per_seq));
      }
      break;
    }
    case OpKind::Recurrent:
      // Decode reads each sequence's state and writes it back; a prefill starts from zeros and
      // writes the final state once.
      n.states_moved = seqs * (shape.decode ? 2.0 : 1.0);
      break;
    default: break;
  }
  return n;
}

// FLOPs and bytes of an op from its counts: the formulas every caller shares.
OpCost cost_of_counts(const CostModel::OpConstants& k, const OpCounts& n) {
  OpCost c;
  c.kind = k.kind;
  c.layer = k.layer;
  c.matmul_flops = n.copy_rows * k.matmul_flops_per_copy_row;
  c.activation_bytes = n.tokens * k.activation_bytes_per_token;
  switch (k.kind) {
    case OpKind::TokenEmbedding:
    case OpKind::PositionEmbedding: c.weight_bytes = k.copy_bytes / k.gather_rows * n.gathered_rows; break;
    case OpKind::RoutedExperts:
      c.distinct_experts = n.copies_read;
      c.weight_bytes = k.copy_bytes * n.copies_read;
      break;
    case OpKind::Attention:
      c.weight_bytes = k.copy_bytes;
      c.attention_flops = n.attended * k.attention_flops_per_position + n.indexed * k.index_flops_per_position;
      c.kv_bytes = n.kv_positions * k.kv_bytes_per_position + n.index_positions * k.index_bytes_per_position;
      break;
    case OpKind::Recurrent:
      c.weight_bytes = k.copy_bytes;
      c.attention_flops = n.tokens * k.recurrent_flops_per_token;
      c.kv_bytes = n.states_moved * k.state_bytes;
      break;
    default: c.weight_bytes = k.copy_bytes; break;
  }
  c.flops = c.matmul_flops + c.attention_flops;
  return c;
}

}  // namespace

OpCost op_step_cost(const CostModel::OpConstants& k, double seqs, const StepShape& shape, double distinct_experts) {
  return cost_of_counts(k, expected_op_counts(k, seqs, shape, distinct_experts));
}

OpCost CostModel::op_cost(size_t i, const OpCounts& n) const { return cost_of_counts(ops_.at(i), n); }

StepCost CostModel::walk(int64_t batch, const StepShape& shape, const RoutingModel& routing, bool with_ops) const {
  StepCost sc;
  const double B = static_cast<double>(batch);
  const int64_t tokens = checked_mul(batch, shape.per_seq);
  sc.tokens = tokens;
  if (with_ops) sc.ops.reserve(ops_.size());
  double distinct_sum = 0;
  int64_t moe_layers = 0;
  int64_t memo_e = -1, memo_k = -1;  // MoE layers usually share (E, k): compute once
  double memo_distinct = 0;
  for (const auto& k : ops_) {
    if (k.kind == OpKind::RoutedExperts) {
      if (k.n_experts != memo_e || k.top_k != memo_k) {
        memo_e = k.n_experts;
        memo_k = k.top_k;
        memo_distinct = expected_distinct_experts(k.n_experts, k.top_k, tokens, routing);
      }
      distinct_sum += memo_distinct;
      moe_layers++;
    }
    OpCost c = op_step_cost(k, B, shape, k.kind == OpKind::RoutedExperts ? memo_distinct : 0.0);
    sc.flops += c.flops;
    sc.weight_bytes += c.weight_bytes;
    sc.kv_bytes += c.kv_bytes;
    sc.activation_bytes += c.activation_bytes;
    if (with_ops) {
      c.name = k.name;
      c.compute_dtype = k.compute_dtype;
      sc.ops.push_back(std::move(c));
    }
  }
  sc.bytes = sc.weight_bytes + sc.kv_bytes + sc.activation_bytes;
  sc.mean_distinct_experts = moe_layers ? distinct_sum / static_cast<double>(moe_layers) : 0.0;
  return sc;
}

StepCost CostModel::decode(int64_t batch, int64_t context, const RoutingModel& routing, bool with_ops) const {
  validate(batch, context, routing, "decode");
  return walk(batch, StepShape{true, 1, context}, routing, with_ops);
}

StepCost CostModel::prefill(int64_t batch, int64_t prompt_tokens, const RoutingModel& routing, bool with_ops) const {
  validate(batch, prompt_tokens, routing, "prefill");
  return walk(batch, StepShape{false, prompt_tokens, prompt_tokens}, routing, with_ops);
}

StepCost decode_step_cost(const ModelIR& ir, const Workload& w) {
  validate(w.batch, w.context, w.routing, "decode");
  return CostModel(ir, w.quant, w.policy, w.kv).decode(w.batch, w.context, w.routing);
}

StepCost prefill_cost(const ModelIR& ir, const Workload& w) {
  if (w.prompt_tokens < 0)
    throw Error("prefill: prompt tokens must be >= 0 (0 = the context), got " + std::to_string(w.prompt_tokens));
  const int64_t S = w.prompt_tokens > 0 ? w.prompt_tokens : w.context;
  validate(w.batch, S, w.routing, "prefill");
  return CostModel(ir, w.quant, w.policy, w.kv).prefill(w.batch, S, w.routing);
}

}  // namespace llmcost
