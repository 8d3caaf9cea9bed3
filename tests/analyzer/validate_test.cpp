// The validation step between a config and its IR (analyzer/ir/validate.cpp): every dimension and
// factor that cannot be physical is refused with one line naming the file and the JSON pointer of
// the key it came from (text_config-wrapped configs included); every bundled model passes.
#include <gtest/gtest.h>

#include <string>

#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;

// The error line of building `json` as "config.json", or "" when it builds.
std::string error_of(const std::string& json) {
  try {
    build_model_ir(parse_json(json, "config.json"), "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A tiny config of `model_type` with `extra` members appended ("" for none).
std::string llama(const std::string& extra) {
  return R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 100)" + extra + "}";
}
std::string deepseek_v3(const std::string& extra) {
  return R"({"model_type": "deepseek_v3", "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128,
    "num_hidden_layers": 2, "vocab_size": 100, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
    "v_head_dim": 8, "n_routed_experts": 16, "num_experts_per_tok": 4, "moe_intermediate_size": 32, "n_group": 8)" +
         extra + "}";
}
std::string gpt_oss(const std::string& extra) {
  return R"({"model_type": "gpt_oss", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 16, "intermediate_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "num_local_experts": 4,
    "num_experts_per_tok": 2)" + extra + "}";
}

void expect_error(const std::string& json, const std::string& line_start) {
  const std::string e = error_of(json);
  EXPECT_EQ(e.rfind(line_start, 0), 0u) << "got: " << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(Validate, TinyConfigsBuild) {
  EXPECT_EQ(error_of(llama("")), "");
  EXPECT_EQ(error_of(deepseek_v3(R"(, "topk_group": 4)")), "");
  EXPECT_EQ(error_of(gpt_oss("")), "");
  EXPECT_EQ(error_of(llama(R"(, "partial_rotary_factor": 0.5)")), "");
}

// partial_rotary_factor > 1 made the runner rotate past the head (heap overflow); 1e30 made the
// float-to-int cast of the rotary width undefined.
TEST(Validate, RotaryWidthWithinTheHead) {
  for (const char* f : {"2.0", "1e30", "0", "-0.5", "1.0000001"}) {
    SCOPED_TRACE(f);
    expect_error(llama(std::string(R"(, "partial_rotary_factor": )") + f),
                 "config.json: /partial_rotary_factor must be a number in (0, 1] (the rotary width is at most head_dim, 16)");
  }
}

TEST(Validate, TextConfigPointer) {
  const std::string inner = llama(R"(, "partial_rotary_factor": 2.0)");
  expect_error(R"({"model_type": "some_vlm", "text_config": )" + inner + "}",
               "config.json: /text_config/partial_rotary_factor must be a number in (0, 1]");
  expect_error(R"({"model_type": "some_vlm", "text_config": )" + llama(R"(, "rms_norm_eps": 0)") + "}",
               "config.json: /text_config/rms_norm_eps must be a number in (0, 0.5]");
}

TEST(Validate, FiniteFactors) {
  expect_error(llama(R"(, "rope_theta": 0)"), "config.json: /rope_theta must be a positive number, got 0");
  expect_error(llama(R"(, "rope_theta": -10000)"), "config.json: /rope_theta must be a positive number");
  expect_error(llama(R"(, "rope_parameters": {"rope_theta": -1})"), "config.json: /rope_parameters/rope_theta must be a positive number");
  expect_error(llama(R"(, "rms_norm_eps": 0)"), "config.json: /rms_norm_eps must be a number in (0, 0.5]");
  expect_error(llama(R"(, "rms_norm_eps": -1e-6)"), "config.json: /rms_norm_eps must be a number in (0, 0.5]");
  expect_error(llama(R"(, "rms_norm_eps": 1e300)"), "config.json: /rms_norm_eps must be a number in (0, 0.5]");
  expect_error(llama(R"(, "attn_logit_softcapping": -50)"), "config.json: /attn_logit_softcapping must be a non-negative number");
  expect_error(llama(R"(, "final_logit_softcapping": -30)"), "config.json: /final_logit_softcapping must be a non-negative number");
  expect_error(llama(R"(, "query_pre_attn_scalar": -1)"), "config.json: /query_pre_attn_scalar must be a positive number");
  expect_error(llama(R"(, "query_pre_attn_scalar": 0)"), "config.json: /query_pre_attn_scalar must be a positive number");
  expect_error(deepseek_v3(R"(, "topk_group": 4, "routed_scaling_factor": 0)"),
               "config.json: /routed_scaling_factor must be a positive number, got 0");
  expect_error(deepseek_v3(R"(, "topk_group": 4, "routed_scaling_factor": -2.5)"), "config.json: /routed_scaling_factor must be a positive number");
  expect_error(gpt_oss(R"(, "swiglu_limit": -7)"), "config.json: /swiglu_limit must be a positive number");
  expect_error(gpt_oss(R"(, "swiglu_limit": 0)"), "config.json: /swiglu_limit must be a positive number");
  // gpt2 names its epsilon differently.
  expect_error(R"({"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 32, "vocab_size": 100,
                   "layer_norm_epsilon": -1})",
               "config.json: /layer_norm_epsilon must be a number in (0, 0.5]");
}

TEST(Validate, DimensionsThatDivideAndFit) {
  // Group-limited routing: 16 experts in 8 groups of 2; one group cannot hold the 4 picks.
  expect_error(deepseek_v3(R"(, "topk_group": 1)"), "config.json: /topk_group must select groups holding at least num_experts_per_tok (4)");
  expect_error(llama(R"(, "num_key_value_heads": 3)"), "config.json: /num_key_value_heads must divide num_attention_heads (4)");
  // olmoe's hidden-width k norm is (hidden_size / heads) x kv_heads wide: zero here.
  expect_error(R"({"model_type": "olmoe", "hidden_size": 2, "num_attention_heads": 4, "head_dim": 16, "intermediate_size": 8,
                   "num_hidden_layers": 1, "vocab_size": 10, "num_experts": 2, "num_experts_per_tok": 1})",
               "config.json: / describes tensor \"model.layers.0.self_attn.k_norm.weight\" with shape [0]");
}

TEST(Validate, EveryBundledModelPasses) {
  for (const auto& m : list_bundled_models(kConfigDir)) {
    SCOPED_TRACE(m.stem);
    EXPECT_NO_THROW(load_model(m.path, kConfigDir));
  }
}

}  // namespace
}  // namespace llmcost
