// qwen3_vl_text (modeling_qwen3_vl.py, Qwen3VLTextModel): the language model of Qwen3-VL, found in
// the text_config of a qwen3_vl config. Its decoder layer is qwen3's: q/k/v/o projections
// (attention_bias), per-head RMSNorm on q and k ([head_dim]), a gated SiLU MLP, two RMSNorms;
// embed_tokens, a final norm and lm_head. The interleaved M-RoPE and the DeepStack visual features
// added to the first layers' hidden states carry no text-model weights (the DeepStack mergers
// belong to the vision tower, which is not counted). So it is built as qwen3.
#include "../family.h"

namespace llmcost {

Family family_qwen3();

Family family_qwen3_vl_text() {
  FamilyBuilder qwen3 = family_qwen3().build;
  return Family{"qwen3_vl_text", {"qwen3_vl_text", "qwen3_vl"}, {}, [qwen3](const ConfigReader& r, ModelIR& ir) {
                  qwen3(r, ir);
                  ir.architecture = "qwen3_vl_text";
                }};
}

}  // namespace llmcost
