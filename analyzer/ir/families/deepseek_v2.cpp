// deepseek_v2 (modeling_deepseek_v2.py): MLA + MoE; softmax scoring and greedy top-k unless the
// config says otherwise (group_limited_greedy uses n_group / topk_group).
#include "../deepseek_like.h"

namespace llmcost {

Family family_deepseek_v2() {
  DeepseekLike f{"deepseek_v2", "softmax", "greedy"};
  return Family{f.arch, {f.arch}, {"DeepseekV2ForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
