// The verdict of `llmcost ci check` as a Markdown summary for pull-request comments. It lives
// with the gate (not in reports/) so that reports need not depend on the gate.
#pragma once

#include <string>

#include "llmcost/ci_gate.h"

namespace llmcost {

// Verdict line, counts, then every finding that is not "same" (regressions first); the
// measured comparisons are listed in full (they carry their thresholds).
std::string ci_check_markdown(const ci::CheckResult& r, const std::string& baseline_file, const std::string& current_what);

// The same verdict as JUnit XML (the format CI systems show as test results): one testsuite
// "llmcost ci check" with one testcase for the analytic numbers as a whole (failed by any
// undeclared change or missing number, each listed) and one per measurement (failed when slower
// beyond its threshold or missing, skipped when not compared).
std::string ci_check_junit(const ci::CheckResult& r, const std::string& baseline_file);

// The same verdict as JSON (`ci check --format json`): verdict ("pass"/"fail"), regressions,
// baseline, current (what was compared), analytic_compared, measured_compared, tolerance_pct,
// counts (findings per status), and every finding (same ones too) with subject, key, status,
// regression, baseline, current (values as text with units), change_pct (percent, null where
// nothing was compared) and note.
std::string ci_check_json(const ci::CheckResult& r, const std::string& baseline_file, const std::string& current_what);

}  // namespace llmcost
