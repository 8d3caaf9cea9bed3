// The runner's one model walk over a backend's Kernels (see executor.h): every execution rule of
// the IR lives here once; each op's FLOPs and bytes come from counting what it did and handing
// the counts to CostModel::op_cost, the formulas of the cost walk.
#include "executor.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "llmcost/safetensors.h"
#include "llmcost/value.h"
#include "strf.h"
#include "synthetic.h"

namespace llmcost {

namespace {

using TR = TensorRole;

Error unsupported(const Op& op, const std::string& what) {
  return Error(op.name + ": " + what + " is not supported by the runner", ErrorKind::Unsupported);
}

// Rotary width: floor(head_dim x partial_rotary_factor), even. validate() refuses a factor outside
// [0, 1] (or NaN), so the product lies in [0, head_dim] and the cast is defined; the clamp keeps
// it so for an IR that was not validated.
int64_t rope_dims(const AttentionSpec& a) {
  const double w = std::floor(static_cast<double>(a.head_dim) * a.partial_rotary_factor);
  const int64_t r = w >= 0 && w <= static_cast<double>(a.head_dim) ? static_cast<int64_t>(w) : 0;
  return r - (r % 2);
}

// The [rows, cols] ([out, in]) the walk multiplies a matmul tensor of `role` as (a bias or a
// vector: `rows` elements; cols 0 = a vector), or rows < 0 when the walk does not read the role.
struct Want {
  int64_t rows = -1, cols = 0;
};
Want wanted_shape(const ModelIR& ir, const Op& op, TensorRole role) {
  const int64_t d = ir.d_model;
  const AttentionSpec& a = op.attn;
  const int64_t H = a.n_heads, G = a.n_kv_heads, ff = op.mlp.d_ff;
  const bool mla = a.type == AttentionType::MLA;
  const int64_t qhd = mla ? a.qk_nope_head_dim + a.qk_rope_head_dim : a.head_dim;
  switch (role) {
    case TR::TokenEmbedding:
    case TR::PositionEmbedding: return {-1, 0};  // a gathered table: its width is checked apart
    case TR::LmHead: return {ir.vocab_size, d};
    case TR::Norm: return {d, 0};
    case TR::AttnQ: return {H * qhd, d};
    case TR::AttnK:
    case TR::AttnV: return {G * a.head_dim, d};
    case TR::AttnQkv: return {(H + 2 * G) * a.head_dim, d};
    case TR::AttnOut: return {d, H * a.v_head_dim};
    case TR::MlaQA: return {a.q_lora_rank, d};
    case TR::MlaQANorm: return {a.q_lora_rank, 0};
    case TR::MlaQB: return {H * qhd, a.q_lora_rank};
    case TR::MlaKvA: return {a.kv_lora_rank + a.qk_rope_head_dim, d};
    case TR::MlaKvANorm: return {a.kv_lora_rank, 0};
    case TR::MlaKvB: return {H * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank};
    case TR::FfnGate:
    case TR::FfnUp: return {ff, d};
    case TR::FfnGateUp: return {2 * ff, d};
    case TR::FfnDown: return {d, ff};
    case TR::FfnOutGate: return {1, d};
    case TR::Router: return {op.moe.n_experts, d};
    case TR::RouterCorrectionBias: return {op.moe.n_experts, 0};
    default: return {-1, 0};  // q/k norms are checked with their spec; others are refused by kind
  }
}

// Every tensor the walk reads has the size its buffers are allocated for: a kernel writes a
// matmul's rows into a buffer sized from the spec.
void check_shapes(const ModelIR& ir, const Op& op) {
  for (const Tensor& t : op.tensors) {
    if (t.use == TensorUse::Gather) {
      if (t.shape.size() != 2 || t.shape[1] != ir.d_model)
        throw unsupported(op, strf("a %s table of %s (expected [rows, d_model %lld])", tensor_role_name(t.role),
                                   shape_string(t.shape).c_str(), (long long)ir.d_model));
      continue;
    }
    const Want w = wanted_shape(ir, op, t.role);
    if (w.rows < 0) continue;
    const bool vec = t.bias || w.cols == 0;
    const bool ok = vec ? t.numel == w.rows : t.out_features == w.rows && t.in_features == w.cols;
    if (!ok)
      throw unsupported(op, vec ? strf("%s%s of %s (expected %lld elements)", tensor_role_name(t.role), t.bias ? " bias" : "",
                                       shape_string(t.shape).c_str(), (long long)w.rows)
                                : strf("%s of %s (expected [%lld, %lld])", tensor_role_name(t.role),
                                       shape_string(t.shape).c_str(), (long long)w.rows, (long long)w.cols));
  }
}

// Sizes and factors of an attention op the kernels can execute.
void check_attention_spec(const Op& op) {
  const AttentionSpec& a = op.attn;
  auto positive = [&](const char* what, int64_t v) {
    if (v < 1) throw unsupported(op, strf("%s %lld (must be >= 1)", what, (long long)v));
  };
  positive("n_heads", a.n_heads);
  if (a.type == AttentionType::MLA) {
    positive("kv_lora_rank", a.kv_lora_rank);
    positive("v_head_dim", a.v_head_dim);
    if (a.qk_nope_head_dim < 0 || a.qk_rope_head_dim < 0 || a.q_lora_rank < 0 || a.qk_nope_head_dim + a.qk_rope_head_dim < 1)
      throw unsupported(op, strf("MLA head dims nope %lld + rope %lld, q_lora_rank %lld", (long long)a.qk_nope_head_dim,
                                 (long long)a.qk_rope_head_dim, (long long)a.q_lora_rank));
  } else {
    positive("n_kv_heads", a.n_kv_heads);
    positive("head_dim", a.head_dim);
    if (a.n_heads % a.n_kv_heads != 0)
      throw unsupported(op, strf("%lld query heads over %lld KV heads (not a multiple)", (long long)a.n_heads,
                                 (long long)a.n_kv_heads));
    // The rotary width is head_dim x factor; outside [0, 1] RoPE would rotate past the head.
    if (a.use_rope && !(a.partial_rotary_factor >= 0.0 && a.partial_rotary_factor <= 1.0))
      throw unsupported(op, strf("partial_rotary_factor %g (rotary width above head_dim %lld)", a.partial_rotary_factor,
                                 (long long)a.head_dim));
  }
  const bool rope = a.type == AttentionType::MLA ? a.qk_rope_head_dim > 0 : a.use_rope && rope_dims(a) > 0;
  if (rope && !(std::isfinite(a.rope_theta) && a.rope_theta > 0.0))
    throw unsupported(op, strf("rope_theta %g (must be finite and > 0)", a.rope_theta));
  if (!std::isfinite(a.scale) || a.scale < 0 || !std::isfinite(a.logit_softcap) || a.logit_softcap < 0)
    throw unsupported(op, strf("softmax scale %g / logit soft-cap %g (must be finite and >= 0)", a.scale, a.logit_softcap));
}

// Top-k routing the router kernel can execute: k of n experts, whole groups, enough groups kept.
void check_moe_spec(const Op& op) {
  const MoeSpec& m = op.moe;
  if (m.n_experts < 1 || m.top_k < 1 || m.top_k > m.n_experts)
    throw unsupported(op, strf("top-%lld routing over %lld experts", (long long)m.top_k, (long long)m.n_experts));
  if (m.n_group > 1 && (m.n_experts % m.n_group != 0 || m.topk_group < 1 || m.topk_group > m.n_group ||
                        m.topk_group * (m.n_experts / m.n_group) < m.top_k))
    throw unsupported(op, strf("group-limited routing of %lld experts in %lld groups keeping %lld (top-%lld)",
                               (long long)m.n_experts, (long long)m.n_group, (long long)m.topk_group, (long long)m.top_k));
  if (!std::isfinite(m.routed_scaling_factor))
    throw unsupported(op, strf("routed_scaling_factor %g", m.routed_scaling_factor));
}

QuantPolicy every_tensor() {  // the runner stores every matmul and table in its weight dtype
  QuantPolicy all;
  all.router = all.embedding = all.lm_head = all.other = true;
  return all;
}

}  // namespace

void Executor::validate(const ModelIR& ir) {
  auto check = [&](const Op& op) {
    for (const Tensor& t : op.tensors) {
      if (t.role == TR::AttnOutGate) throw unsupported(op, "a sigmoid output-gate projection (attn_out_gate)");
      if (t.role == TR::AttnResProj) throw unsupported(op, "attention residuals (a softmax mix over block residuals)");
      if (t.role == TR::MoeLatentIn || t.role == TR::MoeLatentOut)
        throw unsupported(op, "a latent MoE (routed experts in a projected latent space; the analyzer counts it)");
      if (t.role == TR::PleEmbedding || t.role == TR::PleModelProj || t.role == TR::PleGate || t.role == TR::PleProj)
        throw unsupported(op, "per-layer embeddings (Gemma 4 PLE)");
      if (t.role == TR::LinearReplacement)
        throw unsupported(op, "a sublayer replaced by one linear map (DeciLM replace_with_linear)");
      if (t.role == TR::RouterInputScale || t.role == TR::RouterExpertScale)
        throw unsupported(op, "a Gemma 4 router (input and per-expert scales, experts beside a dense MLP)");
      if (t.role == TR::HcFn) throw unsupported(op, "hyper-connections (hc_mult residual streams mixed per sublayer)");
    }
    switch (op.kind) {
      case OpKind::Recurrent:
        throw unsupported(op, std::string("a recurrent mixer (") + recurrent_type_name(op.rec.type) +
                                  "; the analyzer counts it, the runner has no kernel for it yet)");
      case OpKind::Norm:
        if (op.norm == NormType::L2Norm) throw unsupported(op, "an L2 norm");
        if (op.tensors.empty() && op.norm != NormType::RMSNorm) throw unsupported(op, "a LayerNorm without weight");
        if (op.tensors.size() > (op.norm_bias ? 2u : 1u))
          throw unsupported(op, "a norm op holding extra tensors (MTP projections)");
        break;
      case OpKind::Attention: {
        const AttentionSpec& a = op.attn;
        check_attention_spec(op);
        if (a.kv_shared_from >= 0)
          throw unsupported(op, strf("a KV cache shared with layer %lld (no k/v projections of its own)", (long long)a.kv_shared_from));
        if (a.v_norm) throw unsupported(op, "a parameter-free RMSNorm of the values (Gemma 4 v_norm)");
        if (find_role(op, TR::AttnK) && !find_role(op, TR::AttnV) && !find_role(op, TR::AttnQkv))
          throw unsupported(op, "values taken from the key projection (no v_proj: attention_k_eq_v)");
        if (a.sinks) throw unsupported(op, "attention sinks");
        if (a.output_gate) throw unsupported(op, "gated attention output (a sigmoid gate from q_proj)");
        if (a.chunk_size > 0) throw unsupported(op, "chunked attention");
        if (a.compress_ratio > 0 || a.shared_kv)
          throw unsupported(op, "compressed attention with one shared K=V head (DeepSeek-V4)");
        if (a.index_topk > 0 || a.index_n_heads > 0)
          throw unsupported(op, "sparse attention with a lightning indexer (DeepSeek Sparse Attention)");
        if (a.type == AttentionType::MLA) {
          for (TR r : {TR::MlaKvA, TR::MlaKvANorm, TR::MlaKvB, TR::AttnOut})
            if (!find_role(op, r)) throw unsupported(op, std::string("MLA without ") + tensor_role_name(r));
          if (!find_role(op, TR::AttnQ) && !(find_role(op, TR::MlaQA) && find_role(op, TR::MlaQANorm) && find_role(op, TR::MlaQB)))
            throw unsupported(op, "MLA without attn_q or mla_q_a/mla_q_a_norm/mla_q_b");
        } else {
          const bool sep = find_role(op, TR::AttnQ) && find_role(op, TR::AttnK) && find_role(op, TR::AttnV);
          if (!sep && !find_role(op, TR::AttnQkv))
            throw unsupported(op, "attention without attn_q/attn_k/attn_v or attn_qkv weights");
          if (!find_role(op, TR::AttnOut)) throw unsupported(op, "attention without attn_out");
          if (a.head_dim != a.v_head_dim) throw unsupported(op, "standard attention with v_head_dim != head_dim");
          for (TR r : {TR::AttnQNorm, TR::AttnKNorm})
            if (const Tensor* t = find_role(op, r)) {
              const int64_t width = r == TR::AttnQNorm ? a.n_heads * a.head_dim : a.n_kv_heads * a.head_dim;
              if (t->numel != a.head_dim && t->numel != width)
                throw unsupported(op, std::string(tensor_role_name(r)) + " of " + shape_string(t->shape) +
                                          " (per-head or full width only)");
            }
        }
        break;
      }
      case OpKind::RoutedExperts:
        if (op.experts_stacked) throw unsupported(op, "stacked expert tensors ([n_experts, ...])");
        check_moe_spec(op);
        [[fallthrough]];
      case OpKind::Mlp:
      case OpKind::SharedExperts: {
        if (op.mlp.act == Activation::SwiGLUClamped) throw unsupported(op, "the clamped SwiGLU activation");
        if (op.mlp.act == Activation::SiTU) throw unsupported(op, "the SiTU activation");
        if (op.mlp.swiglu_limit > 0) throw unsupported(op, "a SwiGLU with clamped gate and up (swiglu_limit)");
        if (op.mlp.d_ff < 1) throw unsupported(op, strf("d_ff %lld (must be >= 1)", (long long)op.mlp.d_ff));
        const bool gate_up = find_role(op, TR::FfnGateUp) || (find_role(op, TR::FfnGate) && find_role(op, TR::FfnUp));
        if (!find_role(op, TR::FfnDown) || (op.mlp.gated ? !gate_up : !find_role(op, TR::FfnUp)))
          throw unsupported(op, op.mlp.gated ? "a gated MLP without ffn_gate + ffn_up (or ffn_gate_up) and ffn_down"
                                             : "an MLP without ffn_up and ffn_down");
        break;
      }
      case OpKind::Router:
        check_moe_spec(op);
        if (op.moe.hash_routed) throw unsupported(op, "hash routing (experts looked up by token id)");
        if (op.moe.scoring == ScoringFunc::SqrtSoftplus) throw unsupported(op, "sqrt(softplus) expert scoring");
        if (op.moe.softmax_after_topk && op.moe.scoring == ScoringFunc::Sigmoid && op.moe.n_group > 1)
          throw unsupported(op, "group-limited routing with top-k before scoring");
        break;
      default: break;
    }
    for (const Tensor& t : op.tensors)
      if (t.use == TensorUse::Matmul && t.shape.size() != 2) throw unsupported(op, "tensor " + t.checkpoint_name + " of rank != 2");
    check_shapes(ir, op);
  };
  if (ir.d_model < 1 || ir.vocab_size < 1)
    throw Error(strf("%s: d_model %lld and vocab_size %lld must be >= 1 for the runner", ir.name.c_str(),
                     (long long)ir.d_model, (long long)ir.vocab_size), ErrorKind::Unsupported);
  for (const Op& op : ir.pre) check(op);
  for (const Layer& L : ir.layers) {
    const Op* router = nullptr;  // routed experts take their experts and k from the router before them
    for (const Op& op : L.ops) {
      check(op);
      if (op.kind == OpKind::Router) router = &op;
      if (op.kind == OpKind::RoutedExperts && router &&
          (router->moe.n_experts != op.moe.n_experts || router->moe.top_k != op.moe.top_k))
        throw unsupported(op, strf("%lld experts top-%lld behind a router of %lld experts top-%lld", (long long)op.moe.n_experts,
                                   (long long)op.moe.top_k, (long long)router->moe.n_experts, (long long)router->moe.top_k));
    }
  }
  for (const Op& op : ir.post) check(op);
  if (ir.final_logit_softcap != 0.0)
    throw Error(ir.name + ": final logit soft-capping is not supported by the runner", ErrorKind::Unsupported);
}

Executor::Executor(const ModelIR& ir, Kernels& kernels, const BackendOptions& opts)
    : ir_(ir),
      k_(kernels),
      opts_(opts),
      cost_(ir, opts.weight_dtype == WeightDtype::BF16 ? QuantScheme::BF16 : QuantScheme::FP32, every_tensor(), KvDtype::BF16) {}

void Executor::reset(int64_t batch) {
  if (batch < 1 || batch > opts_.max_batch)
    throw Error(strf("runner: batch must be 1..%lld (prepared max), got %lld", (long long)opts_.max_batch, (long long)batch));
  batch_ = batch;
  len_.assign(static_cast<size_t>(batch), 0);
  step_ = 0;
}

void Executor::set_lengths(int64_t context) {
  if (context < 0 || context > opts_.max_context)
    throw Error(strf("runner: context must be 0..%lld (prepared max), got %lld", (long long)opts_.max_context, (long long)context));
  std::fill(len_.begin(), len_.end(), context);
}

void Executor::decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) {
  if (static_cast<int64_t>(tokens.size()) != batch_)
    throw Error(strf("runner: decode needs one token per sequence (%lld), got %zu", (long long)batch_, tokens.size()));
  Rows rows;
  rows.T = batch_;
  for (int64_t b = 0; b < batch_; ++b) {
    if (len_[static_cast<size_t>(b)] >= opts_.max_context)
      throw Error(strf("runner: sequence %lld is full (%lld positions prepared)", (long long)b, (long long)opts_.max_context));
    rows.seq.push_back(b);
    rows.pos.push_back(len_[static_cast<size_t>(b)]);
  }
  forward(tokens, rows, logits, prof);
  for (auto& l : len_) ++l;
}

