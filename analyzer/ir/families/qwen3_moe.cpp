// qwen3_moe (modeling_qwen3_moe.py): qwen3 attention; MoE layers as qwen2_moe (no shared expert
// in the released configs: shared_expert_intermediate_size absent).
#include "../llama_like.h"

namespace llmcost {

// What qwen3_vl_moe_text keeps of qwen3_moe.
LlamaLike qwen3_moe_like(const std::string& arch) {
  LlamaLike f;
  f.arch = arch;
  f.attn_opts = bias_all_with(QkNorm::PerHead);
  f.window_requires_flag = true;
  f.experts_key = "num_experts";
  return f;
}

Family family_qwen3_moe() { return llama_like_family(qwen3_moe_like("qwen3_moe"), {"qwen3_moe"}, {"Qwen3MoeForCausalLM"}); }

}  // namespace llmcost
