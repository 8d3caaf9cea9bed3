// `llmcost run`: the measurement loop on tiny models (ops line up with the cost model's, times and
// bytes are filled, fixed routing reads top_k experts) and the CLI end to end (JSON keys of the
// issue, trace file, one-line errors with nothing on stdout).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llmcost/calibrate.h"
#include "llmcost/cost_model.h"
#include "llmcost/families.h"
#include "llmcost/run.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;

const char* kTinyMoe = R"({"model_type":"mixtral","hidden_size":64,"num_hidden_layers":3,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":48,"vocab_size":101,"num_local_experts":8,"num_experts_per_tok":2})";

ModelIR tiny_moe() { return build_model_ir(parse_json(kTinyMoe, "tiny.json"), "tiny.json"); }

RunCalibration fake_cal() { return RunCalibration{10e9, 50e9, "test figures"}; }

TEST(Run, OpsLineUpWithTheCostModelAndAreMeasured) {
  RunOptions o;
  o.layers = "2";
  o.batch = 4;
  o.context = 16;
  o.prompt = 5;
  o.tokens = 3;
  o.threads = 2;
  o.keep_trace = true;
  RunResult r = run_measurement(tiny_moe(), o, fake_cal());
  EXPECT_EQ(r.layers, (std::vector<int>{0, 1}));
  EXPECT_EQ(r.backend, "cpu");
  ASSERT_FALSE(r.ops.empty());
  EXPECT_EQ(r.ops.front().name, "model.embed_tokens");
  EXPECT_EQ(r.ops.back().name, "lm_head");
  for (const OpRow& op : r.ops) {
    EXPECT_GT(op.predicted_s, 0) << op.name;
    EXPECT_GT(op.measured_s.median, 0) << op.name;
    EXPECT_EQ(op.measured_s.n, 3u) << op.name;
    EXPECT_LE(op.measured_s.p10, op.measured_s.p90) << op.name;
    if (op.kind != OpKind::Norm) EXPECT_GT(op.bytes, 0) << op.name;
  }
  EXPECT_GT(r.predicted_decode_step_s, 0);
  EXPECT_EQ(r.decode_step_s.n, 3u);
  EXPECT_GT(r.achieved_bw_bytes_per_s, 0);
  EXPECT_EQ(r.prefill_s.n, 2u);
  EXPECT_EQ(r.prefill_ops.size(), r.ops.size());
  EXPECT_EQ(r.distinct_experts_per_layer.size(), 2u);
  for (double d : r.distinct_experts_per_layer) {
    EXPECT_GE(d, 2.0);
    EXPECT_LE(d, 8.0);
  }
  // The prediction's decode step equals the roofline sum over the cost model's ops.
  double sum = 0;
  for (const OpRow& op : r.ops) sum += op.predicted_s;
  EXPECT_NEAR(sum, r.predicted_decode_step_s, 1e-12);
  // Trace: one "op" range per op per measured step (+ prefill ops), named after the IR op.
  size_t op_ranges = 0;
  for (const auto& rec : r.trace) op_ranges += rec.category == "op";
  EXPECT_EQ(op_ranges, r.ops.size() * 3 + r.prefill_ops.size() * 2);
}

TEST(Run, FixedRoutingReadsTopKExpertsAndPredictsSo) {
  RunOptions o;
  o.layers = "1";
  o.batch = 16;
  o.context = 8;
  o.tokens = 2;
  o.warmup = 0;
  o.threads = 1;
  o.routing = RoutingOverride{RoutingOverride::Fixed, 1.0};
  RunResult r = run_measurement(tiny_moe(), o, fake_cal());
  ASSERT_EQ(r.distinct_experts_per_layer.size(), 1u);
  EXPECT_DOUBLE_EQ(r.distinct_experts_per_layer[0], 2.0);
  EXPECT_DOUBLE_EQ(r.predicted_distinct_experts, 2.0);
  o.routing = RoutingOverride{RoutingOverride::Uniform, 1.0};
  RunResult u = run_measurement(tiny_moe(), o, fake_cal());
  EXPECT_GT(u.distinct_experts_per_layer[0], 4.0);  // 32 draws over 8 experts
  EXPECT_GT(u.predicted_distinct_experts, 7.0);     // 8 x (1 - (6/8)^16)
}

