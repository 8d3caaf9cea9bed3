// Weight memory of a whole model under a quantization scheme, and as the checkpoint ships.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

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

// Bytes of the main model as the checkpoint ships it, from ir.shipped_quant:
//  - "fp8" with weight_block_size {128,128}: every Matmul outside embedding / lm_head / router
//    in e4m3 + fp32 block scales; the rest bf16 (DeepSeek-V3 / R1 / Kimi-K2).
//  - "mxfp4" with modules_to_not_convert: every Matmul whose HF module path matches none of
//    the patterns ("model.layers.*.self_attn", "lm_head", ...) in MXFP4; the rest bf16 (gpt-oss).
// nullopt when the config has no quantization_config or a method this does not know.
std::optional<int64_t> weight_bytes_as_shipped(const ModelIR& ir);

}  // namespace llmcost
