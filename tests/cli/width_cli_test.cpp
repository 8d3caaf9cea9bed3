// Text tables fitted to the terminal (--width, LLMCOST_WIDTH; reports/src/text_table.cpp), output to a
// pipe unchanged, and --progress on stderr for calibrate and run (the same flag and terminal rule).
#include <gtest/gtest.h>

#include <sstream>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

const std::string kRuns = "'" + std::string(LLMCOST_TEST_DATA) + "/serving-published/surajssd-llm-k8s/01_tp8_pp1/'*.json";

class WidthCli : public CliTest {};

// Lines longer than `w`, leaving out the sentences that introduce a table (they are not tables).
std::string too_long(const std::string& out, size_t w) {
  std::istringstream in(out);
  std::string bad;
  for (std::string l; std::getline(in, l);)
    if (l.size() > w && l.rfind("Measured serving runs", 0) != 0 && l.rfind("columns left out", 0) != 0 &&
        l.find(": files in ") == std::string::npos && l.rfind("Parameters in B", 0) != 0)
      bad += l + "\n";
  return bad;
}

TEST_F(WidthCli, CheckFitsTheWidthKeepingEveryFigure) {
  auto full = run("check " + kRuns + " --hw a100-40gb --tp 8");
  auto r = run("check " + kRuns + " --hw a100-40gb --tp 8 --width 120");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(too_long(r.out, 120), "");
  // Fits without wrapping: one header line.
  size_t headers = 0;
  for (size_t p = r.out.find("\nrun "); p != std::string::npos; p = r.out.find("\nrun ", p + 1)) ++headers;
  EXPECT_EQ(headers, 1u) << r.out;
  EXPECT_NE(r.out.find("run: files in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("columns left out to fit 120: format (all vllm), engine (all vllm)"), std::string::npos) << r.out;
  // Every figure of the full table is still there, exactly.
  for (const char* f : {"0.06526", "0.01612", "-75.3%", "+106.2%", "3849", "+116.2%", "213/212"}) {
    EXPECT_NE(full.out.find(f), std::string::npos) << f;
    EXPECT_NE(r.out.find(f), std::string::npos) << f;
  }
  EXPECT_EQ(full.out.find("columns left out"), std::string::npos);
  EXPECT_NE(full.out.find("01_tp8_pp1/serving_meta-llama-Llama-3.3-70B-Instruct_tp8_pp1_sharegpt_qps_01.json"), std::string::npos);
}

TEST_F(WidthCli, APipeGetsTheFullTableWhateverColumnsSays) {
  auto plain = run("models");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(run("--width 0 models").out, plain.out);
  EXPECT_EQ(run("models --width 0").out, plain.out);
  auto narrow = run("models --width 80");
  EXPECT_NE(narrow.out, plain.out);
  EXPECT_EQ(too_long(narrow.out, 80), "");
}

TEST_F(WidthCli, EnvironmentForcesAWidthAndTheFlagWins) {
  const std::string bin = std::string(LLMCOST_BIN);
  auto shell = [&](const std::string& env, const std::string& args) {
    const std::string out = path("out.txt");
    std::string cmd = env + " '" + bin + "' " + args + " >'" + out + "' 2>/dev/null </dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return slurp(out);
  };
  EXPECT_EQ(shell("COLUMNS=60", "models"), run("models").out);  // not a terminal: no limit
  EXPECT_EQ(shell("LLMCOST_WIDTH=80", "models"), run("models --width 80").out);
  EXPECT_EQ(shell("LLMCOST_WIDTH=80", "models --width 0"), run("models").out);
}

TEST_F(WidthCli, CalibrateProgressNamesEachMeasurementWithItsBudget) {
  const std::string args = "calibrate --seconds 0.2 --buffer-mib 1 --threads 1 --format json";
  auto quiet = run(args);
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("measuring"), std::string::npos) << quiet.err;  // stderr is a file
  auto loud = run(args + " --progress");
  ASSERT_EQ(loud.code, 0) << loud.err;
  for (const char* m : {"read", "triad", "gemm_fp32", "gemm_bf16"})
    EXPECT_NE(loud.err.find(std::string("calibrate: measuring ") + m + " (about 0.05 s) ..."), std::string::npos) << loud.err;
}

TEST_F(WidthCli, RunProgressFollowsTheSameRule) {
  write_file("hw.yaml",
             "name: test-cpu\nkind: cpu\nmemory_bytes: {value: 17179869184, source: test}\n"
             "mem_bw_bytes_per_s: {value: 1e10, source: test}\npeak_flops_per_s:\n  fp32: {value: 4e10, source: test}\n"
             "  bf16: {value: 3e10, source: test}\ncalibrated:\n  read_bw_bytes_per_s: {value: 1e10, source: test}\n"
             "  gemm_flops_per_s:\n    fp32: {value: 4e10, source: test}\n    bf16: {value: 3e10, source: test}\n");
  const std::string args = "run '" + std::string(LLMCOST_TEST_DATA) +
                           "/gpu_check/tiny-dense.json' --layers 1 --context 8 --tokens 2 --warmup 1 --threads 1 "
                           "--calibration hw.yaml --counters off --format json";
  auto quiet = run(args);
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("run: "), std::string::npos) << quiet.err;
  auto loud = run(args + " --progress");
  ASSERT_EQ(loud.code, 0) << loud.err;
  EXPECT_NE(loud.err.find("run: decode step 2/2\n"), std::string::npos) << loud.err;
  EXPECT_FALSE(loud.out.empty());
}

}  // namespace
}  // namespace llmcost_test
