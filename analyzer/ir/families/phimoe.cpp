// phimoe (modeling_phimoe.py): LayerNorms with bias, attention_bias on q/k/v/o, mixtral-style
// block_sparse_moe experts (w1/w3/w2), optional lm_head bias. Routing is SparseMixer.
#include "../llama_like.h"

namespace llmcost {

Family family_phimoe() {
  LlamaLike f;
  f.arch = "phimoe";
  f.attn_opts = bias_all;
  f.norm = NormType::LayerNorm;
  f.experts_key = "num_local_experts";
  f.norm_topk_default = true;
  f.block_sparse = true;
  f.lm_head_bias_key = true;
  f.note = "phimoe routes with SparseMixer; the runner approximates it with softmax top-k";
  return llama_like_family(f, {"phimoe"}, {"PhimoeForCausalLM"});
}

}  // namespace llmcost
