// The DeepSeek-V2/V3 decoder (deepseek_like.h), read as modeling_deepseek_v2.py /
// modeling_deepseek_v3.py build it.
#include "deepseek_like.h"

#include <algorithm>
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

// The indexer schedule as GlmMoeDsaConfig.__post_init__ fills it in: indexer_types when given, else
// index_topk_pattern ("F"/"S" letters or a list), else layer i is full when
// max(i - index_skip_topk_offset + 1, 0) % index_topk_freq == 0 (defaults: offset 2, freq 1).
// Families without the schedule accept only "full" entries.
static std::vector<bool> indexer_layers(const ConfigReader& r, const DeepseekLike& f, int64_t n_layers) {
  std::vector<bool> full(static_cast<size_t>(n_layers), true);
  auto from_names = [&](const std::string& key, const std::vector<std::string>& names, bool letters) {
    if (static_cast<int64_t>(names.size()) != n_layers)
      r.fail(key, "must have num_hidden_layers (" + std::to_string(n_layers) + ") entries, got " + std::to_string(names.size()));
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& t = names[i];
      const bool is_full = letters ? t == "F" : t == "full";
      const bool is_shared = letters ? t == "S" : t == "shared";
      if (!is_full && !(is_shared && f.indexer_schedule))
        throw ConfigError(r.file(), r.pointer_of(key) + (letters ? "" : "/" + std::to_string(i)),
                          quote_for_message(t) + ": " +
                              (f.indexer_schedule ? std::string(letters ? "must be \"F\" or \"S\"" : "must be \"full\" or \"shared\"")
                                                  : std::string("layers that reuse another layer's sparse-attention top-k are not part of " + f.arch)));
      full[i] = is_full;
    }
  };
  if (r.has("indexer_types")) {
    from_names("indexer_types", r.str_list("indexer_types"), false);
    return full;
  }
  if (!f.indexer_schedule) return full;
  if (const Value* p = r.raw("index_topk_pattern"); p && !p->is_null()) {
    if (p->is_string()) {
      std::vector<std::string> letters;
      for (char c : p->as_string()) letters.emplace_back(1, c);
      from_names("index_topk_pattern", letters, true);
    } else {
      from_names("index_topk_pattern", r.str_list("index_topk_pattern"), false);
    }
    return full;
  }
  const int64_t freq = std::max<int64_t>(r.int_or("index_topk_freq", 1, 0), 1);
  const int64_t offset = r.int_or("index_skip_topk_offset", 2, 0);
  for (int64_t i = 0; i < n_layers; ++i) full[i] = std::max<int64_t>(i - offset + 1, 0) % freq == 0;
  return full;
}

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
  // DeepSeek Sparse Attention, when the config has the indexer: every layer attends index_topk
  // positions, picked by its own indexer or (GLM-5.2 "shared" layers) by an earlier layer's; the
  // MTP modules carry their own indexer (GLM-5.2's layer 78 stores one).
  if (r.has("index_topk") || r.has("index_n_heads") || r.has("index_head_dim")) {
    spec.index_topk = r.req_int("index_topk");
    spec.index_n_heads = r.req_int("index_n_heads");
    spec.index_head_dim = r.req_int("index_head_dim");
    if (spec.q_lora_rank == 0) r.fail("q_lora_rank", "the sparse-attention indexer reads the q latent: q_lora_rank is required");
    if (spec.index_head_dim < spec.qk_rope_head_dim)
      r.fail("index_head_dim", "must be >= qk_rope_head_dim (" + std::to_string(spec.qk_rope_head_dim) + "), got " +
                                   std::to_string(spec.index_head_dim));
  }
  // Which layers run their own indexer (GLM-5.2 IndexCache); empty: all of them.
  const std::vector<bool> full_indexer = spec.index_n_heads > 0 ? indexer_layers(r, f, x.n_layers) : std::vector<bool>{};
  // The spec of layer i: a "shared" layer keeps index_topk but has no indexer and names the last
  // full layer before it, whose top-k it attends (transformers GlmMoeDsaModel passes topk_indices on).
  std::vector<AttentionSpec> specs(static_cast<size_t>(x.n_layers), spec);
  int64_t last_full = -1;
  for (int64_t i = 0; i < static_cast<int64_t>(full_indexer.size()); ++i) {
    if (full_indexer[i]) {
      last_full = i;
      continue;
    }
    if (last_full < 0)
      throw ConfigError(r.file(), r.pointer_of(r.has("indexer_types") ? "indexer_types" : "index_topk_pattern"),
                        "layer " + std::to_string(i) + " reuses the top-k of a previous \"full\" indexer layer, but none precedes it");
    AttentionSpec& s = specs[i];
    s.index_n_heads = 0;
    s.index_head_dim = 0;
    s.index_source_layer = last_full;
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
    ir.layers.push_back(deepseek_layer(r, layer_prefix("model.layers", i), static_cast<int>(i), x.d, specs[i], attn_bias,
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
    if (f.mtp_stores_embed_head)
      add(extra, R::TokenEmbedding, "embed_tokens.weight", {x.vocab, x.d}, TU::Gather, PG::Embedding);
    add(extra, R::MtpHeadNorm, "shared_head.norm.weight", {x.d}, TU::Vector, PG::Norm);
    if (f.mtp_stores_embed_head)
      add(extra, R::LmHead, "shared_head.head.weight", {x.vocab, x.d}, TU::Matmul, PG::LmHead);
    L.ops.insert(L.ops.begin(), std::move(extra));
    ir.mtp_layers.push_back(std::move(L));
  }
}

}  // namespace llmcost
