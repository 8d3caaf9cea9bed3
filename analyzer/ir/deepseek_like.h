// The DeepSeek-V2/V3 decoder: MLA attention (optional q low-rank, compressed kv latent + decoupled
// rope key), first_k_dense_replace dense layers then MoE every moe_layer_freq layers (router with
// optional group-limited routing and correction bias, routed and shared experts), and the
// multi-token-prediction modules after the main layers. The family files say their defaults.
#pragma once

#include <cstdint>
#include <string>

#include "family.h"

namespace llmcost {

struct DeepseekLike {
  std::string arch;
  std::string default_scoring;      // scoring_func when absent: "softmax" (v2) / "sigmoid" (v3)
  std::string default_topk_method;  // topk_method when absent: "greedy" (v2) / "noaux_tc" (v3)
  bool norm_topk_default = false;   // norm_topk_prob when absent (glm4_moe_lite: true)
  // glm4_moe_lite: the per-layer "dense"/"sparse" list that decides the MLP of each layer (its
  // config class ignores first_k_dense_replace / moe_layer_freq); absent -> the first
  // `default_dense_layers` layers dense, the rest MoE. "" reads first_k_dense_replace.
  std::string mlp_layer_types_key{};
  int64_t default_dense_layers = 0;
  // glm_moe_dsa (GlmMoeDsaConfig): the per-layer indexer schedule indexer_types ("full" runs the
  // indexer, "shared" reuses the previous full layer's top-k), else derived from index_topk_pattern
  // or index_topk_freq / index_skip_topk_offset. false: every DSA layer runs its own indexer.
  bool indexer_schedule = false;
  // Whether each MTP module stores its own embedding and shared head copies (DeepSeek-V3 checkpoint:
  // model.layers.61.embed_tokens / shared_head.head); GLM-5's layer 78 stores neither and uses the
  // main model's.
  bool mtp_stores_embed_head = true;
};

// The MLA attention op as modeling_deepseek_v3.py names it under `name` (self_attn): q_a_proj,
// q_a_layernorm, q_b_proj (or q_proj without q LoRA), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj,
// o_proj, and the sparse-attention indexer when `spec` has one. Also the MLA layers of kimi_linear.
Op mla_attention_op(const std::string& name, int li, int64_t d, const AttentionSpec& spec, bool attn_bias);

void build_deepseek(const ConfigReader& r, ModelIR& ir, const DeepseekLike& f);

}  // namespace llmcost
