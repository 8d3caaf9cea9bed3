// gemma2 (modeling_gemma2.py): gemma plus sandwich norms (post-attention, pre/post feed-forward),
// sliding window on even layers (0, 2, ...), logit soft-capping, query_pre_attn_scalar.
#include "../llama_like.h"

namespace llmcost {

LlamaLike gemma_like(const std::string& arch);  // families/gemma.cpp

Family family_gemma2() {
  LlamaLike f = gemma_like("gemma2");
  f.norms = LlamaLike::Norms::Sandwich;
  f.default_sliding = [](const ConfigReader&, int64_t i) { return (i + 1) % 2 != 0; };
  return llama_like_family(f, {"gemma2"}, {"Gemma2ForCausalLM"});
}

}  // namespace llmcost
