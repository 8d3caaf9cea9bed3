// Writers for `llmcost hw`, `predict`, `plan` and `compare`: terminal tables, JSON, CSV and
// Markdown. Formatting only; every number comes from the analyzer's typed results.
#pragma once

#include <string>
#include <vector>

#include "llmcost/hardware.h"
#include "llmcost/plan.h"
#include "llmcost/roofline.h"

namespace llmcost {

std::string hw_table(const std::vector<HardwareSpec>& hws);
std::string hw_json(const std::vector<HardwareSpec>& hws);

// A prediction; not runnable: why, the memory when the layout was formed, no timing. `fits`
// (fit_by_device_count) adds the largest batch and context per device count.
std::string predict_table(const Prediction& p, const std::vector<DeviceCountFit>& fits = {});
std::string predict_json(const Prediction& p, const std::vector<DeviceCountFit>& fits = {});

std::string plan_table(const PlanResult& r);
std::string plan_json(const PlanResult& r);
std::string plan_csv(const PlanResult& r);
std::string plan_markdown(const PlanResult& r);

std::string compare_table(const CompareResult& r);
std::string compare_json(const CompareResult& r);
std::string compare_csv(const CompareResult& r);
std::string compare_markdown(const CompareResult& r);

}  // namespace llmcost
