// minimax_m3 (MiniMax-M3): recognized so that it is refused with a reason instead of as an unknown
// model_type. Its configs describe block-sparse attention with its own index heads
// (sparse_attention_config), and neither transformers nor a published modeling file defines
// that module's weights, so no exact count can be derived.
#include "../family.h"

namespace llmcost {

Family family_minimax_m3() {
  return Family{"minimax_m3", {"minimax_m3"}, {"MiniMaxM3ForCausalLM"}, [](const ConfigReader& r, ModelIR&) {
    r.fail(r.has("sparse_attention_config") ? "sparse_attention_config" : "model_type",
           "minimax_m3 is not supported: its block-sparse attention index has no reference implementation to count its weights from");
  }};
}

}  // namespace llmcost
