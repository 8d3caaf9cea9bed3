// `llmcost check` on the fixture files of every supported format (tests/data/serving; formats and
// their sources in tests/analyzer/measured_test.cpp), and `calibrate --from` -> a hardware YAML
// whose profile `predict --profile` uses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

const std::string kServing = std::string(LLMCOST_TEST_DATA) + "/serving/";

class CheckCli : public CliTest {};

TEST_F(CheckCli, EveryFormatChecked) {
  auto r = run("check '" + kServing + "vllm_llama-3.1-8b_h100_c8.json' '" + kServing + "sglang_llama-3.1-8b_h100.jsonl' '" + kServing +
               "trtllm-bench_llama-3.1-70b-fp8_tp2.json' '" + kServing + "aiperf_qwen3-8b_h100_c16.json' '" + kServing +
               "llama-bench_llama-3.1-8b-f16.json' --hw h100-sxm --model meta-llama/Llama-3.1-8B --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), 7u);  // 1 + 2 + 1 + 1 + 2
  std::set<std::string> formats;
  int figures = 0;
  for (const auto& rr : j["runs"]) {
    formats.insert(rr["format"].get<std::string>());
    for (const auto& f : rr["figures"]) {
      ASSERT_TRUE(f["predicted"].is_number()) << f.dump();
      EXPECT_NEAR(f["ratio"].get<double>(), f["predicted"].get<double>() / f["measured"].get<double>(), 1e-9);
      ++figures;
    }
  }
  EXPECT_EQ(formats, (std::set<std::string>{"vllm", "sglang", "trtllm-bench", "aiperf", "llama-bench"}));
  EXPECT_EQ(figures, 17);
  EXPECT_EQ(j["summary"].back()["metric"], "all");
  EXPECT_EQ(j["summary"].back()["predicted"], 17);
  // The table says what each column counts.
  auto t = run("check '" + kServing + "vllm_llama-3.1-8b_h100_c8.json'");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("error = predicted / measured - 1; TTFT and TPOT in seconds"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Overall (median |predicted / measured - 1| per figure)"), std::string::npos);
}

TEST_F(CheckCli, BadFileIsOneLine) {
  auto f = write_file("bad.json", R"({"completed": 3, "mean_ttft_ms": "fast", "total_input_tokens": 3, "total_output_tokens": 3})");
  auto r = run("check '" + f + "' --hw h100-sxm --model meta-llama/Llama-3.1-8B");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "llmcost: error: " + f + ": mean_ttft_ms: expected a number (ms), got the string \"fast\"\n");
}

// Figures that overflow what is computed from them are refused by field.
TEST_F(CheckCli, HostileNumbers) {
  auto f = write_file("big.json", R"({"completed": 1, "mean_ttft_ms": 1, "total_input_tokens": 1e300, "total_output_tokens": 3})");
  auto r = run("check '" + f + "' --hw h100-sxm --model meta-llama/Llama-3.1-8B");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(f + ": total_input_tokens: implies"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1);
}

TEST_F(CheckCli, CalibrateFromWritesAProfilePredictUses) {
  auto r = run("calibrate --from '" + kServing + "sglang_llama-3.1-8b_h100.jsonl' --hw h100-sxm --model meta-llama/Llama-3.1-8B "
               "--format json -o hw.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["profile"], "sglang");
  EXPECT_EQ(j["figures"]["collective_latency_s"]["determined"], false);  // one device: no collectives
  EXPECT_GT(j["figures"]["tensor_fraction"]["fitted"].get<double>(), 0.0);
  auto p = run("predict meta-llama/Llama-3.1-8B --hw hw.yaml --profile sglang --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("tensor_fraction"), std::string::npos);
  EXPECT_NE(p.out.find("calibrate --from: fit to 2 runs of sglang on h100-sxm"), std::string::npos) << p.out.substr(0, 2000);
  auto bad = run("predict meta-llama/Llama-3.1-8B --hw hw.yaml --profile vllm");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("profiles: no profile \"vllm\"; expected one of: sglang"), std::string::npos) << bad.err;
  // check --profile predicts with the profile's figures: the same run, another TPOT.
  // (the SGLang file names no hardware, so --hw applies; the vLLM fixture's metadata says h100-sxm)
  const std::string sg = "check '" + kServing + "sglang_llama-3.1-8b_h100.jsonl' --model meta-llama/Llama-3.1-8B ";
  auto plain = run(sg + "--hw hw.yaml --format json");
  auto prof = run(sg + "--hw hw.yaml --profile sglang --format json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(prof.code, 0) << prof.err;
  EXPECT_NE(nlohmann::json::parse(plain.out)["runs"][0]["figures"][1]["predicted"],
            nlohmann::json::parse(prof.out)["runs"][0]["figures"][1]["predicted"]);
  auto noprof = run(sg + "--hw h100-sxm --profile sglang");
  EXPECT_EQ(noprof.code, 1);
  EXPECT_NE(noprof.err.find("h100-sxm.yaml: profiles: no profile \"sglang\"; expected one of: (none;"), std::string::npos) << noprof.err;
  // Runs of two engines make no one profile.
  auto two = run("calibrate --from '" + kServing + "sglang_llama-3.1-8b_h100.jsonl' '" + kServing +
                 "vllm_llama-3.1-8b_h100_c8.json' --hw h100-sxm --model meta-llama/Llama-3.1-8B");
  EXPECT_EQ(two.code, 1);
  EXPECT_NE(two.err.find("expected runs of one engine"), std::string::npos) << two.err;
}

}  // namespace
}  // namespace llmcost_test

namespace llmcost_test {
namespace {

// A serving team's nightly job: record its benchmark results as a baseline, then gate the next
// night's results against it (slower TTFT / TPOT / seconds per output token beyond tolerance fails).
TEST_F(CheckCli, CiGatesServingResults) {
  const std::string sg = kServing + "sglang_llama-3.1-8b_h100.jsonl";
  auto rec = run("ci record --models meta-llama/Llama-3.1-8B --measured '" + sg + "' -o base.json");
  ASSERT_EQ(rec.code, 0) << rec.err;
  auto base = nlohmann::json::parse(slurp(path("base.json")));
  ASSERT_EQ(base["measurements"].size(), 6u);  // 2 runs x (ttft, tpot, s per output token)
  EXPECT_EQ(base["measurements"][1]["name"], "serving sglang (model not named) 1024/256 c1 tp1 tpot_s");
  EXPECT_DOUBLE_EQ(base["measurements"][1]["median_s"].get<double>(), 0.00625);
  // The same file: clean.
  auto same = run("ci check --baseline base.json --current '" + sg + "'");
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  // TPOT of the second run 20 % slower: a regression.
  std::string text = slurp(sg);
  const std::string from = "\"mean_tpot_ms\": 14.0", to = "\"mean_tpot_ms\": 16.8";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), to);
  auto slow = write_file("slow.jsonl", text);
  auto chk = run("ci check --baseline base.json --current '" + slow + "'");
  EXPECT_EQ(chk.code, 1) << chk.out << chk.err;
  EXPECT_NE(chk.out.find("serving sglang (model not named) 1024/256 c64 tp1 tpot_s"), std::string::npos) << chk.out;
}

}  // namespace
}  // namespace llmcost_test
