// Issue 14 through the real binary: configs, hardware, scenarios and flags whose numbers cannot be
// real are refused with exit 1, one stderr line naming the file and field (or the flag) and
// nothing on stdout; skewed routing never reads more experts than a token can pick; text from an
// input file never reaches the terminal with its control characters raw.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_fixture.h"

namespace {

using Ran = llmcost_test::CliRun;

const char* kLlama = R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
  "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 100)";

class HostileNumbersCli : public llmcost_test::CliTest {
 protected:
  // A failure: exit 1, nothing on stdout, exactly one stderr line that contains `what`.
  void expect_error(const std::string& args, const std::string& what) const {
    Ran r = run(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args << "\n" << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << args << "\n" << r.err;
  }
  std::string config(const std::string& extra) const { return write_file("config.json", std::string(kLlama) + extra + "}"); }
  std::string scenario(const std::string& body) const {
    return write_file("s.yaml", body + "workload: {concurrency: 4, prompt_tokens: 128, output_tokens: 64}\n");
  }
  // Decode experts per MoE layer and step that `predict` reports for DeepSeek-V3.
  double predicted_experts(const std::string& routing, int batch) const {
    // fp8: 671B bf16 weights do not fit 8 H200s, and predict refuses what cannot run.
    Ran r = run("predict deepseek-ai/DeepSeek-V3 --hw h200 --tp 8 --quant fp8 --routing " + routing + " --batch " + std::to_string(batch) +
                " --format json");
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out)["moe"]["expected_experts_per_layer"].get<double>();
  }
};

// partial_rotary_factor 2.0 overflowed the runner's rope buffer; 1e30 made its int cast undefined.
TEST_F(HostileNumbersCli, RotaryFactorPastTheHead) {
  for (const char* f : {"2.0", "1e30"}) {
    const std::string c = config(std::string(", \"partial_rotary_factor\": ") + f);
    expect_error("analyze " + c, "config.json: /partial_rotary_factor must be a number in (0, 1]");
    expect_error("predict " + c + " --hw h100-sxm", "config.json: /partial_rotary_factor must be a number in (0, 1]");
  }
  const std::string wrapped = write_file(
      "vlm.json", std::string(R"({"model_type": "some_vlm", "text_config": )") + kLlama + R"(, "rope_theta": -1}})");
  expect_error("analyze " + wrapped, "vlm.json: /text_config/rope_theta must be a positive number");
}

// zipf:400 underflowed to 0/0 and read all 256 experts per step at batch 1 (8 are possible).
TEST_F(HostileNumbersCli, LargeZipfExponentReadsAtMostTopK) {
  for (const char* s : {"zipf:1", "zipf:50", "zipf:400", "zipf:1e6"}) {
    SCOPED_TRACE(s);
    EXPECT_NEAR(predicted_experts(s, 1), 8.0, 1e-9);
    EXPECT_LE(predicted_experts(s, 4), 32.0 + 1e-9);
  }
  // plan: the step time under zipf:400 is that of 8 experts, far below uniform routing's at batch 64.
  auto step = [&](const std::string& routing) {
    const std::string sc = write_file("p.yaml", "models: [deepseek-ai/DeepSeek-V3]\nhardware: [h200]\nquant: fp8\nrouting: \"" + routing +
                                                    "\"\nworkload: {concurrency: 64, prompt_tokens: 128, output_tokens: 64}\n");
    Ran r = run("plan " + sc + " --format json");
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out)["rows"][0]["decode_step_s"].get<double>();
  };
  const double z400 = step("zipf:400"), z1e6 = step("zipf:1e6"), uniform = step("uniform");
  EXPECT_NEAR(z400, z1e6, 1e-12);
  EXPECT_LT(z400, uniform);
}

