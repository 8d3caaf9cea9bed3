// Family builders: each reads its config the way the family's Hugging Face modeling file
// does and emits the weights it creates, as ModelIR ops.
#include "llmcost/families.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "llmcost/config_reader.h"

namespace llmcost {
namespace {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

// ---------------------------------------------------------------- op emitters

Op make_op(std::string name, OpKind kind, int layer, int sublayer = 0) {
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
std::string tensor_path(const Op& op, const std::string& name) {
  if (op.kind == OpKind::RoutedExperts && !op.experts_stacked) return op.name + ".{e}." + name;
  return op.name + "." + name;
}

void add(Op& op, R role, const std::string& name, std::vector<int64_t> shape, TU use, PG group, int in_axis = -1) {
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
           bool post = false) {
  Op op = make_op(name, OpKind::Norm, layer, sublayer);
  op.norm = type;
  op.eps = eps;
  op.norm_bias = bias;
  op.post_norm = post;
  add(op, R::Norm, "weight", {dim}, TU::Vector, PG::Norm);
  if (bias) add_bias(op, R::Norm, "bias", dim, PG::Norm);
  return op;
}

// PerHead: [head_dim] (qwen3, gemma3). Full: [n_heads*head_dim] / [n_kv_heads*head_dim]
// (olmo2). Hidden: [hidden_size] / [(hidden_size/n_heads)*n_kv_heads], whatever head_dim
// is (olmoe). L2: parameter-free (llama4).
enum class QkNorm { None, PerHead, Full, Hidden, L2 };

struct StdAttnOpts {
  bool q_bias = false, k_bias = false, v_bias = false, o_bias = false;
  bool fused_qkv = false;  // phi3: qkv_proj
  QkNorm qk_norm = QkNorm::None;
};

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

// Names of the three projections of a gated MLP (or two of an ungated one).
struct MlpNames {
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj";
};

// A gated (gate, up, down) or fused (gate_up, down) MLP of width d_ff.
void add_mlp_tensors(Op& op, int64_t d, int64_t d_ff, bool fused_gate_up, bool bias, PG group, const MlpNames& n) {
  if (fused_gate_up) {
    add_linear(op, R::FfnGateUp, n.gate, d, checked_mul(2, d_ff), bias, group);
  } else {
    add_linear(op, R::FfnGate, n.gate, d, d_ff, bias, group);
    add_linear(op, R::FfnUp, n.up, d, d_ff, bias, group);
  }
  add_linear(op, R::FfnDown, n.down, d_ff, d, bias, group);
}

Op mlp_op(const std::string& name, OpKind kind, int layer, int64_t d, const MlpSpec& spec, PG group,
          bool fused_gate_up = false, bool bias = false, const MlpNames& names = {}) {
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
              const MlpNames& names = {}) {
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
      {"relu", Activation::ReLU},
  };
  auto it = kActs.find(a);
  if (it == kActs.end()) r.fail(key, "must be one of silu, gelu, gelu_new, gelu_pytorch_tanh, relu; got " + quote_for_message(a));
  return it->second;
}

struct Dims {
  int64_t d = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab = 0;
};

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
              bool tied, bool head_bias = false) {
  Op n = norm_op(norm_name, -1, ir.d_model, nt, norm_bias, eps, 0);
  ir.post.push_back(std::move(n));
  Op head = make_op(head_name, OpKind::LmHead, -1);
  add(head, R::LmHead, "weight", {ir.vocab_size, ir.d_model}, TU::Matmul, tied ? PG::Embedding : PG::LmHead);
  head.tensors.back().tied = tied;
  if (head_bias) add_bias(head, R::LmHead, "bias", ir.vocab_size, PG::LmHead);
  ir.post.push_back(std::move(head));
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

// ---------------------------------------------------------------- llama-like dense and MoE

// What differs between the llama-like families (llama, mistral, qwen2/3, gemma*, phi3,
// olmo2 and their MoE variants), read from each family's modeling file.
struct LlamaLike {
  std::string arch;
  bool head_dim_from_config = true;
  bool tie_default = false;
  std::function<StdAttnOpts(const ConfigReader&)> attn_opts;
  bool fused_gate_up = false;
  bool mlp_bias_key = false;  // llama: mlp_bias
  enum class Norms { PrePost, Sandwich, PostOnly } norms = Norms::PrePost;
  std::string act_key = "hidden_act";
  std::string act_default = "silu";
  std::function<bool(int64_t)> default_sliding = [](int64_t) { return true; };
  bool gemma_embed_scale = false;
  bool window_requires_flag = false;  // qwen: use_sliding_window + max_window_layers
};

void build_llama_like(const ConfigReader& r, ModelIR& ir, const LlamaLike& f) {
  Dims x = read_dims(r);
  init_ir(ir, r, f.arch, x);
  const int64_t hd = head_dim_of(r, x, f.head_dim_from_config);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", f.tie_default);
  if (f.gemma_embed_scale) {
    ir.embedding_multiplier = std::sqrt(static_cast<double>(x.d));
    ir.norm_weight_offset = 1.0;  // GemmaRMSNorm: x * (1 + weight)
  }
  ir.final_logit_softcap = r.num_or("final_logit_softcapping", 0.0);
  StdAttnOpts ao = f.attn_opts ? f.attn_opts(r) : StdAttnOpts{};
  const bool mlp_bias = f.mlp_bias_key && r.bool_or("mlp_bias", false);
  MlpSpec mlp;
  mlp.d_ff = r.req_int("intermediate_size");
  mlp.act = parse_activation(r, f.act_key, f.act_default);

  // Sliding windows.
  int64_t window = r.int_or("sliding_window", 0, 0);
  std::function<bool(int64_t)> sliding = f.default_sliding;
  if (f.window_requires_flag) {
    bool use = r.bool_or("use_sliding_window", false);
    int64_t max_window_layers = r.int_or("max_window_layers", x.n_layers, 0);
    if (!use) window = r.has("layer_types") ? window : 0;
    sliding = [max_window_layers](int64_t i) { return i >= max_window_layers; };
  }
  std::vector<int64_t> windows = layer_windows(r, x.n_layers, window, sliding);

  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.rope_theta = rope_theta(r, 10000.0);
  spec.partial_rotary_factor = r.num_or("partial_rotary_factor", 1.0);
  spec.logit_softcap = r.num_or("attn_logit_softcapping", 0.0);
  if (r.has("query_pre_attn_scalar")) spec.scale = 1.0 / std::sqrt(r.num_or("query_pre_attn_scalar", 1.0));

  // MoE (mixtral, qwen2_moe, qwen3_moe, olmoe, phimoe are built on this too).
  const bool has_experts = r.has("num_local_experts") || r.has("num_experts");
  MoeSpec moe;
  std::vector<bool> moe_layer(x.n_layers, false);
  MlpSpec expert_mlp = mlp;
  int64_t shared_ff = 0;
  bool shared_gate = false;
  if (has_experts) {
    moe = read_topk(r, r.has("num_local_experts") ? "num_local_experts" : "num_experts", "num_experts_per_tok");
    moe.norm_topk_prob = r.bool_or("norm_topk_prob", f.arch == "mixtral" || f.arch == "phimoe");
    if (r.has("moe_intermediate_size")) expert_mlp.d_ff = r.req_int("moe_intermediate_size");
    int64_t step = r.int_or("decoder_sparse_step", 1);
    auto mlp_only = r.int_list("mlp_only_layers");
    check_unique_layer_list(r, "mlp_only_layers", mlp_only, x.n_layers);
    std::set<int64_t> only(mlp_only.begin(), mlp_only.end());
    for (int64_t i = 0; i < x.n_layers; ++i) moe_layer[i] = !only.count(i) && (i + 1) % step == 0;
    shared_ff = r.int_or("shared_expert_intermediate_size", 0, 0);
    shared_gate = shared_ff > 0;
    moe.n_shared_experts = shared_ff > 0 ? 1 : 0;
  }
  const bool block_sparse = f.arch == "mixtral" || f.arch == "phimoe";  // "block_sparse_moe" + w1/w2/w3
  const NormType nt = f.arch == "phimoe" ? NormType::LayerNorm : NormType::RMSNorm;
  const bool nbias = nt == NormType::LayerNorm;

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    const std::string p = layer_prefix("model.layers", i);
    const int li = static_cast<int>(i);
    AttentionSpec s = spec;
    s.sliding_window = windows[i];
    if (f.norms != LlamaLike::Norms::PostOnly) L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, nt, nbias, eps, 0));
    L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, ao));
    if (f.norms == LlamaLike::Norms::Sandwich) {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 0, true));
      L.ops.push_back(norm_op(p + ".pre_feedforward_layernorm", li, x.d, nt, nbias, eps, 1));
    } else if (f.norms == LlamaLike::Norms::PostOnly) {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 0, true));
    } else {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 1));
    }
    if (has_experts && moe_layer[i]) {
      L.is_moe = true;
      const std::string mp = p + (block_sparse ? ".block_sparse_moe" : ".mlp");
      MlpNames en = block_sparse ? MlpNames{"w1", "w3", "w2"} : MlpNames{};
      L.ops.push_back(router_op(mp + ".gate", li, x.d, moe, false, false));
      L.ops.push_back(experts_op(mp + ".experts", li, x.d, expert_mlp, moe, en));
      if (shared_ff > 0) {
        MlpSpec sm = mlp;
        sm.d_ff = shared_ff;
        Op so = mlp_op(mp + ".shared_expert", OpKind::SharedExperts, li, x.d, sm, PG::ExpertsShared);
        if (shared_gate) add(so, R::FfnOutGate, "shared_expert_gate.weight", {1, x.d}, TU::Matmul, PG::ExpertsShared);
        L.ops.push_back(std::move(so));
      }
    } else {
      L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, mlp, PG::Mlp, f.fused_gate_up, mlp_bias));
    }
    if (f.norms == LlamaLike::Norms::Sandwich)
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm", li, x.d, nt, nbias, eps, 1, true));
    else if (f.norms == LlamaLike::Norms::PostOnly)
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm", li, x.d, nt, nbias, eps, 1, true));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "model.norm", nt, nbias, eps, "lm_head", ir.tie_word_embeddings,
           f.arch == "phimoe" && r.bool_or("lm_head_bias", false));
  if (f.arch == "phimoe")
    ir.notes.push_back("phimoe routes with SparseMixer; the runner approximates it with softmax top-k");
}

