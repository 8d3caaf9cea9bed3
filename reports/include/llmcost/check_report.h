// Writers for `llmcost check` (measured serving runs beside llmcost's predictions) and
// `llmcost calibrate --from` (the fitted efficiency figures and their fit / held-out errors).
// Formatting only; every number comes from analyzer/measure.
#pragma once

#include <string>
#include <vector>

#include "llmcost/measured.h"
#include "llmcost/published.h"

namespace llmcost {

std::string check_table(const std::vector<CheckedRun>& runs, const std::vector<MetricSummary>& summary);
std::string check_json(const std::vector<CheckedRun>& runs, const std::vector<MetricSummary>& summary);

struct CalibrateFromReport {
  std::string hardware, profile, engine;
  EfficiencyFit start;
  FitResult result;
  int fit_runs = 0, holdout_runs = 0;
  std::vector<MetricSummary> fit_summary, holdout_summary;
};
std::string calibrate_from_table(const CalibrateFromReport& r);
std::string calibrate_from_json(const CalibrateFromReport& r);

// `llmcost validate`: one row per published case with the datasheet (`before`) and derated
// (`after`) predictions and ratios, then the per-class summaries; aligned text or Markdown.
std::string published_table(const std::vector<PublishedResult>& before, const std::vector<PublishedResult>& after,
                            const std::vector<ClassSummary>& sb, const std::vector<ClassSummary>& sa, bool markdown);

}  // namespace llmcost
