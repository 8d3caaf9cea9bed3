// analyze(): runs every analyzer pass over a ModelIR.
#include "llmcost/analysis.h"

#include "llmcost/memory.h"
#include "llmcost/value.h"

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

Analysis analyze(ModelIR ir, const AnalyzeOptions& options) {
  if (options.context < 1) throw Error("context must be >= 1 token, got " + std::to_string(options.context));
  if (options.prompt_tokens < 0)
    throw Error("prompt tokens must be >= 0 (0 = the context), got " + std::to_string(options.prompt_tokens));
  Analysis a;
  a.summary = summarize(ir);
  a.params = count_params(ir);
  a.options = options;
  for (QuantScheme s : all_quant_schemes()) a.weight_bytes.emplace_back(s, weight_bytes(ir, s, options.policy));
  a.weight_bytes_as_shipped = weight_bytes_as_shipped(ir);
  if (a.weight_bytes_as_shipped) {
    a.shipped_bytes_by_format = weight_bytes_by_format(ir, QuantScheme::Auto, QuantPolicy{});
    a.shipped_format = weight_format_description(ir, QuantScheme::Auto, QuantPolicy{});
  }
  // A validated IR overflows only through the workload: say which figure.
  auto sized_by = [](const char* field, auto f) {
    try {
      return f();
    } catch (const Error& e) {
      throw WorkloadTooLarge(field, e.what());
    }
  };
  const char* prompt_field = options.prompt_tokens > 0 ? "prompt_tokens" : "context";
  const int64_t prompt = options.prompt_tokens > 0 ? options.prompt_tokens : options.context;
  for (KvDtype d : all_kv_dtypes())
    a.kv_by_dtype[static_cast<int>(d)] = sized_by("context", [&] { return kv_cache(ir, options.context, d); });
  a.decode_flops = sized_by("context", [&] { return decode_flops_per_token(ir, options.context); });
  a.prefill_flops = sized_by(prompt_field, [&] { return prefill_flops(ir, prompt); });
  a.ir = std::move(ir);
  return a;
}

}  // namespace llmcost
