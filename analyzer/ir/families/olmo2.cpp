// olmo2 (modeling_olmo2.py): norms after attention and MLP only (no pre-norms); full-width q/k
// norms ([n_heads x head_dim] and [n_kv_heads x head_dim]).
#include "../llama_like.h"

namespace llmcost {

Family family_olmo2() {
  LlamaLike f;
  f.arch = "olmo2";
  f.norms = LlamaLike::Norms::PostOnly;
  f.attn_opts = bias_all_with(QkNorm::Full);
  return llama_like_family(f, {"olmo2"}, {"Olmo2ForCausalLM"});
}

}  // namespace llmcost
