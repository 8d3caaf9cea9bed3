// ModelIR helpers: names of enums, checked size arithmetic, tensor construction.
#include "llmcost/model_ir.h"

#include "llmcost/value.h"

namespace llmcost {

const char* param_group_name(ParamGroup g) {
  switch (g) {
    case ParamGroup::Embedding: return "embedding";
    case ParamGroup::Attention: return "attention";
    case ParamGroup::Mlp: return "mlp";
    case ParamGroup::ExpertsRouted: return "experts_routed";
    case ParamGroup::ExpertsShared: return "experts_shared";
    case ParamGroup::Router: return "router";
    case ParamGroup::Norm: return "norm";
    case ParamGroup::LmHead: return "lm_head";
    case ParamGroup::Other: return "other";
  }
  return "?";
}

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::TokenEmbedding: return "token_embedding";
    case OpKind::PositionEmbedding: return "position_embedding";
    case OpKind::Norm: return "norm";
    case OpKind::Attention: return "attention";
    case OpKind::Mlp: return "mlp";
    case OpKind::Router: return "router";
    case OpKind::RoutedExperts: return "routed_experts";
    case OpKind::SharedExperts: return "shared_experts";
    case OpKind::LmHead: return "lm_head";
    case OpKind::Recurrent: return "recurrent";
  }
  return "?";
}

const char* recurrent_type_name(RecurrentType t) {
  switch (t) {
    case RecurrentType::GatedDeltaNet: return "gated_deltanet";
    case RecurrentType::KimiDelta: return "kimi_delta";
    case RecurrentType::Mamba2: return "mamba2";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::SiLU: return "silu";
    case Activation::GeLU: return "gelu";
    case Activation::GeLUTanh: return "gelu_tanh";
    case Activation::ReLU: return "relu";
    case Activation::SwiGLUClamped: return "swiglu_clamped";
    case Activation::ReLU2: return "relu2";
    case Activation::SiTU: return "situ";
  }
  return "?";
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw Error("model size overflows 64-bit arithmetic (config values are too large)");
  return r;
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw Error("model size overflows 64-bit arithmetic (config values are too large)");
  return r;
}

Tensor make_tensor(TensorRole role, std::string checkpoint_name, std::vector<int64_t> shape, TensorUse use,
                   ParamGroup group, int in_axis) {
  Tensor t;
  t.role = role;
  t.checkpoint_name = std::move(checkpoint_name);
  t.shape = std::move(shape);
  t.use = use;
  t.group = group;
  int64_t n = 1;
  for (int64_t d : t.shape) n = checked_mul(n, d);
  t.numel = n;
  if (use == TensorUse::Matmul && t.shape.size() == 2) {
    int ax = in_axis < 0 ? 1 : in_axis;
    t.in_features = t.shape[ax];
    t.out_features = t.shape[1 - ax];
  } else if (use == TensorUse::Gather && t.shape.size() == 2) {
    t.in_features = t.shape[0];
    t.out_features = t.shape[1];
  }
  return t;
}

std::string expert_checkpoint_name(const Tensor& t, int64_t expert) {
  const size_t at = t.checkpoint_name.find("{e}");
  if (at == std::string::npos) return t.checkpoint_name;
  return t.checkpoint_name.substr(0, at) + std::to_string(expert) + t.checkpoint_name.substr(at + 3);
}

const Tensor* find_role(const Op& op, TensorRole role, bool bias) {
  for (const Tensor& t : op.tensors)
    if (t.role == role && t.bias == bias) return &t;
  return nullptr;
}

