// The DeepSeek-V2/V3 decoder: MLA attention (optional q low-rank, compressed kv latent + decoupled
// rope key), first_k_dense_replace dense layers then MoE every moe_layer_freq layers (router with
// optional group-limited routing and correction bias, routed and shared experts), and the
// multi-token-prediction modules after the main layers. The family files say their defaults.
#pragma once

#include <string>

#include "family.h"

namespace llmcost {

struct DeepseekLike {
  std::string arch;
  std::string default_scoring;      // scoring_func when absent: "softmax" (v2) / "sigmoid" (v3)
  std::string default_topk_method;  // topk_method when absent: "greedy" (v2) / "noaux_tc" (v3)
};

void build_deepseek(const ConfigReader& r, ModelIR& ir, const DeepseekLike& f);

}  // namespace llmcost