void Executor::prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits, Profiler* prof) {
  if (seq_len < 1 || static_cast<int64_t>(tokens.size()) != batch_ * seq_len)
    throw Error(strf("runner: prefill needs batch x seq_len = %lld x %lld tokens, got %zu", (long long)batch_,
                     (long long)seq_len, tokens.size()));
  Rows rows;
  rows.T = batch_ * seq_len;
  for (int64_t b = 0; b < batch_; ++b) {
    if (len_[static_cast<size_t>(b)] + seq_len > opts_.max_context)
      throw Error(strf("runner: prefill of %lld tokens overflows sequence %lld (%lld of %lld positions used)",
                       (long long)seq_len, (long long)b, (long long)len_[static_cast<size_t>(b)], (long long)opts_.max_context));
    for (int64_t s = 0; s < seq_len; ++s) {
      rows.seq.push_back(b);
      rows.pos.push_back(len_[static_cast<size_t>(b)] + s);
    }
  }
  forward(tokens, rows, logits, prof);
  for (auto& l : len_) l += seq_len;
}

// ---------------------------------------------------------------- building blocks

const DeviceTensor& Executor::need(const Op& op, TensorRole role, int64_t expert) const {
  const DeviceTensor* t = k_.weight(op, role, false, expert);
  if (!t) throw Error(op.name + ": the backend holds no " + tensor_role_name(role) + " tensor");
  return *t;
}

