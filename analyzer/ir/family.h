// What a family file is made of: the registry entry (which model_type values and Hugging Face
// classes it builds) and the shared pieces every family builds its IR from — op emitters that
// give each tensor its role and checkpoint name, and readers for the config keys families share.
// Internal to the analyzer; nothing outside analyzer/ir includes it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "llmcost/config_reader.h"
#include "llmcost/model_ir.h"

namespace llmcost {

// ---------------------------------------------------------------- registry

using FamilyBuilder = std::function<void(const ConfigReader&, ModelIR&)>;

struct Family {
  std::string name;                      // IR architecture name, "llama"
  std::vector<std::string> model_types;  // config model_type values read as this family (name included)
  std::vector<std::string> hf_classes;   // architectures[0] classes, for unknown model_types (kimi_k2 -> deepseek_v3)
  FamilyBuilder build;
};

// Each file analyzer/ir/families/NAME.cpp defines `Family family_NAME()`; the build generates the
// list of them (analyzer/CMakeLists.txt), so adding a family is adding that one file.
const std::vector<Family>& all_families();

// ---------------------------------------------------------------- op emitters

Op make_op(std::string name, OpKind kind, int layer, int sublayer = 0);
// A tensor of `role` named `name` under the op's module path (see model_ir.h for "{e}").
void add(Op& op, TensorRole role, const std::string& name, std::vector<int64_t> shape, TensorUse use, ParamGroup group,
         int in_axis = -1);
// The bias vector [n] of `role`.
void add_bias(Op& op, TensorRole role, const std::string& name, int64_t n, ParamGroup group);
// A linear layer: NAME.weight [out, in] (+ NAME.bias [out]).
void add_linear(Op& op, TensorRole role, const std::string& name, int64_t in, int64_t out, bool bias, ParamGroup group);

Op norm_op(const std::string& name, int layer, int64_t dim, NormType type, bool bias, double eps, int sublayer,
           bool post = false);

// PerHead: [head_dim] (qwen3, gemma3). Full: [n_heads*head_dim] / [n_kv_heads*head_dim]
// (olmo2). Hidden: [hidden_size] / [(hidden_size/n_heads)*n_kv_heads], whatever head_dim
// is (olmoe). L2: parameter-free (llama4).
enum class QkNorm { None, PerHead, Full, Hidden, L2 };

struct StdAttnOpts {
  bool q_bias = false, k_bias = false, v_bias = false, o_bias = false;
  bool fused_qkv = false;  // phi3: qkv_proj
  QkNorm qk_norm = QkNorm::None;
};
// q/k/v (or fused qkv) and o projections, q/k norms, sinks: MHA/GQA/MQA attention.
Op standard_attention(const std::string& name, int layer, int64_t d, const AttentionSpec& spec, const StdAttnOpts& o);

// Names of the three projections of a gated MLP (or two of an ungated one).
struct MlpNames {
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj";
};
Op mlp_op(const std::string& name, OpKind kind, int layer, int64_t d, const MlpSpec& spec, ParamGroup group,
          bool fused_gate_up = false, bool bias = false, const MlpNames& names = {});
Op router_op(const std::string& name, int layer, int64_t d, const MoeSpec& moe, bool bias, bool correction_bias);
// Routed experts stored one module per expert: "<name>.<e>.<tensor>".
Op experts_op(const std::string& name, int layer, int64_t d, const MlpSpec& spec, const MoeSpec& moe,
              const MlpNames& names = {});
// Routed experts stored stacked, [n_experts, d, 2*d_ff] gate_up and [n_experts, d_ff, d] down
// (llama4, gpt-oss); tensors hold one expert's slice, input axis first.
Op stacked_experts_op(const std::string& name, int layer, int64_t d, const MlpSpec& spec, const MoeSpec& moe, bool bias);

// Embedding in front; final norm and lm_head behind.
void add_embedding(ModelIR& ir, const std::string& name, int64_t vocab, int64_t d);
void add_head(ModelIR& ir, const std::string& norm_name, NormType nt, bool norm_bias, double eps, const std::string& head_name,
              bool tied, bool head_bias = false);
std::string layer_prefix(const std::string& base, int64_t i);  // "model.layers" -> "model.layers.3"

// ---------------------------------------------------------------- config readers

Activation parse_activation(const ConfigReader& r, const std::string& key, const std::string& def);

struct Dims {
  int64_t d = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab = 0;
};
// hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, vocab_size.
Dims read_dims(const ConfigReader& r);
int64_t head_dim_of(const ConfigReader& r, const Dims& x, bool config_may_set);
double rms_eps(const ConfigReader& r);
double rope_theta(const ConfigReader& r, double def);
// Per-layer attention window: from `layer_types` when the config has it, else from the
// family's default rule. 0 = full attention.
std::vector<int64_t> layer_windows(const ConfigReader& r, int64_t n_layers, int64_t window,
                                   const std::function<bool(int64_t)>& default_sliding);
MoeSpec read_topk(const ConfigReader& r, const std::string& experts_key, const std::string& topk_key);
void check_unique_layer_list(const ConfigReader& r, const std::string& key, const std::vector<int64_t>& v, int64_t n_layers);
void init_ir(ModelIR& ir, const ConfigReader& r, const std::string& arch, const Dims& x);
// Bits of a recurrent (SSM / DeltaNet) state element: the first of mamba_ssm_cache_dtype,
// mamba_ssm_dtype the config sets ("float32", "bfloat16", "float16"; "auto" or absent: the model
// dtype, as vLLM's mamba cache defaults), else the model's torch_dtype (16 when it has none).
int recurrent_state_bits(const ConfigReader& r, const ModelIR& ir);
// Bits of a model dtype name ("float32" 32, "bfloat16"/"float16" 16); 16 for an empty name.
int model_dtype_bits(const std::string& dtype);

// ---------------------------------------------------------------- validation (validate.cpp)

// Holds a built IR against the physical meaning of its dimensions and factors; the error names the
// key of `r` (the config the family read) that a bad value came from.
void validate_model_ir(const ConfigReader& r, const ModelIR& ir);

}  // namespace llmcost
