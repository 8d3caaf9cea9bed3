// llama4 (modeling_llama4.py), the text model: MoE layers (moe_layers / interleave_moe_layer_step)
// with a sigmoid router over stacked experts plus a shared expert; NoPE layers (no_rope_layers)
// attend globally, the others in attention_chunk_size chunks with an L2 q/k norm.
#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

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

}  // namespace

Family family_llama4() { return Family{"llama4", {"llama4", "llama4_text"}, {"Llama4ForCausalLM", "Llama4ForConditionalGeneration"}, build_llama4}; }

}  // namespace llmcost