void Executor::linear(const Op& op, TensorRole role, const float* x, int64_t M, int64_t ldx, float* y, int64_t ldy,
                      int64_t expert) {
  k_.matmul(x, M, ldx, need(op, role, expert), y, ldy);
  if (const DeviceTensor* b = k_.weight(op, role, true, expert)) k_.add_bias(*b, y, M, ldy);
}

void Executor::norm(const Op& op, const float* in, float* out, int64_t T) {
  const DeviceTensor* w = k_.weight(op, TR::Norm);
  if (op.norm == NormType::LayerNorm) k_.layer_norm(in, out, T, ir_.d_model, *w, k_.weight(op, TR::Norm, true), op.eps);
  else k_.rms_norm(in, out, T, ir_.d_model, ir_.d_model, w, op.eps);
}

void Executor::mlp(const Op& op, int64_t e, const float* h, int64_t M, float* out) {
  const int64_t d = ir_.d_model, ff = op.mlp.d_ff;
  auto a = buf(M * ff * 2), u = buf(M * ff);
  if (k_.weight(op, TR::FfnGateUp, false, e)) {  // [M, 2 ff]: gate | up
    linear(op, TR::FfnGateUp, h, M, d, a->data, 2 * ff, e);
    k_.glu(op.mlp.act, a->data, 2 * ff, a->data + ff, 2 * ff, u->data, M, ff);
  } else if (k_.weight(op, TR::FfnGate, false, e)) {
    linear(op, TR::FfnGate, h, M, d, a->data, ff, e);
    linear(op, TR::FfnUp, h, M, d, u->data, ff, e);
    k_.glu(op.mlp.act, a->data, ff, u->data, ff, u->data, M, ff);
  } else {
    linear(op, TR::FfnUp, h, M, d, u->data, ff, e);
    k_.activate(op.mlp.act, u->data, M * ff);
  }
  linear(op, TR::FfnDown, u->data, M, ff, out, d, e);
  if (k_.weight(op, TR::FfnOutGate, false, e)) {  // sigmoid gate on the whole output (qwen2_moe shared expert)
    auto g = buf(M);
    linear(op, TR::FfnOutGate, h, M, d, g->data, 1, e);
    k_.scale_rows_sigmoid(out, M, d, g->data);
  }
}

