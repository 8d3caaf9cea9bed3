// kimi_linear: Kimi-Linear-48B-A3B (modeling_kimi.py) and the text model of Kimi-K3 (model_type
// kimi_k3, KimiK3ForConditionalGeneration, whose text_config is a KimiLinearConfig read here; the
// checkpoint stores it under "language_model." and the vision tower beside it, not counted). Read
// as vLLM vllm/model_executor/models/kimi_linear.py (KimiDecoderLayer, KimiMLAAttention, KimiMoE,
// KimiMLP, KimiLinearModel) and the K3 KDA module (SGLang models/kimi_k3.py KimiK3DeltaAttention,
// vLLM PR 50089 kimi_k3/nvidia/kda.py; the checkpoint's modeling_kimi_linear.py builds the same
// weights) build it. No transformers file exists for this model type.
//
// Layer i is KDA when i + 1 is in linear_attn_config.kda_layers (1-based, KimiLinearConfig.
// is_kda_layer), else MLA; full_attn_layers must list the others. H = linear_attn_config.num_heads,
// D = linear_attn_config.head_dim, P = H x D, K = short_conv_kernel_size, d = hidden_size:
// - KDA (self_attn): q_proj, k_proj, v_proj [P, d]; q_conv1d, k_conv1d, v_conv1d [P, 1, K] (three
//   depthwise convs, no bias); f_a_proj [D, d] and f_b_proj [P, D] (the low-rank decay input);
//   A_log (H values, one per head); dt_bias [P]; b_proj [H, d] (beta); the output gate g_proj [P, d]
//   when use_full_rank_gate, else g_a_proj [D, d] and g_b_proj [P, D]; o_norm [D] (gated RMSNorm
//   shared by the heads); o_proj [d, P]. All bias-free.
//   Kimi-K3's checkpoint stores A_log as [128] with entries 96..127 zero (every K3 loader narrows it
//   to num_heads = 96): the model has 96 parameters there and 96 are counted, so a safetensors header
//   holds 32 more elements per KDA layer (69 x 32 = 2,208 in all) than the total here.
// - MLA (self_attn, KimiMLAAttention = DeepSeek-V2 MLA, mla_attention_op): q_a_proj, q_a_layernorm,
//   q_b_proj (or q_proj without q_lora_rank), kv_a_proj_with_mqa [kv_lora_rank + qk_rope_head_dim, d],
//   kv_a_layernorm, kv_b_proj, o_proj; plus g_proj [num_attention_heads x v_head_dim, d] when
//   mla_use_output_gate (a sigmoid gate on the attention output). NoPE: the reference asserts
//   mla_use_nope and applies no rotary; the qk_rope_head_dim part of the key is still computed and
//   cached, so the cache per token is kv_lora_rank + qk_rope_head_dim as in DeepSeek's MLA.
// - feed-forward: layers i >= first_k_dense_replace with i % moe_layer_freq == 0 are MoE when
//   num_experts is set (block_sparse_moe: gate.weight [E, d] and gate.e_score_correction_bias [E],
//   always; experts.<e>.w1/w3 [I, h] and w2 [h, I] with I = moe_intermediate_size; shared_experts
//   gate/up/down_proj of num_shared_experts x I), else a dense MLP (mlp.gate/up/down_proj of
//   intermediate_size). Latent MoE (routed_expert_hidden_size L, Kimi-K3): the experts run at h = L
//   (else h = d) between routed_expert_down_proj [L, d] and routed_expert_up_proj [d, L], with
//   routed_expert_norm [L] when latent_moe_use_norm; router and shared experts stay at d.
// - Attention Residuals (attn_res_block_size, Kimi-K3): every layer has self_attention_res_norm [d],
//   self_attention_res_proj [1, d], mlp_res_norm [d], mlp_res_proj [1, d], and the model
//   output_attn_res_norm [d] and output_attn_res_proj [1, d]. The softmax mix over the (at most
//   n_layers / block + 1) block residuals it computes per sublayer is not in the FLOP count (K3:
//   about 0.3 MFLOP per sublayer, under 0.1% of a token's FLOPs); the blocks are per-token
//   activations, not a cache.
// - input_layernorm / post_attention_layernorm per layer, embed_tokens, norm, lm_head.
// KDA state per sequence and layer (vLLM MambaStateShapeCalculator / kda_state_dtype): the
// recurrent state H x D x D in float32 whatever the cache dtype, and the q/k/v conv state
// 3P x (K - 1) in the model dtype.
// Multi-token prediction (num_nextn_predict_layers > 0) is refused: no reference builds its weights.
#include <algorithm>

