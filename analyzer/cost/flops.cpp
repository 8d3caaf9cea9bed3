// FLOPs: 2 x weights multiplied per token plus core attention, for decode and causal prefill.
#include "llmcost/flops.h"

#include <algorithm>

#include "llmcost/kv_cache.h"
#include "llmcost/value.h"

namespace llmcost {

int64_t op_matmul_flops(const Op& op, int64_t copy_rows) {
  int64_t n = 0;
  for (const auto& t : op.tensors)
    if (t.use == TensorUse::Matmul) n = checked_add(n, t.numel);  // tied lm_head multiplies too
  return checked_mul(2, checked_mul(n, copy_rows));
}

int64_t op_matmul_flops_per_token(const Op& op) { return op_matmul_flops(op, op.active_copies()); }

// FLOPs per attended position for one query token.
static int64_t attention_flops_per_position(const AttentionSpec& a) {
  if (a.type == AttentionType::MLA) {
    // Absorbed form: scores over the latent + rope dims, values over the latent.
    return checked_add(checked_mul(2, checked_mul(a.n_heads, checked_add(a.kv_lora_rank, a.qk_rope_head_dim))),
                       checked_mul(2, checked_mul(a.n_heads, a.kv_lora_rank)));
  }
  // q.k over head_dim, p.v over v_head_dim, for every query head.
  return checked_mul(2, checked_mul(a.n_heads, checked_add(a.head_dim, a.v_head_dim)));
}

int64_t attention_core_flops(const AttentionSpec& a, int64_t attended) {
  return checked_mul(attention_flops_per_position(a), attended);
}

// sum over i = 1..n of min(i / ratio, cap) (cap 0: uncapped): the compressed entries query i sees.
static int64_t compressed_pairs(int64_t n, int64_t ratio, int64_t cap) {
  const int64_t q = n / ratio, r = n % ratio;
  // Entries k = 1..q-1 are seen by `ratio` queries each, entry count q by the last r + 1.
  auto below = [&](int64_t k) { return checked_mul(ratio, k % 2 == 0 ? checked_mul(k / 2, k - 1) : checked_mul(k, (k - 1) / 2)); };
  if (cap <= 0 || q <= cap) return checked_add(below(q), checked_mul(q, r + 1));
  return checked_add(below(cap), checked_mul(cap, n - cap * ratio + 1));
}

int64_t prefill_attended_pairs(const AttentionSpec& a, int64_t tokens) {
  if (tokens <= 0) return 0;
  if (a.compress_ratio > 0) {
    // The raw window's pairs plus the compressed entries each query sees (capped at index_topk).
    AttentionSpec raw = a;
    raw.compress_ratio = 0;
    raw.index_topk = 0;
    return checked_add(prefill_attended_pairs(raw, tokens), compressed_pairs(tokens, a.compress_ratio, a.index_topk));
  }
  auto tri = [](int64_t n) { return n % 2 == 0 ? checked_mul(n / 2, n + 1) : checked_mul(n, (n + 1) / 2); };
  // A top-k cap counts as a window does: token i attends min(i, k) positions.
  int64_t window = a.sliding_window;
  if (a.index_topk > 0) window = window > 0 ? std::min(window, a.index_topk) : a.index_topk;
  if (a.chunk_size > 0) {
    // Token i attends within its chunk: full chunks each give chunk(chunk+1)/2 pairs.
    int64_t c = a.chunk_size;
    if (window > 0) c = std::min(c, window);  // both caps: not seen in practice
    int64_t full = tokens / a.chunk_size, rest = tokens % a.chunk_size;
    if (c == a.chunk_size) return checked_add(checked_mul(full, tri(c)), tri(rest));
  }
  if (window > 0 && tokens > window) {
    // The first w tokens attend 1..w positions, the remaining each attend w.
    int64_t w = window;
    return checked_add(tri(w), checked_mul(tokens - w, w));
  }
  return tri(tokens);
}

int64_t indexer_flops_per_position(const AttentionSpec& a) {
  if (a.index_n_heads <= 0) return 0;
  return checked_mul(2, checked_mul(a.index_n_heads, checked_add(a.index_head_dim, 1)));
}

int64_t prefill_indexed_pairs(const AttentionSpec& a, int64_t tokens) {
  if (a.index_n_heads <= 0) return 0;
  if (a.compress_ratio > 0) return compressed_pairs(tokens, a.compress_ratio, 0);  // every compressed entry
  AttentionSpec all = a;
  all.index_topk = 0;  // the indexer scores every causal pair, then picks the top k
  return prefill_attended_pairs(all, tokens);
}

int64_t recurrent_flops_per_token(const RecurrentSpec& r) {
  const int64_t conv = checked_mul(2, checked_mul(r.conv_dim, r.conv_kernel));
  const int64_t per_head = checked_mul(r.k_head_dim, r.v_head_dim);
  const int64_t c = r.type == RecurrentType::Mamba2 ? 5 : 7;
  return checked_add(conv, checked_mul(c, checked_mul(r.n_heads, per_head)));
}

// Re-throws an int64 overflow inside a FLOP count as an error that names the count.
template <class F>
static auto overflow_as(const std::string& what, F f) {
  try {
    return f();
  } catch (const Error&) {
    throw Error(what + ": FLOPs exceed 64-bit integers (9.2e18)");
  }
}

static DecodeFlops decode_impl(const ModelIR& ir, int64_t context) {
  DecodeFlops f;
  f.context = context;
  auto visit = [&](const Op& op) {
    f.matmul = checked_add(f.matmul, op_matmul_flops_per_token(op));
    if (op.kind == OpKind::Attention)
      f.attention = checked_add(f.attention, checked_add(attention_core_flops(op.attn, attended_positions(op.attn, context)),
                                                         checked_mul(indexer_flops_per_position(op.attn),
                                                                     indexer_cached_tokens(op.attn, context))));
    if (op.kind == OpKind::Recurrent) f.attention = checked_add(f.attention, recurrent_flops_per_token(op.rec));
  };
  for (const auto& op : ir.pre) visit(op);
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops) visit(op);
  for (const auto& op : ir.post) visit(op);
  f.total = checked_add(f.matmul, f.attention);
  return f;
}

