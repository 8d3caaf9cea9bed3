// MoE layouts: expert-parallel load imbalance, data-parallel attention memory, the all-to-all
// volume at the most loaded rank, and a plan choosing dp-attention x ep over tp for a large MoE
// at high concurrency (and tp at batch 1), each against a hand-derived figure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "llmcost/cost_model.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/parallel.h"
#include "llmcost/plan.h"
#include "llmcost/roofline.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;
const double kPi = 3.14159265358979323846;

TEST(Layouts, ExpectedMaxOfStandardNormals) {
  EXPECT_EQ(expected_max_std_normal(1), 0.0);
  EXPECT_NEAR(expected_max_std_normal(2), 1.0 / std::sqrt(kPi), 1e-9);  // E max(Z1, Z2) = 1/sqrt(pi)
  EXPECT_NEAR(expected_max_std_normal(3), 1.5 / std::sqrt(kPi), 1e-9);  // 3 / (2 sqrt(pi))
  EXPECT_NEAR(expected_max_std_normal(8), 1.42360, 1e-5);               // tables of normal order statistics
}

// ep 2 over 2 experts, top-1: rank 0 gets X ~ Binomial(T, 1/2), rank 1 the rest, so the exact
// factor is (T/2 + E|X - T/2|) / (T/2). The formula: sigma^2 = T x 1 x (1/2)(1/2)(1)/(1) = T/4,
// factor = 1 + sqrt(T)/2 x sqrt(2) x (1/sqrt(pi)) / (T/2) = 1 + sqrt(2 / (pi T)).
TEST(Layouts, ImbalanceAgainstTheExactBinomial) {
  const int T = 100;
  double mad = 0;  // E|X - 50| with binomial weights, computed in logs
  for (int x = 0; x <= T; ++x)
    mad += std::exp(std::lgamma(T + 1) - std::lgamma(x + 1) - std::lgamma(T - x + 1) - T * std::log(2.0)) * std::fabs(x - 50.0);
  const double exact = (50.0 + mad) / 50.0;  // 1.0795892
  const double f = ep_load_imbalance(2, 1, T, 2);
  EXPECT_NEAR(f, 1.0 + std::sqrt(2.0 / (kPi * T)), 1e-9);  // 1.0797885
  EXPECT_NEAR(f, exact, 5e-4);
  // No imbalance without ep, or when every token reaches every expert (k = E: each rank gets T x E/ep).
  EXPECT_EQ(ep_load_imbalance(256, 8, 64, 1), 1.0);
  EXPECT_NEAR(ep_load_imbalance(8, 8, 5, 8), 1.0, 1e-12);
  // Mixtral (E 8, top-2) at ep 8, 64 tokens: mu = 16, sigma^2 = 64 x 2 (1/8)(7/8)(6/7) = 12,
  // factor = 1 + sqrt(12) x sqrt(8/7) x 1.4236 / 16 = 1.3295.
  EXPECT_NEAR(ep_load_imbalance(8, 2, 64, 8), 1.0 + std::sqrt(12.0) * std::sqrt(8.0 / 7.0) * 1.4236003 / 16.0, 1e-6);
  // Never more than a rank can take: T = 1, k = 8, E = 8, ep = 2 -> each rank gets exactly 4.
  EXPECT_NEAR(ep_load_imbalance(8, 8, 1, 2), 1.0, 1e-12);
}

// DeepSeek-V3's shape (E 256, top-8, ep 8, 256 tokens): the formula against a simulation of
// uniform top-8 routing (experts e on rank e / 32), 2000 steps, fixed seed.
TEST(Layouts, ImbalanceAgainstSimulation) {
  std::mt19937_64 rng(12);
  std::vector<int> experts(256);
  double sum_max = 0;
  const int kTrials = 2000;
  for (int t = 0; t < kTrials; ++t) {
    int load[8] = {0};
    for (int tok = 0; tok < 256; ++tok) {
      std::iota(experts.begin(), experts.end(), 0);
      for (int j = 0; j < 8; ++j) {  // partial Fisher-Yates: 8 distinct experts
        std::uniform_int_distribution<int> d(j, 255);
        std::swap(experts[j], experts[d(rng)]);
        ++load[experts[j] / 32];
      }
    }
    sum_max += *std::max_element(load, load + 8);
  }
  const double simulated = sum_max / kTrials / 256.0;  // mean load 256 x 8 / 8 = 256
  EXPECT_NEAR(ep_load_imbalance(256, 8, 256, 8), simulated, 0.01);
  EXPECT_GT(simulated, 1.05);
}

