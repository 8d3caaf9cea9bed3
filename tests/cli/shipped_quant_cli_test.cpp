// `--quant auto` (as shipped) end to end: the default of predict, the README's DeepSeek-V3 example
// on FP8 checkpoint bytes, what-if schemes still selectable, analyze's bytes by stored format.
#include <nlohmann/json.hpp>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

using ShippedQuantCli = CliTest;

// DeepSeek-V3 ships fp8 block-128: 673,150,582,112 B of weights, 84.14 GB per device at tp=8,
// which fits an H200 (141 GB); in bf16 (1.34 TB, 168 GB per device) it would not.
TEST_F(ShippedQuantCli, PredictDefaultsToAsShipped) {
  CliRun r = run("predict deepseek-v3 --hw h200 --tp 8 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["workload"]["quant"], "auto");
  EXPECT_EQ(j["workload"]["weight_format"], "as shipped: fp8 block-128");
  EXPECT_EQ(j["memory"]["model_weight_bytes"].get<double>(), 673150582112.0);
  EXPECT_TRUE(j["memory"]["fits"].get<bool>());
  // bf16 does not fit: not runnable, exit 1, with the memory that says by how much.
  CliRun b = run("predict deepseek-v3 --hw h200 --tp 8 --quant bf16 --format json");
  ASSERT_EQ(b.code, 1) << b.err;
  auto jb = nlohmann::json::parse(b.out);
  EXPECT_EQ(jb["workload"]["weight_format"], "bf16");
  EXPECT_FALSE(jb["runnable"].get<bool>());
  EXPECT_FALSE(jb["memory"]["fits"].get<bool>());
  CliRun t = run("predict deepseek-v3 --hw h200 --tp 8");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("weights as shipped: fp8 block-128"), std::string::npos) << t.out;
}

TEST_F(ShippedQuantCli, AnalyzeBytesByStoredFormat) {
  CliRun r = run("analyze deepseek-ai/DeepSeek-V3 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  int64_t sum = 0;
  for (const auto& [name, bytes] : j["weight_bytes_as_shipped_by_format"].items()) sum += bytes.get<int64_t>();
  EXPECT_EQ(sum, j["weight_bytes_as_shipped"].get<int64_t>());
  // Embedding + lm_head + norms + routers stay bf16: 3,921,619,968 B.
  EXPECT_EQ(j["weight_bytes_as_shipped_by_format"]["bf16"].get<int64_t>(), 3921619968LL);
  CliRun t = run("analyze deepseek-ai/DeepSeek-V3");
  EXPECT_NE(t.out.find("fp8_e4m3 + fp32 scale per 128x128"), std::string::npos) << t.out;
}

}  // namespace
}  // namespace llmcost_test