// First cached position each row attends (sliding window); counts the pairs and positions read.
static std::vector<int64_t> attended_from(const AttentionSpec& a, const Rows& rows, OpCounts& n) {
  std::vector<int64_t> lo(static_cast<size_t>(rows.T));
  for (int64_t t = 0; t < rows.T; ++t) {
    const int64_t pos = rows.pos[static_cast<size_t>(t)];
    lo[static_cast<size_t>(t)] = a.sliding_window > 0 ? std::max<int64_t>(0, pos - a.sliding_window + 1) : 0;
    const double attended = static_cast<double>(pos - lo[static_cast<size_t>(t)] + 1);
    n.attended += attended;
    n.kv_positions += attended;
  }
  return lo;
}

void Executor::attention(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n) {
  const AttentionSpec& a = op.attn;
  const int64_t d = ir_.d_model, T = rows.T, H = a.n_heads, G = a.n_kv_heads, hd = a.head_dim;
  const int64_t qw = H * hd, kw = G * hd;
  auto q = buf(T * qw), k = buf(T * kw), v = buf(T * kw), att = buf(T * qw);
  if (k_.weight(op, TR::AttnQkv)) {
    const int64_t ld = qw + 2 * kw;
    auto qkv = buf(T * ld);
    linear(op, TR::AttnQkv, h, T, d, qkv->data, ld);
    k_.copy2d(q->data, qw, qkv->data, ld, T, qw);
    k_.copy2d(k->data, kw, qkv->data + qw, ld, T, kw);
    k_.copy2d(v->data, kw, qkv->data + qw + kw, ld, T, kw);
  } else {
    linear(op, TR::AttnQ, h, T, d, q->data, qw);
    linear(op, TR::AttnK, h, T, d, k->data, kw);
    linear(op, TR::AttnV, h, T, d, v->data, kw);
  }
  // q/k norms: per head ([head_dim]) or over the full projection width.
  for (TR r : {TR::AttnQNorm, TR::AttnKNorm}) {
    const DeviceTensor* w = k_.weight(op, r);
    if (!w) continue;
    float* p = r == TR::AttnKNorm ? k->data : q->data;
    const int64_t width = r == TR::AttnKNorm ? kw : qw, len = find_role(op, r)->numel;
    k_.rms_norm(p, p, T * (width / len), len, len, w, ir_.norm_eps);
  }
  const int64_t rot = a.use_rope ? rope_dims(a) : 0;
  if (rot > 0) {
    k_.rope(q->data, T, qw, H, hd, rot, rows.pos.data(), a.rope_theta);
    k_.rope(k->data, T, kw, G, hd, rot, rows.pos.data(), a.rope_theta);
  }
  k_.kv_store(op, k->data, kw, v->data, kw, rows);
  const std::vector<int64_t> lo = attended_from(a, rows, n);
  k_.attention(op, q->data, rows, lo.data(), att->data);
  linear(op, TR::AttnOut, att->data, T, qw, out, d);
}

