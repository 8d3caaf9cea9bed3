// nemotron_nas: DeciLM / Llama-Nemotron NAS models (model_type "nemotron-nas", DeciLMForCausalLM:
// Llama-3.3-Nemotron-Super-49B, Llama-3.1-Nemotron-Ultra-253B, -Nano-8B, Nemotron-51B). Read as the
// checkpoint's own modeling_decilm.py (DeciLMDecoderLayer, DeciLMAttention, DeciLMMLP,
// DeciLMLinearAttention / DeciLMLinearMLP, _ffn_mult_to_intermediate_size) and vLLM
// vllm/model_executor/models/nemotron_nas.py build it: a Llama decoder whose every layer has its own
// block from block_configs[i] (num_hidden_layers entries). d = hidden_size, H = num_attention_heads,
// hd = head_dim (hidden_size / H when unset):
// - attention: no_op -> nothing (no input_layernorm, no weights, no KV cache); replace_with_linear ->
//   input_layernorm [d] + self_attn.linear_attn [d, d] (no bias, no cache); else input_layernorm +
//   self_attn q_proj [H x hd, d], k_proj, v_proj [KV x hd, d], o_proj [d, H x hd] with KV =
//   H / n_heads_in_group (biases when attention_bias), RoPE (rope_theta, rope_scaling as llama's).
// - ffn: no_op -> nothing; replace_with_linear -> post_attention_layernorm [d] + mlp.linear_mlp
//   [d, d]; else post_attention_layernorm + mlp gate_proj, up_proj [I, d], down_proj [d, I] (biases
//   when mlp_bias) with I = _ffn_mult_to_intermediate_size(ffn_mult, d) = the multiple of 256 at or
//   above int(2 x ffn_mult x d / 3) (ffn_mult rounded to 6 decimals, as FFNConfig does), or the
//   block's intermediate_size when it gives no ffn_mult.
// - model.embed_tokens [vocab, d], model.norm [d], lm_head [vocab, d] (tie_word_embeddings).
// Block options the 2025 checkpoints leave off (sliding window_length, sink tokens, sparsify,
// Mamba / Llama-4 blocks, parallel blocks) are refused by name rather than counted one way or another.
#include <cmath>

#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

// The multiple of 256 at or above int(2 x ffn_mult x d / 3), as _ffn_mult_to_intermediate_size.
int64_t ffn_mult_to_intermediate_size(double ffn_mult, int64_t d) {
  const double m = std::nearbyint(ffn_mult * 1e6) / 1e6;  // FFNConfig: round(ffn_mult, 6)
  const auto n = static_cast<int64_t>(std::trunc(2.0 * m * static_cast<double>(d) / 3.0));
  return n % 256 == 0 ? n : n + 256 - n % 256;
}

// The d x d linear that replaces a sublayer.
Op linear_replacement(const std::string& name, const std::string& weight, int li, int sublayer, int64_t d, PG group) {
  Op op = make_op(name, OpKind::Mlp, li, sublayer);
  op.mlp.d_ff = d;
  op.mlp.gated = false;
  add(op, R::LinearReplacement, weight, {d, d}, TU::Matmul, group);
  return op;
}

// Refuses a block option that changes what a block computes and that this family does not count.
void refuse_set(const ConfigReader& b, const std::vector<const char*>& keys) {
  for (const char* k : keys) {
    const Value* v = b.raw(k);
    if (v && !(v->is_bool() && !v->as_bool()))
      b.fail(k, "is not supported (only null or false: the Llama-Nemotron checkpoints' blocks are counted)");
  }
}

void build_nemotron_nas(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "nemotron_nas", x);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const int64_t hd = head_dim_of(r, x, true);
  const bool attn_bias = r.bool_or("attention_bias", false);
  const bool mlp_bias = r.bool_or("mlp_bias", false);
  MlpSpec mlp;
  mlp.act = parse_activation(r, "hidden_act", "silu");

  const Value* list = r.raw("block_configs");
  if (!list || !list->is_array())
    r.fail("block_configs", "is required: a list of num_hidden_layers {\"attention\": ..., \"ffn\": ...} blocks");
  if (static_cast<int64_t>(list->items().size()) != x.n_layers)
    r.fail("block_configs", "must have num_hidden_layers (" + std::to_string(x.n_layers) + ") entries, got " +
                                std::to_string(list->items().size()));

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    const std::string bp = r.pointer_of("block_configs") + "/" + std::to_string(i);
    const Value& item = list->items()[static_cast<size_t>(i)];
    if (!item.is_object()) throw ConfigError(r.file(), bp, "must be an object with \"attention\" and \"ffn\"");
    ConfigReader block(item, r.file(), bp);
    refuse_set(block, {"parallel_blocks"});
    auto attn = block.child("attention");
    auto ffn = block.child("ffn");
    if (!attn) block.fail("attention", "is required (an object: no_op, replace_with_linear or n_heads_in_group)");
    if (!ffn) block.fail("ffn", "is required (an object: no_op, replace_with_linear or ffn_mult)");
    refuse_set(*attn, {"window_length", "num_sink_tokens", "sparsify", "unshifted_sink", "use_prefill_window_in_sink_attention",
                       "mamba", "llama4"});
    refuse_set(*ffn, {"sparsify", "moe"});

    const std::string p = layer_prefix("model.layers", i);
    const int li = static_cast<int>(i);
    Layer L;
    L.index = li;
    if (!attn->bool_or("no_op", false)) {
      L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, NormType::RMSNorm, false, eps, 0));
      if (attn->bool_or("replace_with_linear", false)) {
        L.ops.push_back(linear_replacement(p + ".self_attn", "linear_attn.weight", li, 0, x.d, PG::Attention));
      } else {
        const int64_t group = attn->req_int("n_heads_in_group", 1, x.n_heads);
        if (x.n_heads % group != 0)
          attn->fail("n_heads_in_group", "must divide num_attention_heads (" + std::to_string(x.n_heads) + "), got " +
                                             std::to_string(group));
        AttentionSpec s;
        s.n_heads = x.n_heads;
        s.n_kv_heads = x.n_heads / group;
        s.head_dim = s.v_head_dim = hd;
        s.rope_theta = rope_theta(r, 10000.0);
        StdAttnOpts o;
        o.q_bias = o.k_bias = o.v_bias = o.o_bias = attn_bias;
        L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, o));
      }
    }
    if (!ffn->bool_or("no_op", false)) {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, NormType::RMSNorm, false, eps, 1));
      if (ffn->bool_or("replace_with_linear", false)) {
        L.ops.push_back(linear_replacement(p + ".mlp", "linear_mlp.weight", li, 1, x.d, PG::Mlp));
      } else {
        MlpSpec m = mlp;
        if (ffn->has("ffn_mult")) {
          const double mult = ffn->num_or("ffn_mult", 0.0);
          if (!(mult > 0) || !(mult < 1e6)) ffn->fail("ffn_mult", "must be a positive number below 1e6");
          m.d_ff = ffn_mult_to_intermediate_size(mult, x.d);
        } else {
          m.d_ff = ffn->req_int("intermediate_size");
        }
        L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, m, PG::Mlp, false, mlp_bias));
      }
    }
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);
}

}  // namespace

Family family_nemotron_nas() {
  return Family{"nemotron_nas", {"nemotron-nas", "nemotron_nas"}, {"DeciLMForCausalLM"}, build_nemotron_nas};
}

}  // namespace llmcost
