// mistral (modeling_mistral.py): llama without attention biases; sliding_window on every layer.
#include "../llama_like.h"

namespace llmcost {

Family family_mistral() {
  LlamaLike f;
  f.arch = "mistral";
  return llama_like_family(f, {"mistral"}, {"MistralForCausalLM"});
}

}  // namespace llmcost
