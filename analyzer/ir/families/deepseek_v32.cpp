// deepseek_v32 (DeepSeek-V3.2; transformers modeling_deepseek_v32.py, deepseek-ai's inference
// model.py): DeepSeek-V3 (MLA + MoE, sigmoid noaux_tc routing, MTP modules) with DeepSeek Sparse
// Attention, a lightning indexer per layer read from index_topk / index_n_heads / index_head_dim.
#include "../deepseek_like.h"

namespace llmcost {

Family family_deepseek_v32() {
  DeepseekLike f{"deepseek_v32", "sigmoid", "noaux_tc"};
  return Family{f.arch, {f.arch}, {"DeepseekV32ForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
