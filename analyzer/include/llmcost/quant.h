// Weight quantization schemes and policies: exact stored bytes of one tensor under a scheme.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "llmcost/model_ir.h"

namespace llmcost {

// Storage formats of weights (the table of bits per weight is in analyzer/cost/quant.cpp). Bits per
// weight include scales and zeros.
enum class QuantScheme {
  FP32, BF16, FP16,
  FP8,          // e4m3, one fp32 scale per tensor
  FP8Block128,  // e4m3, one fp32 scale per 128x128 block (DeepSeek-V3 checkpoint)
  INT8,         // per output channel, fp16 scale per row
  INT4_G128,    // symmetric, fp16 scale per 128 inputs (GPTQ-style; the unused qzeros and the
                //   act-order g_idx some GPTQ checkpoints also store are not counted)
  AWQ_G128,     // asymmetric, fp16 scale + 4-bit zero per 128 inputs
  NF4,          // bitsandbytes: fp32 absmax per 64 elements
  NF4_DQ,       // bitsandbytes double quant: 8-bit absmax per 64, fp32 per 256 blocks
  MXFP4,        // OCP MX: e2m1 + e8m0 scale per 32 inputs
  NVFP4,        // e2m1 + fp8 scale per 16 inputs + fp32 per tensor
  Q8_0, Q6_K, Q5_K, Q4_K, Q4_0, Q3_K, Q2_K,  // GGUF block formats
  Q4_K_M, Q5_K_M,                             // llama.cpp per-tensor mixes
  // As the checkpoint ships: each tensor in its own Tensor::stored format (quantization_config /
  // hf_quant_config.json, else the config's dtype). Not a what-if scheme: not in all_quant_schemes();
  // the policy is ignored.
  Auto,
};
constexpr int kNumQuantSchemes = 21;  // the what-if schemes (Auto excluded)

// Every what-if scheme in declaration (= report) order (Auto excluded).
const std::array<QuantScheme, kNumQuantSchemes>& all_quant_schemes();

// "bf16", "fp8_block128", "q4_k_m", ... (the names parse_quant_scheme takes).
const char* quant_scheme_name(QuantScheme s);
// Name -> scheme (case-insensitive); nullopt for an unknown name.
std::optional<QuantScheme> parse_quant_scheme(const std::string& name);
// "auto|fp32|bf16|...": every name, for usage errors.
std::string quant_scheme_names();

// True for fp32 / bf16 / fp16: a plain dtype, applied to every tensor (policy ignored).
bool is_plain_dtype(QuantScheme s);

// Which tensors a (non-plain) scheme applies to. Tensors it does not cover are stored in
// bf16 (2 bytes per element). Vector tensors (norms, biases, sinks, router biases) are
// never quantized. Default: linear weights of attention, dense MLP, routed and shared
// experts; embeddings, lm_head and routers stay bf16.
struct QuantPolicy {
  bool attention = true;
  bool mlp = true;
  bool experts_routed = true;
  bool experts_shared = true;
  bool router = false;
  bool embedding = false;  // token / position tables (and a tied lm_head with them)
  bool lm_head = false;    // untied lm_head
  bool other = false;      // ParamGroup::Other matmuls (e.g. projections outside the layers)

  bool covers(ParamGroup g) const;
  bool operator==(const QuantPolicy& o) const;
};

// "default" (= "linear"), "experts" (routed + shared experts only, as gpt-oss ships),
// "routed" (routed experts only), "all" (every matmul and table, as llama.cpp quantizes),
// or a comma list of groups: attention, mlp, experts, shared, router, embedding, lm_head, other.
// nullopt for an unknown word.
std::optional<QuantPolicy> parse_quant_policy(const std::string& text);
// Canonical text of a policy ("default", "experts", or the comma list).
std::string quant_policy_name(const QuantPolicy& p);

// Where a tensor sits, for the llama.cpp mixes (q4_k_m / q5_k_m) that pick a type by layer.
struct TensorSite {
  int layer = -1;            // decoder layer index; -1 outside the layers
  int64_t n_layers = 0;      // decoder layers of the model
  int64_t n_experts = 0;     // routed experts of the model (llama.cpp bumps attn_k/v/output when 8)
  int64_t d_model = 0;       // residual width: an FFN tensor reducing over another width is a down projection
  bool tied_embeddings = false;  // the token table doubles as the output (gets the output's type)
  OpKind op_kind = OpKind::Norm;
};

// Name of the format one tensor is stored in: the scheme itself ("q4_k", "int4_g128"),
// "bf16" when the policy does not cover it or it is a Vector, and for the GGUF schemes the
// type llama.cpp would write ("q6_k", "q5_0", "iq4_nl", "f16" ... including its fallback when
// a row is not a multiple of the block).
std::string stored_format(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site = {});

// Without a site (the default), q4_k_m / q5_k_m give every tensor the base type, as a tensor
// outside the layers would get.
// Exact stored bytes of ONE copy of `t` (one expert for RoutedExperts), including scales and
// zeros rounded the way the format stores them. A tied tensor stores nothing (0).
int64_t tensor_bytes(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site = {});

// Bytes `t` occupies as stored, ignoring `tied` (what a tied lm_head reads per step).
int64_t tensor_read_bytes(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site = {});

// Bytes of a [rows, row_len] matrix stored in a single non-mix format `s` (no policy; not Auto).
int64_t matrix_bytes(int64_t rows, int64_t row_len, QuantScheme s);

// THE stored-bytes formula of a StoredFormat (model_ir.h) for a [rows, row_len] tensor (rows = out
// features, row_len = in features; a 1-D tensor is one row): packed elements + block scales + zero
// points + nested scales + per-input indices + per-tensor scalars, each rounded as stored.
int64_t stored_bytes(const StoredFormat& f, int64_t rows, int64_t row_len);
// The StoredFormat a non-GGUF what-if scheme writes; nullopt for the GGUF schemes and Auto.
std::optional<StoredFormat> scheme_stored_format(QuantScheme s);
// A plain (unquantized) format of the dtype a config names: "float32" / "float16" / "bfloat16"
// (anything else, or empty: bf16).
StoredFormat plain_stored_format(const std::string& torch_dtype);
// Short name of a format for reports: "bf16", "fp8_e4m3 + fp32 scale per 128x128",
// "nvfp4 (e2m1 + fp8 scale per 16 + fp32 global)", "int4 + bf16 scale per 32 in", ...
std::string stored_format_name(const StoredFormat& f);
// The compute dtype name of a format ("bf16", "fp32", "fp8", "int8", "fp4").
const char* stored_compute_name(StoredCompute c);

}  // namespace llmcost
