// The DeepSeek-V2/V3 decoder (deepseek_like.h), read as modeling_deepseek_v2.py /
// modeling_deepseek_v3.py build it.
#include "deepseek_like.h"

#include <vector>

#include "llmcost/error.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

Op mla_attention_op(const std::string& name, int li, int64_t d, const AttentionSpec& spec, bool attn_bias) {
  Op a = make_op(name, OpKind::Attention, li, 0);
  a.attn = spec;
  const int64_t H = spec.n_heads;
  const int64_t qhd = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  if (spec.q_lora_rank > 0) {
    add_linear(a, R::MlaQA, "q_a_proj", d, spec.q_lora_rank, attn_bias, PG::Attention);
    add(a, R::MlaQANorm, "q_a_layernorm.weight", {spec.q_lora_rank}, TU::Vector, PG::Norm);
    add_linear(a, R::MlaQB, "q_b_proj", spec.q_lora_rank, checked_mul(H, qhd), false, PG::Attention);
  } else {
    add_linear(a, R::AttnQ, "q_proj", d, checked_mul(H, qhd), false, PG::Attention);
  }
  add_linear(a, R::MlaKvA, "kv_a_proj_with_mqa", d, checked_add(spec.kv_lora_rank, spec.qk_rope_head_dim), attn_bias,
             PG::Attention);
  add(a, R::MlaKvANorm, "kv_a_layernorm.weight", {spec.kv_lora_rank}, TU::Vector, PG::Norm);
  add_linear(a, R::MlaKvB, "kv_b_proj", spec.kv_lora_rank,
             checked_mul(H, checked_add(spec.qk_nope_head_dim, spec.v_head_dim)), false, PG::Attention);
  add_linear(a, R::AttnOut, "o_proj", checked_mul(H, spec.v_head_dim), d, attn_bias, PG::Attention);
  if (spec.index_n_heads > 0) {
    // DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2 inference/model.py Indexer,
    // transformers GlmMoeDsaIndexer): bias-free linears, a LayerNorm with bias on the key.
    const int64_t ih = spec.index_n_heads, idim = spec.index_head_dim;
    add_linear(a, R::IndexerQB, "indexer.wq_b", spec.q_lora_rank, checked_mul(ih, idim), false, PG::Attention);
    add_linear(a, R::IndexerK, "indexer.wk", d, idim, false, PG::Attention);
    add(a, R::IndexerKNorm, "indexer.k_norm.weight", {idim}, TU::Vector, PG::Norm);
    add_bias(a, R::IndexerKNorm, "indexer.k_norm.bias", idim, PG::Norm);
    add_linear(a, R::IndexerWeightsProj, "indexer.weights_proj", d, ih, false, PG::Attention);
  }
  return a;
}

namespace {

Layer deepseek_layer(const ConfigReader& r, const std::string& p, int li, int64_t d, const AttentionSpec& spec,
                     bool attn_bias, bool is_moe, const MlpSpec& dense, const MlpSpec& expert, const MoeSpec& moe,
                     int64_t shared_ff, bool correction_bias, double eps) {
  (void)r;
  Layer L;
  L.ops.reserve(8);
  L.index = li;
  L.is_moe = is_moe;
  L.ops.push_back(norm_op(p + ".input_layernorm", li, d, NormType::RMSNorm, false, eps, 0));
  L.ops.push_back(mla_attention_op(p + ".self_attn", li, d, spec, attn_bias));
  L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, d, NormType::RMSNorm, false, eps, 1));
  if (is_moe) {
    L.ops.push_back(router_op(p + ".mlp.gate", li, d, moe, false, correction_bias));
    L.ops.push_back(experts_op(p + ".mlp.experts", li, d, expert, moe));
    if (shared_ff > 0) {
      MlpSpec sm = expert;
      sm.d_ff = shared_ff;
      L.ops.push_back(mlp_op(p + ".mlp.shared_experts", OpKind::SharedExperts, li, d, sm, PG::ExpertsShared));
    }
  } else {
    L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, d, dense, PG::Mlp));
  }
  return L;
}

}  // namespace

