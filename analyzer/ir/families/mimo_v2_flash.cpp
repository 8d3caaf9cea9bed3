// mimo_v2_flash (XiaomiMiMo/MiMo-V2-Flash; no transformers file): read as vLLM
// vllm/model_executor/models/mimo_v2_flash.py (MiMoV2FlashDecoderLayer, MiMoV2Attention, MiMoV2MoE,
// MiMoV2MLP) and mimo_v2_flash_mtp.py build it.
// - Layer i is sliding-window attention when hybrid_layer_pattern[i] == 1, else full attention; each
//   kind has its own shape. Full: num_attention_heads, num_key_value_heads, head_dim, v_head_dim,
//   rope_theta. Sliding: swa_num_attention_heads, swa_num_key_value_heads, swa_head_dim,
//   swa_v_head_dim, swa_rope_theta, window sliding_window_size, and a learned per-head sink
//   self_attn.attention_sink_bias [heads] when add_swa_attention_sink_bias. Projections (bias-free
//   unless attention_bias, o_proj never): q_proj [H x hd, d], k_proj [KV x hd, d], v_proj
//   [KV x vhd, d], o_proj [d, H x vhd]; partial_rotary_factor of hd rotated. vLLM builds no sink on
//   full-attention layers whatever add_full_attention_sink_bias says, so a config asking for one is
//   refused rather than counted one way or the other.
// - Feed-forward: MoE where moe_layer_freq (a per-layer 0/1 list; an integer means no MoE layer,
//   MiMoV2FlashDecoderLayer.is_moe_layer) is 1: mlp.gate [E, d] (float32) and
//   mlp.gate.e_score_correction_bias [E], experts.<e>.gate_proj/up_proj/down_proj of
//   moe_intermediate_size, sigmoid routing, no shared expert; else a dense MLP of intermediate_size.
// - input_layernorm / post_attention_layernorm (RMSNorm, layernorm_epsilon), embed_tokens, norm,
//   lm_head.
// - Multi-token prediction (mimo_v2_flash_mtp.py; transformers and vLLM's main model skip
//   model.mtp.*): model.mtp.layers.<m>: enorm, hnorm [d], eh_proj [d, 2d], input_layernorm,
//   a sliding-window self_attn as above, pre_mlp_layernorm, a dense mlp of intermediate_size,
//   final_layernorm; the embedding and lm_head are the main model's. config.json says nothing of
//   them: num_nextn_predict_layers when set, else 3 (SGLang's default for this model, and the three
//   model.mtp.layers the released checkpoint carries).
#include <algorithm>

#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

struct MimoAttn {
  AttentionSpec spec;
  bool bias = false;
};

Op mimo_attention(const std::string& name, int li, int64_t d, const MimoAttn& m) {
  const AttentionSpec& s = m.spec;
  Op op = make_op(name, OpKind::Attention, li, 0);
  op.attn = s;
  add_linear(op, R::AttnQ, "q_proj", d, checked_mul(s.n_heads, s.head_dim), m.bias, PG::Attention);
  add_linear(op, R::AttnK, "k_proj", d, checked_mul(s.n_kv_heads, s.head_dim), m.bias, PG::Attention);
  add_linear(op, R::AttnV, "v_proj", d, checked_mul(s.n_kv_heads, s.v_head_dim), m.bias, PG::Attention);
  add_linear(op, R::AttnOut, "o_proj", checked_mul(s.n_heads, s.v_head_dim), d, false, PG::Attention);
  if (s.sinks) add(op, R::AttnSinks, "attention_sink_bias", {s.n_heads}, TU::Vector, PG::Attention);
  return op;
}

// A 0/1 per-layer list of `key`, num_hidden_layers long.
std::vector<bool> layer_flags(const ConfigReader& r, const std::string& key, int64_t n) {
  auto v = r.int_list(key, 0, 1);
  if (static_cast<int64_t>(v.size()) != n)
    r.fail(key, "must have num_hidden_layers (" + std::to_string(n) + ") entries of 0 or 1, got " + std::to_string(v.size()));
  std::vector<bool> out;
  for (int64_t x : v) out.push_back(x == 1);
  return out;
}

