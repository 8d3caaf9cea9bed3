// The analyzer's result for one model: everything the reports print about it.
#pragma once

#include "llmcost/model_ir.h"
#include "llmcost/params.h"

namespace llmcost {

// Shape facts read off the IR for display (first attention / MoE layer).
struct ModelSummary {
  std::string attention;  // "GQA", "MHA", "MQA", "MLA"
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t n_moe_layers = 0, n_dense_layers = 0;
  int64_t n_experts = 0, top_k = 0, n_shared_experts = 0;
  int64_t n_sliding_layers = 0, sliding_window = 0, chunk_size = 0;
};

struct Analysis {
  ModelIR ir;
  ModelSummary summary;
  ParamCounts params;
};

ModelSummary summarize(const ModelIR& ir);

Analysis analyze(ModelIR ir);

}  // namespace llmcost
