// mixtral (modeling_mixtral.py): mistral attention; every layer a "block_sparse_moe" with a gate
// (router) and num_local_experts experts named w1 (gate), w3 (up), w2 (down); top-k renormalized.
#include "../llama_like.h"

namespace llmcost {

Family family_mixtral() {
  LlamaLike f;
  f.arch = "mixtral";
  f.experts_key = "num_local_experts";
  f.norm_topk_default = true;
  f.block_sparse = true;
  return llama_like_family(f, {"mixtral"}, {"MixtralForCausalLM"});
}

}  // namespace llmcost
