// Report speed: the default scenario's capacity report end to end (plan, report input with its
// sweeps and roofline, document, HTML/Markdown/JSON/CSV) and the pieces apart. Goal: the default
// report in well under a second on 2 cores, so `scripts/run` and CI never wait on it.
#include <benchmark/benchmark.h>

#include <string>

#include "llmcost/capacity_report.h"
#include "llmcost/model_loader.h"
#include "llmcost/plan.h"
#include "report_input.h"

namespace {

using namespace llmcost;

const std::string& config_dir() {
  static const std::string d = default_config_dir();
  return d;
}

const ReportInput& default_input() {
  static const ReportInput in =
      cli::report_input_from_plan(run_plan(load_scenario("default", config_dir()), config_dir()), config_dir());
  return in;
}

void BM_DefaultReportEndToEnd(benchmark::State& st) {
  Scenario s = load_scenario("default", config_dir());
  size_t bytes = 0;
  for (auto _ : st) {
    ReportInput in = cli::report_input_from_plan(run_plan(s, config_dir()), config_dir());
    ReportDoc d = capacity_report(in);
    std::string html = report_html(d), md = report_markdown(d), json = report_json(d), csv = report_csv(d);
    bytes = html.size() + md.size() + json.size() + csv.size();
    benchmark::DoNotOptimize(bytes);
  }
  st.counters["output_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_DefaultReportEndToEnd)->Unit(benchmark::kMillisecond);

void BM_Plan(benchmark::State& st) {
  Scenario s = load_scenario("default", config_dir());
  for (auto _ : st) benchmark::DoNotOptimize(run_plan(s, config_dir()).rows.size());
}
BENCHMARK(BM_Plan)->Unit(benchmark::kMillisecond);

void BM_ReportInputFromPlan(benchmark::State& st) {
  PlanResult p = run_plan(load_scenario("default", config_dir()), config_dir());
  for (auto _ : st) benchmark::DoNotOptimize(cli::report_input_from_plan(p, config_dir()).models.size());
}
BENCHMARK(BM_ReportInputFromPlan)->Unit(benchmark::kMillisecond);

void BM_WriteHtml(benchmark::State& st) {
  ReportDoc d = capacity_report(default_input());
  size_t bytes = 0;
  for (auto _ : st) {
    bytes = report_html(d).size();
    benchmark::DoNotOptimize(bytes);
  }
  st.SetBytesProcessed(static_cast<int64_t>(bytes) * st.iterations());
}
BENCHMARK(BM_WriteHtml)->Unit(benchmark::kMillisecond);

void BM_WriteJsonCsvMarkdown(benchmark::State& st) {
  ReportDoc d = capacity_report(default_input());
  for (auto _ : st) {
    benchmark::DoNotOptimize(report_json(d).size() + report_csv(d).size() + report_markdown(d).size());
  }
}
BENCHMARK(BM_WriteJsonCsvMarkdown)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