TEST(Run, BadOptionsAreErrors) {
  RunOptions o;
  o.layers = "moe:9";
  EXPECT_THROW(run_measurement(tiny_moe(), o, fake_cal()), Error);
  o.layers = "1";
  o.batch = 0;
  EXPECT_THROW(run_measurement(tiny_moe(), o, fake_cal()), Error);
}

// ---- the CLI

struct Cmd {
  int rc = 0;
  std::string out, err;
};

Cmd run_cli(const std::string& args) {
  const fs::path dir = fs::temp_directory_path();
  const std::string so = (dir / ("llmcost_run_out_" + std::to_string(::getpid()))).string();
  const std::string se = (dir / ("llmcost_run_err_" + std::to_string(::getpid()))).string();
  Cmd c;
  int st = std::system((std::string(LLMCOST_BIN) + " " + args + " >" + so + " 2>" + se).c_str());
  c.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  c.out = slurp(so);
  c.err = slurp(se);
  fs::remove(so);
  fs::remove(se);
  return c;
}

class RunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("llmcost_run_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.json") << kTinyMoe;
    Calibration c;
    c.host = "test";
    c.cpu_model = "test cpu";
    c.date_utc = "2026-11-24T00:00:00Z";
    c.memory_bytes = uint64_t{16} << 30;
    c.threads = 2;
    c.read_bw_bytes_per_s = summarize({10e9});
    c.triad_bw_bytes_per_s = summarize({9e9});
    c.gemm_fp32_flops_per_s = summarize({40e9});
    c.gemm_bf16_flops_per_s = summarize({30e9});
    c.gemm_fp32_impl = c.gemm_bf16_impl = "test";
    std::ofstream(dir_ / "hw.yaml") << calibration_yaml(c, "test-cpu");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& n) const { return (dir_ / n).string(); }
  fs::path dir_;
};

TEST_F(RunCli, JsonHasTheIssueKeys) {
  Cmd c = run_cli("run " + p("config.json") + " --layers 2 --batch 2 --context 8 --prompt 4 --tokens 2 --threads 2 "
                  "--calibration " + p("hw.yaml") + " --format json --trace " + p("t.json"));
  ASSERT_EQ(c.rc, 0) << c.err;
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
  auto t = nlohmann::json::parse(std::ifstream(p("t.json")));
  bool found = false;
  for (const auto& e : t["traceEvents"]) found |= e.value("name", "") == "model.layers.1.block_sparse_moe.experts";
  EXPECT_TRUE(found);
}

TEST_F(RunCli, TableSaysItsUnits) {
  Cmd c = run_cli("run " + p("config.json") + " --layers dense:0,moe:1 --context 8 --tokens 1 --calibration " + p("hw.yaml"));
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(c.out.find("decode step: predicted"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("GB/s = 1e9 bytes/s"), std::string::npos) << c.out;
}

TEST_F(RunCli, ErrorsAreOneLineAndStdoutStaysEmpty) {
  for (const std::string& args : {"run " + p("config.json") + " --layers moe:7 --calibration " + p("hw.yaml"),
                                  "run " + p("config.json") + " --routing zipf:-1 --calibration " + p("hw.yaml"),
                                  "run " + p("config.json") + " --backend tpu --calibration " + p("hw.yaml"),
                                  "run " + p("config.json") + " --calibration " + p("missing.yaml")}) {
    Cmd c = run_cli(args);
    EXPECT_EQ(c.rc, 1) << args << "\n" << c.err;
    EXPECT_TRUE(c.out.empty()) << args;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << args << "\n" << c.err;
  }
}

// The registry lists cuda; a build without it refuses it in one line, exit 1, for run and calibrate.
TEST_F(RunCli, CudaWithoutTheCudaBackendIsOneLine) {
  bool cuda_built = false;
  for (const BackendInfo& b : list_backends()) cuda_built |= b.name == "cuda" && b.available;
  if (cuda_built) GTEST_SKIP() << "built with the CUDA backend";
  for (const std::string& args : {"run " + p("config.json") + " --backend cuda --calibration " + p("hw.yaml"),
                                  std::string("calibrate --backend cuda --seconds 0.01")}) {
    Cmd c = run_cli(args);
    EXPECT_EQ(c.rc, 1) << args << "\n" << c.err;
    EXPECT_TRUE(c.out.empty()) << args;
    EXPECT_NE(c.err.find("cuda: not available: built without the CUDA backend\n"), std::string::npos) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << args << "\n" << c.err;
  }
}

}  // namespace
}  // namespace llmcost
