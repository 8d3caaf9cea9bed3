// `llmcost report` end to end: the bundled scenario gives four files carrying the same numbers,
// a run file adds predicted vs measured, bad input is one line on stderr and writes nothing.
#include <gtest/gtest.h>

#include "cli/cli_fixture.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using Result = llmcost_test::CliRun;
using llmcost_test::CliTest;

class ReportCli : public CliTest {
 protected:
  void write(const std::string& name, const std::string& text) { write_file(name, text); }
};

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

const char* kScenario = R"(name: tiny
models: [llama-3.1-8b, mixtral-8x7b]
hardware: [h100-sxm, l40s]
quant: [bf16, int4_g128]
prices_usd_per_device_hour: {h100-sxm: 2.49}
workload: {concurrency: 16, prompt_tokens: 1024, output_tokens: 256}
)";

}  // namespace

TEST_F(ReportCli, BundledScenarioWritesEveryFormat) {
  Result r = run("report default -o '" + path("out") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* ext : {"html", "md", "json", "csv"}) {
    fs::path p = dir_ / "out" / (std::string("default.") + ext);
    EXPECT_TRUE(fs::exists(p)) << p;
    EXPECT_NE(r.out.find(p.string()), std::string::npos) << r.out;
  }
  std::string html = slurp(dir_ / "out" / "default.html");
  EXPECT_GE(count(html, "class=\"chart chart-stacked-bars\""), 1u);
  EXPECT_GE(count(html, "class=\"chart chart-roofline\""), 1u);
  EXPECT_GE(count(html, "class=\"chart chart-lines\""), 2u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  auto j = nlohmann::json::parse(slurp(dir_ / "out" / "default.json"));
  EXPECT_EQ(j["sections"][0]["id"], "answer");
  EXPECT_EQ(j["sections"][1]["id"], "summary");
  EXPECT_FALSE(j["assumptions"].empty());
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(ReportCli, ScenarioFileAndRunFile) {
  write("tiny.yaml", kScenario);
  write("run.json", R"({"backend": "cpu", "device": "test cpu", "model": "llama-3.1-8b",
    "slice": {"layers": 2, "params": 1, "weight_bytes": 2},
    "calibration": {"read_bw_bytes_per_s": 2e10, "gemm_flops_per_s": 1e11},
    "predicted": {"decode_step_s": 0.05, "prefill_s": 0.5},
    "measured": {"decode_step_s": 0.055, "decode_step_s_p10": 0.054, "decode_step_s_p90": 0.058,
                 "achieved_bw_bytes_per_s": 1.8e10, "prefill_s": 0.6, "distinct_experts_per_layer": []},
    "ops": [{"name": "model.layers.0.self_attn", "predicted_s": 0.01, "measured_s": 0.012, "bytes": 1e8,
             "achieved_bw_bytes_per_s": 8e9, "error_pct": 20.0},
            {"name": "model.layers.0.mlp", "predicted_s": 0.03, "measured_s": 0.031, "bytes": 5e8,
             "achieved_bw_bytes_per_s": 1.6e10, "error_pct": 3.3}]})");
  Result r = run("report '" + path("tiny.yaml") + "' -o '" + path("o") + "' --format html,csv --run '" + path("run.json") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "o" / "tiny.html"));
  EXPECT_TRUE(fs::exists(dir_ / "o" / "tiny.csv"));
  EXPECT_FALSE(fs::exists(dir_ / "o" / "tiny.json"));
  std::string html = slurp(dir_ / "o" / "tiny.html");
  EXPECT_NE(html.find("Predicted vs measured (cpu, test cpu)"), std::string::npos);
  EXPECT_NE(html.find("int4_g128"), std::string::npos);
  std::string csv = slurp(dir_ / "o" / "tiny.csv");
  EXPECT_NE(csv.find("run-ops-table,model.layers.0.mlp,measured_s,s,0.031"), std::string::npos);
  // The summary's devices per (model, hardware, quant) are in the CSV as integers.
  EXPECT_NE(csv.find("summary-table,meta-llama/Llama-3.1-8B / h100-sxm,devices_bf16,devices,1,"), std::string::npos) << csv.substr(0, 800);
}

