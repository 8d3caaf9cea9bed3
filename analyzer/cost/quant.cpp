// Quantization schemes: names, policies and the exact stored bytes of one tensor.
#include "llmcost/quant.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace llmcost {

namespace {

constexpr std::array<QuantScheme, kNumQuantSchemes> kAll = {
    QuantScheme::FP32,     QuantScheme::BF16,   QuantScheme::FP16,  QuantScheme::FP8,   QuantScheme::FP8Block128,
    QuantScheme::INT8,     QuantScheme::INT4_G128, QuantScheme::AWQ_G128, QuantScheme::NF4, QuantScheme::NF4_DQ,
    QuantScheme::MXFP4,    QuantScheme::NVFP4,  QuantScheme::Q8_0,  QuantScheme::Q6_K,  QuantScheme::Q5_K,
    QuantScheme::Q4_K,     QuantScheme::Q4_0,   QuantScheme::Q3_K,  QuantScheme::Q2_K,  QuantScheme::Q4_K_M,
    QuantScheme::Q5_K_M};

constexpr const char* kNames[kNumQuantSchemes] = {
    "fp32", "bf16", "fp16", "fp8",  "fp8_block128", "int8", "int4_g128", "awq_g128", "nf4",    "nf4_dq", "mxfp4",
    "nvfp4", "q8_0", "q6_k", "q5_k", "q4_k",        "q4_0", "q3_k",      "q2_k",     "q4_k_m", "q5_k_m"};

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// GGML storage types the GGUF schemes resolve to. Block sizes and bytes per block are
// ggml's (ggml-common.h block_q*_K / block_q*_0 structs): a block of QK elements stores the
// quantized values plus its fp16 scale(s) / min(s).
enum class Gguf { F16, Q8_0, Q5_0, Q5_1, Q4_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K };
struct GgufInfo {
  const char* name;
  int64_t block;        // elements per block (along a row)
  int64_t block_bytes;  // bytes per block
};
GgufInfo gguf_info(Gguf t) {
  switch (t) {
    case Gguf::F16: return {"f16", 1, 2};
    case Gguf::Q8_0: return {"q8_0", 32, 34};      // 32 x int8 + fp16 d
    case Gguf::Q5_0: return {"q5_0", 32, 22};      // fp16 d + 4 B high bits + 16 B nibbles
    case Gguf::Q5_1: return {"q5_1", 32, 24};      // fp16 d, m + 4 B high bits + 16 B nibbles
    case Gguf::Q4_0: return {"q4_0", 32, 18};      // fp16 d + 16 B nibbles
    case Gguf::IQ4_NL: return {"iq4_nl", 32, 18};  // fp16 d + 16 B nibbles
    case Gguf::Q2_K: return {"q2_k", 256, 84};     // 16 B scales + 64 B quants + fp16 d, dmin
    case Gguf::Q3_K: return {"q3_k", 256, 110};    // 32 B hmask + 64 B quants + 12 B scales + fp16 d
    case Gguf::Q4_K: return {"q4_k", 256, 144};    // fp16 d, dmin + 12 B scales + 128 B nibbles
    case Gguf::Q5_K: return {"q5_k", 256, 176};    // fp16 d, dmin + 12 B scales + 32 B high bits + 128 B
    case Gguf::Q6_K: return {"q6_k", 256, 210};    // 128 B low + 64 B high + 16 B scales + fp16 d
  }
  return {"f16", 1, 2};
}

// llama.cpp's fallback when a row length is not a multiple of the type's block
// (llama_tensor_get_type, src/llama-quant.cpp): Q2_K/Q3_K -> IQ4_NL, Q4_K -> Q5_0,
// Q5_K -> Q5_1, Q6_K -> Q8_0; then F16 if the row is not a multiple of 32 either.
// (Q8_0 / Q4_0 have no fallback in llama.cpp; we store such rows in f16.)
Gguf gguf_fit(Gguf t, int64_t row_len) {
  if (row_len % gguf_info(t).block == 0) return t;
  Gguf f = Gguf::F16;
  switch (t) {
    case Gguf::Q2_K:
    case Gguf::Q3_K: f = Gguf::IQ4_NL; break;
    case Gguf::Q4_K: f = Gguf::Q5_0; break;
    case Gguf::Q5_K: f = Gguf::Q5_1; break;
    case Gguf::Q6_K: f = Gguf::Q8_0; break;
    default: f = Gguf::F16; break;
  }
  return row_len % gguf_info(f).block == 0 ? f : Gguf::F16;
}

bool is_gguf(QuantScheme s) {
  switch (s) {
    case QuantScheme::Q8_0: case QuantScheme::Q6_K: case QuantScheme::Q5_K: case QuantScheme::Q4_K:
    case QuantScheme::Q4_0: case QuantScheme::Q3_K: case QuantScheme::Q2_K: case QuantScheme::Q4_K_M:
    case QuantScheme::Q5_K_M:
      return true;
    default:
      return false;
  }
}

Gguf gguf_base(QuantScheme s) {
  switch (s) {
    case QuantScheme::Q8_0: return Gguf::Q8_0;
    case QuantScheme::Q6_K: return Gguf::Q6_K;
    case QuantScheme::Q5_K: case QuantScheme::Q5_K_M: return Gguf::Q5_K;
    case QuantScheme::Q4_K: case QuantScheme::Q4_K_M: return Gguf::Q4_K;
    case QuantScheme::Q4_0: return Gguf::Q4_0;
    case QuantScheme::Q3_K: return Gguf::Q3_K;
    case QuantScheme::Q2_K: return Gguf::Q2_K;
    default: return Gguf::F16;
  }
}


// Rows and row length of a stored matrix: nn.Linear [out, in] rows run along `in`; a gathered
// table [rows, width] along its width. 1-D tensors are one row.
void rows_of(const Tensor& t, int64_t& rows, int64_t& row_len) {
  if (t.use == TensorUse::Matmul && t.in_features > 0) {
    row_len = t.in_features;
    rows = t.numel / t.in_features;
  } else if (t.use == TensorUse::Gather && t.shape.size() == 2) {
    rows = t.shape[0];
    row_len = t.shape[1];
  } else {
    rows = 1;
    row_len = t.numel;
  }
}

// The type llama.cpp's llama_tensor_get_type picks for a tensor under LLAMA_FTYPE_MOSTLY_Q4_K_M
// / Q5_K_M (src/llama-quant.cpp; code index id 37182142389, JohannesGaessler/llama.cpp):
//  - output.weight (lm_head, or the token table when tied): Q6_K, Q8_0 if its row is not a
//    multiple of 256;
//  - attn_v: Q6_K on layers where use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2,
//    and Q8_0 on every layer when the model has exactly 8 experts (attn_k too);
//  - attn_qkv (fused): Q5_K for q4_k_m, Q6_K for q5_k_m;
//  - attn_output: Q5_K for q4_k_m when the model has 8 experts;
//  - ffn_down (dense, shared and routed experts): Q6_K on use_more_bits layers;
//  - everything else: the base type (Q4_K / Q5_K).
// Not reproduced: llama.cpp's extra attn_v bump for models it classes as "70B" by layer count.
Gguf gguf_mix_type(const Tensor& t, QuantScheme s, const TensorSite& site) {
  const Gguf base = gguf_base(s);
  const bool q4 = s == QuantScheme::Q4_K_M;
  auto more_bits = [](int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; };
  const bool is_output = site.op_kind == OpKind::LmHead ||
                         (site.tied_embeddings && site.op_kind == OpKind::TokenEmbedding && t.use == TensorUse::Gather);
  if (is_output) {
    int64_t rows = 0, row_len = 0;
    rows_of(t, rows, row_len);
    return row_len % 256 == 0 ? Gguf::Q6_K : Gguf::Q8_0;
  }
  if (site.op_kind == OpKind::Attention) {
    switch (t.role) {
      case TensorRole::AttnQkv: return q4 ? Gguf::Q5_K : Gguf::Q6_K;
      case TensorRole::AttnV:
        if (site.n_experts == 8) return Gguf::Q8_0;
        return more_bits(site.layer, site.n_layers) ? Gguf::Q6_K : base;
      case TensorRole::AttnK: return site.n_experts == 8 ? Gguf::Q8_0 : base;
      case TensorRole::AttnOut: return site.n_experts == 8 && q4 ? Gguf::Q5_K : base;
      default: return base;
    }
  }
  if (t.role == TensorRole::FfnDown && more_bits(site.layer, site.n_layers)) return Gguf::Q6_K;
  return base;
}

bool quantized_by(const Tensor& t, QuantScheme s, const QuantPolicy& p) {
  if (is_plain_dtype(s)) return true;
  if (t.use == TensorUse::Vector) return false;
  return p.covers(t.group);
}

int64_t gguf_bytes(Gguf g, int64_t rows, int64_t row_len) {
  GgufInfo info = gguf_info(g);
  return checked_mul(rows, checked_mul(row_len / info.block, info.block_bytes));
}

}  // namespace

