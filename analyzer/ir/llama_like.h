// The decoder shared by the llama-like families (llama, mistral, qwen2/3, gemma 1-3, phi3, olmo2
// and the MoE variants mixtral, phimoe, qwen2_moe, qwen3_moe, olmoe): pre-norm (or sandwich /
// post-only norm) attention + MLP or router/experts/shared expert per layer. A family file says
// what differs, in a LlamaLike, as read from its Hugging Face modeling file.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "family.h"
#include "llmcost/value.h"

namespace llmcost {

struct LlamaLike {
  std::string arch;
  bool tie_default = false;  // tie_word_embeddings when the config does not say
  std::function<StdAttnOpts(const ConfigReader&)> attn_opts;  // biases, fused qkv, q/k norms; default none
  bool fused_gate_up = false;  // phi3: gate_up_proj
  bool mlp_bias_key = false;   // llama: mlp_bias
  enum class Norms { PrePost, Sandwich, PostOnly } norms = Norms::PrePost;
  NormType norm = NormType::RMSNorm;  // LayerNorm (with bias): phimoe
  std::string act_key = "hidden_act";
  std::string act_default = "silu";
  // Which layers slide when the config has a sliding_window but no layer_types.
  std::function<bool(const ConfigReader&, int64_t layer)> default_sliding = [](const ConfigReader&, int64_t) { return true; };
  bool gemma_embed_scale = false;     // embeddings x sqrt(d_model), norms scale by (1 + w)
  bool window_requires_flag = false;  // qwen: use_sliding_window + max_window_layers
  // MoE families: the experts-count key named when it is missing ("" for dense families, which
  // still build experts when a config has num_local_experts / num_experts).
  std::string experts_key;
  bool norm_topk_default = false;  // norm_topk_prob when the config does not say
  ScoringFunc scoring = ScoringFunc::Softmax;  // router scoring (minimax_m2: sigmoid)
  // minimax_m2: a selection-only e_score_correction_bias buffer [n_experts] on the MoE block
  // ("<moe>.e_score_correction_bias", beside "<moe>.gate.weight").
  bool block_correction_bias = false;
  bool block_sparse = false;       // "block_sparse_moe" with w1/w3/w2 experts (mixtral, phimoe)
  bool stacked_experts = false;    // routed experts as one module of [n_experts, ...] gate_up_proj / down_proj
  bool lm_head_bias_key = false;   // phimoe: lm_head_bias
  std::string note;                // added to the IR's notes
  // Keys the family's config class fills in when a config leaves them out, and that class's name.
  std::vector<std::pair<const char*, Value>> config_defaults;
  std::string config_class;
};

void build_llama_like(const ConfigReader& r, ModelIR& ir, const LlamaLike& f);

// attention_bias on all four projections (the llama default).
StdAttnOpts bias_all(const ConfigReader& r);
// bias_all plus q/k norms of the given kind.
std::function<StdAttnOpts(const ConfigReader&)> bias_all_with(QkNorm qk_norm);

// The registry entry of a llama-like family.
Family llama_like_family(LlamaLike f, std::vector<std::string> model_types, std::vector<std::string> hf_classes);

}  // namespace llmcost
