// olmoe (modeling_olmoe.py): q_norm over hidden_size and k_norm over hidden/heads x kv_heads
// whatever head_dim is; every layer MoE (num_experts, top-k not renormalized by default).
#include "../llama_like.h"

namespace llmcost {

Family family_olmoe() {
  LlamaLike f;
  f.arch = "olmoe";
  f.attn_opts = bias_all_with(QkNorm::Hidden);
  f.experts_key = "num_experts";
  return llama_like_family(f, {"olmoe"}, {"OlmoeForCausalLM"});
}

}  // namespace llmcost
