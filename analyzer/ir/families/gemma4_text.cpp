// gemma4_text: the Gemma 4 text model (Gemma4TextConfig; model_type gemma4 wraps it in text_config
// beside a vision tower, and an audio tower on the small models, that are not counted). Read as
// transformers src/transformers/models/gemma4/modeling_gemma4.py (Gemma4TextModel,
// Gemma4TextDecoderLayer, Gemma4TextAttention, Gemma4TextMLP, Gemma4TextRouter, Gemma4TextExperts)
// builds it; vLLM vllm/model_executor/models/gemma4.py builds the same weights and names the
// checkpoint's tensors (load_weights). d = hidden_size, L = num_hidden_layers, H =
// num_attention_heads, P = <prefix> = model.language_model under Gemma4ForConditionalGeneration
// (the config's text_config), model for a text-only Gemma4ForCausalLM config.
//
// - Layer kinds: layer_types (default: every 6th layer full_attention, the rest sliding_attention);
//   the config class forces the last layer to full_attention whatever the list says.
// - self_attn of a sliding layer: head_dim hd, num_key_value_heads KV, window sliding_window; of a
//   full layer: global_head_dim (when set, else head_dim), and num_global_key_value_heads KV heads
//   when attention_k_eq_v. q_proj [H x hd, d], k_proj [KV x hd, d], v_proj [KV x hd, d] (none on a
//   full layer when attention_k_eq_v: the values are the key projection, normed apart), o_proj
//   [d, H x hd] (biases when attention_bias); q_norm, k_norm [hd]; v_norm has no weight. Softmax
//   scale 1. The cache keeps keys and values (different after k_norm + RoPE and v_norm), k_eq_v or not.
// - KV sharing: the last num_kv_shared_layers layers have no k_proj, v_proj, k_norm: each attends
//   the cache of the last earlier non-shared layer of its own type (kv_shared_layer_index; vLLM
//   kv_sharing_target_layer_name) and stores none (AttentionSpec::kv_shared_from). Their MLP is
//   2 x intermediate_size wide when use_double_wide_mlp.
// - Feed-forward: pre_feedforward_layernorm -> mlp (gate_proj, up_proj [I, d], down_proj [d, I],
//   gelu_pytorch_tanh) -> post_feedforward_layernorm. When enable_moe_block, beside the MLP on the
//   same residual: router (norm without weight; scale [d]; proj [E, d]; per_expert_scale [E]:
//   softmax over E, top_k_experts renormalized, times the expert's scale) and experts stored
//   stacked, experts.gate_up_proj [E, 2 x I_e, d] and experts.down_proj [E, d, I_e] (I_e =
//   moe_intermediate_size), between pre_feedforward_layernorm_2 and post_feedforward_layernorm_2;
//   the MLP's output gets post_feedforward_layernorm_1; the sum gets post_feedforward_layernorm.
// - Per-layer embeddings (hidden_size_per_layer_input p > 0, default 256): embed_tokens_per_layer
//   [vocab_size_per_layer_input, L x p], per_layer_model_projection [L x p, d],
//   per_layer_projection_norm [p]; per layer per_layer_input_gate [p, d], per_layer_projection
//   [d, p], post_per_layer_input_norm [d].
// - Norms (Gemma4RMSNorm: x * weight, not gemma 1-3's 1 + weight): input_layernorm,
//   post_attention_layernorm, pre/post_feedforward_layernorm [d] per layer; norm [d]; embed_tokens
//   [vocab, d] scaled by sqrt(d); lm_head tied to it (tie_word_embeddings, default true).
// - layer_scalar [1] per layer is a persistent buffer, not a parameter: in the checkpoint (one
//   element per layer more than the total here), not counted.
#include <cmath>

#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

Op gemma4_attention(const std::string& name, int li, int64_t d, const AttentionSpec& s, bool bias, bool v_proj) {
  Op op = make_op(name, OpKind::Attention, li, 0);
  op.attn = s;
  op.attn.qk_norm = true;
  op.attn.v_norm = true;
  const int64_t q_out = checked_mul(s.n_heads, s.head_dim);
  const int64_t kv_out = checked_mul(s.n_kv_heads, s.head_dim);
  const bool own_kv = s.kv_shared_from < 0;
  add_linear(op, R::AttnQ, "q_proj", d, q_out, bias, PG::Attention);
  if (own_kv) add_linear(op, R::AttnK, "k_proj", d, kv_out, bias, PG::Attention);
  if (own_kv && v_proj) add_linear(op, R::AttnV, "v_proj", d, kv_out, bias, PG::Attention);
  add_linear(op, R::AttnOut, "o_proj", q_out, d, bias, PG::Attention);
  add(op, R::AttnQNorm, "q_norm.weight", {s.head_dim}, TU::Vector, PG::Norm);
  if (own_kv) add(op, R::AttnKNorm, "k_norm.weight", {s.head_dim}, TU::Vector, PG::Norm);
  return op;
}

