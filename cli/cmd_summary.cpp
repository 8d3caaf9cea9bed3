// `llmcost summary RUN.json...`: run files of `llmcost run --format json` against the CUDA-backend
// issue's targets (bandwidth fractions, predicted vs measured step, DRAM bytes vs predicted), per
// step and per op, as Markdown, JSON, CSV or HTML. scripts/gpu-check writes its summary with it.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "llmcost/gpu_check_report.h"
#include "llmcost/hardware.h"
#include "llmcost/run_record.h"

namespace llmcost::cli {

void register_summary(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> runs;
    std::string datasheet, format = "md", output, title = "GPU validation summary";
    std::vector<std::string> not_run, notes;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("summary",
                               "Summarize `llmcost run --format json` files against the GPU targets: predicted vs measured "
                               "per step and per op, achieved bandwidth, DRAM bytes vs predicted; pass/fail/not measured");
  c->add_option("runs", o->runs, "Run files (llmcost run --format json); none: every target is `not measured`");
  c->add_option("--datasheet", o->datasheet, "Hardware (name or YAML) whose datasheet bandwidth the fractions are also stated against");
  c->add_option("--not-run", o->not_run, "A step that did not run, as \"what: why\" (repeatable; listed in the summary)");
  c->add_option("--note", o->notes, "A line for the summary's assumptions (repeatable)");
  c->add_option("--title", o->title, "Title of the summary");
  c->add_option("--format", o->format, "md (default), json, csv or html")->check(CLI::IsMember({"md", "json", "csv", "html"}));
  c->add_option("-o,--output", o->output, "Write the summary to this file instead of stdout");
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      GpuCheckInput in;
      in.title = o->title;
      for (const std::string& f : o->runs) in.runs.push_back({std::filesystem::path(f).filename().string(), read_run_record(f)});
      if (!o->datasheet.empty()) {
        HardwareSpec hw = load_hardware(o->datasheet, ctx.configs());
        if (hw.mem_bw_bytes_per_s.value <= 0)
          throw Error(hw.source_file + ": /mem_bw_bytes_per_s must be a positive bandwidth for --datasheet", ErrorKind::BadInput);
        in.datasheet = GpuCheckInput::Datasheet{hw.name, hw.mem_bw_bytes_per_s.source, hw.mem_bw_bytes_per_s.value};
      } else {
        in.datasheet_missing = "no datasheet hardware given (--datasheet)";
      }
      in.not_run = o->not_run;
      in.notes = o->notes;
      ReportDoc doc = gpu_check_report(in);
      std::string text = o->format == "json" ? report_json(doc)
                         : o->format == "csv" ? report_csv(doc)
                         : o->format == "html" ? report_html(doc)
                                               : report_markdown(doc);
      emit(text, o->output);
      return 0;
    };
  });
}

}  // namespace llmcost::cli