StdAttnOpts bias_all(const ConfigReader& r) {
  bool b = r.bool_or("attention_bias", false);
  return StdAttnOpts{b, b, b, b, false, QkNorm::None};
}

LlamaLike family_spec(const std::string& arch) {
  LlamaLike f;
  f.arch = arch;
  f.attn_opts = bias_all;
  if (arch == "llama") {
    f.mlp_bias_key = true;
  } else if (arch == "mistral" || arch == "mixtral") {
    f.attn_opts = [](const ConfigReader&) { return StdAttnOpts{}; };
  } else if (arch == "qwen2" || arch == "qwen2_moe") {
    f.attn_opts = [](const ConfigReader& r) {
      bool b = r.bool_or("qkv_bias", true);
      return StdAttnOpts{b, b, b, false, false, QkNorm::None};
    };
    f.window_requires_flag = true;
  } else if (arch == "qwen3" || arch == "qwen3_moe") {
    f.attn_opts = [](const ConfigReader& r) {
      StdAttnOpts o = bias_all(r);
      o.qk_norm = QkNorm::PerHead;
      return o;
    };
    f.window_requires_flag = true;
  } else if (arch == "gemma") {
    f.tie_default = true;
    f.gemma_embed_scale = true;
    f.act_key = "hidden_activation";
    f.act_default = "gelu_pytorch_tanh";
  } else if (arch == "gemma2" || arch == "gemma3_text") {
    f.tie_default = true;
    f.gemma_embed_scale = true;
    f.norms = LlamaLike::Norms::Sandwich;
    f.act_key = "hidden_activation";
    f.act_default = "gelu_pytorch_tanh";
    if (arch == "gemma2") {
      f.default_sliding = [](int64_t i) { return (i + 1) % 2 != 0; };
    } else {
      f.attn_opts = [](const ConfigReader& r) {
        StdAttnOpts o = bias_all(r);
        o.qk_norm = QkNorm::PerHead;
        return o;
      };
    }
  } else if (arch == "phi3") {
    // Phi3Attention: head_dim = getattr(config, "head_dim", hidden_size // num_attention_heads).
    f.attn_opts = [](const ConfigReader&) {
      StdAttnOpts o;
      o.fused_qkv = true;
      return o;
    };
    f.fused_gate_up = true;
  } else if (arch == "olmo2") {
    f.norms = LlamaLike::Norms::PostOnly;
    f.attn_opts = [](const ConfigReader& r) {
      StdAttnOpts o = bias_all(r);
      o.qk_norm = QkNorm::Full;
      return o;
    };
  } else if (arch == "olmoe") {
    f.attn_opts = [](const ConfigReader& r) {
      StdAttnOpts o = bias_all(r);
      o.qk_norm = QkNorm::Hidden;  // modeling_olmoe.py: q_norm(hidden_size), k_norm(hidden/heads*kv_heads)
      return o;
    };
  } else if (arch == "phimoe") {
    // attention_bias (q, k, v, o) and LayerNorms with bias; handled in build_llama_like.
  }
  return f;
}