#include "../deepseek_like.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

struct Kda {
  RecurrentSpec rs;
  bool full_rank_gate = false;
};

Op kda_op(const std::string& name, int li, int64_t d, const Kda& k) {
  const RecurrentSpec& rs = k.rs;
  Op op = make_op(name, OpKind::Recurrent, li, 0);
  op.rec = rs;
  const int64_t H = rs.n_heads, D = rs.k_head_dim, P = checked_mul(H, D);
  add_linear(op, R::RecQ, "q_proj", d, P, false, PG::Attention);
  add_linear(op, R::RecK, "k_proj", d, P, false, PG::Attention);
  add_linear(op, R::RecV, "v_proj", d, P, false, PG::Attention);
  add(op, R::RecConvQ, "q_conv1d.weight", {P, 1, rs.conv_kernel}, TU::Vector, PG::Attention);
  add(op, R::RecConvK, "k_conv1d.weight", {P, 1, rs.conv_kernel}, TU::Vector, PG::Attention);
  add(op, R::RecConvV, "v_conv1d.weight", {P, 1, rs.conv_kernel}, TU::Vector, PG::Attention);
  add_linear(op, R::RecDecayA, "f_a_proj", d, D, false, PG::Attention);
  add_linear(op, R::RecDecayB, "f_b_proj", D, P, false, PG::Attention);
  add(op, R::RecALog, "A_log", {H}, TU::Vector, PG::Attention);
  add(op, R::RecDtBias, "dt_bias", {P}, TU::Vector, PG::Attention);
  add_linear(op, R::RecBeta, "b_proj", d, H, false, PG::Attention);
  if (k.full_rank_gate) {
    add_linear(op, R::RecGate, "g_proj", d, P, false, PG::Attention);
  } else {
    add_linear(op, R::RecGateA, "g_a_proj", d, D, false, PG::Attention);
    add_linear(op, R::RecGateB, "g_b_proj", D, P, false, PG::Attention);
  }
  add(op, R::RecNorm, "o_norm.weight", {D}, TU::Vector, PG::Norm);
  add_linear(op, R::RecOutProj, "o_proj", P, d, false, PG::Attention);
  return op;
}

// An Attention Residual scorer: <prefix>.<what>_norm.weight [d] and <prefix>.<what>_proj.weight [1, d],
// direct children of the layer module (so the op is named by the layer's path).
Op attn_res_op(const std::string& prefix, const std::string& what, int li, int64_t d, double eps, int sublayer) {
  Op op = make_op(prefix, OpKind::Norm, li, sublayer);
  op.eps = eps;
  op.tensors.push_back(make_tensor(R::Norm, prefix + "." + what + "_norm.weight", {d}, TU::Vector, PG::Norm));
  op.tensors.push_back(make_tensor(R::AttnResProj, prefix + "." + what + "_proj.weight", {1, d}, TU::Matmul, PG::Other));
  return op;
}

// Which of 1..n a 1-based layer list names; `key` of `lc` for the error.
std::vector<bool> one_based_layers(const ConfigReader& lc, const std::string& key, int64_t n) {
  std::vector<bool> on(static_cast<size_t>(n), false);
  for (int64_t v : lc.int_list(key, 1, n)) {
    if (on[static_cast<size_t>(v - 1)]) lc.fail(key, "lists layer " + std::to_string(v) + " twice");
    on[static_cast<size_t>(v - 1)] = true;
  }
  return on;
}

