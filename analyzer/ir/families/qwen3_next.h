// The Qwen3-Next decoder (gated DeltaNet + gated attention hybrid) as qwen3_next, qwen3_5_text and
// qwen3_5_moe_text build it; what differs is said in a QwenHybrid (see qwen3_next.cpp).
#pragma once

#include <string>
#include <vector>

#include "../family.h"

namespace llmcost {

struct QwenHybrid {
  std::string arch;
  bool split_in_proj = false;  // qwen3_5: in_proj_qkv / in_proj_z / in_proj_b / in_proj_a
  // SparseStep: MoE every decoder_sparse_step-th layer outside mlp_only_layers (qwen3_next);
  // AllMoe: every layer (qwen3_5_moe_text); Dense: a dense MLP everywhere (qwen3_5_text).
  enum class Ffn { SparseStep, AllMoe, Dense } ffn = Ffn::SparseStep;
};

void build_qwen3_next_like(const ConfigReader& r, ModelIR& ir, const QwenHybrid& f);
// The registry entry of one Qwen hybrid variant: name f.arch, its model_type values and HF classes.
Family qwen_hybrid_family(const QwenHybrid& f, std::vector<std::string> model_types, std::vector<std::string> hf_classes);

}  // namespace llmcost