void build_family_llama_like(const ConfigReader& r, ModelIR& ir, const std::string& arch) {
  LlamaLike f = family_spec(arch);
  if (arch == "gemma3_text") {
    int64_t pattern = r.int_or("sliding_window_pattern", 6);
    f.default_sliding = [pattern](int64_t i) { return (i + 1) % pattern != 0; };
  }
  if (arch == "mixtral" || arch == "qwen2_moe" || arch == "qwen3_moe" || arch == "olmoe" || arch == "phimoe") {
    if (!r.has("num_local_experts") && !r.has("num_experts"))
      r.fail(arch == "qwen2_moe" || arch == "qwen3_moe" || arch == "olmoe" ? "num_experts" : "num_local_experts",
             "is required (a positive integer) for a " + arch + " model but is missing");
  }
  if (arch == "gemma3_text") {
    // Gemma 3's multimodal configs (gemma-3-4b/12b/27b) write only what differs from
    // Gemma3TextConfig's defaults in text_config; transformers fills in the rest.
    static const std::vector<std::pair<const char*, Value>> kDefaults = {
        {"vocab_size", Value::integer(262208)},       {"hidden_size", Value::integer(2304)},
        {"intermediate_size", Value::integer(9216)},  {"num_hidden_layers", Value::integer(26)},
        {"num_attention_heads", Value::integer(8)},   {"num_key_value_heads", Value::integer(4)},
        {"head_dim", Value::integer(256)},            {"query_pre_attn_scalar", Value::integer(256)},
        {"sliding_window", Value::integer(4096)},     {"rope_theta", Value::number(1000000.0)},
        {"rms_norm_eps", Value::number(1e-6)},        {"max_position_embeddings", Value::integer(131072)},
    };
    Value filled = r.node();
    std::string used;
    for (const auto& kv : kDefaults)
      if (!r.has(kv.first)) {
        filled.set(kv.first, kv.second);
        used += (used.empty() ? "" : ", ") + std::string(kv.first);
      }
    if (!used.empty()) {
      ir.notes.push_back("Gemma3TextConfig defaults used for " + used);
      build_llama_like(ConfigReader(filled, r.file(), r.pointer()), ir, f);
      return;
    }
  }
  build_llama_like(r, ir, f);
}

