// Parameter counting over a ModelIR. The conventions (what total, active and active_compute
// include) are stated in README.md, "What the numbers mean", and docs/ARCHITECTURE.md.
#pragma once

#include <array>
#include <cstdint>

#include "llmcost/model_ir.h"

namespace llmcost {

struct ParamCounts {
  int64_t total = 0;           // every stored weight of the main model (tied tensors once)
  int64_t active = 0;          // per token: total minus unused routed experts
  int64_t active_compute = 0;  // active minus tables that are only gathered
  int64_t mtp = 0;             // multi-token-prediction modules as stored, not in total
  // Of `mtp`: stored copies of main-model tensors (the token embedding and lm_head a DeepSeek-V3
  // MTP module keeps its own copy of); mtp - mtp_shared_copies are the MTP module's unique weights.
  int64_t mtp_shared_copies = 0;
  std::array<int64_t, kNumParamGroups> breakdown{};  // sums to total
  int64_t at(ParamGroup g) const { return breakdown[static_cast<int>(g)]; }
};

ParamCounts count_params(const ModelIR& ir);

// Parameters of one op: stored (all copies) and used per token.
int64_t op_stored_params(const Op& op);
int64_t op_active_params(const Op& op);

}  // namespace llmcost