TEST_F(HostileNumbersCli, HardwareFiguresMustBePlausible) {
  std::string hw = write_file("big.yaml", "name: big\nmemory_bytes: {value: 1.0e11, source: test}\n"
                              "mem_bw_bytes_per_s: {value: 1.7e308, source: test}\n"
                              "peak_flops_per_s: {bf16: {value: 1.0e14, source: test}}\n");
  expect_error("predict " + config("") + " --hw " + hw, "big.yaml: /mem_bw_bytes_per_s/value must be a finite number in [1e+06, 1e+15)");
  hw = write_file("flops.yaml", "name: f\nmemory_bytes: {value: 1.0e11, source: test}\n"
                                "mem_bw_bytes_per_s: {value: 1.0e12, source: test}\n"
                                "peak_flops_per_s: {bf16: {value: 1.0e300, source: test}}\n");
  expect_error("predict " + config("") + " --hw " + hw, "flops.yaml: /peak_flops_per_s/bf16/value must be a finite number in [1e+06, 1e+18)");
  hw = write_file("mem.yaml", "name: m\nmemory_bytes: {value: 1.0e300, source: test}\n"
                              "mem_bw_bytes_per_s: {value: 1.0e12, source: test}\n"
                              "peak_flops_per_s: {bf16: {value: 1.0e14, source: test}}\n");
  expect_error("predict " + config("") + " --hw " + hw, "mem.yaml: /memory_bytes/value must be a finite number in [1e+06, 1e+15)");
}

// Infinite prices printed "$inf"; unknown names in a scenario did not name the scenario.
TEST_F(HostileNumbersCli, ScenarioPricesAndNames) {
  const std::string m = "models: [meta-llama/Llama-3.1-8B]\n";
  expect_error("plan " + scenario(m + "hardware: [h100-sxm]\nprices_usd_per_device_hour: {h100-sxm: .inf}\n"),
               "s.yaml: /prices_usd_per_device_hour/h100-sxm must be a price in USD per device-hour");
  expect_error("plan " + scenario(m + "hardware: [h100-sxm]\nprices_usd_per_device_hour: {h100-sxm: 1.0e308}\n"),
               "s.yaml: /prices_usd_per_device_hour/h100-sxm must be a price in USD per device-hour");
  expect_error("plan " + scenario(m + "hardware: [{name: h100-sxm, usd_per_device_hour: {value: 1.0e300, source: x}}]\n"),
               "s.yaml: /hardware/0/usd_per_device_hour/value must be a price in USD per device-hour");
  expect_error("plan " + scenario(m + "hardware: [h100-sxm, h1000]\n"), "s.yaml: /hardware/1 cannot be loaded: hardware \"h1000\"");
  expect_error("plan " + scenario("models: [meta-llama/Llama-3.1-8B, no-such-model]\nhardware: [h100-sxm]\n"),
               "s.yaml: /models/1 cannot be loaded: model \"no-such-model\"");
}

// `--context 2^40` overflowed the prefill FLOPs without naming the flag.
TEST_F(HostileNumbersCli, ContextWhoseSizesOverflowNamesTheFlag) {
  expect_error("analyze meta-llama/Llama-3.1-405B --context 1099511627776", "--context 1099511627776 is too large for this model");
  expect_error("analyze meta-llama/Llama-3.1-405B --prompt 1099511627776", "--prompt 1099511627776 is too large for this model");
  Ran r = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --context 1099511627776");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("--context"), std::string::npos) << r.err;
}

// An escape sequence in a model_type (or a file name) must not reach the terminal raw.
TEST_F(HostileNumbersCli, ControlCharactersAreEscaped) {
  const std::string c = write_file("esc.json", R"({"model_type": "\u001b[2J\u001b[31mevil\u0007"})");
  Ran r = run("analyze " + c);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x07'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\\x1b[2J"), std::string::npos) << r.err;
  // A known class behind an unknown model_type is noted in the table with the model_type quoted.
  const std::string noted = write_file(
      "noted.json", std::string(kLlama) + R"(, "model_type": "x\u001b[31m", "architectures": ["LlamaForCausalLM"]})");
  Ran t = run("analyze " + noted);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out.find('\x1b'), std::string::npos);
  // A name taken from a file name shows escaped in the table.
  const std::string named = write_file("bell\x07name.json", std::string(kLlama) + "}");
  Ran n = run("analyze '" + named + "'");
  ASSERT_EQ(n.code, 0) << n.err;
  EXPECT_EQ(n.out.find('\x07'), std::string::npos);
  EXPECT_NE(n.out.find("bell\\x07name"), std::string::npos) << n.out;
}

}  // namespace