DecodeFlops decode_flops_per_token(const ModelIR& ir, int64_t context) {
  if (context < 1) throw Error("decode FLOPs: context must be >= 1 token, got " + std::to_string(context));
  return overflow_as("decode FLOPs at context " + std::to_string(context), [&] { return decode_impl(ir, context); });
}

static PrefillFlops prefill_impl(const ModelIR& ir, int64_t tokens) {
  PrefillFlops f;
  f.tokens = tokens;
  int64_t per_token = 0;
  auto visit = [&](const Op& op) {
    per_token = checked_add(per_token, op_matmul_flops_per_token(op));
    if (op.kind == OpKind::Attention)
      f.attention = checked_add(f.attention, checked_add(checked_mul(attention_flops_per_position(op.attn),
                                                                     prefill_attended_pairs(op.attn, tokens)),
                                                         checked_mul(indexer_flops_per_position(op.attn),
                                                                     prefill_indexed_pairs(op.attn, tokens))));
    if (op.kind == OpKind::Recurrent)
      f.attention = checked_add(f.attention, checked_mul(recurrent_flops_per_token(op.rec), tokens));
  };
  for (const auto& op : ir.pre) visit(op);
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops) visit(op);
  for (const auto& op : ir.post) visit(op);
  f.matmul = checked_mul(per_token, tokens);
  f.total = checked_add(f.matmul, f.attention);
  return f;
}

PrefillFlops prefill_flops(const ModelIR& ir, int64_t tokens) {
  if (tokens < 1) throw Error("prefill FLOPs: tokens must be >= 1, got " + std::to_string(tokens));
  return overflow_as("prefill FLOPs of " + std::to_string(tokens) + " tokens", [&] { return prefill_impl(ir, tokens); });
}

}  // namespace llmcost
