// scripts/gpu-check end to end on the CPU stand-in (--stand-in cpu: the CPU backend, tiny models,
// the fake counter profiler, this build's llmcost): the summary files with every target row and
// per-op rows, partial results at the time limit, a run stopped at its budget, and the one-line
// refusal without a GPU.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

const std::string kSourceDir = std::string(LLMCOST_CONFIG_DIR) + "/..";

class GpuCheckScript : public CliTest {
 protected:
  // Runs scripts/gpu-check with `env` (shell assignments) and `args`; output in <scratch>/out.
  CliRun script(const std::string& env, const std::string& args) const {
    const std::string build_dir = fs::path(LLMCOST_BIN).parent_path().string();
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    std::string cmd = "cd '" + dir_.string() + "' && env " + env + " '" + kSourceDir + "/scripts/gpu-check' --build-dir '" +
                      build_dir + "' --out '" + path("out") + "' " + args + " >'" + out.string() + "' 2>'" + err.string() +
                      "' </dev/null";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  nlohmann::json summary() const { return nlohmann::json::parse(slurp(path("out/summary.json"))); }
  static const nlohmann::json& table(const nlohmann::json& s, const std::string& section) {
    for (const auto& sec : s["sections"])
      if (sec["id"] == section) return sec["tables"];
    ADD_FAILURE() << "no section " << section;
    static const nlohmann::json none = nlohmann::json::array();
    return none;
  }
};

const std::set<std::string> kTargets = {"dense decode at batch 1: achieved bandwidth",
                                        "MoE decode at batch 1: achieved bandwidth",
                                        "decode step: predicted (calibrated) vs measured",
                                        "DRAM bytes per decode step vs predicted"};

TEST_F(GpuCheckScript, StandInWritesTheSummaryWithEveryTargetAndOp) {
  CliRun r = script("LLMCOST_GPU_CHECK_LIMIT_S=300", "--stand-in cpu");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  // The summary is printed at the end, and written as Markdown and JSON beside the log.
  EXPECT_EQ(r.out, slurp(path("out/summary.md")));
  EXPECT_NE(r.out.find("# GPU validation summary (cpu, CPU stand-in)"), std::string::npos) << r.out;
  EXPECT_NE(slurp(path("out/log.txt")).find("===== calibrate --backend cpu"), std::string::npos);
  nlohmann::json s = summary();
  std::set<std::string> seen;
  for (const auto& row : table(s, "targets")[0]["rows"]) {
    seen.insert(row["target"].get<std::string>());
    const std::string v = row["verdict"];
    EXPECT_TRUE(v == "pass" || v == "fail" || v == "not measured") << v;
    // Every run of the stand-in measures a step and has (fake) counters: nothing is left unmeasured.
    EXPECT_NE(v, "not measured") << row.dump();
  }
  EXPECT_EQ(seen, kTargets);
  // 2 models x 2 batches x 2 contexts, each with its per-op table.
  EXPECT_EQ(table(s, "steps")[0]["rows"].size(), 8u);
  const auto& ops = table(s, "ops");
  ASSERT_EQ(ops.size(), 8u);
  for (const auto& t : ops) {
    ASSERT_FALSE(t["rows"].empty()) << t["caption"];
    for (const auto& row : t["rows"]) {
      EXPECT_TRUE(row["predicted_s"].is_number()) << row.dump();
      EXPECT_TRUE(row["measured_s"].is_number()) << row.dump();
      EXPECT_TRUE(row["dram_read_bytes"].is_number()) << row.dump();
    }
  }
  // The counters were the stand-in's, and the summary says so.
  EXPECT_NE(table(s, "steps")[0]["rows"][0]["counters"].get<std::string>().find("fake counters (stand-in"), std::string::npos);
  bool graph_listed = false;
  for (const auto& m : s["missing"]) graph_listed |= m.get<std::string>().find("CUDA graph rows") != std::string::npos;
  EXPECT_TRUE(graph_listed) << s["missing"].dump();
}

TEST_F(GpuCheckScript, TimeLimitGivesPartialResults) {
  // A limit of 0 s: nothing runs, the summary still comes, says what did not run, and every target
  // is "not measured"; exit 3.
  CliRun r = script("LLMCOST_GPU_CHECK_LIMIT_S=0", "--stand-in cpu");
  ASSERT_EQ(r.code, 3) << r.err << r.out;
  nlohmann::json s = summary();
  std::set<std::string> seen;
  for (const auto& row : table(s, "targets")[0]["rows"]) {
    seen.insert(row["target"].get<std::string>());
    EXPECT_EQ(row["verdict"], "not measured") << row.dump();
  }
  EXPECT_EQ(seen, kTargets);
  size_t limited = 0;
  for (const auto& m : s["missing"]) limited += m.get<std::string>().find("time limit reached") != std::string::npos;
  EXPECT_EQ(limited, 1u + 1u + 8u) << s["missing"].dump();  // tests, calibrate, 8 runs
  EXPECT_TRUE(table(s, "steps")[0]["rows"].empty());
}

TEST_F(GpuCheckScript, RunsStoppedAtTheirBudgetAreListed) {
  // Each matrix run gets 1 ms: every one is killed, none leaves a run file, the summary lists them
  // and the script fails (a budget overrun is a failure, not the time limit).
  CliRun r = script("LLMCOST_GPU_CHECK_LIMIT_S=300 LLMCOST_GPU_CHECK_RUN_BUDGET_S=0.001", "--stand-in cpu");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  nlohmann::json s = summary();
  size_t stopped = 0;
  for (const auto& m : s["missing"]) stopped += m.get<std::string>().find("stopped at its budget of 0.0 s") != std::string::npos;
  EXPECT_EQ(stopped, 8u) << s["missing"].dump();
  EXPECT_TRUE(table(s, "steps")[0]["rows"].empty());
  EXPECT_TRUE(fs::is_empty(path("out/runs")));
}

TEST_F(GpuCheckScript, GpuPathWithAFakeDeviceListsEveryFailedStep) {
  // The GPU path (no stand-in) with a fake nvidia-smi naming an H200 and --no-build on this build:
  // every cuda step fails in one line that the summary quotes, the datasheet comes from the GPU's
  // name, every target is "not measured", exit 1. Only meaningful where cuda cannot run.
  CliRun probe = run("run '" + kSourceDir + "/tests/data/gpu_check/tiny-dense.json' --backend cuda --calibration missing.yaml");
  if (probe.err.find("cuda: not available") == std::string::npos)
    GTEST_SKIP() << "this build runs the cuda backend; scripts/gpu-check itself covers it";
  write_file("fakebin/nvidia-smi",
             "#!/bin/sh\ncase \"$*\" in *driver_version*) echo '580.00, 143771 MiB';; *name*) echo 'NVIDIA H200';; esac\n");
  fs::permissions(dir_ / "fakebin/nvidia-smi", fs::perms::owner_all);
  const std::string tiny = kSourceDir + "/tests/data/gpu_check/";
  CliRun r = script("PATH='" + path("fakebin") + "':\"$PATH\" LLMCOST_GPU_CHECK_DENSE='" + tiny +
                        "tiny-dense.json' LLMCOST_GPU_CHECK_MOE='" + tiny +
                        "tiny-moe.json@1' LLMCOST_GPU_CHECK_BATCHES=1 LLMCOST_GPU_CHECK_CONTEXTS=32",
                    "--no-build");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  nlohmann::json s = summary();
  for (const auto& row : table(s, "targets")[0]["rows"]) EXPECT_EQ(row["verdict"], "not measured") << row.dump();
  size_t failed = 0;
  for (const auto& m : s["missing"])
    failed += m.get<std::string>().find("failed, exit 1 (llmcost: error: cuda: not available") != std::string::npos;
  EXPECT_EQ(failed, 1u + 2u) << s["missing"].dump();  // calibrate; dense + MoE
  // CUDA-graph rows are listed as not run, with why (the cuda backend does not capture graphs yet).
  bool graphs = false;
  for (const auto& m : s["missing"]) graphs |= m.get<std::string>().find("CUDA graph rows: the cuda backend does not capture") != std::string::npos;
  EXPECT_TRUE(graphs) << s["missing"].dump();
  bool h200 = false;
  for (const auto& a : s["assumptions"]) h200 |= a.get<std::string>().rfind("datasheet read bandwidth: h200 4800.0 GB/s", 0) == 0;
  EXPECT_TRUE(h200) << s["assumptions"].dump();
}

TEST_F(GpuCheckScript, WithoutAGpuOneLineAndExit1) {
  // A PATH without nvidia-smi (only what the script needs before its device check).
  fs::create_directories(dir_ / "bin");
  for (const char* tool : {"bash", "dirname"}) {
    std::string found;
    for (const char* d : {"/usr/bin/", "/bin/"})
      if (fs::exists(std::string(d) + tool)) {
        found = std::string(d) + tool;
        break;
      }
    ASSERT_FALSE(found.empty()) << tool;
    fs::create_symlink(found, dir_ / "bin" / tool);
  }
  const fs::path err = dir_ / "stderr.txt";
  std::string cmd = "cd '" + dir_.string() + "' && PATH='" + (dir_ / "bin").string() + "' '" + (dir_ / "bin/bash").string() +
                    "' '" + kSourceDir + "/scripts/gpu-check' --out '" + path("out") + "' >/dev/null 2>'" + err.string() + "'";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string e = slurp(err);
  EXPECT_EQ(e.rfind("gpu-check: no NVIDIA GPU found", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_FALSE(fs::exists(path("out/summary.md")));
}

using SummaryCli = CliTest;

TEST_F(SummaryCli, BadInputsAreOneLineAndWriteNothing) {
  write_file("bad.json", R"({"measured": {"decode_step_s": -1}})");
  for (const char* args : {"summary bad.json -o s.md", "summary missing.json -o s.md", "summary --datasheet no-such-gpu -o s.md"}) {
    CliRun c = run(args);
    EXPECT_EQ(c.code, 1) << args << "\n" << c.err;
    EXPECT_TRUE(c.out.empty()) << args;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << args << "\n" << c.err;
    EXPECT_FALSE(fs::exists(path("s.md"))) << args;
  }
  CliRun b = run("summary bad.json");
  EXPECT_NE(b.err.find("bad.json: /measured/decode_step_s must be a non-negative number of seconds"), std::string::npos) << b.err;
}

}  // namespace
}  // namespace llmcost_test