const std::array<QuantScheme, kNumQuantSchemes>& all_quant_schemes() { return kAll; }

const char* quant_scheme_name(QuantScheme s) { return kNames[static_cast<int>(s)]; }

std::optional<QuantScheme> parse_quant_scheme(const std::string& name) {
  std::string n = lower(name);
  for (int i = 0; i < kNumQuantSchemes; ++i)
    if (n == kNames[i]) return static_cast<QuantScheme>(i);
  return std::nullopt;
}

std::string quant_scheme_names() {
  std::string out;
  for (int i = 0; i < kNumQuantSchemes; ++i) out += (i ? "|" : "") + std::string(kNames[i]);
  return out;
}

bool is_plain_dtype(QuantScheme s) {
  return s == QuantScheme::FP32 || s == QuantScheme::BF16 || s == QuantScheme::FP16;
}

bool QuantPolicy::covers(ParamGroup g) const {
  switch (g) {
    case ParamGroup::Attention: return attention;
    case ParamGroup::Mlp: return mlp;
    case ParamGroup::ExpertsRouted: return experts_routed;
    case ParamGroup::ExpertsShared: return experts_shared;
    case ParamGroup::Router: return router;
    case ParamGroup::Embedding: return embedding;
    case ParamGroup::LmHead: return lm_head;
    case ParamGroup::Other: return other;
    case ParamGroup::Norm: return false;
  }
  return false;
}