// ---------------------------------------------------------------- gpt2

void build_gpt2(const ConfigReader& r, ModelIR& ir) {
  Dims x;
  x.d = r.req_int("n_embd");
  x.n_layers = r.req_int("n_layer", 1, 100000);
  x.n_heads = r.req_int("n_head", 1, 1 << 20);
  x.n_kv_heads = x.n_heads;
  x.vocab = r.req_int("vocab_size");
  if (x.d % x.n_heads != 0)
    r.fail("n_embd", "must be divisible by n_head (" + std::to_string(x.n_heads) + "), got " + std::to_string(x.d));
  init_ir(ir, r, "gpt2", x);
  const int64_t n_pos = r.req_int("n_positions");
  ir.max_position_embeddings = n_pos;
  ir.tie_word_embeddings = true;
  const double eps = r.num_or("layer_norm_epsilon", 1e-5);
  ir.norm_eps = eps;
  const int64_t d_ff = r.int_or("n_inner", 4 * x.d);
  MlpSpec mlp;
  mlp.d_ff = d_ff;
  mlp.gated = false;
  mlp.act = parse_activation(r, "activation_function", "gelu_new");

  add_embedding(ir, "transformer.wte", x.vocab, x.d);
  Op pos = make_op("transformer.wpe", OpKind::PositionEmbedding, -1);
  add(pos, R::PositionEmbedding, "weight", {n_pos, x.d}, TU::Gather, PG::Embedding);
  ir.pre.push_back(std::move(pos));
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    const int li = static_cast<int>(i);
    const std::string p = layer_prefix("transformer.h", i);
    L.ops.push_back(norm_op(p + ".ln_1", li, x.d, NormType::LayerNorm, true, eps, 0));
    Op a = make_op(p + ".attn", OpKind::Attention, li, 0);
    a.attn.n_heads = x.n_heads;
    a.attn.n_kv_heads = x.n_heads;
    a.attn.head_dim = x.d / x.n_heads;
    a.attn.v_head_dim = a.attn.head_dim;
    a.attn.use_rope = false;
    // Conv1D stores [in, out].
    add(a, R::AttnQkv, "c_attn.weight", {x.d, 3 * x.d}, TU::Matmul, PG::Attention, 0);
    add_bias(a, R::AttnQkv, "c_attn.bias", 3 * x.d, PG::Attention);
    add(a, R::AttnOut, "c_proj.weight", {x.d, x.d}, TU::Matmul, PG::Attention, 0);
    add_bias(a, R::AttnOut, "c_proj.bias", x.d, PG::Attention);
    L.ops.push_back(std::move(a));
    L.ops.push_back(norm_op(p + ".ln_2", li, x.d, NormType::LayerNorm, true, eps, 1));
    Op m = make_op(p + ".mlp", OpKind::Mlp, li, 1);
    m.mlp = mlp;
    add(m, R::FfnUp, "c_fc.weight", {x.d, d_ff}, TU::Matmul, PG::Mlp, 0);
    add_bias(m, R::FfnUp, "c_fc.bias", d_ff, PG::Mlp);
    add(m, R::FfnDown, "c_proj.weight", {d_ff, x.d}, TU::Matmul, PG::Mlp, 0);
    add_bias(m, R::FfnDown, "c_proj.bias", x.d, PG::Mlp);
    L.ops.push_back(std::move(m));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "transformer.ln_f", NormType::LayerNorm, true, eps, "lm_head", true);
}

