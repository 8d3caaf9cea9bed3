// `llmcost report SCENARIO.yaml`: the capacity-planning report (HTML with SVG charts, Markdown,
// JSON, CSV) for a scenario's models on its hardware.
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "llmcost/capacity_report.h"
#include "llmcost/plan.h"
#include "llmcost/value.h"
#include "report_input.h"

namespace llmcost::cli {

namespace fs = std::filesystem;

void register_report(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string scenario;
    std::string out_dir = "reports/out";
    std::vector<std::string> formats = {"html", "markdown", "json", "csv"};
    std::string run;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("report",
                               "Capacity-planning report for a scenario: memory per device vs capacity, devices needed, "
                               "throughput and latency per hardware, roofline; HTML (SVG charts), Markdown, JSON, CSV");
  c->add_option("scenario", o->scenario, "Scenario YAML, or a bundled scenario name (configs/scenarios/default.yaml: `default`)")->required();
  c->add_option("-o,--output-dir", o->out_dir, "Directory to write <scenario>.html/.md/.json/.csv into (created if missing)");
  add_format_option(c, o->formats, {"html", "markdown", "json", "csv"}, "Comma list of the files to write");
  c->add_option("--run", o->run, "A `llmcost run --format json` file to show predicted vs measured per op");
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      Scenario sc = load_scenario(o->scenario, ctx.configs());
      ReportInput in = report_input_from_plan(run_plan(sc, ctx.configs()), ctx.configs());
      if (!o->run.empty()) in.run = read_run_file(o->run);
      ReportDoc doc = capacity_report(in);
      // Render everything before writing anything.
      std::vector<std::pair<std::string, std::string>> files;
      std::string stem = fs::path(o->scenario).stem().string();
      for (const auto& f : o->formats) {
        std::string path = (fs::path(o->out_dir) / (stem + "." + (f == "markdown" ? std::string("md") : f))).string();
        if (f == "html") files.emplace_back(path, report_html(doc));
        else if (f == "markdown") files.emplace_back(path, report_markdown(doc));
        else if (f == "json") files.emplace_back(path, report_json(doc));
        else files.emplace_back(path, report_csv(doc));
      }
      std::error_code ec;
      fs::create_directories(o->out_dir, ec);
      if (ec) throw Error(o->out_dir + ": cannot create directory (" + ec.message() + ")");
      for (const auto& [path, text] : files) emit(text, path);
      for (const auto& [path, text] : files) std::cout << path << "\n";
      return 0;
    };
  });
}

}  // namespace llmcost::cli