// MLA, absorbed: the cache holds c_kv (kv_lora_rank) and the shared rope key k_pe.
void Executor::mla(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n) {
  const AttentionSpec& a = op.attn;
  const int64_t d = ir_.d_model, T = rows.T, H = a.n_heads;
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, L = a.kv_lora_rank, qhd = nope + rope;
  auto q = buf(T * H * qhd);
  if (k_.weight(op, TR::MlaQB)) {
    const int64_t ql = a.q_lora_rank;
    auto cq = buf(T * ql);
    linear(op, TR::MlaQA, h, T, d, cq->data, ql);
    k_.rms_norm(cq->data, cq->data, T, ql, ql, &need(op, TR::MlaQANorm), ir_.norm_eps);
    k_.matmul(cq->data, T, ql, need(op, TR::MlaQB), q->data, H * qhd);
  } else {
    k_.matmul(h, T, d, need(op, TR::AttnQ), q->data, H * qhd);
  }
  auto kva = buf(T * (L + rope));  // [T, L + rope]: c_kv | k_pe
  linear(op, TR::MlaKvA, h, T, d, kva->data, L + rope);
  k_.rms_norm(kva->data, kva->data, T, L, L + rope, &need(op, TR::MlaKvANorm), ir_.norm_eps);
  k_.rope(kva->data + L, T, L + rope, 1, rope, rope, rows.pos.data(), a.rope_theta);
  k_.rope(q->data + nope, T, H * qhd, H, qhd, rope, rows.pos.data(), a.rope_theta);
  k_.kv_store(op, kva->data, L + rope, kva->data + L, L + rope, rows);
  const std::vector<int64_t> lo = attended_from(a, rows, n);
  auto att = buf(T * H * a.v_head_dim);
  k_.mla_attention(op, q->data, rows, lo.data(), att->data);
  linear(op, TR::AttnOut, att->data, T, H * a.v_head_dim, out, d);
}

