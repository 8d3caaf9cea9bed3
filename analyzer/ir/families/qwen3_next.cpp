// qwen3_next (modeling_qwen3_next.py) and the decoder it shares with qwen3_5_text / qwen3_5_moe_text
// (modeling_qwen3_5.py, modular_qwen3_5_moe.py): layers of two kinds by layer_types (else every
// full_attention_interval-th layer full, the rest linear, as Qwen3NextConfig fills it in).
// - linear_attention: Qwen3NextGatedDeltaNet. key_dim = linear_num_key_heads x linear_key_head_dim,
//   value_dim = linear_num_value_heads x linear_value_head_dim, conv_dim = 2 key_dim + value_dim.
//   qwen3_next: in_proj_qkvz [2 key_dim + 2 value_dim, d], in_proj_ba [2 n_v_heads, d];
//   qwen3_5: in_proj_qkv [conv_dim, d], in_proj_z [value_dim, d], in_proj_b / in_proj_a [n_v_heads, d].
//   conv1d.weight [conv_dim, 1, linear_conv_kernel_dim] (no bias), dt_bias and A_log [n_v_heads],
//   norm.weight [linear_value_head_dim] (gated RMSNorm), out_proj [d, value_dim]. Bias-free.
// - full_attention: Qwen3NextAttention, gated: q_proj [2 x n_heads x head_dim, d] (query and a
//   sigmoid output gate per head; attn_output_gate, default true), k/v_proj, o_proj, per-head
//   q_norm / k_norm; attention_bias.
// - feed-forward: qwen3_next: MoE (router gate [n_experts, d], experts, shared_expert +
//   shared_expert_gate [1, d]) every decoder_sparse_step-th layer outside mlp_only_layers, else a
//   dense MLP of intermediate_size; qwen3_5_moe_text: MoE in every layer; qwen3_5_text: dense MLP.
// RMSNorms scale by (1 + w) (Qwen3NextRMSNorm). Multi-token-prediction layers: below.
#include "qwen3_next.h"

#include <algorithm>
#include <utility>

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

Op gated_deltanet_op(const std::string& name, int li, int64_t d, const RecurrentSpec& rs, bool split_in_proj) {
  Op op = make_op(name, OpKind::Recurrent, li, 0);
  op.rec = rs;
  const int64_t key_dim = checked_mul(rs.n_k_heads, rs.k_head_dim);
  const int64_t value_dim = checked_mul(rs.n_heads, rs.v_head_dim);
  if (split_in_proj) {
    add_linear(op, R::RecInProj, "in_proj_qkv", d, rs.conv_dim, false, PG::Attention);
    add_linear(op, R::RecGate, "in_proj_z", d, value_dim, false, PG::Attention);
    add_linear(op, R::RecBeta, "in_proj_b", d, rs.n_heads, false, PG::Attention);
    add_linear(op, R::RecDecay, "in_proj_a", d, rs.n_heads, false, PG::Attention);
  } else {
    add_linear(op, R::RecInProj, "in_proj_qkvz", d, checked_add(checked_mul(2, key_dim), checked_mul(2, value_dim)), false,
               PG::Attention);
    add_linear(op, R::RecInProjBA, "in_proj_ba", d, checked_mul(2, rs.n_heads), false, PG::Attention);
  }
  add(op, R::RecConv, "conv1d.weight", {rs.conv_dim, 1, rs.conv_kernel}, TU::Vector, PG::Attention);
  add(op, R::RecDtBias, "dt_bias", {rs.n_heads}, TU::Vector, PG::Attention);
  add(op, R::RecALog, "A_log", {rs.n_heads}, TU::Vector, PG::Attention);
  add(op, R::RecNorm, "norm.weight", {rs.v_head_dim}, TU::Vector, PG::Norm);
  add_linear(op, R::RecOutProj, "out_proj", value_dim, d, false, PG::Attention);
  return op;
}

}  // namespace

