// analyze(): runs every analyzer pass over a ModelIR.
#include "llmcost/analysis.h"

namespace llmcost {

ModelSummary summarize(const ModelIR& ir) {
  ModelSummary s;
  bool seen_attn = false;
  for (const auto& layer : ir.layers) {
    (layer.is_moe ? s.n_moe_layers : s.n_dense_layers)++;
    for (const auto& op : layer.ops) {
      if (op.kind == OpKind::Attention) {
        if (!seen_attn) {
          seen_attn = true;
          s.n_heads = op.attn.n_heads;
          s.n_kv_heads = op.attn.n_kv_heads;
          s.head_dim = op.attn.head_dim;
          if (op.attn.type == AttentionType::MLA)
            s.attention = "MLA";
          else if (op.attn.n_kv_heads == op.attn.n_heads)
            s.attention = "MHA";
          else if (op.attn.n_kv_heads == 1)
            s.attention = "MQA";
          else
            s.attention = "GQA";
        }
        if (op.attn.sliding_window > 0) {
          s.n_sliding_layers++;
          s.sliding_window = op.attn.sliding_window;
        }
        if (op.attn.chunk_size > 0) s.chunk_size = op.attn.chunk_size;
      } else if (op.kind == OpKind::RoutedExperts && s.n_experts == 0) {
        s.n_experts = op.moe.n_experts;
        s.top_k = op.moe.top_k;
        s.n_shared_experts = op.moe.n_shared_experts;
      }
    }
  }
  return s;
}

Analysis analyze(ModelIR ir) {
  Analysis a;
  a.summary = summarize(ir);
  a.params = count_params(ir);
  a.ir = std::move(ir);
  return a;
}

}  // namespace llmcost