void build_mimo_v2_flash(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "mimo_v2_flash", x);
  const double eps = r.num_or("layernorm_epsilon", 1e-5);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const bool bias = r.bool_or("attention_bias", false);
  const double partial = r.num_or("partial_rotary_factor", 1.0);
  if (r.bool_or("add_full_attention_sink_bias", false))
    r.fail("add_full_attention_sink_bias", "sinks on full-attention layers are not supported (the reference builds none)");

  MimoAttn full;
  full.bias = bias;
  full.spec.n_heads = x.n_heads;
  full.spec.n_kv_heads = x.n_kv_heads;
  full.spec.head_dim = r.req_int("head_dim");
  full.spec.v_head_dim = r.int_or("v_head_dim", full.spec.head_dim);
  full.spec.rope_theta = r.num_or("rope_theta", 1000000.0);
  full.spec.partial_rotary_factor = partial;

  std::vector<bool> swa = layer_flags(r, "hybrid_layer_pattern", x.n_layers);
  MimoAttn sw = full;
  sw.spec.n_heads = r.req_int("swa_num_attention_heads", 1, 1 << 20);
  sw.spec.n_kv_heads = r.req_int("swa_num_key_value_heads", 1, 1 << 20);
  if (sw.spec.n_heads % sw.spec.n_kv_heads != 0)
    r.fail("swa_num_key_value_heads", "must divide swa_num_attention_heads (" + std::to_string(sw.spec.n_heads) + "), got " +
                                          std::to_string(sw.spec.n_kv_heads));
  sw.spec.head_dim = r.req_int("swa_head_dim");
  sw.spec.v_head_dim = r.int_or("swa_v_head_dim", sw.spec.head_dim);
  sw.spec.rope_theta = r.num_or("swa_rope_theta", full.spec.rope_theta);
  sw.spec.sliding_window = r.req_int("sliding_window_size");
  sw.spec.sinks = r.bool_or("add_swa_attention_sink_bias", false);

  // Feed-forward.
  MlpSpec dense;
  dense.act = parse_activation(r, "hidden_act", "silu");
  if (dense.act != Activation::SiLU) r.fail("hidden_act", "must be \"silu\" (the only activation the reference supports)");
  std::vector<bool> moe_layer(static_cast<size_t>(x.n_layers), false);
  if (r.has("moe_layer_freq") && !r.raw("moe_layer_freq")->is_number()) moe_layer = layer_flags(r, "moe_layer_freq", x.n_layers);
  const bool any_moe = std::find(moe_layer.begin(), moe_layer.end(), true) != moe_layer.end();
  MoeSpec moe;
  MlpSpec expert = dense;
  if (any_moe) {
    moe.n_experts = r.req_int("n_routed_experts");
    moe.top_k = r.req_int("num_experts_per_tok", 1, moe.n_experts);
    expert.d_ff = r.req_int("moe_intermediate_size");
    moe.scoring = ScoringFunc::Sigmoid;
    moe.norm_topk_prob = r.bool_or("norm_topk_prob", false);
    moe.n_group = r.int_or("n_group", 1);
    moe.topk_group = r.int_or("topk_group", 1);
    moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
    if (r.int_or("n_shared_experts", 0, 0) > 0)
      r.fail("n_shared_experts", "shared experts are not built by the reference (MiMoV2MoE has none)");
  }
  dense.d_ff = r.req_int("intermediate_size");  // also the MTP layers' MLP

  auto make_layer = [&](const std::string& p, int64_t i, const MimoAttn& a, bool is_moe, const char* post_norm) {
    Layer L;
    const int li = static_cast<int>(i);
    L.index = li;
    L.is_moe = is_moe;
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    L.ops.push_back(mimo_attention(p + ".self_attn", li, x.d, a));
    L.ops.push_back(norm_op(p + "." + post_norm, li, x.d, NormType::RMSNorm, false, eps, 1));
    if (is_moe) {
      L.ops.push_back(router_op(p + ".mlp.gate", li, x.d, moe, false, true));
      L.ops.push_back(experts_op(p + ".mlp.experts", li, x.d, expert, moe));
    } else {
      L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, dense, PG::Mlp));
    }
    return L;
  };

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i)
    ir.layers.push_back(make_layer(layer_prefix("model.layers", i), i, swa[i] ? sw : full, moe_layer[i], "post_attention_layernorm"));
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);

  ir.n_mtp_layers = r.int_or("num_nextn_predict_layers", 3, 0, 64);
  for (int64_t m = 0; m < ir.n_mtp_layers; ++m) {
    const std::string p = layer_prefix("model.mtp.layers", m);
    const int64_t idx = x.n_layers + m;
    Layer L = make_layer(p, idx, sw, false, "pre_mlp_layernorm");
    Op extra = make_op(p, OpKind::Norm, static_cast<int>(idx));
    add(extra, R::MtpEmbedNorm, "enorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpHiddenNorm, "hnorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpProj, "eh_proj.weight", {x.d, checked_mul(2, x.d)}, TU::Matmul, PG::Other);
    add(extra, R::MtpHeadNorm, "final_layernorm.weight", {x.d}, TU::Vector, PG::Norm);
    L.ops.insert(L.ops.begin(), std::move(extra));
    ir.mtp_layers.push_back(std::move(L));
  }
}

}  // namespace

Family family_mimo_v2_flash() {
  return Family{"mimo_v2_flash", {"mimo_v2_flash"}, {"MiMoV2FlashForCausalLM"}, build_mimo_v2_flash};
}

}  // namespace llmcost
