// Capacity / sizing pages: the right sections and charts, the inputs' numbers in every format,
// the assumptions and the missing parts stated.
#include "llmcost/capacity_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "llmcost/model_loader.h"

using namespace llmcost;

namespace {

PlanRow row(const std::string& hw, const std::string& quant, bool feasible, int64_t devices, double usd) {
  PlanRow r;
  r.model = "mistralai/Mixtral-8x7B-v0.1";
  r.hardware = hw;
  r.quant = quant;
  r.feasible = feasible;
  r.capacity_bytes = hw == "h100-sxm" ? 85520809984.0 : 48e9;
  if (!feasible) {
    r.reason = "no layout of up to 8 device(s) runs it";
    return r;
  }
  r.parallel.tp = devices;
  r.devices_per_replica = devices;
  r.replicas = 1;
  r.devices = devices;
  r.batch_per_replica = 64;
  r.max_concurrency_per_replica = 120;
  r.decode_step_s = 0.02;
  r.ttft_s = 0.3;
  r.tokens_per_s_per_sequence = 50;
  r.output_tokens_per_s = 3095.5;
  r.bound = "memory";
  r.per_device_bytes = 50e9;
  if (usd > 0) {
    r.usd_per_device_hour = usd;
    r.usd_per_million_output_tokens = 0.447;
  }
  return r;
}

ReportInput sample_input(bool with_run) {
  ReportInput in;
  in.title = "Capacity plan: test";
  in.source = "test.yaml";
  in.workload.concurrency = 64;
  in.workload.prompt_tokens = 2048;
  in.workload.output_tokens = 512;
  in.workload.context = 2560;
  in.workload.quants = {"bf16", "int4_g128"};
  in.workload.quant_policy = "default";
  in.workload.kv_dtype = "bf16";
  in.workload.routing = "uniform";
  in.workload.max_decode_step_s = 0.05;
  in.assumptions = {"Efficiency: datasheet peaks (upper bounds)."};
  in.hardware = {load_hardware("h100-sxm", LLMCOST_CONFIG_DIR), load_hardware("l40s", LLMCOST_CONFIG_DIR)};
  in.price_sources = {"h100-sxm: $2.49 per device-hour (test)"};
  ModelPlan m;
  m.analysis = analyze(load_model("mixtral-8x7b", LLMCOST_CONFIG_DIR));
  QuantWeights bf16{"bf16", 93405585408, {}}, int4{"int4_g128", 24870000000, {}};
  bf16.by_group[static_cast<int>(ParamGroup::ExpertsRouted)] = 90194313216;
  m.weights = {bf16, int4};
  m.kv.bytes_per_token = 131072;
  m.kv.bytes_at_context = 335544320;
  m.kv.expanded_bytes_per_token = 131072;
  m.rows = {row("h100-sxm", "bf16", true, 2, 2.49), row("h100-sxm", "int4_g128", true, 1, 2.49),
            row("l40s", "bf16", true, 4, 0), row("l40s", "int4_g128", false, 0, 0)};
  m.memory = {{"h100-sxm", "bf16", 2, "tp=2", 85520809984.0, 46702792704.0, 2147483648.0, 1.0e9, true},
              {"h100-sxm", "int4_g128", 1, "1 device", 85520809984.0, 24870000000.0, 4294967296.0, 1.0e9, true},
              {"l40s", "bf16", 4, "tp=4", 48e9, 23351396352.0, 1073741824.0, 0.5e9, true}};
  m.not_fitting = {"l40s (int4_g128): no layout of up to 8 device(s) runs it"};
  for (const char* hw : {"h100-sxm", "l40s"}) {
    HwSweep sw{hw, "bf16", "tp=2", {}};
    for (int64_t b : {1, 8, 64})
      sw.by_batch.push_back({b, 0.01 * (1 + b / 64.0), b / (0.01 * (1 + b / 64.0)), 8 * (1 - std::pow(0.75, b)),
                             8 * (1 - std::pow(0.75, b)), 7 * (1 - std::pow(0.75, b))});
    m.sweeps.push_back(sw);
  }
  RooflineData r{"h100-sxm", "bf16", "tp=2", "bf16", 989e12, 3.35e12, 64, 2304, 2048, {}};
  r.ops.push_back({"layers.*.mlp", "decode", 1e9, 5e8, 1.6e-4, true});
  r.ops.push_back({"layers.*.mlp", "prefill", 5e11, 5e8, 5e-1, false});
  m.roofline = {r};
  m.n_experts = 8;
  m.top_k = 2;
  in.models = {m};
  if (with_run) {
    RunData run;
    run.file = "run.json";
    run.backend = "cpu";
    run.device = "test cpu";
    run.slice = "1";
    run.read_bw_bytes_per_s = 20e9;
    run.predicted_decode_step_s = 0.05;
    run.measured_decode_step_s = 0.055;
    run.ops = {{"layers.0.self_attn", 0.001, 0.0012, 0.0011, 0.0013, 1e6, 20.0}, {"layers.0.mlp", 0.04, 0.041, 0, 0, 8e8, 2.5}};
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
  ASSERT_GE(d.sections.size(), 4u);
  EXPECT_EQ(d.sections.front().id, "answer");
  EXPECT_EQ(d.sections[1].id, "summary");
  EXPECT_EQ(d.sections[d.sections.size() - 2].id, "all-combinations");
  EXPECT_EQ(d.sections.back().id, "hardware");
  std::string html = report_html(d);
  EXPECT_EQ(count(html, "class=\"chart chart-stacked-bars\""), 1u);  // memory per device vs capacity
  EXPECT_EQ(count(html, "class=\"chart chart-grouped-bars\""), 2u);  // devices, cost
  EXPECT_EQ(count(html, "class=\"chart chart-lines\""), 4u);  // Pareto front; tokens/s and latency vs batch, experts read
  EXPECT_NE(html.find("experts read per MoE layer per decode step (8 routed, top-2)"), std::string::npos);
  EXPECT_EQ(count(html, "class=\"chart chart-roofline\""), 1u);
  EXPECT_NE(html.find("MoE routing: uniform"), std::string::npos);
  EXPECT_NE(html.find("Efficiency: datasheet peaks"), std::string::npos);
  EXPECT_NE(html.find("decode step &lt;= 50.0 ms (20.0 tokens/s per user)"), std::string::npos);
  EXPECT_NE(html.find("no run file given"), std::string::npos);
  EXPECT_NE(html.find("weights in bf16, int4_g128 under the &#39;default&#39; policy"), std::string::npos);
  EXPECT_NE(html.find("Not runnable: l40s (int4_g128): no layout of up to 8 device(s) runs it."), std::string::npos);
  EXPECT_NE(html.find("Price: h100-sxm: $2.49 per device-hour (test)"), std::string::npos);
}

TEST(CapacityReport, NumbersInJsonCsvMarkdown) {
  ReportDoc d = capacity_report(sample_input(false));
  auto j = nlohmann::json::parse(report_json(d));
  const auto& pivot = j["sections"][1]["tables"][0];
  EXPECT_EQ(pivot["rows"][0]["devices_bf16"], 2);
  EXPECT_EQ(pivot["rows"][1]["devices_int4_g128"], "not runnable");
  const auto& all = j["sections"][3]["tables"][0];
  EXPECT_EQ(all["id"], "plan-table");
  EXPECT_DOUBLE_EQ(all["rows"][0]["output_tokens_per_s"].get<double>(), 3095.5);
  EXPECT_DOUBLE_EQ(all["rows"][0]["usd_per_million_output_tokens"].get<double>(), 0.447);
  // Exact parameter counts survive as integers.
  const auto& facts = j["sections"][2]["tables"][0];
  EXPECT_EQ(facts["id"], "m0-mistralai-mixtral-8x7b-v0-1-facts");
  EXPECT_EQ(facts["rows"][1]["exact"].get<int64_t>(), 12879925248);  // active per token, as the headline says
  EXPECT_EQ(facts["rows"][5]["value"].get<int64_t>(), 131072);       // KV bytes per token
  const auto& workload = j["sections"].back()["tables"][0];
  EXPECT_EQ(workload["rows"][0]["value"], 64);
  EXPECT_DOUBLE_EQ(workload["rows"][4]["value"].get<double>(), 0.05);
  const auto& comps = j["sections"][2]["tables"][1];
  EXPECT_EQ(comps["rows"].back()["params_exact"].get<int64_t>(), 46702792704);
  EXPECT_EQ(comps["rows"].back()["weight_bytes_bf16"].get<int64_t>(), 93405585408);
  std::string csv = report_csv(d);
  EXPECT_NE(csv.find(",total,weight_bytes_int4_g128,bytes,24870000000,24.87\n"), std::string::npos);
  std::string md = report_markdown(d);
  EXPECT_NE(md.find("| mistralai/Mixtral-8x7B-v0.1 | h100-sxm | 2 (3096 tok/s, $0.447) | 1 (3096 tok/s, $0.447) |"),
            std::string::npos)
      << md.substr(0, 3000);
}

TEST(CapacityReport, RunFileAddsPredictedVsMeasured) {
  ReportDoc d = capacity_report(sample_input(true));
  std::string html = report_html(d);
  EXPECT_EQ(count(html, "class=\"chart chart-grouped-bars\""), 3u);  // devices, cost, predicted vs measured
  EXPECT_NE(html.find("Predicted vs measured (cpu, test cpu)"), std::string::npos);
  EXPECT_EQ(html.find("no run file given"), std::string::npos);
  EXPECT_NE(report_csv(d).find("run-ops-table,layers.0.mlp,error_pct,%,2.5,+2.5\n"), std::string::npos);
  EXPECT_NE(report_csv(d).find("run-ops-table,layers.0.self_attn,measured_s,s,0.0011999999999999999,1.2\n"), std::string::npos)
      << report_csv(d);
}

TEST(CapacityReport, SizingPageIsOneModelWithItsRows) {
  std::string html = compare_html(sample_input(false));
  EXPECT_EQ(html.find("id=\"summary\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"all-combinations\""), std::string::npos);
  EXPECT_NE(html.find("id=\"m0-mistralai-mixtral-8x7b-v0-1-plan\""), std::string::npos);
  EXPECT_NE(html.find("id=\"hardware-specs\""), std::string::npos);
}

// The Pareto front of cost (lower better) against speed (higher better), by hand: points
// (cost, speed) 0:(1,10) 1:(2,30) 2:(2,20) 3:(3,25) 4:(4,40) 5:(1,10) 6:(5,40).
// 0 is cheapest; 5 equals it (kept once); 1 beats 2 and 3; 4 is fastest; 6 is no faster than 4.
TEST(CapacityReport, ParetoFront) {
  EXPECT_EQ(pareto_front({1, 2, 2, 3, 4, 1, 5}, {10, 30, 20, 25, 40, 10, 40}), (std::vector<size_t>{0, 1, 4}));
  EXPECT_EQ(pareto_front({}, {}), std::vector<size_t>{});
  EXPECT_EQ(pareto_front({3}, {1}), std::vector<size_t>{0});
}

// The page leads with the answer: the cheapest runnable combination (by devices here, since l40s
// has no price), and a Pareto chart with every runnable row.
TEST(CapacityReport, AnswerLeads) {
  ReportDoc d = capacity_report(sample_input(false));
  ASSERT_FALSE(d.sections.empty());
  const Section& a = d.sections.front();
  ASSERT_GE(a.paragraphs.size(), 2u);
  EXPECT_EQ(a.paragraphs[0].rfind("Cheapest (fewest devices): ", 0), 0u) << a.paragraphs[0];
  EXPECT_NE(a.paragraphs[0].find("(int4_g128) on 1 x h100-sxm"), std::string::npos) << a.paragraphs[0];
  EXPECT_NE(a.paragraphs.back().find("Pareto front (1 of 3 runnable combinations"), std::string::npos) << a.paragraphs.back();
  ASSERT_EQ(a.charts.size(), 1u);
  const auto& c = std::get<svg::LineChart>(a.charts[0]);
  EXPECT_EQ(c.x_label, "devices in total");
  ASSERT_EQ(c.series.size(), 3u);  // the front, then h100-sxm and l40s points
  EXPECT_EQ(c.series[1].x.size(), 2u);
  EXPECT_TRUE(c.series[1].markers_only);
  EXPECT_EQ(report_html(d).find("<path class=\"series\" d=\"M"), report_html(d).find("<path class=\"series\""));
}
