// qwen2 (modeling_qwen2.py): biases on q/k/v only (qkv_bias); sliding windows only with
// use_sliding_window, on layers from max_window_layers on.
#include "../llama_like.h"

namespace llmcost {

StdAttnOpts qwen2_attention(const ConfigReader& r) {
  bool b = r.bool_or("qkv_bias", true);
  return StdAttnOpts{b, b, b, false, false, QkNorm::None};
}

Family family_qwen2() {
  LlamaLike f;
  f.arch = "qwen2";
  f.attn_opts = qwen2_attention;
  f.window_requires_flag = true;
  return llama_like_family(f, {"qwen2"}, {"Qwen2ForCausalLM"});
}

}  // namespace llmcost