// ---------------------------------------------------------------- deepseek v2 / v3 (MLA)

Layer deepseek_layer(const ConfigReader& r, const std::string& p, int li, int64_t d, const AttentionSpec& spec,
                     bool attn_bias, bool is_moe, const MlpSpec& dense, const MlpSpec& expert, const MoeSpec& moe,
                     int64_t shared_ff, bool correction_bias, double eps) {
  (void)r;
  Layer L;
  L.ops.reserve(8);
  L.index = li;
  L.is_moe = is_moe;
  L.ops.push_back(norm_op(p + ".input_layernorm", li, d, NormType::RMSNorm, false, eps, 0));
  Op a = make_op(p + ".self_attn", OpKind::Attention, li, 0);
  a.attn = spec;
  const int64_t H = spec.n_heads;
  const int64_t qhd = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  if (spec.q_lora_rank > 0) {
    add_linear(a, R::MlaQA, "q_a_proj", d, spec.q_lora_rank, attn_bias, PG::Attention);
    add(a, R::MlaQANorm, "q_a_layernorm.weight", {spec.q_lora_rank}, TU::Vector, PG::Norm);
    add_linear(a, R::MlaQB, "q_b_proj", spec.q_lora_rank, checked_mul(H, qhd), false, PG::Attention);
  } else {
    add_linear(a, R::AttnQ, "q_proj", d, checked_mul(H, qhd), false, PG::Attention);
  }
  add_linear(a, R::MlaKvA, "kv_a_proj_with_mqa", d, checked_add(spec.kv_lora_rank, spec.qk_rope_head_dim), attn_bias,
             PG::Attention);
  add(a, R::MlaKvANorm, "kv_a_layernorm.weight", {spec.kv_lora_rank}, TU::Vector, PG::Norm);
  add_linear(a, R::MlaKvB, "kv_b_proj", spec.kv_lora_rank,
             checked_mul(H, checked_add(spec.qk_nope_head_dim, spec.v_head_dim)), false, PG::Attention);
  add_linear(a, R::AttnOut, "o_proj", checked_mul(H, spec.v_head_dim), d, attn_bias, PG::Attention);
  L.ops.push_back(std::move(a));
  L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, d, NormType::RMSNorm, false, eps, 1));
  if (is_moe) {
    L.ops.push_back(router_op(p + ".mlp.gate", li, d, moe, false, correction_bias));
    L.ops.push_back(experts_op(p + ".mlp.experts", li, d, expert, moe));
    if (shared_ff > 0) {
      MlpSpec sm = expert;
      sm.d_ff = shared_ff;
      L.ops.push_back(mlp_op(p + ".mlp.shared_experts", OpKind::SharedExperts, li, d, sm, PG::ExpertsShared));
    }
  } else {
    L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, d, dense, PG::Mlp));
  }
  return L;
}

