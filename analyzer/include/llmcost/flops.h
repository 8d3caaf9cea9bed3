// FLOPs per token in decode and for a prefill, per op and in total (formulas in analyzer/cost/flops.cpp).
#pragma once

#include <cstdint>

#include "llmcost/model_ir.h"

namespace llmcost {

// Matmul FLOPs of one op when `copy_rows` token rows go through one copy of its weights each
// (routed experts: the sum over experts of the tokens each expert took): 2 x weights of one copy
// multiplied x copy_rows (a tied lm_head counts). Gathered tables and Vector tensors: 0.
int64_t op_matmul_flops(const Op& op, int64_t copy_rows);
// Matmul FLOPs of one op for one token: op_matmul_flops(op, active copies) (routed experts: top_k).
int64_t op_matmul_flops_per_token(const Op& op);

// Core attention FLOPs (scores + weighted values) of one token attending to `attended`
// positions: Standard 2 x n_heads x (head_dim + v_head_dim) x attended (= 4 x n_heads x head_dim
// x attended when v_head_dim == head_dim); MLA absorbed 2 x n_heads x attended x
// (kv_lora_rank + qk_rope_head_dim) + 2 x n_heads x attended x kv_lora_rank.
int64_t attention_core_flops(const AttentionSpec& a, int64_t attended);

// Positions attended in total by a causal prefill of `tokens` tokens: token i (1-based)
// attends to min(i, window) positions, or within its chunk ((i-1) mod chunk) + 1; full
// attention gives tokens x (tokens + 1) / 2, the causal half of the S x S matrix.
// Under DeepSeek Sparse Attention each token attends at most index_topk of those positions.
int64_t prefill_attended_pairs(const AttentionSpec& a, int64_t tokens);
// Sparse-attention indexer: FLOPs to score one (query, position) pair, 2 x index_n_heads x
// index_head_dim (q.k per head) + 2 x index_n_heads (per-head weights, summed); 0 without one.
// It scores every cached position: decode kv_cached_tokens, prefill the uncapped causal pairs.
int64_t indexer_flops_per_position(const AttentionSpec& a);
int64_t prefill_indexed_pairs(const AttentionSpec& a, int64_t tokens);

// Recurrent mixer FLOPs per token, recurrent form (decode; a prefill counts the same per token: the
// chunked kernels reorganize this work, their intra-chunk terms are not counted):
// conv 2 x conv_dim x conv_kernel, plus per head with a k x v state S:
//   Gated DeltaNet / KDA: decay S (k v), S^T key (2 k v), rank-1 update key delta^T (2 k v),
//     readout S^T query (2 k v) = 7 x k_head_dim x v_head_dim;
//   Mamba-2: decay h (N P), add dt x outer(x, B) (2 N P), readout C . h (2 N P) = 5 x N x P.
int64_t recurrent_flops_per_token(const RecurrentSpec& r);

struct DecodeFlops {
  int64_t context = 0;    // positions each new token attends to (before window / chunk caps)
  int64_t matmul = 0;     // 2 x weights multiplied per token
  int64_t attention = 0;  // core attention at min(context, window / chunk, index_topk) + indexer scoring + recurrent mixers
  int64_t total = 0;
};
DecodeFlops decode_flops_per_token(const ModelIR& ir, int64_t context);

struct PrefillFlops {
  int64_t tokens = 0;
  int64_t matmul = 0;     // tokens x 2 x weights multiplied per token
  int64_t attention = 0;  // causal pairs x per-position attention cost + indexer scoring + recurrent mixers
  int64_t total = 0;
};
// One sequence of `tokens` tokens; every token goes through every matmul, lm_head included (as
// a forward pass over the prompt computes; an engine that projects only the last position does
// (tokens - 1) x 2 x vocab x d_model fewer). Throws Error when the count overflows int64.
PrefillFlops prefill_flops(const ModelIR& ir, int64_t tokens);

}  // namespace llmcost
