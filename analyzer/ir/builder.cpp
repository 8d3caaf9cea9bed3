// The shared pieces of family files (family.h): op emitters that give every tensor its role and
// checkpoint name, and the readers of config keys that many families share.
#include "family.h"

#include <cmath>
#include <map>

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

// ---------------------------------------------------------------- op emitters

Op make_op(std::string name, OpKind kind, int layer, int sublayer) {
  Op op;
  op.name = std::move(name);
  op.kind = kind;
  op.layer = layer;
  op.sublayer = sublayer;
  op.tensors.reserve(8);  // enough for most ops: avoids regrowth while building (analysis speed)
  return op;
}

// Checkpoint names are the op's module path + "." + the tensor's name under it; routed experts
// stored one module per expert put the expert index between them ("{e}", see model_ir.h).
namespace {
std::string tensor_path(const Op& op, const std::string& name) {

  if (op.kind == OpKind::RoutedExperts && !op.experts_stacked) return op.name + ".{e}." + name;
  return op.name + "." + name;
}
}  // namespace

void add(Op& op, R role, const std::string& name, std::vector<int64_t> shape, TU use, PG group, int in_axis) {
  op.tensors.push_back(make_tensor(role, tensor_path(op, name), std::move(shape), use, group, in_axis));
}

// The bias vector of `role`.
void add_bias(Op& op, R role, const std::string& name, int64_t n, PG group) {
  add(op, role, name, {n}, TU::Vector, group);
  op.tensors.back().bias = true;
}

// A linear layer: weight [out, in] (+ bias [out]).
void add_linear(Op& op, R role, const std::string& name, int64_t in, int64_t out, bool bias, PG group) {
  add(op, role, name + ".weight", {out, in}, TU::Matmul, group);
  if (bias) add_bias(op, role, name + ".bias", out, group);
}

Op norm_op(const std::string& name, int layer, int64_t dim, NormType type, bool bias, double eps, int sublayer,
           bool post) {
  Op op = make_op(name, OpKind::Norm, layer, sublayer);
  op.norm = type;
  op.eps = eps;
  op.norm_bias = bias;
  op.post_norm = post;
  add(op, R::Norm, "weight", {dim}, TU::Vector, PG::Norm);
  if (bias) add_bias(op, R::Norm, "bias", dim, PG::Norm);
  return op;
}



Op standard_attention(const std::string& name, int layer, int64_t d, const AttentionSpec& spec, const StdAttnOpts& o) {
  Op op = make_op(name, OpKind::Attention, layer, 0);
  op.attn = spec;
  const int64_t q_out = checked_mul(spec.n_heads, spec.head_dim);
  const int64_t kv_out = checked_mul(spec.n_kv_heads, spec.head_dim);
  if (o.fused_qkv) {
    add_linear(op, R::AttnQkv, "qkv_proj", d, checked_add(q_out, checked_mul(2, kv_out)), o.q_bias, PG::Attention);
  } else {
    add_linear(op, R::AttnQ, "q_proj", d, q_out, o.q_bias, PG::Attention);
    add_linear(op, R::AttnK, "k_proj", d, kv_out, o.k_bias, PG::Attention);
    add_linear(op, R::AttnV, "v_proj", d, kv_out, o.v_bias, PG::Attention);
  }
  add_linear(op, R::AttnOut, "o_proj", q_out, d, o.o_bias, PG::Attention);
  if (o.qk_norm == QkNorm::PerHead) {
    add(op, R::AttnQNorm, "q_norm.weight", {spec.head_dim}, TU::Vector, PG::Norm);
    add(op, R::AttnKNorm, "k_norm.weight", {spec.head_dim}, TU::Vector, PG::Norm);
  } else if (o.qk_norm == QkNorm::Full) {
    add(op, R::AttnQNorm, "q_norm.weight", {q_out}, TU::Vector, PG::Norm);
    add(op, R::AttnKNorm, "k_norm.weight", {kv_out}, TU::Vector, PG::Norm);
  } else if (o.qk_norm == QkNorm::Hidden) {
    add(op, R::AttnQNorm, "q_norm.weight", {d}, TU::Vector, PG::Norm);
    add(op, R::AttnKNorm, "k_norm.weight", {checked_mul(d / spec.n_heads, spec.n_kv_heads)}, TU::Vector, PG::Norm);
  }
  op.attn.qk_norm = o.qk_norm != QkNorm::None;
  if (spec.sinks) add(op, R::AttnSinks, "sinks", {spec.n_heads}, TU::Vector, PG::Attention);
  return op;
}


// A gated (gate, up, down) or fused (gate_up, down) MLP of width d_ff; an ungated one (the op's
// MlpSpec::gated false: up, down) has no gate.
static void add_mlp_tensors(Op& op, int64_t d, int64_t d_ff, bool fused_gate_up, bool bias, PG group, const MlpNames& n) {
  if (!op.mlp.gated) {
    add_linear(op, R::FfnUp, n.up, d, d_ff, bias, group);
  } else if (fused_gate_up) {
    add_linear(op, R::FfnGateUp, n.gate, d, checked_mul(2, d_ff), bias, group);
  } else {
    add_linear(op, R::FfnGate, n.gate, d, d_ff, bias, group);
    add_linear(op, R::FfnUp, n.up, d, d_ff, bias, group);
  }
  add_linear(op, R::FfnDown, n.down, d_ff, d, bias, group);
}