bool QuantPolicy::operator==(const QuantPolicy& o) const {
  return attention == o.attention && mlp == o.mlp && experts_routed == o.experts_routed &&
         experts_shared == o.experts_shared && router == o.router && embedding == o.embedding && lm_head == o.lm_head &&
         other == o.other;
}

std::optional<QuantPolicy> parse_quant_policy(const std::string& text) {
  std::string t = lower(text);
  if (t == "default" || t == "linear") return QuantPolicy{};
  QuantPolicy none{false, false, false, false, false, false, false, false};
  if (t == "experts") {
    QuantPolicy p = none;
    p.experts_routed = p.experts_shared = true;
    return p;
  }
  if (t == "routed") {
    QuantPolicy p = none;
    p.experts_routed = true;
    return p;
  }
  if (t == "all") return QuantPolicy{true, true, true, true, true, true, true, true};
  QuantPolicy p = none;
  std::stringstream ss(t);
  std::string w;
  bool any = false;
  while (std::getline(ss, w, ',')) {
    if (w == "attention") p.attention = true;
    else if (w == "mlp") p.mlp = true;
    else if (w == "experts") p.experts_routed = p.experts_shared = true;
    else if (w == "routed") p.experts_routed = true;
    else if (w == "shared") p.experts_shared = true;
    else if (w == "router") p.router = true;
    else if (w == "embedding") p.embedding = true;
    else if (w == "lm_head") p.lm_head = true;
    else if (w == "other") p.other = true;
    else return std::nullopt;
    any = true;
  }
  if (!any) return std::nullopt;
  return p;
}

std::string quant_policy_name(const QuantPolicy& p) {
  if (p == QuantPolicy{}) return "default";
  if (p == QuantPolicy{true, true, true, true, true, true, true, true}) return "all";
  std::vector<std::string> w;
  if (p.attention) w.push_back("attention");
  if (p.mlp) w.push_back("mlp");
  if (p.experts_routed && p.experts_shared) w.push_back("experts");
  else if (p.experts_routed) w.push_back("routed");
  else if (p.experts_shared) w.push_back("shared");
  if (p.router) w.push_back("router");
  if (p.embedding) w.push_back("embedding");
  if (p.lm_head) w.push_back("lm_head");
  if (p.other) w.push_back("other");
  if (w.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) out += (i ? "," : "") + w[i];
  return out;
}

