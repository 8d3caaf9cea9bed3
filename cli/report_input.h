// Builds a report's typed input (capacity_report.h) from a plan (`llmcost report`) or a
// hardware comparison (`llmcost compare --format html`): re-runs the analyzer's predictions for
// the memory split, batch sweeps and roofline points the pages draw.
#pragma once

#include <string>
#include <vector>

#include "llmcost/capacity_report.h"
#include "llmcost/plan.h"
#include "llmcost/roofline.h"

namespace llmcost::cli {

// Every model of the plan: rows, memory per device of each feasible (hardware, quant), the
// batch sweep and the roofline at the first quantization.
ReportInput report_input_from_plan(const PlanResult& plan, const std::string& config_dir);

// One model across hardware from run_compare(m, ..., req, ...): the sizing page's input.
ReportInput report_input_from_compare(const ModelIR& ir, const CompiledModel& m, const CompareResult& r,
                                      const PredictRequest& req);

// The sizing page as HTML, for `llmcost compare --format html`.
std::string compare_page_html(const ModelIR& ir, const CompiledModel& m, const CompareResult& r, const PredictRequest& req,
                              const std::string& command_line);

// A run file (llmcost/run_record.h) as the page's RunData; the step and every op's prediction are
// required. Throws ConfigError.
RunData read_run_file(const std::string& path);

}  // namespace llmcost::cli