const char* tensor_role_name(TensorRole r) {
  switch (r) {
    case TensorRole::TokenEmbedding: return "token_embd";
    case TensorRole::PositionEmbedding: return "pos_embd";
    case TensorRole::LmHead: return "lm_head";
    case TensorRole::Norm: return "norm";
    case TensorRole::AttnQ: return "attn_q";
    case TensorRole::AttnK: return "attn_k";
    case TensorRole::AttnV: return "attn_v";
    case TensorRole::AttnQkv: return "attn_qkv";
    case TensorRole::AttnOut: return "attn_out";
    case TensorRole::AttnQNorm: return "attn_q_norm";
    case TensorRole::AttnKNorm: return "attn_k_norm";
    case TensorRole::AttnSinks: return "attn_sinks";
    case TensorRole::AttnOutGate: return "attn_out_gate";
    case TensorRole::AttnResProj: return "attn_res_proj";
    case TensorRole::MlaQA: return "mla_q_a";
    case TensorRole::MlaQANorm: return "mla_q_a_norm";
    case TensorRole::MlaQB: return "mla_q_b";
    case TensorRole::MlaKvA: return "mla_kv_a";
    case TensorRole::MlaKvANorm: return "mla_kv_a_norm";
    case TensorRole::MlaKvB: return "mla_kv_b";
    case TensorRole::FfnGate: return "ffn_gate";
    case TensorRole::FfnUp: return "ffn_up";
    case TensorRole::FfnGateUp: return "ffn_gate_up";
    case TensorRole::FfnDown: return "ffn_down";
    case TensorRole::FfnOutGate: return "ffn_out_gate";
    case TensorRole::Router: return "router";
    case TensorRole::RouterCorrectionBias: return "router_correction_bias";
    case TensorRole::MtpEmbedNorm: return "mtp_embed_norm";
    case TensorRole::MtpHiddenNorm: return "mtp_hidden_norm";
    case TensorRole::MtpProj: return "mtp_proj";
    case TensorRole::MtpHeadNorm: return "mtp_head_norm";
    case TensorRole::RecInProj: return "rec_in_proj";
    case TensorRole::RecInProjBA: return "rec_in_proj_ba";
    case TensorRole::RecQ: return "rec_q";
    case TensorRole::RecK: return "rec_k";
    case TensorRole::RecV: return "rec_v";
    case TensorRole::RecConv: return "rec_conv";
    case TensorRole::RecConvQ: return "rec_conv_q";
    case TensorRole::RecConvK: return "rec_conv_k";
    case TensorRole::RecConvV: return "rec_conv_v";
    case TensorRole::RecGate: return "rec_gate";
    case TensorRole::RecGateA: return "rec_gate_a";
    case TensorRole::RecGateB: return "rec_gate_b";
    case TensorRole::RecBeta: return "rec_beta";
    case TensorRole::RecDecay: return "rec_decay";
    case TensorRole::RecDecayA: return "rec_decay_a";
    case TensorRole::RecDecayB: return "rec_decay_b";
    case TensorRole::RecDtBias: return "rec_dt_bias";
    case TensorRole::RecALog: return "rec_a_log";
    case TensorRole::RecD: return "rec_d";
    case TensorRole::RecNorm: return "rec_norm";
    case TensorRole::RecOutProj: return "rec_out_proj";
    case TensorRole::MoeLatentIn: return "moe_latent_in";
    case TensorRole::RouterInputScale: return "router_input_scale";
    case TensorRole::RouterExpertScale: return "router_expert_scale";
    case TensorRole::PleEmbedding: return "ple_embedding";
    case TensorRole::PleModelProj: return "ple_model_proj";
    case TensorRole::PleGate: return "ple_gate";
    case TensorRole::PleProj: return "ple_proj";
    case TensorRole::LinearReplacement: return "linear_replacement";
    case TensorRole::MoeLatentOut: return "moe_latent_out";
    case TensorRole::AttnKv: return "attn_kv";
    case TensorRole::AttnOutA: return "attn_out_a";
    case TensorRole::AttnOutB: return "attn_out_b";
    case TensorRole::CompKv: return "comp_kv";
    case TensorRole::CompGate: return "comp_gate";
    case TensorRole::CompPosBias: return "comp_pos_bias";
    case TensorRole::CompNorm: return "comp_norm";
    case TensorRole::IndexerCompKv: return "indexer_comp_kv";
    case TensorRole::IndexerCompGate: return "indexer_comp_gate";
    case TensorRole::IndexerCompPosBias: return "indexer_comp_pos_bias";
    case TensorRole::IndexerCompNorm: return "indexer_comp_norm";
    case TensorRole::HcFn: return "hc_fn";
    case TensorRole::HcBase: return "hc_base";
    case TensorRole::HcScale: return "hc_scale";
    case TensorRole::RouterHashTable: return "router_hash_table";
    case TensorRole::MtpEProj: return "mtp_e_proj";
    case TensorRole::MtpHProj: return "mtp_h_proj";
    case TensorRole::IndexerQB: return "indexer_q_b";
    case TensorRole::IndexerK: return "indexer_k";
    case TensorRole::IndexerKNorm: return "indexer_k_norm";
    case TensorRole::IndexerWeightsProj: return "indexer_weights_proj";
  }
  return "?";
}

}  // namespace llmcost

namespace llmcost {

bool operator==(const StoredFormat& a, const StoredFormat& b) {
  return a.elem == b.elem && a.bits == b.bits && a.pack == b.pack && a.word_bits == b.word_bits &&
         a.pad_to_block == b.pad_to_block && a.block_rows == b.block_rows && a.block_cols == b.block_cols &&
         a.scale == b.scale && a.zero_bits == b.zero_bits && a.zero_pack == b.zero_pack &&
         a.zero_word_bits == b.zero_word_bits && a.nested_block == b.nested_block &&
         a.index_bytes_per_col == b.index_bytes_per_col && a.fixed_bytes == b.fixed_bytes && a.compute == b.compute;
}

}  // namespace llmcost
