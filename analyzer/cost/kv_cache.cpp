// KV-cache sizes: per token and at a context, for standard and MLA attention, windows capped.
#include "llmcost/kv_cache.h"

#include <algorithm>
#include <cctype>

#include "llmcost/value.h"

namespace llmcost {

namespace {
constexpr std::array<KvDtype, kNumKvDtypes> kAllKv = {KvDtype::BF16, KvDtype::FP8, KvDtype::INT8, KvDtype::INT4};
constexpr const char* kKvNames[kNumKvDtypes] = {"bf16", "fp8", "int8", "int4"};

// Elements x bits rounded up to whole bytes.
int64_t bits_to_bytes(int64_t elements, int bits) { return (checked_mul(elements, bits) + 7) / 8; }
}  // namespace

const std::array<KvDtype, kNumKvDtypes>& all_kv_dtypes() { return kAllKv; }
const char* kv_dtype_name(KvDtype d) { return kKvNames[static_cast<int>(d)]; }

std::optional<KvDtype> parse_kv_dtype(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < kNumKvDtypes; ++i)
    if (n == kKvNames[i]) return static_cast<KvDtype>(i);
  return std::nullopt;
}

int kv_dtype_bits(KvDtype d) {
  switch (d) {
    case KvDtype::BF16: return 16;
    case KvDtype::FP8: return 8;
    case KvDtype::INT8: return 8;
    case KvDtype::INT4: return 4;
  }
  return 16;
}

int64_t compressed_entries(const AttentionSpec& a, int64_t context) {
  return a.compress_ratio > 0 ? std::max<int64_t>(context, 0) / a.compress_ratio : 0;
}

int64_t kv_cached_tokens(const AttentionSpec& a, int64_t context) {
  int64_t c = std::max<int64_t>(context, 0);
  if (a.sliding_window > 0) c = std::min(c, a.sliding_window);
  if (a.chunk_size > 0) c = std::min(c, a.chunk_size);
  // Compressed attention (DeepSeek-V4 Attention.kv_cache: window_size + max_seq_len // ratio rows).
  return checked_add(c, compressed_entries(a, context));
}

int64_t attended_positions(const AttentionSpec& a, int64_t context) {
  if (a.compress_ratio > 0) {
    // The raw window plus the compressed entries, all of them or the index_topk the indexer picks.
    const int64_t comp = compressed_entries(a, context);
    return checked_add(kv_cached_tokens(a, context) - comp, a.index_topk > 0 ? std::min(comp, a.index_topk) : comp);
  }
  int64_t c = kv_cached_tokens(a, context);
  return a.index_topk > 0 ? std::min(c, a.index_topk) : c;
}

int64_t indexer_cached_tokens(const AttentionSpec& a, int64_t context) {
  if (a.index_n_heads <= 0) return 0;
  return a.compress_ratio > 0 ? compressed_entries(a, context) : kv_cached_tokens(a, context);
}

int64_t indexer_key_bytes_per_token(const AttentionSpec& a) {
  if (a.index_n_heads <= 0) return 0;
  return checked_add(a.index_head_dim, checked_mul(4, (a.index_head_dim + 127) / 128));
}

int64_t compressor_state_bytes(const AttentionSpec& a) {
  if (a.compress_ratio <= 0) return 0;
  // DeepSeek-V4 Compressor kv_state + score_state: fp32 [coff x ratio, coff x head_dim] each,
  // coff = 2 with overlapping windows; the indexer's compressor the same at index_head_dim.
  const int64_t coff = a.compress_overlap ? 2 : 1;
  auto state = [&](int64_t head_dim) {
    return checked_mul(2 * 4, checked_mul(checked_mul(coff, a.compress_ratio), checked_mul(coff, head_dim)));
  };
  int64_t b = state(a.head_dim);
  if (a.index_n_heads > 0) b = checked_add(b, state(a.index_head_dim));
  return b;
}

int64_t kv_layer_bytes_per_token(const AttentionSpec& a, KvDtype d) {
  if (a.type == AttentionType::MLA) return bits_to_bytes(checked_add(a.kv_lora_rank, a.qk_rope_head_dim), kv_dtype_bits(d));
  if (a.shared_kv) return bits_to_bytes(checked_mul(a.n_kv_heads, a.head_dim), kv_dtype_bits(d));  // K = V
  return bits_to_bytes(checked_mul(a.n_kv_heads, checked_add(a.head_dim, a.v_head_dim)), kv_dtype_bits(d));
}

