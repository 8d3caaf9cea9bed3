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

RunCalibration fake_cal() {
  RunCalibration c;
  c.read_bw_bytes_per_s = 10e9;
  c.gemm_flops_per_s = 50e9;
  c.source = "test figures";
  return c;
}

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

// The counter pass with the stand-in profiler: one replay; every op's DRAM read bytes are the bytes
// the executor annotated its range with in that step (for an MLP or the lm_head the same bytes as
// every timing step moved), 0 written; the step's totals are the sums over the ops.
TEST(Run, FakeCounterPassFillsDramBytesPerOp) {
  RunOptions o;
  o.layers = "2";
  o.batch = 2;
  o.context = 16;
  o.tokens = 2;
  o.threads = 2;
  o.counters = CounterMode::Fake;
  RunResult r = run_measurement(tiny_moe(), o, fake_cal());
  EXPECT_EQ(r.counter_source, "fake");
  EXPECT_EQ(r.counter_passes, 1);
  EXPECT_TRUE(r.counters_unavailable.empty());
  double read = 0;
  for (const OpRow& op : r.ops) {
    ASSERT_GE(op.dram_read_bytes, 0) << op.name;
    EXPECT_EQ(op.dram_write_bytes, 0) << op.name;
    if (op.kind == OpKind::LmHead || op.kind == OpKind::Norm) {
      EXPECT_DOUBLE_EQ(op.dram_read_bytes, op.bytes) << op.name;
    }
    read += op.dram_read_bytes;
  }
  EXPECT_GT(read, 0);
  EXPECT_DOUBLE_EQ(r.dram_read_bytes, read);
  EXPECT_EQ(r.dram_write_bytes, 0);
  // The predicted bytes of the step are the ops' predicted bytes.
  double predicted = 0;
  for (const OpRow& op : r.ops) predicted += op.predicted_bytes;
  EXPECT_DOUBLE_EQ(r.predicted_decode_bytes, predicted);
  EXPECT_GT(predicted, 0);
}

TEST(Run, WithoutCountersTheRunSaysWhy) {
  RunOptions o;
  o.layers = "1";
  o.context = 8;
  o.tokens = 1;
  o.threads = 1;
  RunResult autod = run_measurement(tiny_moe(), o, fake_cal());  // CounterMode::Auto on the CPU backend
  EXPECT_EQ(autod.counters_unavailable, "cpu has no hardware counters");
  EXPECT_TRUE(autod.counter_source.empty());
  EXPECT_LT(autod.dram_read_bytes, 0);
  for (const OpRow& op : autod.ops) EXPECT_LT(op.dram_read_bytes, 0) << op.name;
  o.counters = CounterMode::Off;
  EXPECT_EQ(run_measurement(tiny_moe(), o, fake_cal()).counters_unavailable, "counter pass off (--counters off)");
}

TEST(Run, CudaGraphIsRefusedOnTheCpuBackend) {
  RunOptions o;
  o.context = 8;
  o.cuda_graph = true;
  try {
    run_measurement(tiny_moe(), o, fake_cal());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--cuda-graph: applies to the cuda backend only, got --backend cpu");
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

// A counter profiler that, like a multi-pass range profiler, fills DRAM bytes into its records only
// once `needed` replays (outermost ranges) have closed.
class PassCountingProfiler final : public Profiler {
 public:
  explicit PassCountingProfiler(int needed) : needed_(needed) {}
  const char* backend() const override { return "test"; }
  void push(std::string_view name, std::string_view category, double bytes, double flops) override {
    inner_.push(name, category, bytes, flops);
    ++depth_;
  }
  void pop() override {
    inner_.pop();
    if (--depth_ == 0) ++passes_;
  }
  void annotate(double bytes, double flops) override { inner_.annotate(bytes, flops); }
  std::vector<RangeRecord> records() const override {
    std::vector<RangeRecord> recs = inner_.records();
    if (passes_ >= needed_)
      for (RangeRecord& r : recs) {
        r.dram_read_bytes = 100.0 * static_cast<double>(r.seq + 1);
        r.dram_write_bytes = -1;
      }
    return recs;
  }
  void clear() override { inner_.clear(); }

 private:
  CpuProfiler inner_;
  int needed_, passes_ = 0, depth_ = 0;
};

TEST(Run, CounterStepIsReplayedUntilCounted) {
  PassCountingProfiler p(3);
  std::vector<int> seen;
  const int passes = replay_counter_step(p, [&](int pass) {
    seen.push_back(pass);
    ScopedRange r(&p, "op_a", "op");
  });
  EXPECT_EQ(passes, 3);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  // Records in push order: step(0) op_a(1) step(2) op_a(3) step(4) op_a(5): op_a read 200, 400, 600 -> mean 400;
  // write -1 counts as 0; "step" records are not ops.
  auto by = dram_by_op(p.records());
  ASSERT_EQ(by.size(), 1u);
  EXPECT_DOUBLE_EQ(by.at("op_a").read_bytes, 400.0);
  EXPECT_DOUBLE_EQ(by.at("op_a").write_bytes, 0.0);
  EXPECT_EQ(by.at("op_a").records, 3);

  PassCountingProfiler never(kMaxCounterPasses + 1);
  EXPECT_EQ(replay_counter_step(never, [&](int) { ScopedRange r(&never, "op_a", "op"); }), kMaxCounterPasses);
  EXPECT_TRUE(dram_by_op(never.records()).empty());
}

TEST(Run, CounterModeNames) {
  EXPECT_EQ(parse_counter_mode("auto"), CounterMode::Auto);
  EXPECT_EQ(parse_counter_mode("off"), CounterMode::Off);
  EXPECT_EQ(parse_counter_mode("fake"), CounterMode::Fake);
  EXPECT_FALSE(parse_counter_mode("cupti"));
}

}  // namespace
}  // namespace llmcost
