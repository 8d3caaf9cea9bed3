// deepseek_v3 (modeling_deepseek_v3.py): MLA + MoE with sigmoid scoring and noaux_tc routing
// (e_score_correction_bias, group-limited) by default; MTP modules (num_nextn_predict_layers).
// Kimi-K2 configs (model_type kimi_k2) name DeepseekV3ForCausalLM and are read as this family.
#include "../deepseek_like.h"

namespace llmcost {

Family family_deepseek_v3() {
  DeepseekLike f{"deepseek_v3", "sigmoid", "noaux_tc"};
  return Family{f.arch, {f.arch}, {"DeepseekV3ForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
