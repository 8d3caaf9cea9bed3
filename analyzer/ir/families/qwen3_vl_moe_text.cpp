// qwen3_vl_moe_text (modeling_qwen3_vl_moe.py, Qwen3VLMoeTextModel): the language model of
// Qwen3-VL-MoE, found in the text_config of a qwen3_vl_moe config. Built as qwen3_moe (qwen3
// attention with per-head q/k RMSNorm; MoE layers by decoder_sparse_step / mlp_only_layers; a
// bias-free router Linear(hidden, num_experts); no shared expert), except that the routed experts
// are one module, Qwen3VLMoeTextExperts, holding stacked parameters gate_up_proj [num_experts,
// hidden, 2*moe_intermediate_size] and down_proj [num_experts, moe_intermediate_size, hidden]; the
// checkpoint stores them so (...mlp.experts.gate_up_proj / .down_proj).
#include "../llama_like.h"

namespace llmcost {

LlamaLike qwen3_moe_like(const std::string& arch);  // families/qwen3_moe.cpp

Family family_qwen3_vl_moe_text() {
  LlamaLike f = qwen3_moe_like("qwen3_vl_moe_text");
  f.stacked_experts = true;
  return llama_like_family(f, {"qwen3_vl_moe_text", "qwen3_vl_moe"}, {});
}

}  // namespace llmcost
