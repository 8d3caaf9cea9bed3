// The runner refuses, in one line, the Gemma 4 and DeciLM (Nemotron-NAS) pieces it has no kernel
// for (the analyzer counts them): values normed without a weight, values from the key projection,
// a KV cache shared with another layer, per-layer embeddings, the Gemma 4 router, and sublayers
// replaced by one linear map.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llmcost/families.h"
#include "llmcost/value.h"
#include "../../runner/src/executor.h"  // Executor::validate: the walk's checks without preparing weights

namespace llmcost {
namespace {

// Every Gemma 4 attention norms its values without a weight, which the runner refuses first;
// `past_v_norm` clears that flag to reach the refusal of a later piece.
std::string refusal(const std::string& json, bool past_v_norm = false) {
  ModelIR ir = build_model_ir(parse_json(json, "c.json"), "c.json");
  if (past_v_norm)
    for (Layer& L : ir.layers)
      for (Op& op : L.ops) op.attn.v_norm = false;
  try {
    Executor::validate(ir);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
    return e.what();
  }
  return "";
}

TEST(RunnerRefusals, Gemma4AndDeciLMPiecesAreRefusedInOneLine) {
  const std::string g = R"({"model_type": "gemma4_text", "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "global_head_dim": 8,
    "vocab_size": 100, "intermediate_size": 48, "hidden_size_per_layer_input": 0)";
  const std::string blocks = R"(, "block_configs": [{"attention": {"n_heads_in_group": 2}, "ffn": {"ffn_mult": 1.0}},
    {"attention": {"replace_with_linear": true}, "ffn": {"ffn_mult": 1.0}}]})";
  struct Case {
    std::string json, expect;
    bool past_v_norm;
  };
  const std::vector<Case> cases = {
      {g + "}", "v_norm", false},
      {g + R"(, "hidden_size_per_layer_input": 4})", "per-layer embeddings", false},
      {g + R"(, "num_kv_shared_layers": 1, "layer_types": ["full_attention", "full_attention"]})", "shared with layer 0", true},
      {g + R"(, "attention_k_eq_v": true, "layer_types": ["full_attention", "full_attention"]})", "attention_k_eq_v", true},
      {g + R"(, "enable_moe_block": true, "num_experts": 4, "top_k_experts": 2, "moe_intermediate_size": 8})", "Gemma 4 router",
       true},
      {R"({"model_type": "nemotron-nas", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
          "vocab_size": 100)" + blocks, "replace_with_linear", false},
  };
  for (const auto& [json, expect, past_v_norm] : cases) {
    const std::string msg = refusal(json, past_v_norm);
    EXPECT_NE(msg.find(expect), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace llmcost
