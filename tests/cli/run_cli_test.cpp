// `llmcost run` and `llmcost calibrate` end to end through the binary: the run file's keys, the
// trace file, units in the tables, and one-line errors with nothing on stdout. (The measurement
// loop and calibration themselves are tested in tests/runner against the library.)
#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "llmcost/hardware.h"

namespace llmcost_test {
namespace {

const char* kTinyMoe = R"({"model_type":"mixtral","hidden_size":64,"num_hidden_layers":3,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":48,"vocab_size":101,"num_local_experts":8,"num_experts_per_tok":2})";

// A calibrated CPU spec with round figures: read 10 GB/s, GEMM 40 (fp32) / 30 (bf16) GFLOP/s.
const char* kCalibration = R"(name: test-cpu
kind: cpu
memory_bytes: {value: 17179869184, source: test}
mem_bw_bytes_per_s: {value: 1e10, source: test}
peak_flops_per_s:
  fp32: {value: 4e10, source: test}
  bf16: {value: 3e10, source: test}
calibrated:
  read_bw_bytes_per_s: {value: 1e10, source: test}
  gemm_flops_per_s:
    fp32: {value: 4e10, source: test}
    bf16: {value: 3e10, source: test}
)";

class RunCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_file("config.json", kTinyMoe);
    write_file("hw.yaml", kCalibration);
  }
};

TEST_F(RunCli, JsonHasTheIssueKeys) {
  CliRun c = run("run config.json --layers 2 --batch 2 --context 8 --prompt 4 --tokens 2 --threads 2 "
                 "--calibration hw.yaml --format json --trace t.json");
  ASSERT_EQ(c.code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  for (const char* k : {"backend", "device", "slice", "calibration", "predicted", "measured", "ops"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"layers", "params", "weight_bytes"}) EXPECT_TRUE(j["slice"].contains(k)) << k;
  EXPECT_DOUBLE_EQ(j["calibration"]["read_bw_bytes_per_s"].get<double>(), 10e9);
  EXPECT_DOUBLE_EQ(j["calibration"]["gemm_flops_per_s"].get<double>(), 30e9);  // bf16 weights: the bf16 GEMM rate
  for (const char* k : {"decode_step_s", "prefill_s"}) EXPECT_TRUE(j["predicted"][k].is_number()) << k;
  for (const char* k : {"decode_step_s", "decode_step_s_p10", "decode_step_s_p90", "achieved_bw_bytes_per_s", "prefill_s",
                        "distinct_experts_per_layer"})
    EXPECT_TRUE(j["measured"].contains(k)) << k;
  EXPECT_EQ(j["measured"]["distinct_experts_per_layer"].size(), 2u);
  ASSERT_FALSE(j["ops"].empty());
  for (const char* k : {"name", "predicted_s", "measured_s", "bytes", "achieved_bw_bytes_per_s", "error_pct"})
    EXPECT_TRUE(j["ops"][0].contains(k)) << k;
  auto t = nlohmann::json::parse(slurp(path("t.json")));
  bool found = false;
  for (const auto& e : t["traceEvents"]) found |= e.value("name", "") == "model.layers.1.block_sparse_moe.experts";
  EXPECT_TRUE(found);
}

TEST_F(RunCli, TableSaysItsUnits) {
  CliRun c = run("run config.json --layers dense:0,moe:1 --context 8 --tokens 1 --calibration hw.yaml");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("decode step: predicted"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("GB/s = 1e9 bytes/s"), std::string::npos) << c.out;
}

TEST_F(RunCli, ErrorsAreOneLineAndStdoutStaysEmpty) {
  for (const char* args : {"run config.json --layers moe:7 --calibration hw.yaml",
                           "run config.json --routing zipf:-1 --calibration hw.yaml",
                           "run config.json --backend tpu --calibration hw.yaml",
                           "run config.json --calibration missing.yaml"}) {
    CliRun c = run(args);
    EXPECT_EQ(c.code, 1) << args << "\n" << c.err;
    EXPECT_TRUE(c.out.empty()) << args;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << args << "\n" << c.err;
  }
}

using CalibrateCli = CliTest;

TEST_F(CalibrateCli, WritesYamlAndJson) {
  const std::string yaml = path("cal.yaml");
  CliRun r = run("calibrate --backend cpu --threads 2 --seconds 0.2 --buffer-mib 4 --format json --name mybox -o " + yaml);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["buffer_bytes"], 4u << 20);
  EXPECT_GT(j["read_bw_bytes_per_s"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["gemm_flops_per_s"]["bf16"]["median"].get<double>(), 0.0);
  llmcost::HardwareSpec hw = llmcost::load_hardware(yaml, LLMCOST_CONFIG_DIR);
  EXPECT_EQ(hw.name, "mybox");
  double median = j["read_bw_bytes_per_s"]["median"].get<double>();
  EXPECT_NEAR(hw.calibrated.read_bw_bytes_per_s->value, median, median * 1e-6);  // YAML keeps 7 significant digits
  EXPECT_NE(r.err.find("wrote " + yaml), std::string::npos);

  CliRun t = run("calibrate --seconds 0.1 --buffer-mib 2");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("read bandwidth"), std::string::npos);
  EXPECT_NE(t.out.find("GB/s"), std::string::npos);
  EXPECT_NE(t.out.find("GFLOP/s"), std::string::npos);
}

