// `llmcost analyze` end to end: the JSON carries every scheme by name, the shipped bytes, the KV
// cache and FLOPs keys of issue 3, equal to the library's figures; bad flags are usage errors.
#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"

namespace llmcost_test {
namespace {

using namespace llmcost;

ModelIR model(const std::string& spec) { return load_model(spec, LLMCOST_CONFIG_DIR); }

using AnalyzeCostCli = CliTest;

TEST_F(AnalyzeCostCli, JsonCarriesCostKeys) {
  CliRun r = run("analyze deepseek-ai/DeepSeek-V3 --format json --context 8192 --prompt 2048");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ModelIR ir = model("deepseek-ai/DeepSeek-V3");
  for (QuantScheme s : all_quant_schemes()) {
    ASSERT_TRUE(j["weight_bytes"].contains(quant_scheme_name(s))) << quant_scheme_name(s);
    EXPECT_EQ(j["weight_bytes"][quant_scheme_name(s)].get<int64_t>(), weight_bytes(ir, s, QuantPolicy{}));
  }
  EXPECT_EQ(j["weight_bytes"]["bf16"].get<int64_t>(), 2 * 671026419200LL);
  EXPECT_EQ(j["weight_bytes_as_shipped"].get<int64_t>(), 673150582112LL);
  EXPECT_EQ(j["kv_cache"]["bytes_per_token"].get<int64_t>(), 70272);
  EXPECT_EQ(j["kv_cache"]["bytes_at_context"].get<int64_t>(), 70272LL * 8192);
  EXPECT_EQ(j["kv_cache"]["context"].get<int64_t>(), 8192);
  EXPECT_EQ(j["kv_cache"]["by_dtype"]["fp8"]["bytes_per_token"].get<int64_t>(), 35136);
  EXPECT_EQ(j["kv_cache"]["by_dtype"]["int4"]["bytes_at_context"].get<int64_t>(), 17568LL * 8192);
  EXPECT_EQ(j["flops"]["decode_per_token"]["context"].get<int64_t>(), 8192);
  EXPECT_EQ(j["flops"]["decode_per_token"]["attention"].get<int64_t>(), 61LL * 278528 * 8192);
  const auto& d = j["flops"]["decode_per_token"];
  EXPECT_EQ(d["total"].get<int64_t>(), d["matmul"].get<int64_t>() + d["attention"].get<int64_t>());
  EXPECT_EQ(j["flops"]["prefill"]["tokens"].get<int64_t>(), 2048);
  EXPECT_GT(j["flops"]["prefill"]["total"].get<int64_t>(), 2048 * d["matmul"].get<int64_t>());
}

TEST_F(AnalyzeCostCli, PolicyChangesQuantizedBytesAndTableStatesUnits) {
  CliRun r = run("analyze openai/gpt-oss-20b --quant-policy experts");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("quant policy: experts"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("13,761,264,768"), std::string::npos) << r.out;  // mxfp4 experts = as shipped
  EXPECT_NE(r.out.find("GB = 1e9 bytes, GiB = 2^30 bytes"), std::string::npos);
  EXPECT_NE(r.out.find("bytes per token"), std::string::npos);
  CliRun no_ship = run("analyze meta-llama/Llama-3.1-8B --format json");
  ASSERT_EQ(no_ship.code, 0);
  EXPECT_FALSE(nlohmann::json::parse(no_ship.out).contains("weight_bytes_as_shipped"));
}

TEST_F(AnalyzeCostCli, BadCostFlagsAreUsageErrors) {
  for (const char* args : {"--context 0", "--context x", "--prompt 0", "--quant-policy bogus", "--kv-dtype fp4"}) {
    SCOPED_TRACE(args);
    CliRun r = run(std::string("analyze meta-llama/Llama-3.1-8B ") + args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  // A context whose prefill FLOPs overflow int64: one clear error line, exit 1, nothing on stdout.
  CliRun big = run("analyze deepseek-ai/DeepSeek-V3 --context 100000000000");
  EXPECT_EQ(big.code, 1);
  EXPECT_EQ(big.out, "");
  EXPECT_NE(big.err.find("exceed 64-bit"), std::string::npos) << big.err;
  EXPECT_EQ(big.err.find('\n'), big.err.size() - 1) << big.err;
}

}  // namespace
}  // namespace llmcost_test
