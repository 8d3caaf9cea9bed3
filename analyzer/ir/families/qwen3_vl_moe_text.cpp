// qwen3_vl_moe_text (modeling_qwen3_vl_moe.py, Qwen3VLMoeTextModel): the language model of
// Qwen3-VL-MoE, found in the text_config of a qwen3_vl_moe config. Built as qwen3_moe (qwen3
// attention with per-head q/k RMSNorm; MoE layers by decoder_sparse_step / mlp_only_layers; a
// bias-free router Linear(hidden, num_experts); no shared expert), except that the routed experts
// are one module, Qwen3VLMoeTextExperts, holding stacked parameters gate_up_proj [num_experts,
// hidden, 2*moe_intermediate_size] and down_proj [num_experts, moe_intermediate_size, hidden]; the
// checkpoint stores them so (...mlp.experts.gate_up_proj / .down_proj).
#include "../family.h"

namespace llmcost {

Family family_qwen3_moe();

Family family_qwen3_vl_moe_text() {
  FamilyBuilder qwen3_moe = family_qwen3_moe().build;
  return Family{"qwen3_vl_moe_text", {"qwen3_vl_moe_text", "qwen3_vl_moe"}, {}, [qwen3_moe](const ConfigReader& r, ModelIR& ir) {
                  qwen3_moe(r, ir);
                  ir.architecture = "qwen3_vl_moe_text";
                  for (Layer& L : ir.layers)
                    for (Op& op : L.ops)
                      if (op.kind == OpKind::RoutedExperts)
                        op = stacked_experts_op(op.name, op.layer, ir.d_model, op.mlp, op.moe, false);
                }};
}

}  // namespace llmcost
