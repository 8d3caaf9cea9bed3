// llama (modeling_llama.py): the reference decoder. attention_bias on q/k/v/o, mlp_bias on the MLP.
#include "../llama_like.h"

namespace llmcost {

Family family_llama() {
  LlamaLike f;
  f.arch = "llama";
  f.attn_opts = bias_all;
  f.mlp_bias_key = true;
  return llama_like_family(f, {"llama"}, {"LlamaForCausalLM"});
}

}  // namespace llmcost
