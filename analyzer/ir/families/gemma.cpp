// gemma (modeling_gemma.py): tied embeddings scaled by sqrt(hidden_size), GemmaRMSNorm (1 + w),
// GeGLU (hidden_activation, gelu_pytorch_tanh).
#include "../llama_like.h"

namespace llmcost {

// What gemma2 and gemma3_text keep of gemma.
LlamaLike gemma_like(const std::string& arch) {
  LlamaLike f;
  f.arch = arch;
  f.attn_opts = bias_all;
  f.tie_default = true;
  f.gemma_embed_scale = true;
  f.act_key = "hidden_activation";
  f.act_default = "gelu_pytorch_tanh";
  return f;
}

Family family_gemma() { return llama_like_family(gemma_like("gemma"), {"gemma"}, {"GemmaForCausalLM"}); }

}  // namespace llmcost