// An integer key whose null means "off" (0) in the reference (`if config.key:`), its default when absent.
int64_t int_or_off(const ConfigReader& r, const std::string& key, int64_t def) {
  const Value* v = r.node().find(key);
  if (v && v->is_null()) return 0;
  return r.int_or(key, def, 0);
}

// rope_parameters[<layer type>]: theta and partial_rotary_factor (Gemma4TextConfig's defaults).
void read_rope(const ConfigReader& r, const std::string& type, double theta, double partial, AttentionSpec& s) {
  s.rope_theta = theta;
  s.partial_rotary_factor = partial;
  auto rp = r.child("rope_parameters");
  if (!rp) return;
  auto t = rp->child(type);
  if (!t) return;
  s.rope_theta = t->num_or("rope_theta", theta);
  s.partial_rotary_factor = t->num_or("partial_rotary_factor", 1.0);
}

void build_gemma4_text(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "gemma4_text", x);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", true);
  ir.final_logit_softcap = r.num_or("final_logit_softcapping", 0.0);
  ir.embedding_multiplier = std::sqrt(static_cast<double>(x.d));
  const bool bias = r.bool_or("attention_bias", false);
  const std::string P = r.pointer() == "/text_config" ? "model.language_model" : "model";

  if (r.str_or("use_bidirectional_attention", "") == "all")
    r.fail("use_bidirectional_attention", "\"all\" (non-causal attention over every token) is not supported; null or \"vision\" is");

  // Layer kinds, as Gemma4TextConfig fills them in.
  std::vector<bool> full(static_cast<size_t>(x.n_layers));
  if (r.has("layer_types")) {
    auto types = r.str_list("layer_types");
    if (static_cast<int64_t>(types.size()) != x.n_layers)
      r.fail("layer_types", "must have num_hidden_layers (" + std::to_string(x.n_layers) + ") entries, got " +
                                std::to_string(types.size()));
    for (int64_t i = 0; i < x.n_layers; ++i) {
      if (types[i] != "full_attention" && types[i] != "sliding_attention")
        throw ConfigError(r.file(), r.pointer_of("layer_types") + "/" + std::to_string(i),
                          "must be \"full_attention\" or \"sliding_attention\", got " + quote_for_message(types[i]));
      full[i] = types[i] == "full_attention";
    }
  } else {
    for (int64_t i = 0; i < x.n_layers; ++i) full[i] = (i + 1) % 6 == 0;
  }
  if (!full.back()) {
    full.back() = true;
    ir.notes.push_back("layer_types: the last layer is read as full_attention (Gemma4TextConfig forces it)");
  }

  AttentionSpec sliding;
  sliding.n_heads = x.n_heads;
  sliding.n_kv_heads = x.n_kv_heads;
  sliding.head_dim = sliding.v_head_dim = r.int_or("head_dim", 256);
  sliding.sliding_window = r.int_or("sliding_window", 512);
  sliding.scale = 1.0;
  read_rope(r, "sliding_attention", 10000.0, 1.0, sliding);
  const bool k_eq_v = r.bool_or("attention_k_eq_v", false);
  AttentionSpec global = sliding;
  global.sliding_window = 0;
  const int64_t global_hd = int_or_off(r, "global_head_dim", 512);
  global.head_dim = global.v_head_dim = global_hd > 0 ? global_hd : sliding.head_dim;
  if (k_eq_v) {
    global.n_kv_heads = r.int_or("num_global_key_value_heads", x.n_kv_heads, 1, 1 << 20);
    if (x.n_heads % global.n_kv_heads != 0)
      r.fail("num_global_key_value_heads", "must divide num_attention_heads (" + std::to_string(x.n_heads) + "), got " +
                                               std::to_string(global.n_kv_heads));
  }
  read_rope(r, "full_attention", 1000000.0, 0.25, global);

  // KV sharing: layers from first_shared on read the cache of the last earlier layer of their type.
  const int64_t n_shared = r.int_or("num_kv_shared_layers", 0, 0, x.n_layers);
  const int64_t first_shared = x.n_layers - n_shared;
  std::vector<int64_t> kv_from(static_cast<size_t>(x.n_layers), -1);
  if (n_shared > 0) {
    if (first_shared < 1) r.fail("num_kv_shared_layers", "must leave at least one layer with its own KV cache");
    for (int64_t i = first_shared; i < x.n_layers; ++i) {
      for (int64_t j = first_shared - 1; j >= 0 && kv_from[i] < 0; --j)
        if (full[j] == full[i]) kv_from[i] = j;
      if (kv_from[i] < 0)
        r.fail("num_kv_shared_layers", "makes layer " + std::to_string(i) + " (" + (full[i] ? "full" : "sliding") +
                                           "_attention) share the cache of an earlier layer of its type, and none comes before layer " +
                                           std::to_string(first_shared));
    }
    ir.notes.push_back("layers " + std::to_string(first_shared) + ".." + std::to_string(x.n_layers - 1) +
                       " (num_kv_shared_layers " + std::to_string(n_shared) +
                       ") attend the KV cache of an earlier layer of their type and store none");
  }

  MlpSpec mlp;
  mlp.act = parse_activation(r, "hidden_activation", "gelu_pytorch_tanh");
  mlp.d_ff = r.req_int("intermediate_size");
  const bool double_wide = r.bool_or("use_double_wide_mlp", false);

  const bool moe_block = r.bool_or("enable_moe_block", false);
  MoeSpec moe;
  MlpSpec expert = mlp;
  if (moe_block) {
    moe = read_topk(r, "num_experts", "top_k_experts");
    moe.scoring = ScoringFunc::Softmax;
    moe.norm_topk_prob = true;
    expert.d_ff = r.req_int("moe_intermediate_size");
  }

  const int64_t ple = int_or_off(r, "hidden_size_per_layer_input", 256);
  const int64_t ple_vocab = ple > 0 ? r.int_or("vocab_size_per_layer_input", 262144) : 0;

  add_embedding(ir, P + ".embed_tokens", x.vocab, x.d);
  if (ple > 0) {
    const int64_t width = checked_mul(x.n_layers, ple);
    Op table = make_op(P + ".embed_tokens_per_layer", OpKind::TokenEmbedding, -1);
    add(table, R::PleEmbedding, "weight", {ple_vocab, width}, TU::Gather, PG::Embedding);
    ir.pre.push_back(std::move(table));
    Op proj = make_op(P + ".per_layer_model_projection", OpKind::Norm, -1);
    proj.eps = eps;
    proj.tensors.push_back(make_tensor(R::PleModelProj, P + ".per_layer_model_projection.weight", {width, x.d}, TU::Matmul, PG::Other));
    proj.tensors.push_back(make_tensor(R::Norm, P + ".per_layer_projection_norm.weight", {ple}, TU::Vector, PG::Norm));
    ir.pre.push_back(std::move(proj));
  }

  for (int64_t i = 0; i < x.n_layers; ++i) {
    const std::string p = layer_prefix(P + ".layers", i);
    const int li = static_cast<int>(i);
    Layer L;
    L.index = li;
    L.is_moe = moe_block;
    AttentionSpec a = full[i] ? global : sliding;
    a.kv_shared_from = kv_from[i];
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    L.ops.push_back(gemma4_attention(p + ".self_attn", li, x.d, a, bias, !(full[i] && k_eq_v)));
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0, true));

    L.ops.push_back(norm_op(p + ".pre_feedforward_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    MlpSpec m = mlp;
    if (double_wide && kv_from[i] >= 0) m.d_ff = checked_mul(2, mlp.d_ff);
    L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, m, PG::Mlp));
    if (moe_block) {
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm_1", li, x.d, NormType::RMSNorm, false, eps, 1, true));
      Op router = make_op(p + ".router", OpKind::Router, li, 1);
      router.moe = moe;
      add(router, R::Router, "proj.weight", {moe.n_experts, x.d}, TU::Matmul, PG::Router);
      add(router, R::RouterInputScale, "scale", {x.d}, TU::Vector, PG::Router);
      add(router, R::RouterExpertScale, "per_expert_scale", {moe.n_experts}, TU::Vector, PG::Router);
      L.ops.push_back(std::move(router));
      L.ops.push_back(norm_op(p + ".pre_feedforward_layernorm_2", li, x.d, NormType::RMSNorm, false, eps, 1));
      Op experts = make_op(p + ".experts", OpKind::RoutedExperts, li, 1);
      experts.mlp = expert;
      experts.moe = moe;
      experts.experts_stacked = true;  // one expert's slice of [E, 2 I_e, d] and [E, d, I_e]
      add(experts, R::FfnGateUp, "gate_up_proj", {checked_mul(2, expert.d_ff), x.d}, TU::Matmul, PG::ExpertsRouted);
      add(experts, R::FfnDown, "down_proj", {x.d, expert.d_ff}, TU::Matmul, PG::ExpertsRouted);
      L.ops.push_back(std::move(experts));
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm_2", li, x.d, NormType::RMSNorm, false, eps, 1, true));
    }
    L.ops.push_back(norm_op(p + ".post_feedforward_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1, true));

    if (ple > 0) {  // the layer's slice of the per-layer input, gated into the residual
      Op g = make_op(p + ".per_layer_input", OpKind::Mlp, li, 2);
      g.mlp.d_ff = ple;
      g.mlp.gated = false;
      g.mlp.act = mlp.act;
      g.tensors.push_back(make_tensor(R::PleGate, p + ".per_layer_input_gate.weight", {ple, x.d}, TU::Matmul, PG::Other));
      g.tensors.push_back(make_tensor(R::PleProj, p + ".per_layer_projection.weight", {x.d, ple}, TU::Matmul, PG::Other));
      L.ops.push_back(std::move(g));
      L.ops.push_back(norm_op(p + ".post_per_layer_input_norm", li, x.d, NormType::RMSNorm, false, eps, 2, true));
    }
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, P + ".norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);
}

}  // namespace

Family family_gemma4_text() {
  return Family{"gemma4_text", {"gemma4_text", "gemma4"}, {"Gemma4ForCausalLM", "Gemma4ForConditionalGeneration"},
                build_gemma4_text};
}

}  // namespace llmcost