int64_t kv_layer_expanded_bytes_per_token(const AttentionSpec& a, KvDtype d) {
  if (a.type != AttentionType::MLA) return kv_layer_bytes_per_token(a, d);
  // Decompressed per head: K = qk_nope + qk_rope, V = v_head_dim.
  int64_t per_head = checked_add(checked_add(a.qk_nope_head_dim, a.qk_rope_head_dim), a.v_head_dim);
  return bits_to_bytes(checked_mul(a.n_heads, per_head), kv_dtype_bits(d));
}

bool kv_cache_owned(const AttentionSpec& a) { return a.kv_shared_from < 0; }

int64_t recurrent_conv_state_bytes(const RecurrentSpec& r) {
  if (r.conv_dim <= 0 || r.conv_kernel <= 1) return 0;
  return bits_to_bytes(checked_mul(r.conv_dim, r.conv_kernel - 1), r.conv_state_bits);
}

int64_t recurrent_ssm_state_bytes(const RecurrentSpec& r) {
  return bits_to_bytes(checked_mul(r.n_heads, checked_mul(r.k_head_dim, r.v_head_dim)), r.state_bits);
}

int64_t recurrent_state_bytes(const RecurrentSpec& r) {
  return checked_add(recurrent_conv_state_bytes(r), recurrent_ssm_state_bytes(r));
}

KvCache kv_cache(const ModelIR& ir, int64_t context, KvDtype d) {
  if (context < 0) throw Error("kv_cache: context must be >= 0, got " + std::to_string(context));
  KvCache kv;
  kv.dtype = d;
  kv.context = context;
  try {
    for (const auto& L : ir.layers)
      for (const auto& op : L.ops) {
        if (op.kind == OpKind::Recurrent) {
          kv.n_recurrent_layers++;
          kv.state_bytes_per_sequence = checked_add(kv.state_bytes_per_sequence, recurrent_state_bytes(op.rec));
          continue;
        }
        if (op.kind != OpKind::Attention) continue;
        const AttentionSpec& a = op.attn;
        if (!kv_cache_owned(a)) {
          kv.n_shared_layers++;
          continue;
        }
        const int64_t index_tok = indexer_key_bytes_per_token(a);
        int64_t per_tok = checked_add(kv_layer_bytes_per_token(a, d), index_tok);
        int64_t expanded = checked_add(kv_layer_expanded_bytes_per_token(a, d), index_tok);
        kv.indexer_bytes_per_token = checked_add(kv.indexer_bytes_per_token, index_tok);
        int64_t cached = kv_cached_tokens(a, context);
        kv.n_attention_layers++;
        if (cached < context || a.compress_ratio > 0) kv.n_capped_layers++;
        kv.bytes_per_token = checked_add(kv.bytes_per_token, per_tok);
        kv.expanded_bytes_per_token = checked_add(kv.expanded_bytes_per_token, expanded);
        // The indexer keys: one per cached position, or per compressed entry.
        const int64_t index_at = checked_mul(index_tok, indexer_cached_tokens(a, context));
        kv.bytes_at_context = checked_add(kv.bytes_at_context, checked_add(checked_mul(per_tok - index_tok, cached), index_at));
        kv.expanded_bytes_at_context =
            checked_add(kv.expanded_bytes_at_context, checked_add(checked_mul(expanded - index_tok, cached), index_at));
        kv.state_bytes_per_sequence = checked_add(kv.state_bytes_per_sequence, compressor_state_bytes(a));
      }
    kv.bytes_at_context = checked_add(kv.bytes_at_context, kv.state_bytes_per_sequence);
    kv.expanded_bytes_at_context = checked_add(kv.expanded_bytes_at_context, kv.state_bytes_per_sequence);
  } catch (const Error&) {
    throw Error("KV cache at context " + std::to_string(context) + ": bytes exceed 64-bit integers (9.2e18)",
                ErrorKind::Unsupported);
  }
  return kv;
}

}  // namespace llmcost
