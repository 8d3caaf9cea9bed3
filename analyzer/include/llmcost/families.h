// Architecture family builders: parsed config -> ModelIR, as each family's Hugging Face
// reference implementation lays out its weights.
#pragma once

#include <string>
#include <vector>

#include "llmcost/model_ir.h"
#include "llmcost/value.h"

namespace llmcost {

// The model_type values with a builder.
std::vector<std::string> supported_architectures();

// Every registered family: its IR name and the config model_type values it builds, by name.
struct FamilyInfo {
  std::string name;
  std::vector<std::string> model_types;
};
std::vector<FamilyInfo> family_infos();

// Build the IR from a parsed config. `file` names the config in errors. Throws ConfigError.
ModelIR build_model_ir(const Value& config, const std::string& file);

}  // namespace llmcost
