// glm4_moe_lite (GLM-4.7-Flash; transformers modular_glm4_moe_lite.py): DeepseekV3Attention (MLA
// with q LoRA), Glm4Moe MoE (sigmoid router with e_score_correction_bias, group-limited top-k,
// shared experts of n_shared_experts x moe_intermediate_size) and dense MLPs of intermediate_size.
// Which layers are MoE comes from mlp_layer_types ("dense"/"sparse" per layer); the config class
// fills it with one dense layer then MoE and ignores first_k_dense_replace. norm_topk_prob defaults
// to true. The checkpoint's MTP layer (model.layers.<num_hidden_layers>) is read as deepseek_v3's,
// from num_nextn_predict_layers.
#include "../deepseek_like.h"

namespace llmcost {

Family family_glm4_moe_lite() {
  DeepseekLike f{"glm4_moe_lite", "sigmoid", "noaux_tc"};
  f.norm_topk_default = true;
  f.mlp_layer_types_key = "mlp_layer_types";
  f.default_dense_layers = 1;
  return Family{f.arch, {f.arch}, {"Glm4MoeLiteForCausalLM"}, [f](const ConfigReader& r, ModelIR& ir) { build_deepseek(r, ir, f); }};
}

}  // namespace llmcost