Op mlp_op(const std::string& name, OpKind kind, int layer, int64_t d, const MlpSpec& spec, PG group,
          bool fused_gate_up, bool bias, const MlpNames& names) {
  Op op = make_op(name, kind, layer, 1);
  op.mlp = spec;
  add_mlp_tensors(op, d, spec.d_ff, fused_gate_up, bias, group, names);
  return op;
}

Op router_op(const std::string& name, int layer, int64_t d, const MoeSpec& moe, bool bias, bool correction_bias) {
  Op op = make_op(name, OpKind::Router, layer, 1);
  op.moe = moe;
  op.moe.correction_bias = correction_bias;
  add(op, R::Router, "weight", {moe.n_experts, d}, TU::Matmul, PG::Router);
  if (bias) add_bias(op, R::Router, "bias", moe.n_experts, PG::Router);
  if (correction_bias) add(op, R::RouterCorrectionBias, "e_score_correction_bias", {moe.n_experts}, TU::Vector, PG::Router);
  return op;
}

// Routed experts stored one module per expert: "<name>.<e>.<tensor>".
Op experts_op(const std::string& name, int layer, int64_t d, const MlpSpec& spec, const MoeSpec& moe,
              const MlpNames& names) {
  Op op = make_op(name, OpKind::RoutedExperts, layer, 1);
  op.mlp = spec;
  op.moe = moe;
  add_mlp_tensors(op, d, spec.d_ff, false, false, PG::ExpertsRouted, names);
  return op;
}

// Routed experts stored stacked, [n_experts, d, 2*d_ff] gate_up and [n_experts, d_ff, d] down
// (llama4, gpt-oss); tensors hold one expert's slice, input axis first.
Op stacked_experts_op(const std::string& name, int layer, int64_t d, const MlpSpec& spec, const MoeSpec& moe,
                      bool bias) {
  Op op = make_op(name, OpKind::RoutedExperts, layer, 1);
  op.mlp = spec;
  op.moe = moe;
  op.experts_stacked = true;
  add(op, R::FfnGateUp, "gate_up_proj", {d, checked_mul(2, spec.d_ff)}, TU::Matmul, PG::ExpertsRouted, 0);
  if (bias) add_bias(op, R::FfnGateUp, "gate_up_proj_bias", checked_mul(2, spec.d_ff), PG::ExpertsRouted);
  add(op, R::FfnDown, "down_proj", {spec.d_ff, d}, TU::Matmul, PG::ExpertsRouted, 0);
  if (bias) add_bias(op, R::FfnDown, "down_proj_bias", d, PG::ExpertsRouted);
  return op;
}

// ---------------------------------------------------------------- config helpers

Activation parse_activation(const ConfigReader& r, const std::string& key, const std::string& def) {
  std::string a = r.str_or(key, def);
  static const std::map<std::string, Activation> kActs = {
      {"silu", Activation::SiLU},          {"swish", Activation::SiLU},
      {"gelu", Activation::GeLU},          {"gelu_new", Activation::GeLUTanh},
      {"gelu_pytorch_tanh", Activation::GeLUTanh}, {"gelu_fast", Activation::GeLUTanh},
      {"relu", Activation::ReLU},          {"relu2", Activation::ReLU2},
      {"situ", Activation::SiTU},
  };
  auto it = kActs.find(a);
  if (it == kActs.end())
    r.fail(key, "must be one of silu, gelu, gelu_new, gelu_pytorch_tanh, relu, relu2, situ; got " + quote_for_message(a));
  return it->second;
}


Dims read_dims(const ConfigReader& r) {
  Dims x;
  x.d = r.req_int("hidden_size");
  x.n_layers = r.req_int("num_hidden_layers", 1, 100000);
  x.n_heads = r.req_int("num_attention_heads", 1, 1 << 20);
  x.n_kv_heads = r.int_or("num_key_value_heads", x.n_heads, 1, 1 << 20);
  if (x.n_kv_heads > x.n_heads || x.n_heads % x.n_kv_heads != 0)
    r.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(x.n_heads) + "), got " +
                                      std::to_string(x.n_kv_heads));
  x.vocab = r.req_int("vocab_size");
  return x;
}

int64_t head_dim_of(const ConfigReader& r, const Dims& x, bool config_may_set) {
  if (config_may_set && r.has("head_dim")) return r.req_int("head_dim");
  if (x.d % x.n_heads != 0)
    r.fail("hidden_size", "must be divisible by num_attention_heads (" + std::to_string(x.n_heads) + ") when head_dim is not given, got " +
                              std::to_string(x.d));
  return x.d / x.n_heads;
}

double rms_eps(const ConfigReader& r) { return r.num_or("rms_norm_eps", 1e-6); }

