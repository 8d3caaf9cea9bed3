// The analyzer's result for one model: everything the reports print about it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmcost/error.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_ir.h"
#include "llmcost/params.h"
#include "llmcost/quant.h"

namespace llmcost {

// Shape facts read off the IR for display (first attention / MoE layer).
struct ModelSummary {
  std::string attention;  // "GQA", "MHA", "MQA", "MLA"
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t n_moe_layers = 0, n_dense_layers = 0;
  int64_t n_experts = 0, top_k = 0, n_shared_experts = 0;
  int64_t n_sliding_layers = 0, sliding_window = 0, chunk_size = 0;
};

// What `llmcost analyze` evaluates memory and FLOPs at.
struct AnalyzeOptions {
  int64_t context = 4096;     // tokens in the cache for KV bytes and decode FLOPs (>= 1)
  int64_t prompt_tokens = 0;  // prefill length; 0 = context
  QuantPolicy policy;         // which tensors the quantized schemes apply to
  KvDtype kv_dtype = KvDtype::BF16;  // the KV dtype the table shows beside bf16
};

// A workload figure whose derived sizes (KV bytes, FLOPs) pass 64-bit integers for this model;
// field() is the AnalyzeOptions member ("context" or "prompt_tokens") so a caller can name its flag.
class WorkloadTooLarge : public Error {
 public:
  WorkloadTooLarge(std::string field, const std::string& what) : Error(what, ErrorKind::BadInput), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

struct Analysis {
  ModelIR ir;
  ModelSummary summary;
  ParamCounts params;
  AnalyzeOptions options;
  // Weight bytes of the main model under every scheme (all_quant_schemes() order) and options.policy.
  std::vector<std::pair<QuantScheme, int64_t>> weight_bytes;
  std::optional<int64_t> weight_bytes_as_shipped;  // from quantization_config, when known
  // With weight_bytes_as_shipped: those bytes by stored format ("fp8_e4m3 + fp32 scale per 128x128",
  // "bf16", ...), largest first, and what the checkpoint says it ships (weight_format_description).
  std::vector<std::pair<std::string, int64_t>> shipped_bytes_by_format;
  std::string shipped_format;
  std::array<KvCache, kNumKvDtypes> kv_by_dtype;   // at options.context, all_kv_dtypes() order
  const KvCache& kv(KvDtype d) const { return kv_by_dtype[static_cast<int>(d)]; }
  DecodeFlops decode_flops;    // per token at options.context
  PrefillFlops prefill_flops;  // one sequence of the prompt length
};

ModelSummary summarize(const ModelIR& ir);

// Throws Error when options are out of range (context < 1, prompt_tokens < 0).
Analysis analyze(ModelIR ir, const AnalyzeOptions& options = {});

}  // namespace llmcost
