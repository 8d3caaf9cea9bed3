// `llmcost hw / predict / plan / compare` through the real binary: JSON keys, formats, files,
// and every bad input answered by one stderr line, a non-zero exit and nothing on stdout.
#include <gtest/gtest.h>

#include "cli/cli_fixture.h"
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {


using Ran = llmcost_test::CliRun;

class PredictCli : public llmcost_test::CliTest {
 protected:
  std::string write(const std::string& name, const std::string& text) const { return write_file(name, text); }
  // A failure: the given exit code, nothing on stdout, stderr's first line contains `what`.
  void expect_error(const std::string& args, int code, const std::string& what) const {
    Ran r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
    std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_NE(first.find(what), std::string::npos) << args << "\n" << r.err;
  }
};

TEST_F(PredictCli, HwListsEveryBundledSpecWithSources) {
  Ran r = run("hw --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 12u);
  for (const auto& h : j) {
    EXPECT_FALSE(h["memory_bytes"]["source"].get<std::string>().empty());
    EXPECT_FALSE(h["peak_flops_per_s"]["bf16"]["source"].get<std::string>().empty());
  }
  Ran t = run("hw");
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("h100-sxm"), std::string::npos);
  EXPECT_NE(t.out.find("never the 2:4-sparsity figure"), std::string::npos);
}

TEST_F(PredictCli, PredictJsonHasTheIssueKeys) {
  Ran r = run("predict mixtral-8x7b --hw h100-sxm --batch 8 --context 2048 --tp 2 --routing zipf:1.2 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hardware"]["name"], "h100-sxm");
  EXPECT_NE(j["hardware"]["source_file"].get<std::string>().find("h100-sxm.yaml"), std::string::npos);
  for (const char* k : {"step_s", "tokens_per_s", "bytes_per_step", "flops_per_step", "bound", "ops"})
    EXPECT_TRUE(j["decode"].contains(k)) << k;
  for (const char* k : {"s", "tokens"}) EXPECT_TRUE(j["prefill"].contains(k)) << k;
  for (const char* k : {"weights_bytes", "kv_bytes", "activation_bytes", "per_device_bytes", "capacity_bytes", "fits", "max_batch"})
    EXPECT_TRUE(j["memory"].contains(k)) << k;
  EXPECT_EQ(j["moe"]["routing"], "zipf:1.2");
  EXPECT_LE(j["moe"]["expected_experts_per_layer"].get<double>(), 8.0);
  EXPECT_EQ(j["parallel"]["tp"], 2);
  EXPECT_EQ(j["parallel"]["devices"], 2);
  EXPECT_GT(j["parallel"]["decode_tp_allreduce_bytes"].get<double>(), 0);
  EXPECT_EQ(j["prefill"]["tokens"], 2048);
  // tokens/s = batch / step
  EXPECT_NEAR(j["decode"]["tokens_per_s"].get<double>(), 8.0 / j["decode"]["step_s"].get<double>(), 1e-6);
  // every op carries its IR names
  size_t names = 0;
  for (const auto& o : j["decode"]["ops"]) names += o["op_names"].size();
  EXPECT_GT(names, 32u * 4);
}