void Executor::router(const Op& op, const float* h, const Rows& rows) {
  const MoeSpec& m = op.moe;
  const int64_t T = rows.T, E = m.n_experts, K = m.top_k;
  auto logits = buf(T * E);
  linear(op, TR::Router, h, T, ir_.d_model, logits->data, E);
  route_idx_.assign(static_cast<size_t>(T * K), 0);
  route_w_.assign(static_cast<size_t>(T * K), 0.0f);
  ++step_;
  if (opts_.routing.kind == RoutingOverride::Router) {
    k_.route(logits->data, T, m, k_.weight(op, TR::RouterCorrectionBias), route_idx_.data(), route_w_.data());
    return;
  }
  // Forced routing: the router op ran (its cost is real); the choice is drawn here.
  for (int64_t t = 0; t < T; ++t) {
    int32_t* idx = &route_idx_[static_cast<size_t>(t * K)];
    float* wt = &route_w_[static_cast<size_t>(t * K)];
    const uint64_t stream = mix64(opts_.seed * 31 + step_) ^ hash_name(op.name);
    std::vector<double> p(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e)
      p[static_cast<size_t>(e)] = opts_.routing.kind == RoutingOverride::Zipf ? std::pow(static_cast<double>(e + 1), -opts_.routing.zipf_s) : 1.0;
    for (int64_t k = 0; k < K; ++k) {
      if (opts_.routing.kind == RoutingOverride::Fixed) {
        idx[k] = static_cast<int32_t>(k);
      } else {  // weighted draw without replacement
        double total = 0;
        for (double x : p) total += x;
        double r = (unit(stream, static_cast<uint64_t>(t * K + k)) * 0.5 + 0.5) * total;
        int64_t e = 0;
        for (; e < E - 1; ++e) {
          if (p[static_cast<size_t>(e)] > 0 && r < p[static_cast<size_t>(e)]) break;
          r -= p[static_cast<size_t>(e)];
        }
        while (p[static_cast<size_t>(e)] == 0) e = (e + E - 1) % E;  // rounding at the end: last live expert
        idx[k] = static_cast<int32_t>(e);
        p[static_cast<size_t>(e)] = 0;
      }
      wt[k] = 1.0f / static_cast<float>(K);
    }
  }
}

