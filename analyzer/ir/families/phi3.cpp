// phi3 (modeling_phi3.py): fused qkv_proj [q + 2 kv, d] and gate_up_proj [2 d_ff, d]; no biases
// (attention_bias is not read); head_dim = getattr(config, "head_dim", hidden // heads).
#include "../llama_like.h"

namespace llmcost {

Family family_phi3() {
  LlamaLike f;
  f.arch = "phi3";
  f.attn_opts = [](const ConfigReader&) {
    StdAttnOpts o;
    o.fused_qkv = true;
    return o;
  };
  f.fused_gate_up = true;
  return llama_like_family(f, {"phi3"}, {"Phi3ForCausalLM"});
}

}  // namespace llmcost
