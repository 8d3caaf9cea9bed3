// `--version`, the llmcost_version stamp on JSON output, cost per million tokens in `compare`
// (from the hardware YAML's dated price) and hardware names (aliases with a note, "did you mean").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_fixture.h"

namespace {

using Ran = llmcost_test::CliRun;

class VersionPriceCli : public llmcost_test::CliTest {
 protected:
  // "0.1.0 (git ...)": what `llmcost --version` prints after "llmcost ".
  std::string version() const {
    Ran v = run("--version");
    EXPECT_EQ(v.code, 0) << v.err;
    std::string line = v.out.substr(0, v.out.find('\n'));
    EXPECT_EQ(line.rfind("llmcost ", 0), 0u) << line;
    return line.substr(8);
  }
};

TEST_F(VersionPriceCli, VersionFlagAndJsonStamp) {
  const std::string v = version();
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(v[0] >= '0' && v[0] <= '9') << v;
  Ran p = run("predict gpt2 --hw h100-sxm --context 512 --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["llmcost_version"], v);
  Ran a = run("analyze gpt2 --format json");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["llmcost_version"], v);
  Ran c = run("compare gpt2 --hw h100-sxm,l4 --context 512 --format json");
  ASSERT_EQ(c.code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["llmcost_version"], v);
  EXPECT_FALSE(j["rows"][0].contains("llmcost_version"));  // once, on the document
  Ran r = run("ci record --models gpt2 -o rec.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(dir_ / "rec.json"))["llmcost_version"], v);
}

// compare's $/M tok out = price x devices / (tok/s x 3600) x 1e6, with a hand-written spec priced at
// $3.60/h so the figure is devices x 1000 / tok/s.
TEST_F(VersionPriceCli, CompareShowsCostPerMillionTokensFromThePrice) {
  std::string spec = write_file("toy.yaml",
                                "name: toy-gpu\n"
                                "memory_bytes: {value: 8.0e10, source: a}\n"
                                "mem_bw_bytes_per_s: {value: 1.0e12, source: b}\n"
                                "peak_flops_per_s:\n"
                                "  bf16: {value: 1.0e15, source: c}\n"
                                "price:\n"
                                "  usd_per_device_hour: {value: 3.6, source: \"a price page\", date: \"2026-04-01\"}\n");
  Ran c = run("compare gpt2 --hw '" + spec + "',a100-40gb --context 512 --batch 4 --format json");
  ASSERT_EQ(c.code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  const auto& toy = j["rows"][0];
  ASSERT_EQ(toy["hardware"]["name"], "toy-gpu");
  EXPECT_EQ(toy["usd_per_device_hour"]["value"], 3.6);
  EXPECT_EQ(toy["usd_per_device_hour"]["date"], "2026-04-01");
  const double tps = toy["decode"]["tokens_per_s"].get<double>();
  const double devices = toy["parallel"]["devices"].get<double>();
  ASSERT_GT(tps, 0);
  EXPECT_NEAR(toy["usd_per_million_output_tokens"].get<double>(), devices * 1000.0 / tps, 1e-9 * devices * 1000.0 / tps);
  // a100-40gb has no sourced price: no cost, and the table says so.
  EXPECT_TRUE(j["rows"][1]["usd_per_million_output_tokens"].is_null());
  Ran t = run("compare gpt2 --hw '" + spec + "',a100-40gb --context 512 --batch 4");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("$/M tok out"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("price toy-gpu: $3.60/device-hour, on-demand, read 2026-04-01 (a price page)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("price a100-40gb: none in"), std::string::npos) << t.out;
}

TEST_F(VersionPriceCli, BundledPriceReachesPlan) {
  // A scenario that names no price: the hardware YAML's dated price is used, and its basis printed.
  std::string sc = write_file("sc.yaml",
                              "name: t\n"
                              "models: [gpt2]\n"
                              "hardware: [l4]\n"
                              "workload: {concurrency: 4, prompt_tokens: 128, output_tokens: 128}\n");
  Ran p = run("plan '" + sc + "' --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["rows"][0]["usd_per_device_hour"], 0.78);
  EXPECT_FALSE(j["rows"][0]["usd_per_million_output_tokens"].is_null());
}

TEST_F(VersionPriceCli, HardwareAliasNoteAndDidYouMean) {
  Ran a = run("predict gpt2 --hw H100 --context 512");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.err.find("note: hardware \"H100\" taken as h100-sxm (NVIDIA H100 SXM5"), std::string::npos) << a.err;
  Ran e = run("predict gpt2 --hw mi300 --context 512");
  EXPECT_EQ(e.code, 1);
  EXPECT_TRUE(e.out.empty());
  EXPECT_NE(e.err.find("did you mean: mi300x"), std::string::npos) << e.err;
}

}  // namespace