void Executor::experts(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n) {
  const MoeSpec& m = op.moe;
  const int64_t T = rows.T, K = m.top_k, d = ir_.d_model;
  if (static_cast<int64_t>(route_idx_.size()) != T * K)
    throw Error(op.name + ": routed experts without a router before them in the same sublayer");
  std::vector<std::vector<int64_t>> ids(static_cast<size_t>(m.n_experts));
  std::vector<std::vector<float>> wts(static_cast<size_t>(m.n_experts));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const size_t e = static_cast<size_t>(route_idx_[static_cast<size_t>(t * K + k)]);
      ids[e].push_back(t);
      wts[e].push_back(route_w_[static_cast<size_t>(t * K + k)]);
    }
  k_.fill_zero(out, T * d);
  auto hx = buf(T * d), y = buf(T * d);  // an expert takes each row at most once
  n.copy_rows = 0;
  n.copies_read = 0;
  for (int64_t e = 0; e < m.n_experts; ++e) {
    const auto& list = ids[static_cast<size_t>(e)];
    if (list.empty()) continue;
    const int64_t rows_e = static_cast<int64_t>(list.size());
    n.copies_read += 1;
    n.copy_rows += static_cast<double>(rows_e);
    k_.gather_rows(h, d, list.data(), rows_e, hx->data);
    mlp(op, e, hx->data, rows_e, y->data);
    k_.scatter_add_rows(y->data, d, list.data(), wts[static_cast<size_t>(e)].data(), rows_e, out);
  }
  work_.distinct_experts_per_layer.push_back(static_cast<int64_t>(n.copies_read));
}

// ---------------------------------------------------------------- the walk

