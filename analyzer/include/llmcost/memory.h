// Weight memory of a whole model under a quantization scheme, and as the checkpoint ships.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmcost/model_ir.h"
#include "llmcost/quant.h"

namespace llmcost {

// Routed experts per MoE layer (first MoE layer; 0 when dense), for TensorSite::n_experts.
int64_t model_n_experts(const ModelIR& ir);
// Where an op's tensors sit (layer, model shape), for the per-tensor mixes.
TensorSite op_site(const Op& op, const ModelIR& ir, int64_t n_experts);
// Bytes of ONE copy of the op's tensors as read, given its site (no walk over the model).
int64_t op_copy_read_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const TensorSite& site);

// Stored bytes of one op: every copy (all n_experts for RoutedExperts), tied tensors 0.
int64_t op_weight_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const ModelIR& ir);
// The same given its site: no walk over the model, for loops over every op.
int64_t op_weight_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const TensorSite& site);
// Bytes of ONE copy of the op's tensors (one expert for RoutedExperts) as read per use;
// a tied lm_head counts the table it reads.
int64_t op_copy_read_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const ModelIR& ir);

// Whole main model (pre + layers + post; MTP layers excluded), exact bytes.
int64_t weight_bytes(const ModelIR& ir, QuantScheme s, const QuantPolicy& p);
// The same split by ParamGroup (sums to weight_bytes).
std::array<int64_t, kNumParamGroups> weight_bytes_by_group(const ModelIR& ir, QuantScheme s, const QuantPolicy& p);
// MTP layers alone (DeepSeek-V3), same scheme and policy.
int64_t mtp_weight_bytes(const ModelIR& ir, QuantScheme s, const QuantPolicy& p);

// Bytes of the main model as the checkpoint ships it: every tensor in its Tensor::stored format
// (analyzer/ir/shipped_quant.cpp reads quantization_config / hf_quant_config.json into them).
// nullopt when the checkpoint ships no quantization (or one llmcost does not read).
std::optional<int64_t> weight_bytes_as_shipped(const ModelIR& ir);
// Throws Error (Unsupported) when the config names a quantization method llmcost does not read:
// an as-shipped figure would be the config dtype's, not the checkpoint's.
void check_as_shipped(const ModelIR& ir);
// What the weights are stored as under `s`: "as shipped: fp8 block-128 (modules_to_not_convert: ...)",
// "as shipped: bf16 (unquantized; config dtype bfloat16)", or the what-if "nvfp4 (policy default)".
std::string weight_format_description(const ModelIR& ir, QuantScheme s, const QuantPolicy& p);
// Main-model bytes by stored format name (stored_format: "bf16", "fp8_e4m3 + fp32 scale per 128x128",
// "q6_k", ...), largest first; sums to weight_bytes.
std::vector<std::pair<std::string, int64_t>> weight_bytes_by_format(const ModelIR& ir, QuantScheme s, const QuantPolicy& p);

}  // namespace llmcost
