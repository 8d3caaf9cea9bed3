// Writers for `llmcost analyze` and `llmcost models`.
#pragma once

#include <string>
#include <vector>

#include "llmcost/analysis.h"

namespace llmcost {

std::string analyze_json(const Analysis& a);
std::string analyze_table(const Analysis& a);

struct ModelsRow {
  std::string id;
  std::string alias;
  Analysis analysis;
};
std::string models_table(const std::vector<ModelsRow>& rows);
std::string models_json(const std::vector<ModelsRow>& rows);

}  // namespace llmcost
