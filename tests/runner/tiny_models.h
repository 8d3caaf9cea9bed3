// Tiny model configs (2 layers, hidden 64) shared by the CPU backend tests and the CUDA-vs-CPU
// tests (tests/gpu): the same dense, sliding-window and MoE shapes on both backends.
#pragma once

#include <string>

#include "llmcost/families.h"
#include "llmcost/value.h"

namespace llmcost {

inline ModelIR tiny(const std::string& json) { return build_model_ir(parse_json(json, "tiny.json"), "tiny.json"); }

inline constexpr const char* kLlama = R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":96,"vocab_size":101,"rms_norm_eps":1e-5,"rope_theta":10000.0})";
inline constexpr const char* kMistralWindow = R"({"model_type":"mistral","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":1,"intermediate_size":96,"vocab_size":101,"sliding_window":3})";
inline constexpr const char* kMixtral = R"({"model_type":"mixtral","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":48,"vocab_size":101,"num_local_experts":4,"num_experts_per_tok":2})";
inline constexpr const char* kQwen3Moe = R"({"model_type":"qwen3_moe","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"head_dim":16,"intermediate_size":96,"moe_intermediate_size":32,"vocab_size":101,
  "num_experts":8,"num_experts_per_tok":3,"norm_topk_prob":true})";

}  // namespace llmcost