TEST_F(CalibrateCli, ErrorsAreOneLineAndWriteNothing) {
  const std::string bad = path("missing_dir/cal.yaml");
  CliRun r = run("calibrate --seconds 0.05 --buffer-mib 1 -o " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "llmcost: error: " + bad + ": cannot write file\n");
  CliRun u = run("calibrate --backend tpu");
  EXPECT_EQ(u.code, 2);
  EXPECT_EQ(u.out, "");
}

// The counter pass in the run file: with the stand-in (--counters fake) every op carries DRAM bytes
// and the step their sum; by default on the CPU the file and the table say why there are none.
TEST_F(RunCli, CounterPassInTheRunFileAndTable) {
  CliRun f = run("run config.json --layers 1 --context 8 --tokens 1 --threads 1 --calibration hw.yaml --counters fake --format json");
  ASSERT_EQ(f.code, 0) << f.err;
  auto j = nlohmann::json::parse(f.out);
  EXPECT_EQ(j["counters"]["source"], "fake");
  EXPECT_EQ(j["counters"]["passes"], 1);
  EXPECT_TRUE(j["counters"]["unavailable"].is_null());
  double sum = 0;
  for (const auto& op : j["ops"]) {
    ASSERT_TRUE(op.contains("dram_read_bytes")) << op.dump();
    EXPECT_TRUE(op["predicted_bytes"].is_number()) << op.dump();
    sum += op["dram_read_bytes"].get<double>();
  }
  EXPECT_DOUBLE_EQ(j["measured"]["dram_read_bytes"].get<double>(), sum);
  EXPECT_GT(j["predicted"]["decode_bytes"].get<double>(), 0.0);
  EXPECT_FALSE(j["workload"].contains("cuda_graph"));

  CliRun d = run("run config.json --layers 1 --context 8 --tokens 1 --threads 1 --calibration hw.yaml --format json");
  ASSERT_EQ(d.code, 0) << d.err;
  auto k = nlohmann::json::parse(d.out);
  EXPECT_TRUE(k["counters"]["source"].is_null());
  EXPECT_EQ(k["counters"]["unavailable"], "cpu has no hardware counters");
  EXPECT_FALSE(k["measured"].contains("dram_read_bytes"));
  EXPECT_FALSE(k["ops"][0].contains("dram_read_bytes"));
  CliRun t = run("run config.json --layers 1 --context 8 --tokens 1 --threads 1 --calibration hw.yaml");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("DRAM bytes per decode step: not measured (cpu has no hardware counters)"), std::string::npos) << t.out;
}

TEST_F(RunCli, CudaGraphOnTheCpuIsAUsageError) {
  CliRun c = run("run config.json --layers 1 --context 8 --calibration hw.yaml --cuda-graph on");
  EXPECT_EQ(c.code, 2) << c.err;
  EXPECT_TRUE(c.out.empty());
  EXPECT_EQ(c.err, "llmcost: usage error: --cuda-graph: applies to the cuda backend only, got --backend cpu (run `llmcost --help`)\n");
}

// The backend registry lists cuda; without a usable CUDA backend (not built, or no device) run and
// calibrate refuse it in one line naming why, exit 1, nothing on stdout.
TEST_F(RunCli, CudaWhenNotAvailableIsOneLine) {
  for (const char* args : {"run config.json --backend cuda --calibration hw.yaml", "calibrate --backend cuda --seconds 0.01"}) {
    CliRun c = run(args);
    EXPECT_EQ(c.code, 1) << args << "\n" << c.err;
    EXPECT_TRUE(c.out.empty()) << args;
    EXPECT_EQ(c.err.rfind("llmcost: error: cuda: not available: ", 0), 0u) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << args << "\n" << c.err;
  }
}

}  // namespace
}  // namespace llmcost_test