void build_deepseek(const ConfigReader& r, ModelIR& ir, const std::string& arch) {
  Dims x = read_dims(r);  // num_key_value_heads is read (and must be valid) but MLA ignores it
  init_ir(ir, r, arch, x);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const bool attn_bias = r.bool_or("attention_bias", false);

  AttentionSpec spec;
  spec.type = AttentionType::MLA;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_heads;
  spec.q_lora_rank = r.int_or("q_lora_rank", 0, 0);
  spec.kv_lora_rank = r.req_int("kv_lora_rank");
  spec.qk_nope_head_dim = r.req_int("qk_nope_head_dim", 0);
  spec.qk_rope_head_dim = r.req_int("qk_rope_head_dim");
  spec.v_head_dim = r.req_int("v_head_dim");
  spec.head_dim = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  spec.rope_theta = rope_theta(r, 10000.0);

  MlpSpec dense;
  dense.d_ff = r.req_int("intermediate_size");
  dense.act = parse_activation(r, "hidden_act", "silu");
  MlpSpec expert = dense;
  MoeSpec moe;
  int64_t first_dense = r.int_or("first_k_dense_replace", 0, 0);
  int64_t freq = r.int_or("moe_layer_freq", 1);
  const bool has_moe = r.has("n_routed_experts");
  int64_t shared_ff = 0;
  bool correction = false;
  if (has_moe) {
    moe = read_topk(r, "n_routed_experts", "num_experts_per_tok");
    expert.d_ff = r.req_int("moe_intermediate_size");
    moe.n_shared_experts = r.int_or("n_shared_experts", 0, 0);
    shared_ff = checked_mul(moe.n_shared_experts, expert.d_ff);
    moe.norm_topk_prob = r.bool_or("norm_topk_prob", false);
    moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
    std::string scoring = r.str_or("scoring_func", arch == "deepseek_v3" ? "sigmoid" : "softmax");
    if (scoring != "softmax" && scoring != "sigmoid")
      r.fail("scoring_func", "must be \"softmax\" or \"sigmoid\", got " + quote_for_message(scoring));
    moe.scoring = scoring == "sigmoid" ? ScoringFunc::Sigmoid : ScoringFunc::Softmax;
    std::string method = r.str_or("topk_method", arch == "deepseek_v3" ? "noaux_tc" : "greedy");
    correction = method == "noaux_tc";
    moe.n_group = r.int_or("n_group", 1);
    moe.topk_group = r.int_or("topk_group", 1);
    if (method == "greedy") moe.n_group = moe.topk_group = 1;
    if (moe.n_experts % moe.n_group != 0)
      r.fail("n_group", "must divide n_routed_experts (" + std::to_string(moe.n_experts) + "), got " + std::to_string(moe.n_group));
    if (moe.topk_group > moe.n_group)
      r.fail("topk_group", "must be <= n_group (" + std::to_string(moe.n_group) + "), got " + std::to_string(moe.topk_group));
  }
  auto is_moe = [&](int64_t i) { return has_moe && i >= first_dense && i % freq == 0; };

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i)
    ir.layers.push_back(deepseek_layer(r, layer_prefix("model.layers", i), static_cast<int>(i), x.d, spec, attn_bias,
                                       is_moe(i), dense, expert, moe, shared_ff, correction, eps));
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);

  // Multi-token prediction modules, stored as extra layers after the main ones (DeepSeek-V3
  // checkpoint layout): enorm, hnorm, eh_proj, a decoder layer, and their own embedding,
  // norm and head copies.
  ir.n_mtp_layers = r.int_or("num_nextn_predict_layers", 0, 0, 64);
  for (int64_t m = 0; m < ir.n_mtp_layers; ++m) {
    const int64_t idx = x.n_layers + m;
    const std::string p = layer_prefix("model.layers", idx);
    Layer L = deepseek_layer(r, p, static_cast<int>(idx), x.d, spec, attn_bias, is_moe(idx), dense, expert, moe, shared_ff,
                             correction, eps);
    Op extra = make_op(p, OpKind::Norm, static_cast<int>(idx));
    add(extra, R::MtpEmbedNorm, "enorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpHiddenNorm, "hnorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpProj, "eh_proj.weight", {x.d, 2 * x.d}, TU::Matmul, PG::Other);
    add(extra, R::TokenEmbedding, "embed_tokens.weight", {x.vocab, x.d}, TU::Gather, PG::Embedding);
    add(extra, R::MtpHeadNorm, "shared_head.norm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::LmHead, "shared_head.head.weight", {x.vocab, x.d}, TU::Matmul, PG::LmHead);
    L.ops.insert(L.ops.begin(), std::move(extra));
    ir.mtp_layers.push_back(std::move(L));
  }
}

// ---------------------------------------------------------------- gpt-oss

void build_gpt_oss(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "gpt_oss", x);
  const double eps = r.num_or("rms_norm_eps", 1e-5);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const int64_t hd = head_dim_of(r, x, true);
  const bool b = r.bool_or("attention_bias", true);
  MoeSpec moe = read_topk(r, "num_local_experts", r.has("num_experts_per_tok") ? "num_experts_per_tok" : "experts_per_token");
  moe.softmax_after_topk = true;
  MlpSpec mlp;
  mlp.d_ff = r.req_int("intermediate_size");
  mlp.act = Activation::SwiGLUClamped;
  mlp.swiglu_limit = r.num_or("swiglu_limit", 7.0);
  int64_t window = r.int_or("sliding_window", 0, 0);
  std::vector<int64_t> windows = layer_windows(r, x.n_layers, window, [](int64_t i) { return i % 2 == 0; });

  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.sinks = true;
  spec.rope_theta = rope_theta(r, 150000.0);

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    L.is_moe = true;
    const int li = static_cast<int>(i);
    const std::string p = layer_prefix("model.layers", i);
    AttentionSpec s = spec;
    s.sliding_window = windows[i];
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, StdAttnOpts{b, b, b, b, false, QkNorm::None}));
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    L.ops.push_back(router_op(p + ".mlp.router", li, x.d, moe, true, false));
    L.ops.push_back(stacked_experts_op(p + ".mlp.experts", li, x.d, mlp, moe, true));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);
}

