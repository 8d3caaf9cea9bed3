// The efficiency model (hardware.h EfficiencySpec / AppliedEfficiency, roofline.cpp): hand-checked
// against the datasheet roofline of the same request.
#include <gtest/gtest.h>

#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

HardwareSpec with_efficiency(const std::string& block) {
  std::string y = "name: t\nkind: gpu\nmemory_bytes: {value: 80e9, source: s}\nmem_bw_bytes_per_s: {value: 2e12, source: s}\n"
                  "peak_flops_per_s:\n  bf16: {value: 1e15, source: s}\n" + block;
  return parse_hardware(parse_yaml(y, "t.yaml"), "t.yaml");
}

TEST(Efficiency, GemmRateIsTheSaturatingCurve) {
  HardwareSpec hw = with_efficiency(
      "efficiency:\n  tensor_fraction: {value: 0.5, source: s}\n  gemm_m_half: {value: 64, source: s}\n");
  AppliedEfficiency a = applied_efficiency(hw, EfficiencyMode::Derated);
  EXPECT_EQ(a.label, "derated");
  // 1e15 x 0.5 x 64 / (64 + 64) = 2.5e14; a calibrated rate skips tensor_fraction: 1e15 x 1/2.
  EXPECT_DOUBLE_EQ(a.gemm_rate(1e15, 64, false), 2.5e14);
  EXPECT_DOUBLE_EQ(a.gemm_rate(1e15, 64, true), 5e14);
  AppliedEfficiency d = applied_efficiency(hw, EfficiencyMode::Datasheet);
  EXPECT_EQ(d.label, "datasheet");
  EXPECT_DOUBLE_EQ(d.gemm_rate(1e15, 1, false), 1e15);
}

TEST(Efficiency, ABadFractionNamesTheField) {
  try {
    with_efficiency("efficiency:\n  mem_bw_fraction: {value: 1.5, source: s}\n");
    FAIL() << "accepted a bandwidth fraction of 1.5";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/efficiency/mem_bw_fraction/value"), std::string::npos) << e.what();
  }
}

// Batch-1 decode of Llama-3.1-8B is memory-bound in both modes, so the derated step is the
// datasheet step's op time / mem_bw_fraction + step_overhead_s, by hand.
TEST(Efficiency, DeratedDecodeIsDatasheetOverBandwidthFractionPlusOverhead) {
  HardwareSpec hw = with_efficiency(
      "efficiency:\n  mem_bw_fraction: {value: 0.8, source: s}\n  tensor_fraction: {value: 0.5, source: s}\n"
      "  gemm_m_half: {value: 64, source: s}\n  step_overhead_s: {value: 0.002, source: s}\n");
  ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  PredictRequest r;
  r.context = 1024;
  r.efficiency = EfficiencyMode::Datasheet;
  Prediction ds = predict(m, hw, r, true);
  r.efficiency = EfficiencyMode::Derated;
  Prediction dr = predict(m, hw, r, true);
  ASSERT_EQ(ds.decode.compute_bound_s, 0.0);
  ASSERT_EQ(dr.decode.compute_bound_s, 0.0);
  EXPECT_NEAR(dr.decode.time_s, ds.decode.ops_s / 0.8 + 0.002, 1e-12);
  EXPECT_EQ(dr.efficiency.figures.size(), 4u);
  EXPECT_EQ(ds.efficiency.label, "datasheet");
  // A prefill of 1024 tokens runs as one pass: one overhead.
  EXPECT_EQ(dr.prefill.passes, 1);
  EXPECT_DOUBLE_EQ(dr.prefill.overhead_s, 0.002);
}

// A tensor-parallel group wider than the YAML's node runs its collectives over the network.
TEST(Efficiency, GroupsWiderThanANodeUseTheNetwork) {
  std::string links =
      "interconnect: {name: L, bw_bytes_per_s: {value: 900e9, source: s}}\n"
      "network: {name: IB, bw_bytes_per_s: {value: 50e9, source: s}, devices_per_node: {value: 4, source: s}}\n";
  HardwareSpec net = with_efficiency(links);
  HardwareSpec one = with_efficiency("interconnect: {name: L, bw_bytes_per_s: {value: 900e9, source: s}}\n");
  ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  PredictRequest r;
  r.context = 1024;
  r.parallel.tp = 8;
  Prediction a = predict(m, net, r, false), b = predict(m, one, r, false);
  // Same bytes; 50e9 instead of 450e9 B/s per direction: 9x the time.
  EXPECT_NEAR(a.decode.comm.time_s, 9.0 * b.decode.comm.time_s, 1e-15);
  r.parallel.tp = 4;
  Prediction c = predict(m, net, r, false), d = predict(m, one, r, false);
  EXPECT_DOUBLE_EQ(c.decode.comm.time_s, d.decode.comm.time_s);
}

}  // namespace
}  // namespace llmcost
