// Capacity / sizing pages: the right sections and charts, the inputs' numbers in every format,
// the assumptions and the missing parts stated.
#include "llmcost/capacity_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmcost/model_loader.h"

using namespace llmcost;

namespace {

ReportInput sample_input(bool with_run) {
  ReportInput in;
  in.title = "Capacity plan: test";
  in.source = "test.yaml";
  in.workload = {8, 4096, 512, "bf16", "default", "bf16", "uniform"};
  in.assumptions = {"Efficiency: datasheet peaks (upper bounds)."};
  in.hardware = {load_hardware("h100-sxm", LLMCOST_CONFIG_DIR), load_hardware("l40s", LLMCOST_CONFIG_DIR)};
  ModelPlan m;
  m.analysis = analyze(load_model("mixtral-8x7b", LLMCOST_CONFIG_DIR));
  m.weight_bytes = 93405585408;
  m.weight_bytes_by_group[static_cast<int>(ParamGroup::ExpertsRouted)] = 90194313216;
  m.weight_bytes_by_group[static_cast<int>(ParamGroup::Attention)] = 3211272192;
  m.kv.bytes_per_token = 131072;
  m.kv.bytes_at_context = 536870912;
  m.kv.expanded_bytes_per_token = 131072;
  DeviceMemory d1{"h100-sxm", 2, "tp=2", 85520809984.0, 46702792704.0, 2147483648.0, 1.0e9, true, 120, ""};
  DeviceMemory d2{"l40s", 4, "tp=4", 48e9, 23351396352.0, 1073741824.0, 0.5e9, true, 64, ""};
  m.memory = {d1, d2};
  for (const char* hw : {"h100-sxm", "l40s"}) {
    HwPerformance p;
    p.hw = hw;
    p.layout = "tp=2";
    for (int64_t b : {1, 8, 64}) p.by_batch.push_back({b, 0.01 * (1 + b / 64.0), b / (0.01 * (1 + b / 64.0)), 0.2});
    p.at_workload = p.by_batch[1];
    p.decode_bound = "memory";
    p.usd_per_device_hour = 2.5;
    p.usd_per_million_tokens = 0.123;
    m.perf.push_back(p);
  }
  RooflineData r{"h100-sxm", "bf16", 989e12, 3.35e12, {}};
  r.ops.push_back({"layers.*.mlp", "decode", 1e9, 5e8, 1.6e-4, true});
  r.ops.push_back({"layers.*.mlp", "prefill", 5e11, 5e8, 5e-1, false});
  m.roofline = {r};
  in.models = {m};
  if (with_run) {
    RunData run;
    run.file = "run.json";
    run.backend = "cpu";
    run.device = "test cpu";
    run.slice_layers = 1;
    run.read_bw_bytes_per_s = 20e9;
    run.predicted_decode_step_s = 0.05;
    run.measured_decode_step_s = 0.055;
    run.ops = {{"layers.0.self_attn", 0.001, 0.0012, 1e6, 20.0}, {"layers.0.mlp", 0.04, 0.041, 8e8, 2.5}};
    in.run = run;
  }
  return in;
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(CapacityReport, SectionsChartsAndAssumptions) {
  ReportDoc d = capacity_report(sample_input(false));
  ASSERT_GE(d.sections.size(), 3u);
  EXPECT_EQ(d.sections.front().id, "summary");
  EXPECT_EQ(d.sections.back().id, "hardware");
  std::string html = report_html(d);
  EXPECT_EQ(count(html, "class=\"chart chart-stacked-bars\""), 1u);  // memory per device vs capacity
  EXPECT_EQ(count(html, "class=\"chart chart-lines\""), 2u);         // tokens/s and latency vs batch
  EXPECT_EQ(count(html, "class=\"chart chart-roofline\""), 1u);
  EXPECT_NE(html.find("MoE routing: uniform"), std::string::npos);
  EXPECT_NE(html.find("Efficiency: datasheet peaks"), std::string::npos);
  EXPECT_NE(html.find("no run file given"), std::string::npos);
  EXPECT_NE(html.find("under the &#39;default&#39; quantization policy"), std::string::npos);
}

TEST(CapacityReport, NumbersInJsonAndCsv) {
  ReportDoc d = capacity_report(sample_input(false));
  auto j = nlohmann::json::parse(report_json(d));
  const auto& summary = j["sections"][0]["tables"][0];
  EXPECT_EQ(summary["rows"][0]["model"], "mistralai/Mixtral-8x7B-v0.1");
  EXPECT_EQ(summary["rows"][0]["devices"], 2);
  EXPECT_DOUBLE_EQ(summary["rows"][0]["used_bytes_per_device"].get<double>(), 46702792704.0 + 2147483648.0 + 1e9);
  EXPECT_DOUBLE_EQ(summary["rows"][1]["usd_per_million_tokens"].get<double>(), 0.123);
  // Exact parameter counts survive as integers.
  const auto& comps = j["sections"][1]["tables"][0];
  EXPECT_EQ(comps["rows"].back()["params_exact"].get<int64_t>(), 46702792704);
  EXPECT_EQ(comps["rows"].back()["weight_bytes"].get<int64_t>(), 93405585408);
  std::string csv = report_csv(d);
  EXPECT_NE(csv.find(",total,weight_bytes,bytes,93405585408,93.41\n"), std::string::npos);
  std::string md = report_markdown(d);
  EXPECT_NE(md.find("| mistralai/Mixtral-8x7B-v0.1 | h100-sxm | 2 | tp=2 | yes |"), std::string::npos) << md;
}

TEST(CapacityReport, RunFileAddsPredictedVsMeasured) {
  ReportDoc d = capacity_report(sample_input(true));
  std::string html = report_html(d);
  EXPECT_EQ(count(html, "class=\"chart chart-grouped-bars\""), 2u);  // components + predicted vs measured
  EXPECT_NE(html.find("Predicted vs measured (cpu, test cpu)"), std::string::npos);
  EXPECT_EQ(html.find("no run file given"), std::string::npos);
  EXPECT_NE(report_csv(d).find("run-ops-table,layers.0.mlp,error_pct,%,2.5,+2.5\n"), std::string::npos);
}

TEST(CapacityReport, SizingPageIsOneModel) {
  ReportInput in = sample_input(false);
  std::string html = compare_html(in);
  EXPECT_EQ(html.find("id=\"summary\""), std::string::npos);
  EXPECT_NE(html.find("m0-mistralai-mixtral-8x7b-v0-1-memory"), std::string::npos);
  EXPECT_NE(html.find("id=\"hardware-specs\""), std::string::npos);
}
