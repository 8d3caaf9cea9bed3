// `llmcost validate`: llmcost's prediction beside each published serving measurement
// (tests/data/published/*.tsv), the datasheet roofline and the derated model side by side, with
// per-class median errors; optional gates for tests and CI.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "commands.h"
#include "llmcost/error.h"
#include "llmcost/check_report.h"
#include "llmcost/published.h"

namespace llmcost::cli {

void register_validate(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string path, format = "table", output, efficiency = "derated";
    double max_median_error = -1, max_ratio = -1;
  };
  auto o = std::make_shared<Opts>();
  auto* v = app.add_subcommand("validate",
                               "Predict every published serving measurement in a TSV (or a directory of them, e.g. "
                               "tests/data/published) and print the prediction beside it with the ratio and per-class errors");
  v->add_option("path", o->path, "A published-measurements TSV or a directory of *.tsv")->required();
  add_format_option(v, o->format, {"table", "markdown"}, "Output format");
  v->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  v->add_option("--efficiency", o->efficiency, "The mode the gates check: derated (default) or datasheet")
      ->check(CLI::IsMember({"derated", "datasheet"}));
  v->add_option("--max-median-error", o->max_median_error,
                "Exit 1 when a class's median |predicted / published - 1| exceeds this (e.g. 0.2)")
      ->check(CLI::Range(0.0, 100.0));
  v->add_option("--max-ratio", o->max_ratio, "Exit 1 when a case's ratio is outside [1/R, R] or it cannot be predicted (e.g. 2)")
      ->check(CLI::Range(1.0, 1e6));
  v->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      auto cases = load_published(o->path);
      std::vector<PublishedResult> before, after;
      for (const auto& c : cases) {
        before.push_back(predict_published(c, ctx.configs(), EfficiencyMode::Datasheet));
        after.push_back(predict_published(c, ctx.configs(), EfficiencyMode::Derated));
      }
      auto sb = summarize_published(before), sa = summarize_published(after);
      emit(published_table(before, after, sb, sa, o->format == "markdown"), o->output);
      const auto& gated = o->efficiency == "datasheet" ? before : after;
      const auto& gsum = o->efficiency == "datasheet" ? sb : sa;
      std::vector<std::string> fails;
      if (o->max_median_error >= 0)
        for (const auto& s : gsum)
          if (s.role == "all" && s.median_abs_error > o->max_median_error)
            fails.push_back(s.cls + fmt::format(" median |error| {:.0f}% > {:.0f}%", 100 * s.median_abs_error, 100 * o->max_median_error));
      if (o->max_ratio >= 0)
        for (const auto& r : gated)
          if (!r.ok || r.ratio > o->max_ratio || r.ratio < 1.0 / o->max_ratio)
            fails.push_back(r.c.file + ":" + std::to_string(r.c.line) + " " +
                            (r.ok ? fmt::format("ratio {:.2f} outside [1/{:.4g}, {:.4g}]", r.ratio, o->max_ratio, o->max_ratio)
                                  : "not predicted: " + r.why));
      if (fails.empty()) return 0;
      std::string all;
      for (const auto& f : fails) all += (all.empty() ? "" : "; ") + f;
      std::cerr << format_error(Error(std::string(o->efficiency) + " predictions off the published cases: " + all));
      return 1;
    };
  });
}

}  // namespace llmcost::cli
