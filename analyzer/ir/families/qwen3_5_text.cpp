// qwen3_5_text (modeling_qwen3_5.py, Qwen3_5TextModel): the language model of Qwen3.5 dense
// (text_config of a qwen3_5 config). The Qwen3-Next hybrid decoder (qwen3_next.cpp) with the
// DeltaNet input projections split (in_proj_qkv, in_proj_z, in_proj_b, in_proj_a) and a dense
// SwiGLU MLP of intermediate_size in every layer.
#include "qwen3_next.h"

namespace llmcost {

Family family_qwen3_5_text() {
  QwenHybrid f;
  f.arch = "qwen3_5_text";
  f.split_in_proj = true;
  f.ffn = QwenHybrid::Ffn::Dense;
  return qwen_hybrid_family(f, {"qwen3_5_text", "qwen3_5"},
                            {"Qwen3_5ForCausalLM", "Qwen3_5ForConditionalGeneration"});
}

}  // namespace llmcost