// ---------------------------------------------------------------- llama4 (text)

void build_llama4(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "llama4", x);
  const double eps = r.num_or("rms_norm_eps", 1e-5);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const int64_t hd = head_dim_of(r, x, true);
  const bool b = r.bool_or("attention_bias", false);
  const bool qk_norm = r.bool_or("use_qk_norm", true);
  MoeSpec moe = read_topk(r, "num_local_experts", "num_experts_per_tok");
  moe.scoring = ScoringFunc::Sigmoid;
  moe.softmax_after_topk = true;
  moe.n_shared_experts = 1;
  MlpSpec expert;
  expert.d_ff = r.req_int("intermediate_size");
  expert.act = parse_activation(r, "hidden_act", "silu");
  MlpSpec dense = expert;
  dense.d_ff = r.int_or("intermediate_size_mlp", expert.d_ff);

  std::vector<bool> moe_layer(x.n_layers, false);
  if (r.has("moe_layers")) {
    auto ml = r.int_list("moe_layers");
    check_unique_layer_list(r, "moe_layers", ml, x.n_layers);
    for (auto i : ml) moe_layer[i] = true;
  } else {
    int64_t step = r.int_or("interleave_moe_layer_step", 1);
    for (int64_t i = step - 1; i < x.n_layers; i += step) moe_layer[i] = true;
  }
  std::vector<bool> use_rope(x.n_layers, true);
  if (r.has("no_rope_layers")) {
    auto nr = r.int_list("no_rope_layers", 0, 1);
    if (static_cast<int64_t>(nr.size()) != x.n_layers)
      r.fail("no_rope_layers", "must have num_hidden_layers (" + std::to_string(x.n_layers) + ") entries, got " +
                                   std::to_string(nr.size()));
    for (int64_t i = 0; i < x.n_layers; ++i) use_rope[i] = nr[i] != 0;
  } else {
    int64_t interval = r.int_or("no_rope_layer_interval", 4);
    for (int64_t i = 0; i < x.n_layers; ++i) use_rope[i] = (i + 1) % interval != 0;
  }
  const int64_t chunk = r.int_or("attention_chunk_size", 8192, 0);

  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.rope_theta = rope_theta(r, 500000.0);

  add_embedding(ir, "language_model.model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    const int li = static_cast<int>(i);
    const std::string p = layer_prefix("language_model.model.layers", i);
    AttentionSpec s = spec;
    s.use_rope = use_rope[i];
    s.chunk_size = use_rope[i] ? chunk : 0;  // NoPE layers attend globally
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    StdAttnOpts ao{b, b, b, b, false, (qk_norm && use_rope[i]) ? QkNorm::L2 : QkNorm::None};
    L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, ao));
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    if (moe_layer[i]) {
      L.is_moe = true;
      L.ops.push_back(router_op(p + ".feed_forward.router", li, x.d, moe, false, false));
      L.ops.push_back(stacked_experts_op(p + ".feed_forward.experts", li, x.d, expert, moe, false));
      L.ops.push_back(mlp_op(p + ".feed_forward.shared_expert", OpKind::SharedExperts, li, x.d, expert, PG::ExpertsShared));
    } else {
      L.ops.push_back(mlp_op(p + ".feed_forward", OpKind::Mlp, li, x.d, dense, PG::Mlp));
    }
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "language_model.model.norm", NormType::RMSNorm, false, eps, "language_model.lm_head", ir.tie_word_embeddings);
}

// ---------------------------------------------------------------- dispatch

using Builder = std::function<void(const ConfigReader&, ModelIR&)>;

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> kBuilders = [] {
    std::map<std::string, Builder> m;
    for (const char* a : {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
                          "gemma3_text", "phi3", "phimoe", "olmo2", "olmoe"}) {
      std::string arch = a;
      m[arch] = [arch](const ConfigReader& r, ModelIR& ir) { build_family_llama_like(r, ir, arch); };
    }
    m["gpt2"] = build_gpt2;
    m["deepseek_v2"] = [](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, "deepseek_v2"); };
    m["deepseek_v3"] = [](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, "deepseek_v3"); };
    m["gpt_oss"] = build_gpt_oss;
    m["llama4"] = build_llama4;
    return m;
  }();
  return kBuilders;
}

