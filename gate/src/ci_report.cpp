// The verdict of a CI check: Markdown (PR comments), JUnit XML (CI test views), JSON (scripts).
#include "llmcost/ci_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace llmcost {

namespace {
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
std::string xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += ' ';
        else out += c;
    }
  }
  return out;
}
}  // namespace

std::string ci_check_junit(const ci::CheckResult& r, const std::string& baseline_file) {
  using ci::Status;
  std::string cases;
  int64_t tests = 0, failures = 0, skipped = 0;
  // The analytic numbers: one case, its failure listing every regression.
  std::string analytic_fail;
  int64_t analytic_findings = 0;
  for (const auto& f : r.findings) {
    if (f.subject == "measured") continue;
    ++analytic_findings;
    if (f.is_regression())
      analytic_fail += fmt::format("{} {}: {} (baseline {}, current {}){}\n", f.subject, f.key, ci::status_name(f.status),
                                   f.baseline, f.current, f.note.empty() ? "" : "; " + f.note);
  }
  if (r.analytic_compared > 0 || analytic_findings > 0) {
    ++tests;
    cases += fmt::format("    <testcase classname=\"llmcost.ci.analytic\" name=\"{} analytic numbers\">\n", r.analytic_compared);
    if (!analytic_fail.empty()) {
      ++failures;
      cases += fmt::format("      <failure message=\"undeclared analytic changes\">{}</failure>\n", xml(analytic_fail));
    }
    cases += "    </testcase>\n";
  }
  for (const auto& f : r.findings) {
    if (f.subject != "measured") continue;
    ++tests;
    cases += fmt::format("    <testcase classname=\"llmcost.ci.measured\" name=\"{}\">\n", xml(f.key));
    const std::string what = fmt::format("{}: baseline {}, current {}, change {:+.2f}%; {}", ci::status_name(f.status), f.baseline,
                                         f.current, f.change_pct, f.note);
    if (f.is_regression() || f.status == Status::Missing) {
      ++failures;
      cases += fmt::format("      <failure message=\"{}\">{}</failure>\n", xml(ci::status_name(f.status)), xml(what));
    } else if (f.status == Status::NotCompared || f.status == Status::Added) {
      ++skipped;
      cases += fmt::format("      <skipped message=\"{}\"/>\n", xml(what));
    } else {
      cases += fmt::format("      <system-out>{}</system-out>\n", xml(what));
    }
    cases += "    </testcase>\n";
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\">\n"
                     "  <testsuite name=\"llmcost ci check\" tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\">\n",
                     tests, failures, skipped);
  out += fmt::format("    <properties><property name=\"baseline\" value=\"{}\"/><property name=\"tolerance_pct\" value=\"{}\"/></properties>\n",
                     xml(baseline_file), r.tolerance_pct);
  out += cases;
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

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

namespace {
// The JSON spelling of a status (status_name is the display one).
const char* status_key(ci::Status s) {
  using ci::Status;
  switch (s) {
    case Status::Same: return "same";
    case Status::Declared: return "declared";
    case Status::Changed: return "changed";
    case Status::Missing: return "missing";
    case Status::Added: return "added";
    case Status::Slower: return "slower";
    case Status::Faster: return "faster";
    case Status::NotCompared: return "not_compared";
  }
  return "?";
}
}  // namespace

std::string ci_check_json(const ci::CheckResult& r, const std::string& baseline_file, const std::string& current_what) {
  using ci::Status;
  using nlohmann::ordered_json;
  const int64_t regressions = r.regressions();
  ordered_json counts = ordered_json::object();
  for (Status s : {Status::Same, Status::Declared, Status::Changed, Status::Missing, Status::Added, Status::Slower,
                   Status::Faster, Status::NotCompared})
    counts[status_key(s)] = 0;
  ordered_json findings = ordered_json::array();
  for (const auto& f : r.findings) {
    counts[status_key(f.status)] = counts[status_key(f.status)].get<int64_t>() + 1;
    ordered_json j;
    j["subject"] = f.subject;
    j["key"] = f.key;
    j["status"] = status_key(f.status);
    j["regression"] = f.is_regression();
    j["baseline"] = f.baseline;
    j["current"] = f.current;
    // A change only where two values were compared (as the Markdown shows it).
    const bool compared = f.status != Status::NotCompared && f.status != Status::Added && f.status != Status::Missing;
    j["change_pct"] = compared && std::isfinite(f.change_pct) ? ordered_json(f.change_pct) : ordered_json(nullptr);
    j["note"] = f.note;
    findings.push_back(std::move(j));
  }
  ordered_json out;
  out["verdict"] = regressions == 0 ? "pass" : "fail";
  out["regressions"] = regressions;
  out["baseline"] = baseline_file;
  out["current"] = current_what;
  out["analytic_compared"] = r.analytic_compared;
  out["measured_compared"] = r.measured_compared;
  out["tolerance_pct"] = r.tolerance_pct;
  out["counts"] = std::move(counts);
  out["findings"] = std::move(findings);
  return out.dump(2) + "\n";
}

}  // namespace llmcost
