// The verdict of `llmcost ci check` as a Markdown summary for pull-request comments. It lives
// with the gate (not in reports/) so that reports need not depend on the gate.
#pragma once

#include <string>

#include "llmcost/ci_gate.h"

namespace llmcost {

// Verdict line, counts, then every finding that is not "same" (regressions first); the
// measured comparisons are listed in full (they carry their thresholds).
std::string ci_check_markdown(const ci::CheckResult& r, const std::string& baseline_file, const std::string& current_what);

}  // namespace llmcost
