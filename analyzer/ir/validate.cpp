// The one check between a config and everything that uses its IR: every derived dimension and
// factor a family read is held against its physical meaning (rotary width within a head, heads
// that divide, positive sizes, finite factors), and a failure names the config key it came from.
#include <cmath>
#include <sstream>

#include "family.h"

namespace llmcost {

namespace {

std::string num(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

// The reader and key a value was read from: the first of `keys` the config sets ("a/b" is key b
// of the object a), else the first (the value is then the family's default or derived from it).
[[noreturn]] void fail_at(const ConfigReader& r, std::initializer_list<const char*> keys, const std::string& what) {
  for (const char* k : keys) {
    std::string key = k;
    const auto slash = key.find('/');
    if (slash == std::string::npos) {
      if (r.has(key)) r.fail(key, what);
      continue;
    }
    if (auto c = r.child(key.substr(0, slash)); c && c->has(key.substr(slash + 1))) c->fail(key.substr(slash + 1), what);
  }
  r.fail(*keys.begin(), what);
}

// Checks one factor: finite and in (lo, hi] (lo_open) or [lo, hi].
void check_range(const ConfigReader& r, std::initializer_list<const char*> keys, double v, double lo, bool lo_open, double hi,
                 const std::string& expected) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok) fail_at(r, keys, "must be " + expected + ", got " + num(v));
}

constexpr double kHuge = 1e300;  // "finite" with room: no factor of a real model comes near it

void check_eps(const ConfigReader& r, double eps) {
  check_range(r, {"rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps"}, eps, 0.0, true, 0.5,
              "a number in (0, 0.5] (a norm's stabilizing epsilon)");
}

void check_attention(const ConfigReader& r, const AttentionSpec& a) {
  if (a.type == AttentionType::Standard) {
    if (a.n_heads < 1 || a.n_kv_heads < 1 || a.n_heads % a.n_kv_heads != 0)
      fail_at(r, {"num_key_value_heads", "n_head"},
              "must divide the number of attention heads (" + std::to_string(a.n_heads) + "), got " + std::to_string(a.n_kv_heads));
    if (a.head_dim < 1) fail_at(r, {"head_dim", "hidden_size", "n_embd"}, "must give a positive head_dim, got " + std::to_string(a.head_dim));
    if (a.use_rope)
      check_range(r, {"partial_rotary_factor"}, a.partial_rotary_factor, 0.0, true, 1.0,
                  "a number in (0, 1] (the rotary width is at most head_dim, " + std::to_string(a.head_dim) + ")");
  } else {
    if (a.kv_lora_rank < 1) fail_at(r, {"kv_lora_rank"}, "must be a positive integer, got " + std::to_string(a.kv_lora_rank));
    if (a.qk_rope_head_dim < 1)
      fail_at(r, {"qk_rope_head_dim"}, "must be a positive integer, got " + std::to_string(a.qk_rope_head_dim));
    if (a.v_head_dim < 1) fail_at(r, {"v_head_dim"}, "must be a positive integer, got " + std::to_string(a.v_head_dim));
  }
  if (a.use_rope) check_range(r, {"rope_theta", "rope_parameters/rope_theta"}, a.rope_theta, 0.0, true, kHuge, "a positive number");
  check_range(r, {"attn_logit_softcapping"}, a.logit_softcap, 0.0, false, kHuge, "a non-negative number (0: no soft-capping)");
  if (!std::isfinite(a.scale) || a.scale < 0)
    fail_at(r, {"query_pre_attn_scalar"}, "must be a positive number (the softmax scale 1/sqrt of it is " + num(a.scale) + ")");
  if (a.sliding_window < 0) fail_at(r, {"sliding_window"}, "must be a non-negative integer, got " + std::to_string(a.sliding_window));
  if (a.chunk_size < 0) fail_at(r, {"attention_chunk_size"}, "must be a non-negative integer, got " + std::to_string(a.chunk_size));
}

void check_moe(const ConfigReader& r, const MoeSpec& m) {
  if (m.n_experts < 1 || m.top_k < 1 || m.top_k > m.n_experts)
    fail_at(r, {"num_experts_per_tok", "experts_per_token"},
            "must be in [1, " + std::to_string(m.n_experts) + "] (the number of experts), got " + std::to_string(m.top_k));
  if (m.n_group < 1 || m.n_experts % m.n_group != 0)
    fail_at(r, {"n_group"}, "must divide the number of experts (" + std::to_string(m.n_experts) + "), got " + std::to_string(m.n_group));
  // Group-limited routing picks top_k experts among the topk_group best groups: they must hold k.
  if (m.topk_group < 1 || m.topk_group > m.n_group || m.topk_group * (m.n_experts / m.n_group) < m.top_k)
    fail_at(r, {"topk_group"},
            "must select groups holding at least num_experts_per_tok (" + std::to_string(m.top_k) + ") experts, in [1, n_group (" +
                std::to_string(m.n_group) + ")], got " + std::to_string(m.topk_group));
  check_range(r, {"routed_scaling_factor"}, m.routed_scaling_factor, 0.0, true, kHuge, "a positive number");
}

void check_op(const ConfigReader& r, const Op& op) {
  for (const Tensor& t : op.tensors)
    for (int64_t dim : t.shape)
      if (dim < 1) {
        std::string shape;
        for (int64_t s : t.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
        r.fail("", "describes tensor " + quote_for_message(t.checkpoint_name) + " with shape [" + shape +
                       "]; every dimension must be positive");
      }
  switch (op.kind) {
    case OpKind::Norm:
      check_eps(r, op.eps);
      break;
    case OpKind::Attention: check_attention(r, op.attn); break;
    case OpKind::Router: check_moe(r, op.moe); break;
    case OpKind::Recurrent:
      if (op.rec.n_heads < 1 || op.rec.n_k_heads < 1 || op.rec.k_head_dim < 1 || op.rec.v_head_dim < 1 || op.rec.conv_kernel < 1)
        r.fail("", "describes a recurrent mixer " + quote_for_message(op.name) + " with a non-positive head count or dimension");
      break;
    case OpKind::RoutedExperts: check_moe(r, op.moe); [[fallthrough]];
    case OpKind::Mlp:
    case OpKind::SharedExperts:
      if (op.mlp.d_ff < 1) fail_at(r, {"intermediate_size", "moe_intermediate_size", "n_inner"}, "must be a positive integer");
      if (op.mlp.act == Activation::SwiGLUClamped)
        check_range(r, {"swiglu_limit"}, op.mlp.swiglu_limit, 0.0, true, kHuge, "a positive number");
      break;
    default: break;
  }
}

}  // namespace

void validate_model_ir(const ConfigReader& r, const ModelIR& ir) {
  if (ir.d_model < 1) fail_at(r, {"hidden_size", "n_embd"}, "must be a positive integer");
  if (ir.vocab_size < 1) fail_at(r, {"vocab_size"}, "must be a positive integer");
  check_range(r, {"final_logit_softcapping"}, ir.final_logit_softcap, 0.0, false, kHuge, "a non-negative number (0: no soft-capping)");
  check_eps(r, ir.norm_eps);
  for (const Op& op : ir.pre) check_op(r, op);
  for (const auto* layers : {&ir.layers, &ir.mtp_layers})
    for (const Layer& L : *layers)
      for (const Op& op : L.ops) check_op(r, op);
  for (const Op& op : ir.post) check_op(r, op);
  // A layer reading another layer's KV cache reads one an earlier layer keeps, of the same geometry.
  for (const Layer& L : ir.layers)
    for (const Op& op : L.ops) {
      if (op.kind != OpKind::Attention || op.attn.kv_shared_from < 0) continue;
      const int64_t src = op.attn.kv_shared_from;
      const Op* owner = nullptr;
      if (src < L.index && src < static_cast<int64_t>(ir.layers.size()))
        for (const Op& o : ir.layers[static_cast<size_t>(src)].ops)
          if (o.kind == OpKind::Attention && o.attn.kv_shared_from < 0) owner = &o;
      const AttentionSpec& a = op.attn;
      if (!owner || owner->attn.n_kv_heads != a.n_kv_heads || owner->attn.head_dim != a.head_dim ||
          owner->attn.v_head_dim != a.v_head_dim || owner->attn.sliding_window != a.sliding_window)
        fail_at(r, {"num_kv_shared_layers"}, "makes layer " + std::to_string(L.index) + " read the KV cache of layer " +
                                                 std::to_string(src) +
                                                 ", which is not an earlier attention layer with a cache of the same shape");
    }
}

}  // namespace llmcost
