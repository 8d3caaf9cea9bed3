// KV-cache bytes per token and at a context: GQA/MQA/MHA, MLA latent, windows and chunks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "llmcost/model_ir.h"

namespace llmcost {

// Element type of the cached keys/values. Element size only: per-group scales that some
// engines keep for fp8/int8/int4 caches are not counted.
enum class KvDtype { BF16, FP8, INT8, INT4 };
constexpr int kNumKvDtypes = 4;
const std::array<KvDtype, kNumKvDtypes>& all_kv_dtypes();
const char* kv_dtype_name(KvDtype d);  // "bf16", "fp8", "int8", "int4"
std::optional<KvDtype> parse_kv_dtype(const std::string& name);
int kv_dtype_bits(KvDtype d);  // 16, 8, 8, 4

// Compressed entries of a compressed-attention layer at `context`: context / compress_ratio (0 without).
int64_t compressed_entries(const AttentionSpec& a, int64_t context);
// Cached entries of an attention op at context `context`: min(context, window or chunk), plus
// context / compress_ratio compressed entries on a compressed-attention layer (DeepSeek-V4).
int64_t kv_cached_tokens(const AttentionSpec& a, int64_t context);
// Positions one query at `context` attends: the cached ones, at most index_topk under DeepSeek
// Sparse Attention (the indexer picks them; decode reads only those cache entries). Compressed
// attention: the window plus the compressed entries, of which at most index_topk.
int64_t attended_positions(const AttentionSpec& a, int64_t context);
// Keys in the layer's indexer cache at `context` (and positions the indexer scores per query): the
// cached positions, or the compressed entries on a compressed layer; 0 without an indexer.
int64_t indexer_cached_tokens(const AttentionSpec& a, int64_t context);
// Constant per-sequence state of a compressed layer's compressors (DeepSeek-V4 Compressor kv_state and
// score_state, fp32, [coff x ratio, coff x head_dim] each, coff 2 with overlapping windows; plus the
// indexer's compressor at index_head_dim); 0 on other layers. Counted in KvCache::state_bytes_per_sequence.
int64_t compressor_state_bytes(const AttentionSpec& a);
// Bytes one token adds to a layer's sparse-attention indexer key cache, whatever the KV dtype:
// DeepSeek-V3.2's inference code caches the index_head_dim-wide key in float8_e4m3 with one fp32
// scale per 128 elements (index_head_dim + 4 x ceil(index_head_dim / 128)); 0 without an indexer.
int64_t indexer_key_bytes_per_token(const AttentionSpec& a);

// Bytes one token adds to one attention layer's cache (rounded up to whole bytes per layer):
// Standard: n_kv_heads x (head_dim + v_head_dim) x bits/8 (n_kv_heads x head_dim when K = V, shared_kv); MLA: (kv_lora_rank + qk_rope_head_dim) x bits/8.
int64_t kv_layer_bytes_per_token(const AttentionSpec& a, KvDtype d);
// MLA expanded (naive) cache: n_heads x (qk_nope + qk_rope + v_head_dim) x bits/8; Standard: as above.
int64_t kv_layer_expanded_bytes_per_token(const AttentionSpec& a, KvDtype d);
// Whether an attention op keeps a cache of its own: false for a layer that reads the keys and values
// another layer cached (AttentionSpec::kv_shared_from, Gemma 4 num_kv_shared_layers). Such a layer
// still attends (its FLOPs and its reads of the other layer's cache count) but holds and writes no
// cache: kv_cache() and the memory plans skip it, a prefill writes nothing for it.
bool kv_cache_owned(const AttentionSpec& a);

// Bytes of one recurrent layer's state for one sequence, whatever the context (rounded up to whole
// bytes per part): conv state conv_dim x (conv_kernel - 1) x conv_state_bits / 8 (the inputs the
// causal conv still needs, as vLLM's mamba cache keeps them) + recurrent state n_heads x k_head_dim
// x v_head_dim x state_bits / 8. The KV dtype does not apply: the state keeps its own dtype.
int64_t recurrent_conv_state_bytes(const RecurrentSpec& r);
int64_t recurrent_ssm_state_bytes(const RecurrentSpec& r);
int64_t recurrent_state_bytes(const RecurrentSpec& r);

struct KvCache {
  KvDtype dtype = KvDtype::BF16;
  int64_t context = 0;                   // tokens per sequence asked for
  int64_t bytes_per_token = 0;           // sum over layers, no window cap (indexer key caches included)
  int64_t indexer_bytes_per_token = 0;   // of which sparse-attention indexer keys
  int64_t bytes_at_context = 0;          // one sequence at `context`, windows / chunks applied, + its recurrent state
  int64_t expanded_bytes_per_token = 0;  // MLA: decompressed K and V per token; else == bytes_per_token
  int64_t expanded_bytes_at_context = 0;
  int64_t n_attention_layers = 0;        // attention layers that keep a cache of their own
  int64_t n_capped_layers = 0;           // of those, the layers whose window / chunk is below `context`
  int64_t n_shared_layers = 0;           // attention layers reading another layer's cache (none of their own)
  // Recurrent layers' constant state (conv + ssm) and compressor states, in bytes_at_context.
  int64_t state_bytes_per_sequence = 0;
  int64_t n_recurrent_layers = 0;
};

// Main model only (MTP layers excluded). context >= 0.
KvCache kv_cache(const ModelIR& ir, int64_t context, KvDtype d);

}  // namespace llmcost
