// The llama-like decoder (llama_like.h): one builder for every family that differs from llama
// only in what its LlamaLike says.
#include "llama_like.h"

#include <cmath>
#include <set>

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

void build_decoder(const ConfigReader& r, ModelIR& ir, const LlamaLike& f) {
  Dims x = read_dims(r);
  init_ir(ir, r, f.arch, x);
  const int64_t hd = head_dim_of(r, x, true);
  const double eps = rms_eps(r);
  ir.norm_eps = eps;
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", f.tie_default);
  if (f.gemma_embed_scale) {
    ir.embedding_multiplier = std::sqrt(static_cast<double>(x.d));
    ir.norm_weight_offset = 1.0;  // GemmaRMSNorm: x * (1 + weight)
  }
  ir.final_logit_softcap = r.num_or("final_logit_softcapping", 0.0);
  StdAttnOpts ao = f.attn_opts ? f.attn_opts(r) : StdAttnOpts{};
  const bool mlp_bias = f.mlp_bias_key && r.bool_or("mlp_bias", false);
  MlpSpec mlp;
  mlp.d_ff = r.req_int("intermediate_size");
  mlp.act = parse_activation(r, f.act_key, f.act_default);

  // Sliding windows.
  int64_t window = r.int_or("sliding_window", 0, 0);
  std::function<bool(int64_t)> sliding = [&](int64_t i) { return f.default_sliding(r, i); };
  if (f.window_requires_flag) {
    bool use = r.bool_or("use_sliding_window", false);
    int64_t max_window_layers = r.int_or("max_window_layers", x.n_layers, 0);
    if (!use) window = r.has("layer_types") ? window : 0;
    sliding = [max_window_layers](int64_t i) { return i >= max_window_layers; };
  }
  std::vector<int64_t> windows = layer_windows(r, x.n_layers, window, sliding);

  AttentionSpec spec;
  spec.n_heads = x.n_heads;
  spec.n_kv_heads = x.n_kv_heads;
  spec.head_dim = hd;
  spec.v_head_dim = hd;
  spec.rope_theta = rope_theta(r, 10000.0);
  spec.partial_rotary_factor = r.num_or("partial_rotary_factor", 1.0);
  spec.logit_softcap = r.num_or("attn_logit_softcapping", 0.0);
  if (r.has("query_pre_attn_scalar")) spec.scale = 1.0 / std::sqrt(r.num_or("query_pre_attn_scalar", 1.0));

  // MoE (mixtral, qwen2_moe, qwen3_moe, olmoe, phimoe are built on this too).
  const bool has_experts = r.has("num_local_experts") || r.has("num_experts");
  MoeSpec moe;
  std::vector<bool> moe_layer(x.n_layers, false);
  MlpSpec expert_mlp = mlp;
  int64_t shared_ff = 0;
  bool shared_gate = false;
  if (has_experts) {
    moe = read_topk(r, r.has("num_local_experts") ? "num_local_experts" : "num_experts", "num_experts_per_tok");
    moe.norm_topk_prob = r.bool_or("norm_topk_prob", f.norm_topk_default);
    moe.scoring = f.scoring;
    if (r.has("moe_intermediate_size")) expert_mlp.d_ff = r.req_int("moe_intermediate_size");
    int64_t step = r.int_or("decoder_sparse_step", 1);
    auto mlp_only = r.int_list("mlp_only_layers");
    check_unique_layer_list(r, "mlp_only_layers", mlp_only, x.n_layers);
    std::set<int64_t> only(mlp_only.begin(), mlp_only.end());
    for (int64_t i = 0; i < x.n_layers; ++i) moe_layer[i] = !only.count(i) && (i + 1) % step == 0;
    shared_ff = r.int_or("shared_expert_intermediate_size", 0, 0);
    shared_gate = shared_ff > 0;
    moe.n_shared_experts = shared_ff > 0 ? 1 : 0;
  }
  const bool block_sparse = f.block_sparse;
  const NormType nt = f.norm;
  const bool nbias = nt == NormType::LayerNorm;

  add_embedding(ir, "model.embed_tokens", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i) {
    Layer L;
    L.ops.reserve(8);
    L.index = static_cast<int>(i);
    const std::string p = layer_prefix("model.layers", i);
    const int li = static_cast<int>(i);
    AttentionSpec s = spec;
    s.sliding_window = windows[i];
    if (f.norms != LlamaLike::Norms::PostOnly) L.ops.push_back(norm_op(p + ".input_layernorm", li, x.d, nt, nbias, eps, 0));
    L.ops.push_back(standard_attention(p + ".self_attn", li, x.d, s, ao));
    if (f.norms == LlamaLike::Norms::Sandwich) {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 0, true));
      L.ops.push_back(norm_op(p + ".pre_feedforward_layernorm", li, x.d, nt, nbias, eps, 1));
    } else if (f.norms == LlamaLike::Norms::PostOnly) {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 0, true));
    } else {
      L.ops.push_back(norm_op(p + ".post_attention_layernorm", li, x.d, nt, nbias, eps, 1));
    }
    if (has_experts && moe_layer[i]) {
      L.is_moe = true;
      const std::string mp = p + (block_sparse ? ".block_sparse_moe" : ".mlp");
      MlpNames en = block_sparse ? MlpNames{"w1", "w3", "w2"} : MlpNames{};
      if (f.block_correction_bias) {
        Op ro = make_op(mp, OpKind::Router, li, 1);
        ro.moe = moe;
        ro.moe.correction_bias = true;
        add(ro, R::Router, "gate.weight", {moe.n_experts, x.d}, TU::Matmul, PG::Router);
        add(ro, R::RouterCorrectionBias, "e_score_correction_bias", {moe.n_experts}, TU::Vector, PG::Router);
        L.ops.push_back(std::move(ro));
      } else {
        L.ops.push_back(router_op(mp + ".gate", li, x.d, moe, false, false));
      }
      L.ops.push_back(f.stacked_experts ? stacked_experts_op(mp + ".experts", li, x.d, expert_mlp, moe, false)
                                        : experts_op(mp + ".experts", li, x.d, expert_mlp, moe, en));
      if (shared_ff > 0) {
        MlpSpec sm = mlp;
        sm.d_ff = shared_ff;
        Op so = mlp_op(mp + ".shared_expert", OpKind::SharedExperts, li, x.d, sm, PG::ExpertsShared);
        if (shared_gate) add(so, R::FfnOutGate, "shared_expert_gate.weight", {1, x.d}, TU::Matmul, PG::ExpertsShared);
        L.ops.push_back(std::move(so));
      }
    } else {
      L.ops.push_back(mlp_op(p + ".mlp", OpKind::Mlp, li, x.d, mlp, PG::Mlp, f.fused_gate_up, mlp_bias));
    }
    if (f.norms == LlamaLike::Norms::Sandwich)
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm", li, x.d, nt, nbias, eps, 1, true));
    else if (f.norms == LlamaLike::Norms::PostOnly)
      L.ops.push_back(norm_op(p + ".post_feedforward_layernorm", li, x.d, nt, nbias, eps, 1, true));
    ir.layers.push_back(std::move(L));
  }
  add_head(ir, "model.norm", nt, nbias, eps, "lm_head", ir.tie_word_embeddings,
           f.lm_head_bias_key && r.bool_or("lm_head_bias", false));
  if (!f.note.empty()) ir.notes.push_back(f.note);
}

}  // namespace

