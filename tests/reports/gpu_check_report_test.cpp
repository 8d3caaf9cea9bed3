// The GPU validation summary: each target's verdict on hand-checked figures, "not measured" rows
// with their reasons, per-op rows, and the JSON/Markdown renderings of the same document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmcost/gpu_check_report.h"

using namespace llmcost;

namespace {

// A run with round figures: calibrated read bandwidth 100 GB/s; one op.
RunRecord run(bool moe, int64_t batch, double achieved_bw, double predicted_s, double measured_s) {
  RunRecord r;
  r.backend = "cuda";
  r.device = "test gpu";
  r.model = moe ? "tiny-moe" : "tiny-dense";
  r.layers = {0, 1};
  r.batch = batch;
  r.context = 1024;
  r.read_bw_bytes_per_s = 100e9;
  r.calibration_source = "cal.yaml (calibrated)";
  r.predicted_decode_step_s = predicted_s;
  r.decode_step_s = measured_s;
  r.achieved_bw_bytes_per_s = achieved_bw;
  r.decode_bytes = achieved_bw * measured_s;
  if (moe) r.predicted_distinct_experts = 2;
  RunOpRecord op;
  op.name = "model.layers.0.mlp";
  op.kind = "mlp";
  op.predicted_s = 0.001;
  op.measured_s = 0.002;
  op.bytes = 1e6;
  op.achieved_bw_bytes_per_s = 0.5e9;
  op.predicted_bytes = 1.1e6;
  r.ops = std::vector<RunOpRecord>{op};
  return r;
}

struct Row {
  std::string target, run, verdict, basis;
  double value = -1;
};

std::vector<Row> target_rows(const ReportDoc& d) {
  std::vector<Row> out;
  const Table& t = d.sections.at(0).tables.at(0);
  EXPECT_EQ(t.id, "targets");
  for (const auto& r : t.rows) out.push_back({r[0].text, r[1].text, r[5].text, r[6].text, r[3].num_value.value_or(-1)});
  return out;
}

TEST(GpuCheckReport, TargetsPassFailAndNotMeasured) {
  GpuCheckInput in;
  // dense batch 1: 90 of 100 GB/s (>= 85%: pass); step predicted 0.95 ms vs 1.0 measured (5%: pass);
  // DRAM 1.03 GB counted vs 1.0 GB predicted (3%: pass).
  RunRecord dense = run(false, 1, 90e9, 0.00095, 0.001);
  dense.predicted_decode_bytes = 1e9;
  dense.dram_read_bytes = 1e9;
  dense.dram_write_bytes = 0.03e9;
  dense.counters = RunCounters{std::string("cupti"), 2, std::nullopt};
  // MoE batch 1: 60 of 100 GB/s (< 70%: fail); step 1.2 ms predicted vs 1.0 (20%: fail); no counters.
  RunRecord moe = run(true, 1, 60e9, 0.0012, 0.001);
  moe.predicted_decode_bytes = 1e9;
  moe.counters = RunCounters{std::nullopt, 0, std::string("counters: not permitted: ERR_NVGPUCTRPERM")};
  // dense batch 8: no bandwidth target; DRAM 1.1 GB vs 1.0 (10%: fail).
  RunRecord dense8 = run(false, 8, 50e9, 0.001, 0.001);
  dense8.predicted_decode_bytes = 1e9;
  dense8.dram_read_bytes = 1.1e9;
  dense8.counters = RunCounters{std::string("cupti"), 1, std::nullopt};
  in.runs = {{"dense.json", dense}, {"moe.json", moe}, {"dense8.json", dense8}};
  in.datasheet = GpuCheckInput::Datasheet{"h200", "S1", 120e9};
  std::vector<Row> rows = target_rows(gpu_check_report(in));
  // 1 dense-bw + 1 moe-bw + 3 step + 3 DRAM rows.
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].verdict, "pass");
  EXPECT_DOUBLE_EQ(rows[0].value, 90.0);
  EXPECT_NE(rows[0].basis.find("75.0% of the h200 datasheet 120.0 GB/s"), std::string::npos) << rows[0].basis;
  EXPECT_NE(rows[0].basis.find("cal.yaml (calibrated)"), std::string::npos) << rows[0].basis;
  EXPECT_EQ(rows[1].verdict, "fail");
  EXPECT_DOUBLE_EQ(rows[1].value, 60.0);
  EXPECT_EQ(rows[2].verdict, "pass");
  EXPECT_NEAR(rows[2].value, 5.0, 1e-9);
  EXPECT_EQ(rows[3].verdict, "fail");
  EXPECT_NEAR(rows[3].value, 20.0, 1e-9);
  EXPECT_EQ(rows[4].verdict, "pass");  // |1.0 - 1.0| / 1.0
  EXPECT_EQ(rows[5].verdict, "pass");
  EXPECT_NEAR(rows[5].value, 3.0, 1e-9);
  EXPECT_EQ(rows[6].verdict, "not measured");
  EXPECT_EQ(rows[6].basis, "not measured: counters: not permitted: ERR_NVGPUCTRPERM");
  EXPECT_EQ(rows[7].verdict, "fail");
  EXPECT_NEAR(rows[7].value, 10.0, 1e-9);
}

