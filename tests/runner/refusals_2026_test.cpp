// The runner refuses, in one line, the Kimi-K3 pieces it has no kernel for (the analyzer counts
// them): a sigmoid output-gate projection, Attention Residuals, latent-MoE projections, SiTU.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "llmcost/families.h"
#include "llmcost/value.h"
#include "../../runner/src/executor.h"  // Executor::validate: the walk's checks without preparing weights

namespace llmcost {
namespace {

// An all-MLA kimi_linear text config (no KDA layer, which the runner refuses on its own) with every
// Kimi-K3 option off; `on` turns one on.
ModelIR kimi(const std::string& on) {
  std::string c = R"({"model_type": "kimi_linear", "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 2, "vocab_size": 50, "intermediate_size": 40, "q_lora_rank": 16,
    "kv_lora_rank": 8, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8,
    "mla_use_nope": true, "num_experts": 4, "num_experts_per_token": 2, "moe_intermediate_size": 12,
    "first_k_dense_replace": 1)" + on + "}";
  return build_model_ir(parse_json(c, "k.json"), "k.json");
}

TEST(RunnerRefusals, KimiK3PiecesAreRefusedInOneLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(, "mla_use_output_gate": true)", "attn_out_gate"},
      {R"(, "attn_res_block_size": 2)", "attention residuals"},
      {R"(, "routed_expert_hidden_size": 16)", "latent MoE"},
      {R"(, "hidden_act": "situ")", "SiTU"},
  };
  for (const auto& [on, expect] : cases) {
    try {
      Executor::validate(kimi(on));
      ADD_FAILURE() << "expected a refusal for " << on;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << msg;
      EXPECT_NE(msg.find(expect), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace llmcost