StdAttnOpts bias_all(const ConfigReader& r) {
  bool b = r.bool_or("attention_bias", false);
  return StdAttnOpts{b, b, b, b, false, QkNorm::None};
}

void build_llama_like(const ConfigReader& r, ModelIR& ir, const LlamaLike& f) {
  if (!f.experts_key.empty() && !r.has("num_local_experts") && !r.has("num_experts"))
    r.fail(f.experts_key, "is required (a positive integer) for a " + f.arch + " model but is missing");
  if (!f.config_defaults.empty()) {
    // Multimodal configs (gemma-3-4b/12b/27b) write only what differs from the text config
    // class's defaults in text_config; transformers fills in the rest.
    Value filled = r.node();
    std::string used;
    for (const auto& kv : f.config_defaults)
      if (!r.has(kv.first)) {
        filled.set(kv.first, kv.second);
        used += (used.empty() ? "" : ", ") + std::string(kv.first);
      }
    if (!used.empty()) {
      ir.notes.push_back(f.config_class + " defaults used for " + used);
      build_decoder(ConfigReader(filled, r.file(), r.pointer()), ir, f);
      return;
    }
  }
  build_decoder(r, ir, f);
}

std::function<StdAttnOpts(const ConfigReader&)> bias_all_with(QkNorm qk_norm) {
  return [qk_norm](const ConfigReader& r) {
    StdAttnOpts o = bias_all(r);
    o.qk_norm = qk_norm;
    return o;
  };
}

Family llama_like_family(LlamaLike f, std::vector<std::string> model_types, std::vector<std::string> hf_classes) {
  Family fam;
  fam.name = f.arch;
  fam.model_types = std::move(model_types);
  fam.hf_classes = std::move(hf_classes);
  fam.build = [f = std::move(f)](const ConfigReader& r, ModelIR& ir) { build_llama_like(r, ir, f); };
  return fam;
}

}  // namespace llmcost
