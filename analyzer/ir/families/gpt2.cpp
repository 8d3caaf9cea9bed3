// gpt2 (modeling_gpt2.py): learned positions (wpe), LayerNorms with bias, Conv1D weights stored
// [in, out] (c_attn fused qkv, c_proj, c_fc), ungated MLP (n_inner, default 4 x n_embd), tied head.
#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

void build_gpt2(const ConfigReader& r, ModelIR& ir) {
  Dims x;
  x.d = r.req_int("n_embd");
  x.n_layers = r.req_int("n_layer", 1, 100000);
  x.n_heads = r.req_int("n_head", 1, 1 << 20);
  x.n_kv_heads = x.n_heads;
  x.vocab = r.req_int("vocab_size");
  if (x.d % x.n_heads != 0)
    r.fail("n_embd", "must be divisible by n_head (" + std::to_string(x.n_heads) + "), got " + std::to_string(x.d));
  init_ir(ir, r, "gpt2", x);
  const int64_t n_pos = r.req_int("n_positions");
  ir.max_position_embeddings = n_pos;
  ir.tie_word_embeddings = true;
  const double eps = r.num_or("layer_norm_epsilon", 1e-5);
  ir.norm_eps = eps;
  const int64_t d_ff = r.int_or("n_inner", 4 * x.d);
  MlpSpec mlp;
  mlp.d_ff = d_ff;
  mlp.gated = false;
  mlp.act = parse_activation(r, "activation_function", "gelu_new");

  add_embedding(ir, "transformer.wte", x.vocab, x.d);
  Op pos = make_op("transformer.wpe", OpKind::PositionEmbedding, -1);
  add(pos, R::PositionEmbedding, "weight", {n_pos, x.d}, TU::Gather, PG::Embedding);
  ir.pre.push_back(std::move(pos));
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    const int li = static_cast<int>(i);
    const std::string p = layer_prefix("transformer.h", i);
    L.ops.push_back(norm_op(p + ".ln_1", li, x.d, NormType::LayerNorm, true, eps, 0));
    Op a = make_op(p + ".attn", OpKind::Attention, li, 0);
    a.attn.n_heads = x.n_heads;
    a.attn.n_kv_heads = x.n_heads;
    a.attn.head_dim = x.d / x.n_heads;
    a.attn.v_head_dim = a.attn.head_dim;
    a.attn.use_rope = false;
    // Conv1D stores [in, out].
    add(a, R::AttnQkv, "c_attn.weight", {x.d, 3 * x.d}, TU::Matmul, PG::Attention, 0);
    add_bias(a, R::AttnQkv, "c_attn.bias", 3 * x.d, PG::Attention);
    add(a, R::AttnOut, "c_proj.weight", {x.d, x.d}, TU::Matmul, PG::Attention, 0);
    add_bias(a, R::AttnOut, "c_proj.bias", x.d, PG::Attention);
    L.ops.push_back(std::move(a));
    L.ops.push_back(norm_op(p + ".ln_2", li, x.d, NormType::LayerNorm, true, eps, 1));
    Op m = make_op(p + ".mlp", OpKind::Mlp, li, 1);
    m.mlp = mlp;
    add(m, R::FfnUp, "c_fc.weight", {x.d, d_ff}, TU::Matmul, PG::Mlp, 0);
    add_bias(m, R::FfnUp, "c_fc.bias", d_ff, PG::Mlp);
    add(m, R::FfnDown, "c_proj.weight", {d_ff, x.d}, TU::Matmul, PG::Mlp, 0);
    add_bias(m, R::FfnDown, "c_proj.bias", x.d, PG::Mlp);
    L.ops.push_back(std::move(m));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "transformer.ln_f", NormType::LayerNorm, true, eps, "lm_head", true);
}

}  // namespace

Family family_gpt2() { return Family{"gpt2", {"gpt2"}, {"GPT2LMHeadModel"}, build_gpt2}; }

}  // namespace llmcost