TEST_F(PredictCli, PredictTableAndOutputFile) {
  Ran r = run("predict meta-llama/Llama-3.1-8B --hw l4 --batch 4 -o pred.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  std::string text = slurp(dir_ / "pred.txt");
  EXPECT_NE(text.find("Decode step:"), std::string::npos);
  EXPECT_NE(text.find("memory-bound"), std::string::npos);
  EXPECT_NE(text.find("max batch at context 4096: 17"), std::string::npos);  // hand-checked in roofline_test
  EXPECT_FALSE(fs::exists(dir_ / "pred.txt.tmp"));
}

TEST_F(PredictCli, PredictWithAHardwareYamlPath) {
  std::string hw = write("toy.yaml",
                         "name: toy\nmemory_bytes: {value: 1.0e11, source: test}\nmem_bw_bytes_per_s: {value: 1.0e12, source: test}\n"
                         "peak_flops_per_s: {bf16: {value: 1.0e14, source: test}}\n");
  Ran r = run("predict meta-llama/Llama-3.2-1B-Instruct --hw " + hw + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hardware"]["name"], "toy");
  // batch 1 decode is memory-bound: step = bytes / 1e12
  EXPECT_NEAR(j["decode"]["step_s"].get<double>(), j["decode"]["bytes_per_step"].get<double>() / 1e12, 1e-12);
}

TEST_F(PredictCli, BadInputs) {
  expect_error("predict meta-llama/Llama-3.1-8B --hw h1000", 1, "hardware \"h1000\" is neither a readable path");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --tp 3", 1, "--tp 3 does not divide the 32 attention heads");
  expect_error("predict Qwen/Qwen2.5-7B --hw h100-sxm --tp 7", 1, "--tp 7 neither divides nor is a multiple of the 4 KV heads");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --batch 0", 2, "--batch");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --pp 40", 1, "--pp 40 is more than the model's 32 layers");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --ep 2", 1, "--ep 2 needs a mixture-of-experts model");
  expect_error("predict meta-llama/Llama-3.1-8B --hw cpu-2s-spr --tp 2", 1, "cpu-2s-spr has no interconnect");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --quant int3", 2, "unknown scheme \"int3\"");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --routing zipf:-1", 2, "must be uniform or zipf:S");
  expect_error("predict meta-llama/Llama-3.1-8B", 2, "--hw");
  std::string bad = write("bad.yaml", "name: bad\nmemory_bytes: 80\n");
  expect_error("predict meta-llama/Llama-3.1-8B --hw " + bad, 1,
               "bad.yaml: /memory_bytes must be given as {value: NUMBER, source:");
  expect_error("plan nosuch", 1, "nosuch: cannot read scenario file");
  std::string sc = write("s.yaml", "models: [meta-llama/Llama-3.1-8B]\nhardware: [h100-sxm]\nworkload: {concurrency: 0, prompt_tokens: 1, output_tokens: 1}\n");
  expect_error("plan " + sc, 1, "s.yaml: /workload/concurrency must be an integer in [1, 1073741824], got 0");
  expect_error("compare meta-llama/Llama-3.1-8B --hw h100-sxm,bogus", 1, "hardware \"bogus\"");
  // nothing half-written
  expect_error("predict meta-llama/Llama-3.1-8B --hw h1000 -o out.json", 1, "h1000");
  EXPECT_FALSE(fs::exists(dir_ / "out.json"));
}

TEST_F(PredictCli, PlanFormats) {
  std::string sc = write("s.yaml",
                         "models: [meta-llama/Llama-3.1-8B, Qwen/Qwen3-30B-A3B]\nhardware: [h100-sxm, l40s]\nquant: [bf16, fp8]\n"
                         "prices_usd_per_device_hour: {h100-sxm: 2.0}\n"
                         "workload: {concurrency: 16, prompt_tokens: 512, output_tokens: 256, max_decode_step_s: 0.05}\n");
  Ran j = run("plan " + sc + " --format json");
  ASSERT_EQ(j.code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["rows"].size(), 8u);
  for (const char* k : {"devices", "max_concurrency_per_replica", "output_tokens_per_s", "decode_step_s", "ttft_s",
                        "usd_per_million_output_tokens"})
    EXPECT_TRUE(doc["rows"][0].contains(k)) << k;
  EXPECT_TRUE(doc["rows"][0]["usd_per_million_output_tokens"].is_number());
  Ran c = run("plan " + sc + " --format csv");
  ASSERT_EQ(c.code, 0);
  EXPECT_EQ(c.out.substr(0, c.out.find('\n')).find("model,hardware,quant,feasible,layout"), 0u);
  EXPECT_EQ(std::count(c.out.begin(), c.out.end(), '\n'), 9);
  Ran m = run("plan " + sc + " --format markdown");
  ASSERT_EQ(m.code, 0);
  EXPECT_NE(m.out.find("| model | hardware | quant |"), std::string::npos);
  Ran t = run("plan " + sc);
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("output tok/s"), std::string::npos);
}

TEST_F(PredictCli, CompareAutoAndFixedLayouts) {
  Ran r = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm,h200,mi300x --context 4096 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["parallel"]["devices"], 2);  // 141 GB bf16 needs two H100s
  EXPECT_EQ(j["rows"][2]["parallel"]["devices"], 1);  // one MI300X holds it
  for (const auto& row : j["rows"]) EXPECT_TRUE(row["memory"]["fits"].get<bool>());
  Ran h = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm,mi300x --format html -o sizing.html");
  ASSERT_EQ(h.code, 0) << h.err;
  std::string page = slurp(dir_ / "sizing.html");
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("mi300x"), std::string::npos);
  Ran f = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm --tp 1 --format csv");
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find(",h100-sxm,tp=1,1,false,"), std::string::npos) << f.out;
}

}  // namespace