void build_deepseek(const ConfigReader& r, ModelIR& ir, const DeepseekLike& f) {
  const std::string& arch = f.arch;
  Dims x = read_dims(r);  // num_key_value_heads is read (and must be valid) but MLA ignores it
  init_ir(ir, r, arch, x);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  const bool attn_bias = r.bool_or("attention_bias", false);

  AttentionSpec spec;
  spec.type = AttentionType::MLA;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_heads;
  spec.q_lora_rank = r.int_or("q_lora_rank", 0, 0);
  spec.kv_lora_rank = r.req_int("kv_lora_rank");
  spec.qk_nope_head_dim = r.req_int("qk_nope_head_dim", 0);
  spec.qk_rope_head_dim = r.req_int("qk_rope_head_dim");
  spec.v_head_dim = r.req_int("v_head_dim");
  spec.head_dim = spec.qk_nope_head_dim + spec.qk_rope_head_dim;
  spec.rope_theta = rope_theta(r, 10000.0);
  // DeepSeek Sparse Attention, when the config has the indexer: every layer (and MTP module)
  // carries an indexer and attends its index_topk positions.
  if (r.has("index_topk") || r.has("index_n_heads") || r.has("index_head_dim")) {
    spec.index_topk = r.req_int("index_topk");
    spec.index_n_heads = r.req_int("index_n_heads");
    spec.index_head_dim = r.req_int("index_head_dim");
    if (spec.q_lora_rank == 0) r.fail("q_lora_rank", "the sparse-attention indexer reads the q latent: q_lora_rank is required");
    if (spec.index_head_dim < spec.qk_rope_head_dim)
      r.fail("index_head_dim", "must be >= qk_rope_head_dim (" + std::to_string(spec.qk_rope_head_dim) + "), got " +
                                   std::to_string(spec.index_head_dim));
    // IndexCache (GLM-5.2): "shared" layers reuse the previous layer's top-k and skip their
    // indexer; the cost walk has no way to say that yet, so refuse rather than overcount.
    if (r.has("indexer_types"))
      for (const std::string& t : r.str_list("indexer_types"))
        if (t != "full")
          r.fail("indexer_types", quote_for_message(t) +
                                      ": layers that reuse another layer's sparse-attention top-k are not supported");
  }

  MlpSpec dense;
  dense.d_ff = r.req_int("intermediate_size");
  dense.act = parse_activation(r, "hidden_act", "silu");
  MlpSpec expert = dense;
  MoeSpec moe;
  int64_t first_dense = r.int_or("first_k_dense_replace", 0, 0);
  int64_t freq = r.int_or("moe_layer_freq", 1);
  const bool has_moe = r.has("n_routed_experts");
  int64_t shared_ff = 0;
  bool correction = false;
  if (has_moe) {
    moe = read_topk(r, "n_routed_experts", "num_experts_per_tok");
    expert.d_ff = r.req_int("moe_intermediate_size");
    moe.n_shared_experts = r.int_or("n_shared_experts", 0, 0);
    shared_ff = checked_mul(moe.n_shared_experts, expert.d_ff);
    moe.norm_topk_prob = r.bool_or("norm_topk_prob", f.norm_topk_default);
    moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
    std::string scoring = r.str_or("scoring_func", f.default_scoring);
    if (scoring != "softmax" && scoring != "sigmoid")
      r.fail("scoring_func", "must be \"softmax\" or \"sigmoid\", got " + quote_for_message(scoring));
    moe.scoring = scoring == "sigmoid" ? ScoringFunc::Sigmoid : ScoringFunc::Softmax;
    std::string method = r.str_or("topk_method", f.default_topk_method);
    correction = method == "noaux_tc";
    moe.n_group = r.int_or("n_group", 1);
    moe.topk_group = r.int_or("topk_group", 1);
    if (method == "greedy") moe.n_group = moe.topk_group = 1;
    if (moe.n_experts % moe.n_group != 0)
      r.fail("n_group", "must divide n_routed_experts (" + std::to_string(moe.n_experts) + "), got " + std::to_string(moe.n_group));
    if (moe.topk_group > moe.n_group)
      r.fail("topk_group", "must be <= n_group (" + std::to_string(moe.n_group) + "), got " + std::to_string(moe.topk_group));
  }
  std::vector<bool> sparse_list;  // from mlp_layer_types, when the family reads it
  if (!f.mlp_layer_types_key.empty()) {
    first_dense = f.default_dense_layers;
    freq = 1;
    if (r.has(f.mlp_layer_types_key)) {
      auto types = r.str_list(f.mlp_layer_types_key);
      if (static_cast<int64_t>(types.size()) != x.n_layers)
        r.fail(f.mlp_layer_types_key, "must have num_hidden_layers (" + std::to_string(x.n_layers) + ") entries, got " +
                                          std::to_string(types.size()));
      for (size_t i = 0; i < types.size(); ++i) {
        if (types[i] != "dense" && types[i] != "sparse")
          throw ConfigError(r.file(), r.pointer_of(f.mlp_layer_types_key) + "/" + std::to_string(i),
                            "must be \"dense\" or \"sparse\", got " + quote_for_message(types[i]));
        sparse_list.push_back(types[i] == "sparse");
      }
    }
  }
  // MTP layers (index >= num_hidden_layers) follow the default rule: MoE.
  auto is_moe = [&](int64_t i) {
    if (i < static_cast<int64_t>(sparse_list.size())) return has_moe && sparse_list[i];
    return has_moe && i >= first_dense && i % freq == 0;
  };

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i)
    ir.layers.push_back(deepseek_layer(r, layer_prefix("model.layers", i), static_cast<int>(i), x.d, spec, attn_bias,
                                       is_moe(i), dense, expert, moe, shared_ff, correction, eps));
  add_head(ir, "model.norm", NormType::RMSNorm, false, eps, "lm_head", ir.tie_word_embeddings);

  // Multi-token prediction modules, stored as extra layers after the main ones (DeepSeek-V3
  // checkpoint layout): enorm, hnorm, eh_proj, a decoder layer, and their own embedding,
  // norm and head copies.
  ir.n_mtp_layers = r.int_or("num_nextn_predict_layers", 0, 0, 64);
  for (int64_t m = 0; m < ir.n_mtp_layers; ++m) {
    const int64_t idx = x.n_layers + m;
    const std::string p = layer_prefix("model.layers", idx);
    Layer L = deepseek_layer(r, p, static_cast<int>(idx), x.d, spec, attn_bias, is_moe(idx), dense, expert, moe, shared_ff,
                             correction, eps);
    Op extra = make_op(p, OpKind::Norm, static_cast<int>(idx));
    add(extra, R::MtpEmbedNorm, "enorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpHiddenNorm, "hnorm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::MtpProj, "eh_proj.weight", {x.d, 2 * x.d}, TU::Matmul, PG::Other);
    add(extra, R::TokenEmbedding, "embed_tokens.weight", {x.vocab, x.d}, TU::Gather, PG::Embedding);
    add(extra, R::MtpHeadNorm, "shared_head.norm.weight", {x.d}, TU::Vector, PG::Norm);
    add(extra, R::LmHead, "shared_head.head.weight", {x.vocab, x.d}, TU::Matmul, PG::LmHead);
    L.ops.insert(L.ops.begin(), std::move(extra));
    ir.mtp_layers.push_back(std::move(L));
  }
}

}  // namespace llmcost