// A real `llmcost run` of a tiny model: its JSON feeds the report and the CI gate as is.
TEST_F(ReportCli, RealRunFileFeedsReportAndCiGate) {
  write("tiny.json", R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 256, "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "tie_word_embeddings": false})");
  write("cal.yaml", "name: box\nkind: cpu\nmemory_bytes: {value: 1e11, source: t}\nmem_bw_bytes_per_s: {value: 1e11, source: t}\n"
                    "peak_flops_per_s:\n  fp32: {value: 1e12, source: t}\ncalibrated:\n  read_bw_bytes_per_s: {value: 1e10, source: t}\n"
                    "  gemm_flops_per_s:\n    fp32: {value: 1e11, source: t}\n");
  write("tiny-scenario.yaml", "name: t\nmodels: [" + path("tiny.json") + "]\nhardware: [h100-sxm]\n"
                              "workload: {concurrency: 2, prompt_tokens: 16, output_tokens: 16}\n");
  Result run_r = run("run '" + path("tiny.json") + "' --tokens 8 --warmup 1 --context 32 --threads 1 --calibration '" +
                     path("cal.yaml") + "' --format json -o '" + path("run.json") + "'");
  ASSERT_EQ(run_r.code, 0) << run_r.err;
  Result r = run("report '" + path("tiny-scenario.yaml") + "' -o '" + path("o") + "' --format html,json --run '" +
                 path("run.json") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string html = slurp(dir_ / "o" / "tiny-scenario.html");
  EXPECT_NE(html.find("Predicted vs measured (cpu,"), std::string::npos);
  EXPECT_NE(html.find("slice of layers 0, 1, batch 1, context 32"), std::string::npos);
  auto j = nlohmann::json::parse(slurp(dir_ / "o" / "tiny-scenario.json"));
  bool found = false;
  for (const auto& sec : j["sections"])
    if (sec["id"] == "predicted-vs-measured") {
      found = true;
      EXPECT_EQ(sec["tables"][1]["rows"].size(), 11u);  // every op of the run
    }
  EXPECT_TRUE(found);
  Result rec = run("ci record --models '" + path("tiny.json") + "' --measured '" + path("run.json") + "' -o '" +
                   path("base.json") + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  Result chk = run("ci check --baseline '" + path("base.json") + "' --current '" + path("run.json") + "'");
  EXPECT_EQ(chk.code, 0) << chk.out << chk.err;
  EXPECT_NE(chk.out.find("12 measured medians compared"), std::string::npos) << chk.out;  // step + 11 ops
}

TEST_F(ReportCli, BadInputIsOneLineAndWritesNothing) {
  write("bad.yaml", "name: x\nmodels: [llama-3.1-8b]\nhardware: [h100-sxm]\nworkload: {concurrency: 4, prompt_tokens: 8, output_tokens: 8}\nquant: [bf17]\n");
  Result r = run("report '" + path("bad.yaml") + "' -o '" + path("o") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  EXPECT_NE(r.err.find("bad.yaml: /quant/0 must be one of"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
  EXPECT_TRUE(r.out.empty());

  write("tiny.yaml", kScenario);
  write("run.json", R"({"backend": "cpu", "measured": {"decode_step_s": 0.1}, "ops": [{"name": "a", "measured_s": 1}]})");
  r = run("report '" + path("tiny.yaml") + "' -o '" + path("o") + "' --run '" + path("run.json") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("run.json: /ops/0/predicted_s must be a non-negative number of seconds"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "o"));

  r = run("report '" + path("tiny.yaml") + "' --format pdf");
  EXPECT_EQ(r.code, 2);
  r = run("report '" + path("missing.yaml") + "' -o '" + path("o") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
}