double rope_theta(const ConfigReader& r, double def) {
  if (r.has("rope_theta")) return r.num_or("rope_theta", def);
  if (auto rp = r.child("rope_parameters")) return rp->num_or("rope_theta", def);
  return def;
}

// Per-layer attention window: from `layer_types` when the config has it, else from the
// family's default rule. 0 = full attention.
std::vector<int64_t> layer_windows(const ConfigReader& r, int64_t n_layers, int64_t window,
                                   const std::function<bool(int64_t)>& default_sliding) {
  std::vector<int64_t> w(n_layers, 0);
  if (r.has("layer_types")) {
    auto types = r.str_list("layer_types");
    if (static_cast<int64_t>(types.size()) != n_layers)
      r.fail("layer_types", "must have num_hidden_layers (" + std::to_string(n_layers) + ") entries, got " +
                                std::to_string(types.size()));
    for (int64_t i = 0; i < n_layers; ++i) {
      const std::string& t = types[i];
      if (t == "sliding_attention") {
        if (window <= 0) r.fail("sliding_window", "is required (a positive integer) when layer_types has sliding_attention");
        w[i] = window;
      } else if (t != "full_attention" && t != "chunked_attention") {
        throw ConfigError(r.file(), r.pointer_of("layer_types") + "/" + std::to_string(i),
                          "must be \"full_attention\", \"sliding_attention\" or \"chunked_attention\", got " + quote_for_message(t));
      }
    }
    return w;
  }
  if (window > 0)
    for (int64_t i = 0; i < n_layers; ++i)
      if (default_sliding(i)) w[i] = window;
  return w;
}

MoeSpec read_topk(const ConfigReader& r, const std::string& experts_key, const std::string& topk_key) {
  MoeSpec m;
  m.n_experts = r.req_int(experts_key, 1, 1 << 20);
  m.top_k = r.req_int(topk_key, 1, 1 << 20);
  if (m.top_k > m.n_experts)
    r.fail(topk_key, "must be <= " + experts_key + " (" + std::to_string(m.n_experts) + "), got " + std::to_string(m.top_k));
  return m;
}

void check_unique_layer_list(const ConfigReader& r, const std::string& key, const std::vector<int64_t>& v, int64_t n_layers) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] >= n_layers)
      throw ConfigError(r.file(), r.pointer_of(key) + "/" + std::to_string(i),
                        "must be a layer index below num_hidden_layers (" + std::to_string(n_layers) + "), got " +
                            std::to_string(v[i]));
}

// Embedding in front, final norm and lm_head behind.
void add_embedding(ModelIR& ir, const std::string& name, int64_t vocab, int64_t d) {
  Op op = make_op(name, OpKind::TokenEmbedding, -1);
  add(op, R::TokenEmbedding, "weight", {vocab, d}, TU::Gather, PG::Embedding);
  ir.pre.push_back(std::move(op));
}

void add_head(ModelIR& ir, const std::string& norm_name, NormType nt, bool norm_bias, double eps, const std::string& head_name,
              bool tied, bool head_bias) {
  Op n = norm_op(norm_name, -1, ir.d_model, nt, norm_bias, eps, 0);
  ir.post.push_back(std::move(n));
  Op head = make_op(head_name, OpKind::LmHead, -1);
  add(head, R::LmHead, "weight", {ir.vocab_size, ir.d_model}, TU::Matmul, tied ? PG::Embedding : PG::LmHead);
  head.tensors.back().tied = tied;
  if (head_bias) add_bias(head, R::LmHead, "bias", ir.vocab_size, PG::LmHead);
  ir.post.push_back(std::move(head));
}

int model_dtype_bits(const std::string& dtype) {
  if (dtype == "float32" || dtype == "fp32") return 32;
  return 16;
}

int recurrent_state_bits(const ConfigReader& r, const ModelIR& ir) {
  for (const char* key : {"mamba_ssm_cache_dtype", "mamba_ssm_dtype"}) {
    if (!r.has(key)) continue;
    const std::string v = r.str_or(key, "auto");
    if (v == "float32" || v == "fp32") return 32;
    if (v == "bfloat16" || v == "float16" || v == "bf16" || v == "fp16") return 16;
    if (v == "auto") break;
    r.fail(key, "must be one of float32, bfloat16, float16, auto; got " + quote_for_message(v));
  }
  return model_dtype_bits(ir.torch_dtype);
}

std::string layer_prefix(const std::string& base, int64_t i) { return base + "." + std::to_string(i); }

void init_ir(ModelIR& ir, const ConfigReader& r, const std::string& arch, const Dims& x) {
  ir.architecture = arch;
  ir.d_model = x.d;
  ir.vocab_size = x.vocab;
  ir.n_layers = x.n_layers;
  ir.layers.reserve(static_cast<size_t>(x.n_layers));
  ir.max_position_embeddings = r.int_or("max_position_embeddings", 0, 0);
  ir.torch_dtype = r.str_or("torch_dtype", r.str_or("dtype", ""));
}

}  // namespace llmcost
