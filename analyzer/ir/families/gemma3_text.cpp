// gemma3_text (modeling_gemma3.py): gemma2's sandwich norms plus per-head q/k norms; every
// sliding_window_pattern-th layer global, the rest sliding. Multimodal gemma-3 configs keep the
// text model in text_config and write only what differs from Gemma3TextConfig's defaults.
#include "../llama_like.h"

namespace llmcost {

LlamaLike gemma_like(const std::string& arch);  // families/gemma.cpp

Family family_gemma3_text() {
  LlamaLike f = gemma_like("gemma3_text");
  f.attn_opts = bias_all_with(QkNorm::PerHead);
  f.norms = LlamaLike::Norms::Sandwich;
  f.default_sliding = [](const ConfigReader& r, int64_t i) {
    const int64_t pattern = r.int_or("sliding_window_pattern", 6);
    return (i + 1) % pattern != 0;
  };
  f.config_class = "Gemma3TextConfig";
  f.config_defaults = {
      {"vocab_size", Value::integer(262208)},       {"hidden_size", Value::integer(2304)},
      {"intermediate_size", Value::integer(9216)},  {"num_hidden_layers", Value::integer(26)},
      {"num_attention_heads", Value::integer(8)},   {"num_key_value_heads", Value::integer(4)},
      {"head_dim", Value::integer(256)},            {"query_pre_attn_scalar", Value::integer(256)},
      {"sliding_window", Value::integer(4096)},     {"rope_theta", Value::number(1000000.0)},
      {"rms_norm_eps", Value::number(1e-6)},        {"max_position_embeddings", Value::integer(131072)},
  };
  return llama_like_family(f, {"gemma3_text", "gemma3"}, {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"});
}

}  // namespace llmcost
