// Parallel layouts: device counts, replicas, stage assignment, and every refusal's one-line error.
#include "llmcost/parallel.h"

#include <gtest/gtest.h>

#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

std::string error_of(const ModelIR& ir, const HardwareSpec& hw, ParallelConfig c) {
  try {
    make_parallel_layout(ir, hw, c);
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    return w;
  }
  return "(no error)";
}

TEST(Parallel, DevicesReplicasAndStages) {
  ModelIR ir = load_model("mixtral-8x7b", kConfigs);  // 32 layers, 32 heads, 8 KV heads, 8 experts
  HardwareSpec hw = load_hardware("h100-sxm", kConfigs);
  ParallelLayout a = make_parallel_layout(ir, hw, {2, 8, 3});
  EXPECT_EQ(a.devices_per_stage, 8);  // max(2, 8)
  EXPECT_EQ(a.devices, 24);           // 3 stages x 8
  EXPECT_EQ(a.attention_replicas, 4); // 8 / tp 2
  EXPECT_EQ(a.sequences_per_replica(9), 3);  // ceil(9 / 4)
  // 32 layers over 3 stages: 11, 11, 10.
  EXPECT_EQ(a.stage_of_layer[0], 0);
  EXPECT_EQ(a.stage_of_layer[10], 0);
  EXPECT_EQ(a.stage_of_layer[11], 1);
  EXPECT_EQ(a.stage_of_layer[21], 1);
  EXPECT_EQ(a.stage_of_layer[22], 2);
  EXPECT_EQ(a.stage_of_layer[31], 2);
  ParallelLayout b = make_parallel_layout(ir, hw, {8, 1, 1});
  EXPECT_EQ(b.devices, 8);
  EXPECT_EQ(b.attention_replicas, 1);
}

TEST(Parallel, Refusals) {
  HardwareSpec hw = load_hardware("h100-sxm", kConfigs);
  ModelIR llama = load_model("meta-llama/Llama-3.1-8B", kConfigs);  // 32 heads, 8 KV heads, 32 layers
  ModelIR mixtral = load_model("mixtral-8x7b", kConfigs);
  EXPECT_NE(error_of(llama, hw, {3, 1, 1}).find("--tp 3 does not divide the 32 attention heads of model.layers.0.self_attn"),
            std::string::npos);
  // Qwen2.5-7B: 28 heads, 4 KV heads. tp 7 divides the heads, but neither divides nor is a
  // multiple of the KV heads; tp 16 on Llama (8 KV heads) replicates each KV head twice.
  ModelIR qwen = load_model("Qwen/Qwen2.5-7B", kConfigs);
  EXPECT_NE(error_of(qwen, hw, {7, 1, 1}).find("--tp 7 neither divides nor is a multiple of the 4 KV heads"), std::string::npos);
  EXPECT_EQ(error_of(llama, hw, {16, 1, 1}), "(no error)");
  AttentionSpec gqa;
  gqa.n_kv_heads = 8;
  EXPECT_EQ(kv_shards(gqa, 4), 4);
  EXPECT_EQ(kv_shards(gqa, 16), 8);
  AttentionSpec mla;
  mla.type = AttentionType::MLA;
  EXPECT_EQ(kv_shards(mla, 8), 1);
  EXPECT_NE(error_of(llama, hw, {1, 1, 33}).find("--pp 33 is more than the model's 32 layers"), std::string::npos);
  EXPECT_NE(error_of(llama, hw, {1, 2, 1}).find("--ep 2 needs a mixture-of-experts model"), std::string::npos);
  EXPECT_NE(error_of(mixtral, hw, {1, 16, 1}).find("--ep 16 does not divide the 8 experts"), std::string::npos);
  EXPECT_EQ(error_of(mixtral, hw, {4, 8, 1}), "(no error)");
  EXPECT_NE(error_of(mixtral, hw, {2, 3, 1}).find("the smaller must divide the larger"), std::string::npos);
  EXPECT_NE(error_of(llama, hw, {0, 1, 1}).find("--tp must be >= 1"), std::string::npos);
  HardwareSpec cpu = load_hardware("cpu-2s-spr", kConfigs);
  EXPECT_NE(error_of(llama, cpu, {2, 1, 1}).find("cpu-2s-spr has no interconnect"), std::string::npos);
  EXPECT_EQ(error_of(llama, cpu, {1, 1, 1}), "(no error)");
}

}  // namespace
}  // namespace llmcost