// Hugging Face class names -> family, for configs whose model_type we do not know
// (e.g. "kimi_k2" configs name DeepseekV3ForCausalLM).
const std::map<std::string, std::string>& class_to_family() {
  static const std::map<std::string, std::string> kMap = {
      {"GPT2LMHeadModel", "gpt2"},
      {"LlamaForCausalLM", "llama"},
      {"MistralForCausalLM", "mistral"},
      {"MixtralForCausalLM", "mixtral"},
      {"Qwen2ForCausalLM", "qwen2"},
      {"Qwen2MoeForCausalLM", "qwen2_moe"},
      {"Qwen3ForCausalLM", "qwen3"},
      {"Qwen3MoeForCausalLM", "qwen3_moe"},
      {"GemmaForCausalLM", "gemma"},
      {"Gemma2ForCausalLM", "gemma2"},
      {"Gemma3ForCausalLM", "gemma3_text"},
      {"Gemma3ForConditionalGeneration", "gemma3_text"},
      {"Phi3ForCausalLM", "phi3"},
      {"PhimoeForCausalLM", "phimoe"},
      {"DeepseekV2ForCausalLM", "deepseek_v2"},
      {"DeepseekV3ForCausalLM", "deepseek_v3"},
      {"GptOssForCausalLM", "gpt_oss"},
      {"Llama4ForCausalLM", "llama4"},
      {"Llama4ForConditionalGeneration", "llama4"},
      {"Olmo2ForCausalLM", "olmo2"},
      {"OlmoeForCausalLM", "olmoe"},
  };
  return kMap;
}

std::string family_of_model_type(const std::string& t) {
  if (t == "llama4_text") return "llama4";
  if (t == "gemma3") return "gemma3_text";
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

}  // namespace

std::vector<std::string> supported_architectures() {
  std::vector<std::string> out;
  for (const auto& kv : builders()) out.push_back(kv.first);
  return out;
}

ModelIR build_model_ir(const Value& config, const std::string& file) {
  ConfigReader root(config, file);
  ModelIR ir;
  ir.source_file = file;

  // Multimodal configs keep the language model in text_config.
  ConfigReader r = root;
  std::string model_type = root.str_or("model_type", "");
  if (auto tc = root.child("text_config")) {
    r = *tc;
    if (root.has("vision_config") || model_type == "llama4" || model_type == "gemma3")
      ir.notes.push_back("multimodal config: the text model (text_config) is counted, the vision tower is not");
    std::string inner = r.str_or("model_type", "");
    if (!inner.empty()) model_type = inner;
  }
  std::string family = family_of_model_type(model_type);
  const auto& b = builders();
  if (!b.count(family)) {
    std::string via;
    auto archs = root.str_list("architectures");
    if (!archs.empty()) {
      auto it = class_to_family().find(archs[0]);
      if (it != class_to_family().end()) {
        via = it->second;
        ir.notes.push_back("model_type \"" + model_type + "\" read as " + via + " (architectures[0] = " + archs[0] + ")");
      }
    }
    if (via.empty()) {
      std::string what = model_type.empty() ? "is missing" : quote_for_message(model_type) + " is not a supported architecture";
      if (model_type.empty() && !root.has("architectures"))
        throw ConfigError(file, "/model_type", "is required (a string) but is missing; supported: " + join(supported_architectures()));
      throw ConfigError(file, "/model_type",
                        what + (archs.empty() ? "" : " and architectures[0] " + quote_for_message(archs[0]) + " is not a known class") +
                            "; supported: " + join(supported_architectures()));
    }
    family = via;
  }
  ir.model_type = model_type;
  try {
    b.at(family)(r, ir);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    // Size overflow from checked arithmetic: say which file.
    throw ConfigError(file, r.pointer(), std::string("describes a model too large to count: ") + e.what());
  }

  if (auto q = root.child("quantization_config")) {
    ShippedQuant sq;
    sq.method = q->str_or("quant_method", "");
    sq.weight_block_size = q->int_list("weight_block_size", 1);
    sq.modules_to_not_convert = q->str_list("modules_to_not_convert");
    ir.shipped_quant = sq;
  }
  if (ir.torch_dtype.empty()) ir.torch_dtype = root.str_or("torch_dtype", root.str_or("dtype", ""));
  return ir;
}

}  // namespace llmcost
