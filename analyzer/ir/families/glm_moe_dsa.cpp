// glm_moe_dsa (GLM-5, GLM-5.2; transformers modular_glm_moe_dsa.py): the DeepSeek-V3.2 decoder (MLA
// with the DSA lightning indexer, MoE with sigmoid noaux_tc routing, MTP layers) with GLM's head dims.
// GLM-5.2's IndexCache: GlmMoeDsaAttention builds an indexer only on indexer_types "full" layers; a
// "shared" layer has no indexer weights and no indexer key cache and attends the top-k of the last
// full layer before it. The MTP layer (model.layers.78) has its own indexer but no embed_tokens /
// shared_head.head copies: it uses the main model's (the GLM-5.2 safetensors hold neither).
#include "../deepseek_like.h"

namespace llmcost {

Family family_glm_moe_dsa() {
  DeepseekLike f{"glm_moe_dsa", "sigmoid", "noaux_tc"};
  f.indexer_schedule = true;
  f.mtp_stores_embed_head = false;
  return Family{f.arch, {f.arch}, {"GlmMoeDsaForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