void Executor::forward(const std::vector<int32_t>& tokens, const Rows& rows, std::vector<float>* logits, Profiler* prof) {
  const int64_t T = rows.T, d = ir_.d_model;
  work_ = StepWork{};
  work_.tokens = T;
  for (int32_t tok : tokens)
    if (tok < 0 || tok >= ir_.vocab_size)
      throw Error(strf("runner: token id %d outside the vocabulary (0..%lld)", tok, (long long)ir_.vocab_size - 1));
  auto x = buf(T * d), h = buf(T * d), acc = buf(T * d), part = buf(T * d);  // [T, d_model] each
  k_.fill_zero(x->data, T * d);
  size_t op_index = 0;  // IR order, as CostModel::ops()
  OpCounts n;
  auto begin = [&](const Op& op) {
    if (prof) prof->push(op.name, "op");
    n = OpCounts{};
    n.tokens = n.copy_rows = static_cast<double>(T);
  };
  auto end = [&](const Op& op) {
    k_.synchronize();
    const OpCost c = cost_.op_cost(op_index++, n);
    OpWork w{op.name, op.kind, op.layer};
    w.weight_bytes = c.weight_bytes;
    w.kv_bytes = c.kv_bytes;
    w.flops = c.flops;
    if (op.kind == OpKind::RoutedExperts) w.distinct_experts = static_cast<int64_t>(n.copies_read);
    work_.ops.push_back(std::move(w));
    if (prof) {
      prof->annotate(c.weight_bytes + c.kv_bytes, c.flops);
      prof->pop();
    }
  };
  for (const Op& op : ir_.pre) {
    begin(op);
    const Tensor* table = op.tensors.empty() ? nullptr : &op.tensors.front();
    const int64_t table_rows = table && !table->shape.empty() ? table->shape[0] : 0;
    std::vector<int64_t> ids(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const int64_t r = op.kind == OpKind::TokenEmbedding ? tokens[static_cast<size_t>(t)] : rows.pos[static_cast<size_t>(t)];
      if (r >= table_rows) throw Error(strf("%s: row %lld outside the table (%lld rows)", op.name.c_str(), (long long)r, (long long)table_rows));
      ids[static_cast<size_t>(t)] = r;
    }
    const TR role = op.kind == OpKind::TokenEmbedding ? TR::TokenEmbedding : TR::PositionEmbedding;
    k_.embed_add(need(op, role), ids.data(), T, d, static_cast<float>(ir_.embedding_multiplier), x->data);
    n.gathered_rows = static_cast<double>(std::set<int64_t>(ids.begin(), ids.end()).size());
    end(op);
  }
  for (const Layer& L : ir_.layers) {
    size_t i = 0;
    while (i < L.ops.size()) {
      const int sub = L.ops[i].sublayer;
      k_.copy2d(h->data, T * d, x->data, T * d, 1, T * d);
      k_.fill_zero(acc->data, T * d);
      bool computed = false;
      for (; i < L.ops.size() && L.ops[i].sublayer == sub; ++i) {
        const Op& op = L.ops[i];
        begin(op);
        switch (op.kind) {
          case OpKind::Norm:
            if (op.post_norm) norm(op, acc->data, acc->data, T);
            else if (!computed) norm(op, h->data, h->data, T);
            else throw unsupported(op, "a pre-norm after the sublayer's compute ops");
            break;
          case OpKind::Router: router(op, h->data, rows); break;
          default:
            if (op.kind == OpKind::Attention && op.attn.type == AttentionType::MLA) mla(op, h->data, part->data, rows, n);
            else if (op.kind == OpKind::Attention) attention(op, h->data, part->data, rows, n);
            else if (op.kind == OpKind::RoutedExperts) experts(op, h->data, part->data, rows, n);
            else if (op.kind == OpKind::Mlp || op.kind == OpKind::SharedExperts) mlp(op, -1, h->data, T, part->data);
            else throw unsupported(op, std::string("a ") + op_kind_name(op.kind) + " op inside a layer");
            k_.add(acc->data, part->data, T * d);
            computed = true;
            break;
        }
        end(op);
      }
      k_.add(x->data, acc->data, T * d);
    }
  }
  for (const Op& op : ir_.post) {
    begin(op);
    if (op.kind == OpKind::Norm) {
      norm(op, x->data, x->data, T);
    } else if (op.kind == OpKind::LmHead) {
      auto lg = buf(T * ir_.vocab_size);
      linear(op, TR::LmHead, x->data, T, d, lg->data, ir_.vocab_size);
      if (logits) {
        logits->resize(static_cast<size_t>(T * ir_.vocab_size));
        k_.to_host(lg->data, T * ir_.vocab_size, logits->data());
      }
    }
    end(op);
  }
}

}  // namespace llmcost