int64_t matrix_bytes(int64_t rows, int64_t row_len, QuantScheme s) {
  const int64_t n = checked_mul(rows, row_len);
  switch (s) {
    case QuantScheme::FP32: return checked_mul(n, 4);
    case QuantScheme::BF16:
    case QuantScheme::FP16: return checked_mul(n, 2);
    case QuantScheme::FP8: return checked_add(n, 4);  // e4m3 + one fp32 scale per tensor
    case QuantScheme::FP8Block128:                     // e4m3 + fp32 per 128 x 128 block
      return checked_add(n, checked_mul(4, checked_mul(ceil_div(rows, 128), ceil_div(row_len, 128))));
    case QuantScheme::INT8: return checked_add(n, checked_mul(2, rows));  // fp16 scale per output row
    case QuantScheme::INT4_G128: {  // nibbles packed per row + fp16 scale per 128 inputs
      int64_t groups = checked_mul(rows, ceil_div(row_len, 128));
      return checked_add(checked_mul(rows, ceil_div(row_len, 2)), checked_mul(2, groups));
    }
    case QuantScheme::AWQ_G128: {  // + 4-bit zero per group, packed over the tensor
      int64_t groups = checked_mul(rows, ceil_div(row_len, 128));
      return checked_add(checked_add(checked_mul(rows, ceil_div(row_len, 2)), checked_mul(2, groups)),
                         ceil_div(groups, 2));
    }
    case QuantScheme::NF4: {  // bitsandbytes: flattened, fp32 absmax per 64 elements
      int64_t blocks = ceil_div(n, 64);
      return checked_add(ceil_div(n, 2), checked_mul(4, blocks));
    }
    case QuantScheme::NF4_DQ: {  // absmax as 8 bits per 64-block, fp32 scale per 256 blocks
      int64_t blocks = ceil_div(n, 64);
      return checked_add(checked_add(ceil_div(n, 2), blocks), checked_mul(4, ceil_div(blocks, 256)));
    }
    case QuantScheme::MXFP4:  // 32-element blocks along the row: 16 B of e2m1 + 1 B e8m0 scale
      return checked_mul(rows, checked_mul(ceil_div(row_len, 32), 17));
    case QuantScheme::NVFP4:  // 16-element blocks: 8 B of e2m1 + 1 B e4m3 scale; fp32 per tensor
      return checked_add(checked_mul(rows, checked_mul(ceil_div(row_len, 16), 9)), 4);
    default: {
      Gguf g = gguf_fit(gguf_base(s), row_len);
      return gguf_bytes(g, rows, row_len);
    }
  }
}

std::string stored_format(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  if (!quantized_by(t, s, p)) return "bf16";
  if (!is_gguf(s)) return quant_scheme_name(s);
  int64_t rows = 0, row_len = 0;
  rows_of(t, rows, row_len);
  Gguf g = (s == QuantScheme::Q4_K_M || s == QuantScheme::Q5_K_M) ? gguf_mix_type(t, s, site) : gguf_base(s);
  return gguf_info(gguf_fit(g, row_len)).name;
}

int64_t tensor_read_bytes(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  int64_t rows = 0, row_len = 0;
  rows_of(t, rows, row_len);
  if (t.numel == 0) return 0;
  if (!quantized_by(t, s, p)) return checked_mul(t.numel, 2);
  if (!is_gguf(s)) return matrix_bytes(rows, row_len, s);
  Gguf g = (s == QuantScheme::Q4_K_M || s == QuantScheme::Q5_K_M) ? gguf_mix_type(t, s, site) : gguf_base(s);
  return gguf_bytes(gguf_fit(g, row_len), rows, row_len);
}

int64_t tensor_bytes(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  if (t.tied) return 0;
  return tensor_read_bytes(t, s, p, site);
}

}  // namespace llmcost