Prediction run(const CompiledModel& m, const HardwareSpec& hw, int64_t batch, int64_t context, ParallelConfig par) {
  PredictRequest r;
  r.batch = batch;
  r.context = context;
  r.parallel = par;
  r.efficiency = EfficiencyMode::Datasheet;
  return predict(m, hw, r);
}

// DeepSeek-V3 (MLA: the latent cache is per token, kept whole on every tp rank) at batch 64,
// context 4096 on 8 x H200. Per token the cache holds (kv_lora_rank 512 + rope 64) x 2 bytes x 61
// layers = 70,272 bytes; a sequence 70,272 x 4096 = 287,834,112 bytes.
// - tp 8: every device caches all 64 sequences: 18,421,383,168 bytes.
// - dp-attention 8 x ep 8: 8 replicas of 8 sequences: 2,302,672,896 bytes per device.
// Attention and dense weights are replicated under dp-attention: per device, it holds the
// non-expert weights whole where tp 8 holds 1/8 of them; experts 1/8 in both.
TEST(Layouts, DataParallelAttentionMemory) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  HardwareSpec hw = load_hardware("h200", kConfigs);
  Prediction tp = run(m, hw, 64, 4096, {8, 1, 1});
  Prediction dp = run(m, hw, 64, 4096, {1, 8, 1});
  EXPECT_DOUBLE_EQ(tp.memory.kv_bytes_per_sequence, 287834112.0);
  EXPECT_DOUBLE_EQ(tp.memory.kv_bytes, 64 * 287834112.0);
  EXPECT_DOUBLE_EQ(dp.memory.kv_bytes, 8 * 287834112.0);
  EXPECT_EQ(dp.layout.attention_replicas, 8);
  double expert = 0;
  for (double b : m.layer_expert_bytes) expert += b;
  const double dense = m.total_weight_bytes - expert;  // embeddings, attention, dense MLPs, shared experts, head
  EXPECT_NEAR(tp.memory.weights_bytes, dense / 8 + expert / 8, 1.0);
  EXPECT_NEAR(dp.memory.weights_bytes, dense + expert / 8, 1.0);
  // The decode step reads each device's own KV: tp 8 reads 8x the cache dp-attention does.
  double kv_tp = 0, kv_dp = 0;
  for (const auto& o : tp.decode.ops) kv_tp += o.kv_bytes * static_cast<double>(o.count);
  for (const auto& o : dp.decode.ops) kv_dp += o.kv_bytes * static_cast<double>(o.count);
  EXPECT_NEAR(kv_tp / kv_dp, 8.0, 1e-9);
  EXPECT_EQ(layout_label(dp.layout.cfg), "dp-attention 8 x ep 8");
  EXPECT_EQ(layout_label(ParallelConfig{8, 8, 1}), "tp 8 + ep 8");
  EXPECT_EQ(layout_label(ParallelConfig{2, 8, 1}), "dp-attention 4 x tp 2, ep 8");
  EXPECT_EQ(layout_label(ParallelConfig{4, 1, 2}), "tp 4 x pp 2");
}

