// The real llmcost binary on good and bad input: exit codes, one stderr line, nothing on stdout.
#include <gtest/gtest.h>

#include "cli/cli_fixture.h"
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;

using RunResult = llmcost_test::CliRun;

class Cli : public llmcost_test::CliTest {
 protected:
  // Writes NAME in the scratch directory (the binary's working directory); returns NAME.
  std::string write(const std::string& name, const std::string& text) const {
    write_file(name, text);
    return name;
  }

  // A failure: exit code `code`, stdout empty, exactly one line on stderr containing `needle`.
  void expect_failure(const RunResult& r, int code, const std::string& needle) const {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line on stderr:\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }
};

const char* kTiny = R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
  "num_key_value_heads": 2, "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 1000})";

// ---------------------------------------------------------------- good input

TEST_F(Cli, AnalyzeJsonHasTheIssueKeysAndExactCounts) {
  RunResult r = run("analyze mixtral-8x7b --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["name"], "mistralai/Mixtral-8x7B-v0.1");
  EXPECT_EQ(j["model"]["architecture"], "mixtral");
  EXPECT_EQ(j["model"]["n_layers"], 32);
  EXPECT_EQ(j["params"]["total"].get<int64_t>(), 46702792704);
  EXPECT_EQ(j["params"]["active"].get<int64_t>(), 12879925248);
  EXPECT_EQ(j["params"]["active_compute"].get<int64_t>(), 12748853248);
  EXPECT_EQ(j["params"]["mtp"].get<int64_t>(), 0);
  int64_t sum = 0;
  for (const char* k : {"embedding", "attention", "mlp", "experts_routed", "experts_shared", "router", "norm",
                        "lm_head", "other"}) {
    ASSERT_TRUE(j["params"]["breakdown"].contains(k)) << k;
    sum += j["params"]["breakdown"][k].get<int64_t>();
  }
  EXPECT_EQ(sum, 46702792704);
}

TEST_F(Cli, AnalyzeTableSaysWhatActiveMeansAndItsUnit) {
  RunResult r = run("analyze deepseek-ai/DeepSeek-V3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("671,026,419,200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("B = 1e9 parameters"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("active"), std::string::npos);
}

TEST_F(Cli, AnalyzeYamlPathAndDirectory) {
  RunResult r = run("analyze '" + kConfigDir + "/examples/hypothetical-moe.yaml' --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["params"]["total"].get<int64_t>(), 4032339968);
  write("tiny/config.json", kTiny);
  r = run("analyze tiny --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["params"]["total"].get<int64_t>(), 202048);
}

TEST_F(Cli, ModelsListsEveryBundledModel) {
  RunResult r = run("models --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(kConfigDir + "/models"))
    if (e.path().extension() == ".json" && e.path().filename().string().find(".hf_quant_config.") == std::string::npos) ++n;
  std::string dump = j.dump();
  EXPECT_NE(dump.find("deepseek-ai/DeepSeek-V3"), std::string::npos);
  EXPECT_NE(dump.find("openai-community/gpt2"), std::string::npos);
  size_t hits = 0;
  for (size_t pos = 0; (pos = dump.find("\"total\"", pos)) != std::string::npos; ++pos) ++hits;
  EXPECT_GE(hits, n);
}

TEST_F(Cli, OutputFileWrittenWholeAndNotOnError) {
  RunResult r = run("analyze gpt2 --format json -o out.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(nlohmann::json::parse(slurp(dir_ / "out.json"))["params"]["total"].get<int64_t>(), 124439808);
  write("bad.json", "{");
  r = run("analyze bad.json --format json -o out2.json");
  expect_failure(r, 1, "bad.json: / is not valid JSON");
  EXPECT_FALSE(fs::exists(dir_ / "out2.json"));
  EXPECT_FALSE(fs::exists(dir_ / "out2.json.tmp"));
}

// ---------------------------------------------------------------- bad input, exit 1

TEST_F(Cli, MalformedJson) {
  write("trunc.json", R"({"model_type": "llama", "hidden_size": 64,)");
  expect_failure(run("analyze trunc.json"), 1, "llmcost: error: trunc.json: / is not valid JSON: parse error at line 1");
}

TEST_F(Cli, MissingRequiredField) {
  write("missing.json", R"({"model_type": "llama", "num_attention_heads": 4, "intermediate_size": 128,
                            "num_hidden_layers": 2, "vocab_size": 1000})");
  expect_failure(run("analyze missing.json"), 1, "missing.json: /hidden_size is required (an integer) but is missing");
}

TEST_F(Cli, WrongType) {
  std::string t = kTiny;
  t.replace(t.find("\"hidden_size\": 64"), 17, "\"hidden_size\": [64]");
  write("wrong.json", t);
  expect_failure(run("analyze wrong.json"), 1, "wrong.json: /hidden_size must be an integer, got an array");
}

TEST_F(Cli, NegativeAndZeroSizes) {
  std::string t = kTiny;
  t.replace(t.find("\"num_hidden_layers\": 2"), 22, "\"num_hidden_layers\": -2");
  write("neg.json", t);
  expect_failure(run("analyze neg.json"), 1, "neg.json: /num_hidden_layers must be an integer in [1, 100000], got -2");
  t = kTiny;
  t.replace(t.find("\"vocab_size\": 1000"), 18, "\"vocab_size\": 0");
  write("zero.json", t);
  expect_failure(run("analyze zero.json"), 1, "zero.json: /vocab_size must be a positive integer, got 0");
}

TEST_F(Cli, TopKAboveExperts) {
  std::string t = kTiny;
  t.replace(t.find("\"llama\""), 7, R"("qwen3_moe", "num_experts": 4, "num_experts_per_tok": 5)");
  write("topk.json", t);
  expect_failure(run("analyze topk.json"), 1, "topk.json: /num_experts_per_tok must be <= num_experts (4), got 5");
}

TEST_F(Cli, UnknownArchitectureListsSupported) {
  write("bert.json", R"({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768})");
  RunResult r = run("analyze bert.json");
  expect_failure(r, 1, "bert.json: /model_type \"bert\" is not a supported architecture");
  // The list is sorted; families added later land in between, so check its head and members.
  EXPECT_NE(r.err.find("supported: deepseek_v2, deepseek_v3, "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", gemma, "), std::string::npos) << r.err;
}

TEST_F(Cli, UnreadablePathsAndDirectoryWithoutConfig) {
  expect_failure(run("analyze ./nope/config.json"), 1, "./nope/config.json: cannot read file (No such file or directory)");
  fs::create_directories(dir_ / "emptydir");
  expect_failure(run("analyze emptydir"), 1, "emptydir: directory has no config.json");
  expect_failure(run("analyze no-such-model"), 1, "model \"no-such-model\" is neither a readable path nor a bundled model");
}

TEST_F(Cli, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  write("secret.json", kTiny);
  fs::permissions(dir_ / "secret.json", fs::perms::none);
  expect_failure(run("analyze secret.json"), 1, "secret.json: cannot read file (Permission denied)");
}

TEST_F(Cli, BadYaml) {
  write("bad.yaml", "model_type: llama\nhidden_size: [1, 2\n");
  expect_failure(run("analyze bad.yaml"), 1, "bad.yaml: / is not valid YAML: line ");
  write("neg.yaml", "model_type: llama\nhidden_size: -1\n");
  expect_failure(run("analyze neg.yaml"), 1, "neg.yaml: /hidden_size must be a positive integer, got -1");
}

TEST_F(Cli, ControlCharactersStayOnOneLine) {
  write("nl.json", "{\"model_type\": \"llama\\nsecond line\"}");
  expect_failure(run("analyze nl.json"), 1, "nl.json: /model_type \"llama\\nsecond line\" is not a supported");
}

// ---------------------------------------------------------------- usage errors, exit 2

TEST_F(Cli, UsageErrors) {
  expect_failure(run(""), 2, "usage error");
  expect_failure(run("analyze"), 2, "usage error");
  expect_failure(run("analyze gpt2 --format xml"), 2, "usage error");
  expect_failure(run("no-such-command"), 2, "usage error");
  expect_failure(run("analyze gpt2 --no-such-flag"), 2, "usage error");
}

TEST_F(Cli, HelpExitsZero) {
  RunResult r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("analyze"), std::string::npos);
}

}  // namespace