void build_qwen3_next_like(const ConfigReader& r, ModelIR& ir, const QwenHybrid& f) {
  Dims x = read_dims(r);
  init_ir(ir, r, f.arch, x);
  const int64_t hd = head_dim_of(r, x, true);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.norm_weight_offset = 1.0;  // Qwen3NextRMSNorm: x * (1 + weight)
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);

  // Layer kinds.
  std::vector<bool> linear(static_cast<size_t>(x.n_layers), false);
  if (r.has("layer_types")) {
    auto types = r.str_list("layer_types");
    if (static_cast<int64_t>(types.size()) != x.n_layers)
      r.fail("layer_types", "must have num_hidden_layers (" + std::to_string(x.n_layers) + ") entries, got " +
                                std::to_string(types.size()));
    for (int64_t i = 0; i < x.n_layers; ++i) {
      if (types[i] == "linear_attention") linear[i] = true;
      else if (types[i] != "full_attention")
        throw ConfigError(r.file(), r.pointer_of("layer_types") + "/" + std::to_string(i),
                          "must be \"linear_attention\" or \"full_attention\", got " + quote_for_message(types[i]));
    }
  } else {
    const int64_t interval = r.int_or("full_attention_interval", 4, 1);
    for (int64_t i = 0; i < x.n_layers; ++i) linear[i] = (i + 1) % interval != 0;
  }

  // Gated DeltaNet.
  RecurrentSpec rs;
  rs.type = RecurrentType::GatedDeltaNet;
  rs.n_heads = r.int_or("linear_num_value_heads", 32, 1, 1 << 20);
  rs.n_k_heads = r.int_or("linear_num_key_heads", 16, 1, 1 << 20);
  rs.k_head_dim = r.int_or("linear_key_head_dim", 128, 1, 1 << 20);
  rs.v_head_dim = r.int_or("linear_value_head_dim", 128, 1, 1 << 20);
  rs.conv_kernel = r.int_or("linear_conv_kernel_dim", 4, 1, 1 << 10);
  if (rs.n_heads % rs.n_k_heads != 0)
    r.fail("linear_num_value_heads", "must be a multiple of linear_num_key_heads (" + std::to_string(rs.n_k_heads) + "), got " +
                                         std::to_string(rs.n_heads));
  rs.conv_dim = checked_add(checked_mul(2, checked_mul(rs.n_k_heads, rs.k_head_dim)), checked_mul(rs.n_heads, rs.v_head_dim));
  rs.state_bits = recurrent_state_bits(r, ir);
  rs.conv_state_bits = model_dtype_bits(ir.torch_dtype);

  // Gated full attention.
  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.rope_theta = rope_theta(r, 10000.0);
  spec.partial_rotary_factor = r.num_or("partial_rotary_factor", 0.25);
  if (auto rp = r.child("rope_parameters")) spec.partial_rotary_factor = rp->num_or("partial_rotary_factor", spec.partial_rotary_factor);
  const bool gate = r.bool_or("attn_output_gate", true);
  const bool bias = r.bool_or("attention_bias", false);
  StdAttnOpts ao{bias, bias, bias, bias, false, QkNorm::PerHead};

  // Feed-forward.
  MlpSpec mlp;
  mlp.act = parse_activation(r, "hidden_act", "silu");
  std::vector<bool> moe_layer(static_cast<size_t>(x.n_layers), f.ffn == QwenHybrid::Ffn::AllMoe);
  MoeSpec moe;
  MlpSpec expert_mlp = mlp;
  int64_t shared_ff = 0;
  if (f.ffn != QwenHybrid::Ffn::Dense) {
    moe = read_topk(r, "num_experts", "num_experts_per_tok");
    moe.norm_topk_prob = f.ffn == QwenHybrid::Ffn::AllMoe ? true : r.bool_or("norm_topk_prob", true);
    expert_mlp.d_ff = r.req_int("moe_intermediate_size");
    shared_ff = r.int_or("shared_expert_intermediate_size", 0, 0);
    moe.n_shared_experts = shared_ff > 0 ? 1 : 0;
  }
  if (f.ffn == QwenHybrid::Ffn::SparseStep) {
    const int64_t step = r.int_or("decoder_sparse_step", 1, 1);
    auto only = r.int_list("mlp_only_layers");
    check_unique_layer_list(r, "mlp_only_layers", only, x.n_layers);
    for (int64_t i = 0; i < x.n_layers; ++i)
      moe_layer[i] = std::find(only.begin(), only.end(), i) == only.end() && (i + 1) % step == 0;
  }
  bool any_dense = false;
  for (int64_t i = 0; i < x.n_layers; ++i) any_dense = any_dense || !moe_layer[i];
  if (any_dense) mlp.d_ff = r.req_int("intermediate_size");

  auto make_layer = [&](const std::string& p, int64_t i, bool is_linear, bool is_moe) {
    Layer L;
    L.index = static_cast<int>(i);
    const int li = static_cast<int>(i);
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    if (is_linear) {
      L.ops.push_back(gated_deltanet_op(p + ".linear_attn", li, x.d, rs, f.split_in_proj));
    } else {
      Op a = standard_attention(p + ".self_attn", li, x.d, spec, ao);
      if (gate) {
        // q_proj also yields the per-head output gate: [2 x n_heads x head_dim, d].
        const int64_t out = checked_mul(2, checked_mul(spec.n_heads, hd));
        for (Tensor& t : a.tensors)
          if (t.role == R::AttnQ) {
            const bool is_bias = t.bias;
            t = is_bias ? make_tensor(R::AttnQ, t.checkpoint_name, {out}, TU::Vector, PG::Attention)
                        : make_tensor(R::AttnQ, t.checkpoint_name, {out, x.d}, TU::Matmul, PG::Attention);
            t.bias = is_bias;
          }
        a.attn.output_gate = true;
      }
      L.ops.push_back(std::move(a));
    }
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    if (is_moe) {
      L.is_moe = true;
      const std::string mp = p + ".mlp";
      L.ops.push_back(router_op(mp + ".gate", li, x.d, moe, false, false));
      L.ops.push_back(experts_op(mp + ".experts", li, x.d, expert_mlp, moe));
      if (shared_ff > 0) {
        MlpSpec sm = mlp;
        sm.d_ff = shared_ff;
        Op so = mlp_op(mp + ".shared_expert", OpKind::SharedExperts, li, x.d, sm, PG::ExpertsShared);
        add(so, R::FfnOutGate, "shared_expert_gate.weight", {1, x.d}, TU::Matmul, PG::ExpertsShared);
        L.ops.push_back(std::move(so));
      }
    } else {
      L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, mlp, PG::Mlp));
    }
    return L;
  };

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i)
    ir.layers.push_back(make_layer(layer_prefix("model.layers", i), i, linear[i], moe_layer[i]));
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);

  // Multi-token prediction (vLLM qwen3_next_mtp.py / qwen3_5_mtp.py; transformers skips mtp.* on
  // load): mtp.fc [d, 2d] over the normed embedding and hidden state (mtp.pre_fc_norm_embedding,
  // mtp.pre_fc_norm_hidden), full-attention decoder layers mtp.layers.<i> with the main layers'
  // feed-forward kind, and mtp.norm; fc and the norms are one set for all MTP layers; the
  // embedding and lm_head are the main model's, not stored again. qwen3_5 configs say
  // mtp_num_hidden_layers; qwen3_next configs say nothing and vLLM reads num_nextn_predict_layers,
  // default 1.
  ir.n_mtp_layers = f.split_in_proj ? r.int_or("mtp_num_hidden_layers", 0, 0, 64) : r.int_or("num_nextn_predict_layers", 1, 0, 64);
  for (int64_t m = 0; m < ir.n_mtp_layers; ++m) {
    const int64_t idx = x.n_layers + m;
    Layer L = make_layer(layer_prefix("mtp.layers", m), idx, false, f.ffn != QwenHybrid::Ffn::Dense);
    if (m == 0) {
      Op extra = make_op("mtp", OpKind::Norm, static_cast<int>(idx));
      add(extra, R::MtpEmbedNorm, "pre_fc_norm_embedding.weight", {x.d}, TU::Vector, PG::Norm);
      add(extra, R::MtpHiddenNorm, "pre_fc_norm_hidden.weight", {x.d}, TU::Vector, PG::Norm);
      add(extra, R::MtpProj, "fc.weight", {x.d, checked_mul(2, x.d)}, TU::Matmul, PG::Other);
      add(extra, R::MtpHeadNorm, "norm.weight", {x.d}, TU::Vector, PG::Norm);
      L.ops.insert(L.ops.begin(), std::move(extra));
    }
    ir.mtp_layers.push_back(std::move(L));
  }
}

Family qwen_hybrid_family(const QwenHybrid& f, std::vector<std::string> model_types, std::vector<std::string> hf_classes) {
  Family fam;
  fam.name = f.arch;
  fam.model_types = std::move(model_types);
  fam.hf_classes = std::move(hf_classes);
  fam.build = [f](const ConfigReader& r, ModelIR& ir) { build_qwen3_next_like(r, ir, f); };
  return fam;
}

Family family_qwen3_next() {
  QwenHybrid f;
  f.arch = "qwen3_next";
  return qwen_hybrid_family(f, {"qwen3_next"}, {"Qwen3NextForCausalLM"});
}

}  // namespace llmcost