// A batched prefill under dp-attention: 8 prompts of 2048 tokens on dp-attention 8 x ep 8 go one
// to each attention replica, so every replica's attention and dense work is that of ONE prompt and
// the replicas run at the same time: the attention ops take what a single prompt's prefill takes.
// On tp 8 (one replica) the same 8 prompts run through the same devices: 8x the attention FLOPs.
// The passes are per replica: 2048 tokens each, under the 8192-token chunk, so one pass.
TEST(Layouts, BatchedPrefillSpreadsOverAttentionReplicas) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  HardwareSpec hw = load_hardware("h200", kConfigs);
  auto prefill = [&](ParallelConfig par, int64_t prompts) {
    PredictRequest r;
    r.batch = prompts;
    r.prefill_batch = prompts;
    r.context = 2048;
    r.prompt_tokens = 2048;
    r.parallel = par;
    r.efficiency = EfficiencyMode::Datasheet;
    return predict(m, hw, r).prefill;
  };
  auto attention = [](const PhaseResult& p) {
    double f = 0;
    for (const auto& o : p.ops)
      if (o.kind == OpKind::Attention) f += o.flops * static_cast<double>(o.count);
    return f;
  };
  const PhaseResult one = prefill({1, 8, 1}, 1), eight = prefill({1, 8, 1}, 8);
  EXPECT_EQ(eight.passes, 1);
  EXPECT_DOUBLE_EQ(attention(eight), attention(one));
  const PhaseResult tp_one = prefill({8, 1, 1}, 1), tp_eight = prefill({8, 1, 1}, 8);
  EXPECT_NEAR(attention(tp_eight) / attention(tp_one), 8.0, 1e-9);
  EXPECT_EQ(tp_eight.passes, 2);  // 16,384 tokens on one replica: two 8192-token chunks
}

// All-to-all at batch 64, dp-attention 8 x ep 8: each device owns 64 / 8 = 8 tokens and sends
// them to top-8 experts and back: 2 x 8 x 8 x 7168 (d_model) x 2 bytes x 7/8 remote = 1,605,632
// bytes per MoE layer; x 58 MoE layers = 93,126,656 bytes at the mean rank. The most loaded rank
// receives ep_load_imbalance(256, 8, 64, 8) = 1 + sqrt(64 x 8 (1/8)(7/8)(248/255)) x sqrt(8/7) x
// 1.4236 / 64 = 1.17549 of that.
TEST(Layouts, AllToAllVolumeAtTheMostLoadedRank) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  HardwareSpec hw = load_hardware("h200", kConfigs);
  Prediction p = run(m, hw, 64, 4096, {1, 8, 1});
  const double f = 1.0 + std::sqrt(64.0 * 8 * (1.0 / 8) * (7.0 / 8) * (248.0 / 255)) * std::sqrt(8.0 / 7) * 1.4236003 / 64.0;
  EXPECT_NEAR(p.decode.ep_imbalance, f, 1e-6);
  EXPECT_NEAR(p.decode.comm.ep_alltoall_bytes, 93126656.0 * f, 93126656.0 * 1e-6);
  EXPECT_DOUBLE_EQ(p.decode.comm.tp_allreduce_bytes, 0.0);
  // Routed-expert FLOPs per device are the mean x f (the most loaded rank).
  double mean_flops = 0, dev_flops = 0;
  for (const auto& o : p.decode.ops)
    if (o.kind == OpKind::RoutedExperts) dev_flops += o.flops * static_cast<double>(o.count);
  Prediction tp = run(m, hw, 64, 4096, {8, 1, 1});  // no ep: experts split evenly by columns
  for (const auto& o : tp.decode.ops)
    if (o.kind == OpKind::RoutedExperts) mean_flops += o.flops * static_cast<double>(o.count);
  EXPECT_NEAR(dev_flops / mean_flops, f, 1e-9);
  // One node: bytes / NVLink's 450 GB/s per direction (no latency in the pure roofline).
  EXPECT_NEAR(p.decode.comm.time_s, 93126656.0 * f / 450e9, 1e-12);
  // Two nodes (16 devices > 8 per node in h200.yaml's network block): each device owns 4 tokens
  // and dispatches 2 x 4 x 8 x 7168 x 2 x 58 = 53,215,232 bytes x f16 in all; 8/16 of them go to
  // the other node over its 50 GB/s NIC while 7/16 cross NVLink: time = 0.5 x sent / 50e9.
  Prediction two = run(m, hw, 64, 4096, {1, 16, 1});
  ASSERT_TRUE(hw.network.has_value());
  const double f16 = ep_load_imbalance(256, 8, 64, 16);
  EXPECT_NEAR(two.decode.comm.time_s, 0.5 * 53215232.0 * f16 / 50e9, 1e-12);
  bool noted = false;
  for (const auto& n : two.notes) noted = noted || n.find("spans nodes of 8") != std::string::npos;
  EXPECT_TRUE(noted);
}

