// glm_moe_dsa (GLM-5; transformers modeling_glm_moe_dsa.py): the DeepSeek-V3.2 decoder (MLA with
// the DSA lightning indexer, MoE with sigmoid noaux_tc routing, MTP layers) with GLM's head dims.
#include "../deepseek_like.h"

namespace llmcost {

Family family_glm_moe_dsa() {
  DeepseekLike f{"glm_moe_dsa", "sigmoid", "noaux_tc"};
  return Family{f.arch, {f.arch}, {"GlmMoeDsaForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
