// qwen3 (modeling_qwen3.py): per-head RMSNorm on q and k ([head_dim]); attention_bias; head_dim
// from the config; qwen2's sliding-window flags.
#include "../llama_like.h"

namespace llmcost {

Family family_qwen3() {
  LlamaLike f;
  f.arch = "qwen3";
  f.attn_opts = bias_all_with(QkNorm::PerHead);
  f.window_requires_flag = true;
  return llama_like_family(f, {"qwen3"}, {"Qwen3ForCausalLM"});
}

}  // namespace llmcost
