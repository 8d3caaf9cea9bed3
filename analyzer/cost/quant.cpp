// Quantization schemes: names, policies and the exact stored bytes of one tensor.
#include "llmcost/quant.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "llmcost/error.h"

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
  if (s == QuantScheme::Auto) return !(t.stored == plain_stored_format("bf16"));
  if (t.use == TensorUse::Vector) return false;
  return p.covers(t.group);
}

int64_t gguf_bytes(Gguf g, int64_t rows, int64_t row_len) {
  GgufInfo info = gguf_info(g);
  return checked_mul(rows, checked_mul(row_len / info.block, info.block_bytes));
}

}  // namespace

const std::array<QuantScheme, kNumQuantSchemes>& all_quant_schemes() { return kAll; }

const char* quant_scheme_name(QuantScheme s) { return s == QuantScheme::Auto ? "auto" : kNames[static_cast<int>(s)]; }

std::optional<QuantScheme> parse_quant_scheme(const std::string& name) {
  std::string n = lower(name);
  if (n == "auto") return QuantScheme::Auto;
  for (int i = 0; i < kNumQuantSchemes; ++i)
    if (n == kNames[i]) return static_cast<QuantScheme>(i);
  return std::nullopt;
}

std::string quant_scheme_names() {
  std::string out = "auto";
  for (int i = 0; i < kNumQuantSchemes; ++i) out += "|" + std::string(kNames[i]);
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

std::optional<StoredFormat> scheme_stored_format(QuantScheme s) {
  StoredFormat f;
  switch (s) {
    case QuantScheme::FP32: f.elem = StoredElem::F32; f.bits = 32; f.compute = StoredCompute::FP32; return f;
    case QuantScheme::BF16: return f;
    case QuantScheme::FP16: f.elem = StoredElem::F16; return f;
    case QuantScheme::FP8:  // e4m3 + one fp32 scale per tensor
      f.elem = StoredElem::FP8E4M3; f.bits = 8; f.fixed_bytes = 4; f.compute = StoredCompute::FP8;
      return f;
    case QuantScheme::FP8Block128:  // e4m3 + fp32 per 128 x 128 block
      f.elem = StoredElem::FP8E4M3; f.bits = 8; f.block_rows = f.block_cols = 128; f.scale = StoredScale::F32;
      f.compute = StoredCompute::FP8;
      return f;
    case QuantScheme::INT8:  // fp16 scale per output row
      f.elem = StoredElem::Int; f.bits = 8; f.block_rows = 1; f.scale = StoredScale::F16; f.compute = StoredCompute::INT8;
      return f;
    case QuantScheme::INT4_G128:  // nibbles packed per row + fp16 scale per 128 inputs
    case QuantScheme::AWQ_G128:   // + 4-bit zero per group, packed over the tensor
      f.elem = StoredElem::Int; f.bits = 4; f.block_rows = 1; f.block_cols = 128; f.scale = StoredScale::F16;
      if (s == QuantScheme::AWQ_G128) { f.zero_bits = 4; f.zero_pack = StoredPack::Flat; f.zero_word_bits = 8; }
      return f;
    case QuantScheme::NF4:     // bitsandbytes: flattened, fp32 absmax per 64 elements
    case QuantScheme::NF4_DQ:  // absmax as 8 bits per 64-block, fp32 scale per 256 blocks
      f.elem = StoredElem::NF4; f.bits = 4; f.pack = StoredPack::Flat; f.block_cols = 64;
      f.scale = s == QuantScheme::NF4 ? StoredScale::F32 : StoredScale::U8;
      if (s == QuantScheme::NF4_DQ) f.nested_block = 256;
      return f;
    case QuantScheme::MXFP4:  // 32-element blocks along the row: 16 B of e2m1 + 1 B e8m0 scale
      f.elem = StoredElem::E2M1; f.bits = 4; f.pad_to_block = true; f.block_rows = 1; f.block_cols = 32;
      f.scale = StoredScale::E8M0;
      return f;
    case QuantScheme::NVFP4:  // 16-element blocks: 8 B of e2m1 + 1 B e4m3 scale; fp32 per tensor
      f.elem = StoredElem::E2M1; f.bits = 4; f.pad_to_block = true; f.block_rows = 1; f.block_cols = 16;
      f.scale = StoredScale::FP8E4M3; f.fixed_bytes = 4;
      return f;
    default: return std::nullopt;
  }
}

namespace {
int64_t scale_bytes(StoredScale s) {
  switch (s) {
    case StoredScale::None: return 0;
    case StoredScale::F32: return 4;
    case StoredScale::F16:
    case StoredScale::BF16: return 2;
    case StoredScale::FP8E4M3:
    case StoredScale::E8M0:
    case StoredScale::U8: return 1;
  }
  return 0;
}
// Words of `word_bits` holding n elements of `bits` each, in bytes (elements never straddle words).
int64_t packed_bytes(int64_t n, int64_t bits, int64_t word_bits) {
  if (bits >= word_bits) return checked_mul(n, bits / 8);  // 16 / 32-bit elements are their own words
  return checked_mul(ceil_div(n, word_bits / bits), word_bits / 8);
}
}  // namespace

int64_t stored_bytes(const StoredFormat& f, int64_t rows, int64_t row_len) {
  const int64_t n = checked_mul(rows, row_len);
  const int64_t sb = scale_bytes(f.scale);
  if (f.pack == StoredPack::Flat) {  // bitsandbytes: the flattened tensor in blocks of block_cols
    int64_t b = packed_bytes(n, f.bits, f.word_bits);
    if (sb > 0 && f.block_cols > 0) {
      const int64_t blocks = ceil_div(n, f.block_cols);
      b = checked_add(b, checked_mul(blocks, sb));
      if (f.nested_block > 0) b = checked_add(b, checked_mul(ceil_div(blocks, f.nested_block), 4));
    }
    return checked_add(b, f.fixed_bytes);
  }
  const int64_t br = f.block_rows > 0 ? f.block_rows : rows;
  const int64_t bc = f.block_cols > 0 ? f.block_cols : row_len;
  const int64_t grid_rows = sb > 0 && rows > 0 ? ceil_div(rows, std::max<int64_t>(br, 1)) : 0;
  const int64_t grid_cols = sb > 0 && row_len > 0 ? ceil_div(row_len, std::max<int64_t>(bc, 1)) : 0;
  // Elements: packed along each row (padded to whole blocks for the MX / NV block formats), or
  // across the rows (AWQ's qweight [in, out / 8]).
  int64_t b = 0;
  if (f.pack == StoredPack::Row) {
    const int64_t len = f.pad_to_block && f.block_cols > 0 ? checked_mul(ceil_div(row_len, f.block_cols), f.block_cols) : row_len;
    b = checked_mul(rows, packed_bytes(len, f.bits, f.word_bits));
  } else {
    b = checked_mul(row_len, packed_bytes(rows, f.bits, f.word_bits));
  }
  const int64_t n_scales = checked_mul(grid_rows, grid_cols);
  b = checked_add(b, checked_mul(n_scales, sb));
  if (f.zero_bits > 0 && n_scales > 0) {
    if (f.zero_pack == StoredPack::Flat)
      b = checked_add(b, packed_bytes(n_scales, f.zero_bits, f.zero_word_bits));
    else  // packed across the grid's rows: [ceil(grid_rows / per_word), grid_cols] words
      b = checked_add(b, checked_mul(grid_cols, packed_bytes(grid_rows, f.zero_bits, f.zero_word_bits)));
  }
  b = checked_add(b, checked_mul(row_len, f.index_bytes_per_col));
  return checked_add(b, f.fixed_bytes);
}

StoredFormat plain_stored_format(const std::string& torch_dtype) {
  StoredFormat f;
  const std::string d = lower(torch_dtype);
  if (d == "float32" || d == "fp32") {
    f.elem = StoredElem::F32;
    f.bits = 32;
    f.compute = StoredCompute::FP32;
  } else if (d == "float16" || d == "fp16" || d == "half") {
    f.elem = StoredElem::F16;
  }
  return f;
}

const char* stored_compute_name(StoredCompute c) {
  switch (c) {
    case StoredCompute::BF16: return "bf16";
    case StoredCompute::FP32: return "fp32";
    case StoredCompute::FP8: return "fp8";
    case StoredCompute::INT8: return "int8";
    case StoredCompute::FP4: return "fp4";
  }
  return "bf16";
}

std::string stored_format_name(const StoredFormat& f) {
  auto scale_name = [](StoredScale s) {
    switch (s) {
      case StoredScale::F32: return "fp32";
      case StoredScale::F16: return "fp16";
      case StoredScale::BF16: return "bf16";
      case StoredScale::FP8E4M3: return "fp8";
      case StoredScale::E8M0: return "e8m0";
      case StoredScale::U8: return "u8";
      case StoredScale::None: break;
    }
    return "";
  };
  std::string out;
  switch (f.elem) {
    case StoredElem::F32: return "fp32";
    case StoredElem::BF16: return "bf16";
    case StoredElem::F16: return "fp16";
    case StoredElem::FP8E4M3: out = "fp8_e4m3"; break;
    case StoredElem::Int: out = "int" + std::to_string(f.bits); break;
    case StoredElem::E2M1: out = f.scale == StoredScale::FP8E4M3 ? "nvfp4" : f.scale == StoredScale::E8M0 || f.scale == StoredScale::U8 ? "mxfp4" : "fp4_e2m1"; break;
    case StoredElem::NF4: out = "nf4"; break;
    case StoredElem::FP4: out = "fp4"; break;
  }
  if (f.scale != StoredScale::None) {
    out += std::string(" + ") + scale_name(f.scale) + " scale per ";
    if (f.pack == StoredPack::Flat) out += std::to_string(f.block_cols);
    else if (f.block_rows == 0 && f.block_cols == 0) out += "tensor";
    else if (f.block_rows == 1 && f.block_cols == 0) out += "row";
    else if (f.block_rows == 1) out += std::to_string(f.block_cols);
    else out += std::to_string(f.block_rows) + "x" + std::to_string(f.block_cols);
  }
  if (f.nested_block > 0) out += " (fp32 per " + std::to_string(f.nested_block) + ")";
  if (f.zero_bits > 0) out += " + " + std::to_string(f.zero_bits) + "-bit zeros";
  if (f.index_bytes_per_col > 0) out += " + g_idx";
  if (f.fixed_bytes > 0) out += " + " + std::to_string(f.fixed_bytes) + " B per tensor";
  return out;
}

int64_t matrix_bytes(int64_t rows, int64_t row_len, QuantScheme s) {
  if (s == QuantScheme::Auto) throw Error("matrix_bytes: `auto` has no single format (each tensor carries its own)", ErrorKind::Internal);
  if (auto f = scheme_stored_format(s)) return stored_bytes(*f, rows, row_len);
  Gguf g = gguf_fit(gguf_base(s), row_len);
  return gguf_bytes(g, rows, row_len);
}

std::string stored_format(const Tensor& t, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  if (s == QuantScheme::Auto) return stored_format_name(t.stored);
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
  if (s == QuantScheme::Auto) return stored_bytes(t.stored, rows, row_len);
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
