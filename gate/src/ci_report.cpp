// Markdown summary of a CI check (for PR comments): verdict, counts, differences.
#include "llmcost/ci_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace llmcost {

namespace {
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
}  // namespace

std::string ci_check_markdown(const ci::CheckResult& r, const std::string& baseline_file, const std::string& current_what) {
  using ci::Status;
  int64_t regressions = r.regressions();
  std::string out = "## llmcost CI check\n\n";
  out += regressions == 0 ? "**PASS**: no regression.\n\n"
                          : fmt::format("**FAIL**: {} regression{}.\n\n", regressions, regressions == 1 ? "" : "s");
  out += fmt::format("Baseline `{}` vs {}. {} analytic numbers compared (must match exactly unless declared); "
                     "{} measured medians compared (tolerance {}% plus measured noise).\n\n",
                     baseline_file, current_what, r.analytic_compared, r.measured_compared, r.tolerance_pct);
  std::vector<const ci::Finding*> diff, measured;
  for (const auto& f : r.findings) {
    if (f.subject == "measured") measured.push_back(&f);
    else if (f.status != Status::Same) diff.push_back(&f);
  }
  std::stable_sort(diff.begin(), diff.end(),
                   [](const ci::Finding* a, const ci::Finding* b) { return a->is_regression() > b->is_regression(); });
  if (!diff.empty()) {
    out += "| model | number | status | baseline | current | change | note |\n|---|---|---|---:|---:|---:|---|\n";
    for (const auto* f : diff)
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", cell(f->subject), cell(f->key), ci::status_name(f->status),
                         cell(f->baseline), cell(f->current), f->change_pct != 0 ? fmt::format("{:+.4g}%", f->change_pct) : "",
                         cell(f->note));
    out += "\n";
  } else if (r.analytic_compared > 0) {
    out += "All analytic numbers identical to the baseline.\n\n";
  }
  if (!measured.empty()) {
    out += "| measurement | status | baseline median ±noise | current median ±noise | normalized change | note |\n"
           "|---|---|---:|---:|---:|---|\n";
    for (const auto* f : measured)
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(f->key), ci::status_name(f->status), cell(f->baseline),
                         cell(f->current), f->status == Status::NotCompared || f->status == Status::Added || f->status == Status::Missing ? "" : fmt::format("{:+.2f}%", f->change_pct),
                         cell(f->note));
    out += "\n";
  }
  out += "_Declare an intended analytic change with `--declare 'MODEL:KEY'` (globs allowed) and re-record the baseline "
         "with `llmcost ci record`._\n";
  return out;
}

}  // namespace llmcost
