// `llmcost run`: the measurement loop on tiny models (ops line up with the cost model's, times and
// bytes are filled, fixed routing reads top_k experts). The CLI end to end is in tests/cli/run_cli_test.cpp.
#include <gtest/gtest.h>

#include "llmcost/cost_model.h"
#include "llmcost/families.h"
#include "llmcost/run.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const char* kTinyMoe = R"({"model_type":"mixtral","hidden_size":64,"num_hidden_layers":3,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":48,"vocab_size":101,"num_local_experts":8,"num_experts_per_tok":2})";

ModelIR tiny_moe() { return build_model_ir(parse_json(kTinyMoe, "tiny.json"), "tiny.json"); }

RunCalibration fake_cal() { return RunCalibration{10e9, 50e9, "test figures"}; }

TEST(Run, OpsLineUpWithTheCostModelAndAreMeasured) {
  RunOptions o;
  o.layers = "2";
  o.batch = 4;
  o.context = 16;
  o.prompt = 5;
  o.tokens = 3;
  o.threads = 2;
  o.keep_trace = true;
  RunResult r = run_measurement(tiny_moe(), o, fake_cal());
  EXPECT_EQ(r.layers, (std::vector<int>{0, 1}));
  EXPECT_EQ(r.backend, "cpu");
  ASSERT_FALSE(r.ops.empty());
  EXPECT_EQ(r.ops.front().name, "model.embed_tokens");
  EXPECT_EQ(r.ops.back().name, "lm_head");
  for (const OpRow& op : r.ops) {
    EXPECT_GT(op.predicted_s, 0) << op.name;
    EXPECT_GT(op.measured_s.median, 0) << op.name;
    EXPECT_EQ(op.measured_s.n, 3u) << op.name;
    EXPECT_LE(op.measured_s.p10, op.measured_s.p90) << op.name;
    if (op.kind != OpKind::Norm) {
      EXPECT_GT(op.bytes, 0) << op.name;
    }
  }
  EXPECT_GT(r.predicted_decode_step_s, 0);
  EXPECT_EQ(r.decode_step_s.n, 3u);
  EXPECT_GT(r.achieved_bw_bytes_per_s, 0);
  EXPECT_EQ(r.prefill_s.n, 2u);
  EXPECT_EQ(r.prefill_ops.size(), r.ops.size());
  EXPECT_EQ(r.distinct_experts_per_layer.size(), 2u);
  for (double d : r.distinct_experts_per_layer) {
    EXPECT_GE(d, 2.0);
    EXPECT_LE(d, 8.0);
  }
  // The prediction's decode step equals the roofline sum over the cost model's ops.
  double sum = 0;
  for (const OpRow& op : r.ops) sum += op.predicted_s;
  EXPECT_NEAR(sum, r.predicted_decode_step_s, 1e-12);
  // Trace: one "op" range per op per measured step (+ prefill ops), named after the IR op.
  size_t op_ranges = 0;
  for (const auto& rec : r.trace) op_ranges += rec.category == "op";
  EXPECT_EQ(op_ranges, r.ops.size() * 3 + r.prefill_ops.size() * 2);
}

TEST(Run, FixedRoutingReadsTopKExpertsAndPredictsSo) {
  RunOptions o;
  o.layers = "1";
  o.batch = 16;
  o.context = 8;
  o.tokens = 2;
  o.warmup = 0;
  o.threads = 1;
  o.routing = RoutingOverride{RoutingOverride::Fixed, 1.0};
  RunResult r = run_measurement(tiny_moe(), o, fake_cal());
  ASSERT_EQ(r.distinct_experts_per_layer.size(), 1u);
  EXPECT_DOUBLE_EQ(r.distinct_experts_per_layer[0], 2.0);
  EXPECT_DOUBLE_EQ(r.predicted_distinct_experts, 2.0);
  o.routing = RoutingOverride{RoutingOverride::Uniform, 1.0};
  RunResult u = run_measurement(tiny_moe(), o, fake_cal());
  EXPECT_GT(u.distinct_experts_per_layer[0], 4.0);  // 32 draws over 8 experts
  EXPECT_GT(u.predicted_distinct_experts, 7.0);     // 8 x (1 - (6/8)^16)
}

TEST(Run, BadOptionsAreErrors) {
  RunOptions o;
  o.layers = "moe:9";
  EXPECT_THROW(run_measurement(tiny_moe(), o, fake_cal()), Error);
  o.layers = "1";
  o.batch = 0;
  EXPECT_THROW(run_measurement(tiny_moe(), o, fake_cal()), Error);
}

}  // namespace
}  // namespace llmcost