void build_kimi_linear(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "kimi_linear", x);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  if (r.int_or("num_nextn_predict_layers", 0, 0, 64) > 0)
    r.fail("num_nextn_predict_layers", "multi-token-prediction layers of kimi_linear are not supported (no reference builds them)");

  // Layer kinds.
  std::vector<bool> is_kda(static_cast<size_t>(x.n_layers), false);
  Kda kda;
  const auto lc = r.child("linear_attn_config");
  if (lc) {
    is_kda = one_based_layers(*lc, "kda_layers", x.n_layers);
    if (lc->has("full_attn_layers")) {
      std::vector<bool> full = one_based_layers(*lc, "full_attn_layers", x.n_layers);
      for (int64_t i = 0; i < x.n_layers; ++i)
        if (full[i] == is_kda[i])
          lc->fail("full_attn_layers", "must list exactly the layers kda_layers does not (1-based); layer " + std::to_string(i + 1) +
                                           (full[i] ? " is in both" : " is in neither"));
    }
    RecurrentSpec& rs = kda.rs;
    rs.type = RecurrentType::KimiDelta;
    rs.n_heads = rs.n_k_heads = lc->req_int("num_heads", 1, 1 << 20);
    rs.k_head_dim = rs.v_head_dim = lc->req_int("head_dim", 1, 1 << 20);
    rs.conv_kernel = lc->req_int("short_conv_kernel_size", 1, 1 << 10);
    rs.conv_dim = checked_mul(3, checked_mul(rs.n_heads, rs.k_head_dim));
    rs.state_bits = 32;  // vLLM kda_state_dtype: the recurrent state is float32 whatever the cache dtype
    rs.conv_state_bits = model_dtype_bits(ir.torch_dtype);
    kda.full_rank_gate = lc->bool_or("use_full_rank_gate", false);
  }

  // MLA.
  AttentionSpec spec;
  spec.type = AttentionType::MLA;
  spec.n_heads = spec.n_kv_heads = x.n_heads;
  spec.q_lora_rank = r.int_or("q_lora_rank", 0, 0);
  spec.kv_lora_rank = r.req_int("kv_lora_rank");
  spec.qk_nope_head_dim = r.req_int("qk_nope_head_dim", 0);
  spec.qk_rope_head_dim = r.req_int("qk_rope_head_dim");
  spec.v_head_dim = r.req_int("v_head_dim");
  spec.head_dim = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  if (!r.bool_or("mla_use_nope", false))
    r.fail("mla_use_nope", "must be true: the reference MLA of kimi_linear asserts NoPE (no rotary); a rotary variant is not supported");
  spec.use_rope = false;
  spec.output_gate = r.bool_or("mla_use_output_gate", false);

  // Feed-forward.
  MlpSpec dense;
  dense.act = parse_activation(r, "hidden_act", "silu");
  if (dense.act != Activation::SiLU && dense.act != Activation::SiTU)
    r.fail("hidden_act", "must be \"silu\" or \"situ\" (the activations the reference supports)");
  const bool has_moe = r.has("num_experts");
  MoeSpec moe;
  MlpSpec expert = dense;
  int64_t shared_ff = 0, latent = 0;
  bool latent_norm = false;
  const int64_t first_dense = r.int_or("first_k_dense_replace", 0, 0);
  const int64_t freq = r.int_or("moe_layer_freq", 1);
  if (has_moe) {
    moe.n_experts = r.req_int("num_experts");
    moe.top_k = r.req_int("num_experts_per_token", 1, moe.n_experts);
    expert.d_ff = r.req_int("moe_intermediate_size");
    moe.n_shared_experts = r.int_or("num_shared_experts", 0, 0);
    shared_ff = checked_mul(moe.n_shared_experts, expert.d_ff);
    moe.norm_topk_prob = r.bool_or("moe_renormalize", true);
    moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
    const std::string scoring = r.str_or("moe_router_activation_func", "sigmoid");
    if (scoring != "softmax" && scoring != "sigmoid")
      r.fail("moe_router_activation_func", "must be \"softmax\" or \"sigmoid\", got " + quote_for_message(scoring));
    moe.scoring = scoring == "sigmoid" ? ScoringFunc::Sigmoid : ScoringFunc::Softmax;
    moe.correction_bias = true;
    if (r.bool_or("use_grouped_topk", true)) {
      moe.n_group = r.int_or("num_expert_group", 1);
      moe.topk_group = r.int_or("topk_group", 1);
      if (moe.n_experts % moe.n_group != 0)
        r.fail("num_expert_group", "must divide num_experts (" + std::to_string(moe.n_experts) + "), got " + std::to_string(moe.n_group));
      if (moe.topk_group > moe.n_group || moe.topk_group * (moe.n_experts / moe.n_group) < moe.top_k)
        r.fail("topk_group", "must be <= num_expert_group (" + std::to_string(moe.n_group) +
                                 ") and select groups holding at least num_experts_per_token experts, got " + std::to_string(moe.topk_group));
    }
    latent = r.int_or("routed_expert_hidden_size", 0, 0);
    latent_norm = latent > 0 && r.bool_or("latent_moe_use_norm", false);
  }
  auto is_moe = [&](int64_t i) { return has_moe && i >= first_dense && i % freq == 0; };
  bool any_dense = false;
  for (int64_t i = 0; i < x.n_layers; ++i) any_dense = any_dense || !is_moe(i);
  if (any_dense) dense.d_ff = r.req_int("intermediate_size");
  const bool attn_res = r.has("attn_res_block_size");
  if (attn_res) r.req_int("attn_res_block_size");

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    const std::string p = layer_prefix("model.layers", i);
    const int li = static_cast<int>(i);
    Layer L;
    L.index = li;
    if (attn_res) L.ops.push_back(attn_res_op(p, "self_attention_res", li, x.d, eps, 0));
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    if (is_kda[i]) {
      L.ops.push_back(kda_op(p + ".self_attn", li, x.d, kda));
    } else {
      Op a = mla_attention_op(p + ".self_attn", li, x.d, spec, false);
      if (spec.output_gate) add_linear(a, R::AttnOutGate, "g_proj", x.d, checked_mul(spec.n_heads, spec.v_head_dim), false, PG::Attention);
      L.ops.push_back(std::move(a));
    }
    if (attn_res) L.ops.push_back(attn_res_op(p, "mlp_res", li, x.d, eps, 1));
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    if (is_moe(i)) {
      L.is_moe = true;
      const std::string mp = p + ".block_sparse_moe";
      L.ops.push_back(router_op(mp + ".gate", li, x.d, moe, false, true));
      if (latent > 0) {
        // The latent path around the routed experts: down before them, norm and up after their sum.
        Op lo = make_op(mp, OpKind::Norm, li, 1);  // the projections are children of the MoE block
        lo.eps = eps;
        lo.tensors.push_back(make_tensor(R::MoeLatentIn, mp + ".routed_expert_down_proj.weight", {latent, x.d}, TU::Matmul, PG::Mlp));
        if (latent_norm) lo.tensors.push_back(make_tensor(R::Norm, mp + ".routed_expert_norm.weight", {latent}, TU::Vector, PG::Norm));
        lo.tensors.push_back(make_tensor(R::MoeLatentOut, mp + ".routed_expert_up_proj.weight", {x.d, latent}, TU::Matmul, PG::Mlp));
        L.ops.push_back(std::move(lo));
      }
      L.ops.push_back(experts_op(mp + ".experts", li, latent > 0 ? latent : x.d, expert, moe, MlpNames{"w1", "w3", "w2"}));
      if (shared_ff > 0) {
        MlpSpec sm = expert;
        sm.d_ff = shared_ff;
        L.ops.push_back(mlp_op(mp + ".shared_experts", OpKind::SharedExperts, li, x.d, sm, PG::ExpertsShared));
      }
    } else {
      L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, dense, PG::Mlp));
    }
    ir.layers.push_back(std::move(L));
  }
  if (attn_res) ir.post.push_back(attn_res_op("model", "output_attn_res", -1, x.d, eps, 0));
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);
}

}  // namespace

Family family_kimi_linear() {
  return Family{"kimi_linear", {"kimi_linear"}, {"KimiLinearForCausalLM"}, build_kimi_linear};
}

}  // namespace llmcost