Scenario deepseek_scenario(int64_t concurrency) {
  Scenario s;
  s.name = "t";
  s.source_file = "test";
  s.models = {"deepseek-ai/DeepSeek-V3"};
  s.quants = {QuantScheme::Auto};  // fp8 as shipped
  s.concurrency = concurrency;
  s.prompt_tokens = 2048;
  s.output_tokens = 1024;
  s.max_devices_per_replica = 8;
  return s;
}

// 256 requests of 3072 tokens on H200 (fp8 as shipped, ~85 GB of weights per device over 8):
// tp 8 caches every sequence's MLA latent on all 8 devices (70,272 B/token x 3072 = 216 MB per
// sequence per device), so it holds fewer than 256 sequences and needs two replicas (16 devices);
// dp-attention 8 x ep 8 caches 1/8 of them per device and serves all 256 on 8. Pipeline stages
// also fit 256 on 8 devices (tp 4 x pp 2), but run in turn: dp-attention's request is shorter.
TEST(Layouts, PlanPicksExpertParallelForALargeMoeAtHighConcurrency) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigs);
  Scenario s = deepseek_scenario(256);
  CompiledModel m = compile_model(ir, QuantScheme::Auto, s.policy, s.kv, s.routing);
  HardwareSpec hw = load_hardware("h200", kConfigs);
  PlanRow row = plan_one(m, hw, s, std::nullopt);
  ASSERT_TRUE(row.feasible) << row.reason;
  EXPECT_EQ(row.parallel.tp, 1);
  EXPECT_EQ(row.parallel.ep, 8);
  EXPECT_EQ(row.devices, 8);
  EXPECT_EQ(row.layout_why.rfind("dp-attention 8 x ep 8: a request takes ", 0), 0u) << row.layout_why;
  EXPECT_NE(row.layout_why.find("where tp 4 x pp 2 takes"), std::string::npos) << row.layout_why;
  EXPECT_NE(row.layout_why.find("KV per device: its attention replica's sequences only (1/8"), std::string::npos);
  bool tp8_needs_16 = false;
  for (const auto& u : row.runner_ups) tp8_needs_16 = tp8_needs_16 || u.rfind("tp 8: 16 device(s) (2 replica(s) of 8)", 0) == 0;
  EXPECT_TRUE(tp8_needs_16) << row.runner_ups.size();
  // Against tp 8 directly: its replica holds fewer than 256 sequences at the full context.
  PredictRequest r = plan_request(s, ParallelConfig{8, 1, 1}, 256, plan_full_context(s));
  EXPECT_FALSE(predict(m, hw, r, false).memory.fits);
  r.parallel = ParallelConfig{1, 8, 1};
  EXPECT_TRUE(predict(m, hw, r, false).memory.fits);

  // One request: no KV pressure; tp 8 reads 1/8 of the attention weights per device where
  // dp-attention reads them whole, so a tp 8 layout wins on the same 8 devices.
  PlanRow one = plan_one(m, hw, deepseek_scenario(1), std::nullopt);
  ASSERT_TRUE(one.feasible) << one.reason;
  EXPECT_EQ(one.parallel.tp, 8);
  EXPECT_EQ(one.devices, 8);
  EXPECT_NE(one.layout_why.find("on the same 8 devices"), std::string::npos) << one.layout_why;
}

TEST(Layouts, PlanLayoutsTryExpertParallelForMoeOnly) {
  auto dense = plan_layouts(8);
  auto moe = plan_layouts(8, true);
  EXPECT_EQ(dense.size(), 4u);  // tp 8, tp 4 x pp 2, tp 2 x pp 4, tp 1 x pp 8
  ASSERT_EQ(moe.size(), 6u);
  EXPECT_EQ(layout_label(moe[4]), "dp-attention 8 x ep 8");
  EXPECT_EQ(layout_label(moe[5]), "tp 8 + ep 8");
  auto sixteen = plan_layouts(16, true);
  EXPECT_EQ(layout_label(sixteen[sixteen.size() - 2]), "dp-attention 16 x ep 16");
  EXPECT_EQ(layout_label(sixteen.back()), "dp-attention 2 x tp 8, ep 16");
}

}  // namespace
}  // namespace llmcost
