// gpt_oss (modeling_gpt_oss.py): biases on q/k/v/o, learned attention sinks, sliding window on
// even layers, every layer MoE with a biased router and stacked experts (gate_up_proj + bias,
// down_proj + bias) under a clamped SwiGLU; top-k on logits, then softmax over the k.
#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

void build_gpt_oss(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "gpt_oss", x);
  const double eps = r.num_or("rms_norm_eps", 1e-5);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const int64_t hd = head_dim_of(r, x, true);
  const bool b = r.bool_or("attention_bias", true);
  MoeSpec moe = read_topk(r, "num_local_experts", r.has("num_experts_per_tok") ? "num_experts_per_tok" : "experts_per_token");
  moe.softmax_after_topk = true;
  MlpSpec mlp;
  mlp.d_ff = r.req_int("intermediate_size");
  mlp.act = Activation::SwiGLUClamped;
  mlp.swiglu_limit = r.num_or("swiglu_limit", 7.0);
  int64_t window = r.int_or("sliding_window", 0, 0);
  std::vector<int64_t> windows = layer_windows(r, x.n_layers, window, [](int64_t i) { return i % 2 == 0; });

  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.sinks = true;
  spec.rope_theta = rope_theta(r, 150000.0);

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    L.is_moe = true;
    const int li = static_cast<int>(i);
    const std::string p = layer_prefix("model.layers", i);
    AttentionSpec s = spec;
    s.sliding_window = windows[i];
    L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
    L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, StdAttnOpts{b, b, b, b, false, QkNorm::None}));
    L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
    L.ops.push_back(router_op(p + ".mlp.router", li, x.d, moe, true, false));
    L.ops.push_back(stacked_experts_op(p + ".mlp.experts", li, x.d, mlp, moe, true));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);
}

}  // namespace

Family family_gpt_oss() { return Family{"gpt_oss", {"gpt_oss"}, {"GptOssForCausalLM"}, build_gpt_oss}; }

}  // namespace llmcost
