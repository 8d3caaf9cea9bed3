// qwen2_moe (modeling_qwen2_moe.py): qwen2 attention; MoE layers every decoder_sparse_step except
// mlp_only_layers, with a shared expert (shared_expert_intermediate_size) behind a sigmoid gate.
#include "../llama_like.h"

namespace llmcost {

StdAttnOpts qwen2_attention(const ConfigReader& r);  // families/qwen2.cpp

Family family_qwen2_moe() {
  LlamaLike f;
  f.arch = "qwen2_moe";
  f.attn_opts = qwen2_attention;
  f.window_requires_flag = true;
  f.experts_key = "num_experts";
  return llama_like_family(f, {"qwen2_moe"}, {"Qwen2MoeForCausalLM"});
}

}  // namespace llmcost
