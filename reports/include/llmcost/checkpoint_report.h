// Writers for `llmcost analyze` on a checkpoint (safetensors or GGUF headers): what is stored,
// by kind and dtype, and the family cross-check when there is one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmcost/checkpoint.h"

namespace llmcost {

struct CheckpointReport {
  CheckpointSummary summary;
  std::optional<CheckpointCrossCheck> check;  // when config.json beside it has a family
  int64_t family_total = -1;                  // that family's total parameters (llmcost's count), -1 without
  std::string hf_snapshot;                    // the Hugging Face cache snapshot it was found in
  std::vector<std::string> notes;
};

std::string checkpoint_json(const CheckpointReport& r);
// The terminal table; lists of differences show at most `max_listed` rows each (the JSON has all).
std::string checkpoint_table(const CheckpointReport& r, size_t max_listed = 40);

}  // namespace llmcost