TEST(GpuCheckReport, WithoutRunsEveryTargetIsNotMeasured) {
  GpuCheckInput in;
  in.not_run = {"run Llama-3.1-8B batch 64 context 8192: time limit reached"};
  in.datasheet_missing = "no datasheet hardware given (--datasheet)";
  ReportDoc d = gpu_check_report(in);
  std::vector<Row> rows = target_rows(d);
  ASSERT_EQ(rows.size(), 4u);
  for (const Row& r : rows) EXPECT_EQ(r.verdict, "not measured") << r.target;
  EXPECT_EQ(rows[0].basis, "not measured: no dense run at batch 1 in this summary");
  EXPECT_EQ(rows[1].basis, "not measured: no MoE run at batch 1 in this summary");
  ASSERT_EQ(d.missing.size(), 2u);
  EXPECT_EQ(d.missing[0], "did not run: run Llama-3.1-8B batch 64 context 8192: time limit reached");
}

TEST(GpuCheckReport, MissingStepAndOldFilesAreNotMeasured) {
  // A run file without a measured step or predicted bytes (an older writer): its rows say so.
  RunRecord r = run(false, 1, 0, 0.001, 0.001);
  r.decode_step_s.reset();
  r.counters.reset();
  GpuCheckInput in;
  in.runs = {{"old.json", r}};
  std::vector<Row> rows = target_rows(gpu_check_report(in));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].basis, "not measured: the run file has no measured decode step");
  EXPECT_EQ(rows[2].basis, "not measured: the run file has no measured decode step");
  EXPECT_EQ(rows[3].basis, "not measured: the run file has no counter pass");
  for (const Row& row : rows)
    if (row.run != "-") {
      EXPECT_EQ(row.verdict, "not measured");
    }
}

TEST(GpuCheckReport, StepsAndOpsInEveryFormat) {
  RunRecord r = run(false, 1, 90e9, 0.001, 0.001);
  (*r.ops)[0].dram_read_bytes = 1.0e6;
  (*r.ops)[0].dram_write_bytes = 0.1e6;
  r.cuda_graph = true;
  GpuCheckInput in;
  in.runs = {{"a.json", r}};
  ReportDoc d = gpu_check_report(in);
  ASSERT_EQ(d.sections.size(), 3u);
  const Table& steps = d.sections[1].tables.at(0);
  ASSERT_EQ(steps.rows.size(), 1u);
  EXPECT_EQ(steps.rows[0][0].text, "tiny-dense [2 layers], dense, batch 1, context 1024, CUDA graph on");
  const Table& ops = d.sections[2].tables.at(0);
  ASSERT_EQ(ops.rows.size(), 1u);
  EXPECT_EQ(ops.rows[0][0].text, "model.layers.0.mlp");
  EXPECT_EQ(ops.rows[0][4].text, "-50.0");  // (1 - 2) / 2
  EXPECT_EQ(ops.rows[0][10].text, "+0.0");  // (1.0 + 0.1 - 1.1) / 1.1
  auto j = nlohmann::json::parse(report_json(d));
  EXPECT_EQ(j["sections"][0]["tables"][0]["rows"][0]["verdict"], "pass");
  EXPECT_DOUBLE_EQ(j["sections"][2]["tables"][0]["rows"][0]["dram_read_bytes"].get<double>(), 1.0e6);
  const std::string md = report_markdown(d);
  EXPECT_NE(md.find("| dense decode at batch 1: achieved bandwidth |"), std::string::npos) << md;
  EXPECT_NE(md.find("| model.layers.0.mlp | mlp |"), std::string::npos) << md;
}

}  // namespace
