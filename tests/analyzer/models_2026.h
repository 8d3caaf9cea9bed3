// Shared by the tests that read the 2025-26 configs copied into tests/data/models-2026.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/value.h"

namespace llmcost::models_2026 {

// A config of tests/data/models-2026 by file name, parsed.
inline Value load(const std::string& name) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), name);
}

// The one-line error building `v` gives ("" when it builds).
inline std::string error_of(const Value& v) {
  try {
    build_model_ir(v, "test.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace llmcost::models_2026
