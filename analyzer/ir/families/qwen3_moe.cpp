// qwen3_moe (modeling_qwen3_moe.py): qwen3 attention; MoE layers as qwen2_moe (no shared expert
// in the released configs: shared_expert_intermediate_size absent).
#include "../llama_like.h"

namespace llmcost {

Family family_qwen3_moe() {
  LlamaLike f;
  f.arch = "qwen3_moe";
  f.attn_opts = bias_all_with(QkNorm::PerHead);
  f.window_requires_flag = true;
  f.experts_key = "num_experts";
  return llama_like_family(f, {"qwen3_moe"}, {"Qwen3MoeForCausalLM"});
}

}  // namespace llmcost
