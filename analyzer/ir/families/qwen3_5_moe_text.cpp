// qwen3_5_moe_text (modular_qwen3_5_moe.py, Qwen3_5MoeTextModel): the language model of Qwen3.5 /
// Qwen3.6 MoE (text_config of a qwen3_5_moe config). The Qwen3-Next hybrid decoder (qwen3_next.cpp)
// with the DeltaNet input projections split as qwen3_5 and the sparse MoE block in every layer
// (Qwen3_5MoeDecoderLayer: no decoder_sparse_step / mlp_only_layers; the router renormalizes the
// top-k weights always).
#include "qwen3_next.h"

namespace llmcost {

Family family_qwen3_5_moe_text() {
  QwenHybrid f;
  f.arch = "qwen3_5_moe_text";
  f.split_in_proj = true;
  f.ffn = QwenHybrid::Ffn::AllMoe;
  return qwen_hybrid_family(f, {"qwen3_5_moe_text", "qwen3_5_moe"},
                            {"Qwen3_5MoeForCausalLM", "Qwen3_5MoeForConditionalGeneration"});
}

}  // namespace llmcost
