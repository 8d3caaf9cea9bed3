// Speculative decoding / MTP in predict: the expected tokens per step (Leviathan et al. 2023,
// eq. 1), the verify pass by hand, the MTP draft passes, and bad requests.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "llmcost/error.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"
#include "llmcost/roofline.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

Prediction run(const ModelIR& ir, const std::string& hw, int64_t n, double a, ParallelConfig par = {},
               QuantScheme q = QuantScheme::BF16) {
  CompiledModel cm = compile_model(ir, q, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  PredictRequest r;
  r.batch = 1;
  r.context = 4096;
  r.parallel = par;
  r.efficiency = EfficiencyMode::Datasheet;
  r.spec_tokens = n;
  r.spec_acceptance = a;
  return predict(cm, load_hardware(hw, kConfigs), r);
}

void expect_rel(double a, double b, double rel = 1e-12) {
  EXPECT_LE(std::fabs(a - b), rel * std::max(std::fabs(a), std::fabs(b))) << a << " vs " << b;
}

// (1 - A^(N+1)) / (1 - A): N = 3, A = 0.7: (1 - 0.2401) / 0.3 = 2.533; N = 1, A = 0.8: 1.8;
// A = 1: every draft accepted, N + 1; A = 0: only the verify pass's own token.
TEST(SpecDecode, TokensPerStep) {
  expect_rel(spec_tokens_per_step(3, 0.7), 0.7599 / 0.3);
  expect_rel(spec_tokens_per_step(1, 0.8), 1.8);
  EXPECT_DOUBLE_EQ(spec_tokens_per_step(4, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(spec_tokens_per_step(2, 0.0), 1.0);
  EXPECT_THROW(spec_tokens_per_step(0, 0.5), Error);
  EXPECT_THROW(spec_tokens_per_step(2, -0.1), Error);
  EXPECT_THROW(spec_tokens_per_step(2, 1.5), Error);
  EXPECT_THROW(spec_tokens_per_step(2, std::numeric_limits<double>::quiet_NaN()), Error);
}

// Llama-3.1-8B bf16, batch 1, context 4096, h100-sxm datasheet (3.35e12 B/s), N = 3: the verify
// pass takes 4 tokens per sequence (roofline_test's Llama8BDecodeByHand for one):
//   weights once: 15,009,849,344 + 4 embedding rows x 8,192 = 15,009,882,112
//   KV read once: 536,870,912
//   activations x 4: 2,386,432 x 4 = 9,545,728
//   bytes = 15,556,298,752, every op memory-bound -> 4.6437 ms
//   FLOPs x 4 (matmuls and attention): 4 x 17,156,800,512 = 68,627,202,048
//   tokens/s per sequence = 2.533 / 4.6437 ms = 545.5 (no MTP layers: draft not counted)
TEST(SpecDecode, Llama8BVerifyByHand) {
  const ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  Prediction p = run(ir, "h100-sxm", 3, 0.7);
  ASSERT_TRUE(p.spec.present);
  EXPECT_DOUBLE_EQ(p.spec.verify.bytes, 15556298752.0);
  EXPECT_DOUBLE_EQ(p.spec.verify.flops, 4.0 * (15009316864.0 + 2147483648.0));
  EXPECT_EQ(p.spec.verify.bound, "memory");
  expect_rel(p.spec.verify.time_s, 15556298752.0 / 3.35e12);
  EXPECT_FALSE(p.spec.draft_counted);
  EXPECT_EQ(p.spec.draft_s, 0.0);
  EXPECT_EQ(p.spec.draft_note, "draft cost not counted (no MTP layers; give a draft model's own prediction)");
  expect_rel(p.spec.step_s, p.spec.verify.time_s);
  expect_rel(p.spec.tokens_per_s_per_sequence, (0.7599 / 0.3) * 3.35e12 / 15556298752.0);
  EXPECT_NEAR(p.spec.tokens_per_s_per_sequence, 545.5, 0.05);
  // The plain decode step is unchanged by the request.
  EXPECT_DOUBLE_EQ(p.decode.bytes, 15549114880.0);
  EXPECT_FALSE(run(ir, "h100-sxm", 0, 0).spec.present);
}

// DeepSeek-V3 (one MTP module) on 8 x H200: the draft is N passes of the module, costed by the
// same walk (its layer, eh_proj and own head; its embedding copy read one row per token).
TEST(SpecDecode, MtpDraftPassesCounted) {
  const ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigs);
  ASSERT_EQ(ir.mtp_layers.size(), 1u);
  Prediction p = run(ir, "h200", 2, 0.8, ParallelConfig{8, 1, 1}, QuantScheme::Auto);
  ASSERT_TRUE(p.spec.present);
  EXPECT_TRUE(p.spec.draft_counted);
  EXPECT_EQ(p.spec.draft_note, "draft: 2 passes of the model's 1 MTP layer per step");
  EXPECT_EQ(p.spec.draft.tokens, 1);
  EXPECT_DOUBLE_EQ(p.spec.draft_s, 2.0 * p.spec.draft.time_s);
  EXPECT_DOUBLE_EQ(p.spec.step_s, p.spec.verify.time_s + p.spec.draft_s);
  expect_rel(p.spec.tokens_per_s_per_sequence, spec_tokens_per_step(2, 0.8) / p.spec.step_s);
  // One pass reads part of the module (8 of 256 routed experts, no embedding table): more than
  // its head alone (129,280 x 7,168 bf16), less than all its stored weights.
  const double head = 129280.0 * 7168.0 * 2.0;
  EXPECT_GT(p.spec.draft.bytes_all_devices, head);
  EXPECT_LT(p.spec.draft.bytes_all_devices, static_cast<double>(mtp_weight_bytes(ir, QuantScheme::Auto, QuantPolicy{})));
  // Without its MTP layers the same model has no draft to count.
  ModelIR bare = ir;
  bare.mtp_layers.clear();
  bare.n_mtp_layers = 0;
  EXPECT_FALSE(run(bare, "h200", 2, 0.8, ParallelConfig{8, 1, 1}, QuantScheme::Auto).spec.draft_counted);
}

TEST(SpecDecode, BadRequestsRefused) {
  const ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  EXPECT_THROW(run(ir, "h100-sxm", -1, 0.5), Error);
  EXPECT_THROW(run(ir, "h100-sxm", 2, 1.5), Error);
}

}  // namespace
}  // namespace llmcost
