// deepseek_v4 (DeepSeek-V4-Flash / -Pro), built as DeepSeek's own inference/model.py builds it
// (deepseek-ai/DeepSeek-V4-Flash inference/model.py: Transformer, Block, Attention, Compressor,
// Indexer, Gate, MoE, MTPBlock), with the checkpoint's tensor names (no "model." prefix):
//   embed.weight [vocab, d]; head.weight [vocab, d]; norm.weight [d];
//   hc_head_fn [hc, hc*d], hc_head_base [hc], hc_head_scale [1]                (fp32)
//   layers.i. (Block, hc = hc_mult, mix = (2 + hc) * hc)
//     hc_attn_fn / hc_ffn_fn [mix, hc*d], hc_attn_base / hc_ffn_base [mix], hc_attn_scale / hc_ffn_scale [3]
//     attn_norm.weight, ffn_norm.weight [d]
//     attn.attn_sink [n_heads]; attn.wq_a [q_lora, d]; attn.q_norm [q_lora];
//     attn.wq_b [n_heads*head_dim, q_lora]; attn.wkv [head_dim, d] (one K=V head); attn.kv_norm [head_dim];
//     attn.wo_a [o_groups*o_lora, n_heads*head_dim/o_groups]; attn.wo_b [d, o_groups*o_lora]
//     compress_ratios[i] > 0: attn.compressor.{wkv,wgate} [coff*head_dim, d], .ape [ratio, coff*head_dim],
//       .norm [head_dim] (coff = 2 when ratio == 4: overlapping windows)
//     compress_ratios[i] == 4: attn.indexer.wq_b [index_heads*index_head_dim, q_lora],
//       attn.indexer.weights_proj [index_heads, d], attn.indexer.compressor.{wkv,wgate} [2*index_head_dim, d],
//       .ape [4, 2*index_head_dim], .norm [index_head_dim]
//     ffn.gate.weight [n_experts, d] + ffn.gate.tid2eid [vocab, top_k] (int, layers < num_hash_layers: the
//       experts come from the token id) or ffn.gate.bias [n_experts] (selection-only bias);
//     ffn.experts.e.{w1,w3} [moe_inter, d], w2 [d, moe_inter]; ffn.shared_experts.{w1,w2,w3} (one, same size)
//   mtp.m. (MTPBlock, layer id num_hidden_layers + m): a Block plus e_proj, h_proj [d, d], enorm, hnorm,
//     norm [d], hc_head_fn/base/scale; it uses the main embed and head (the checkpoint stores no copies).
// Parameters are the logical elements of these tensors (the checkpoint packs fp4 experts two per
// byte and stores fp8 / e8m0 scales beside the weights; scales are not parameters). tid2eid is an
// nn.Parameter of the reference (requires_grad False) stored in the checkpoint: counted, as a
// gathered table.
// Attention per layer: a sliding window of `sliding_window` raw tokens plus, on compressed layers, one
// compressed entry per compress_ratio tokens (all of them, or index_topk picked by the indexer on
// ratio-4 layers); the cache (Attention.kv_cache) holds window + seq_len / ratio entries of head_dim.
#include "../family.h"

#include <string>
#include <vector>

#include "llmcost/error.h"

namespace llmcost {

namespace {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

void push(Op& op, R role, const std::string& name, std::vector<int64_t> shape, TU use, PG group) {
  op.tensors.push_back(make_tensor(role, name, std::move(shape), use, group));
}

// hc_pre / hc_head parameters of a sublayer (`what`: "attn", "ffn" or "head") under prefix `p`.
Op hc_op(const std::string& p, const std::string& what, int li, int sublayer, int64_t d, int64_t hc) {
  Op op = make_op(p + "hc_" + what, OpKind::Norm, li, sublayer);
  const bool head = what == "head";
  const int64_t mix = head ? hc : (2 + hc) * hc;
  push(op, R::HcFn, p + "hc_" + what + "_fn", {mix, checked_mul(hc, d)}, TU::Matmul, PG::Other);
  push(op, R::HcBase, p + "hc_" + what + "_base", {mix}, TU::Vector, PG::Other);
  push(op, R::HcScale, p + "hc_" + what + "_scale", {head ? 1 : 3}, TU::Vector, PG::Other);
  return op;
}

struct V4 {
  int64_t d = 0, vocab = 0, hc = 0, n_hash = 0;
  AttentionSpec attn;  // the layer-independent part
  int64_t o_groups = 0, o_lora = 0;
  MlpSpec expert;
  MoeSpec moe;
  double eps = 1e-6;
};

Op attention_op(const std::string& p, int li, const V4& v, int64_t ratio) {
  Op a = make_op(p + "attn", OpKind::Attention, li, 0);
  a.attn = v.attn;
  AttentionSpec& s = a.attn;
  s.compress_ratio = ratio;
  s.compress_overlap = ratio == 4;  // Compressor: overlap = compress_ratio == 4
  if (ratio != 4) s.index_topk = s.index_n_heads = s.index_head_dim = 0;  // Attention: an Indexer only when ratio == 4
  const std::string n = p + "attn.";
  const int64_t d = v.d, H = s.n_heads, hd = s.head_dim;
  push(a, R::AttnSinks, n + "attn_sink", {H}, TU::Vector, PG::Attention);
  push(a, R::MlaQA, n + "wq_a.weight", {s.q_lora_rank, d}, TU::Matmul, PG::Attention);
  push(a, R::MlaQANorm, n + "q_norm.weight", {s.q_lora_rank}, TU::Vector, PG::Norm);
  push(a, R::MlaQB, n + "wq_b.weight", {checked_mul(H, hd), s.q_lora_rank}, TU::Matmul, PG::Attention);
  push(a, R::AttnKv, n + "wkv.weight", {hd, d}, TU::Matmul, PG::Attention);
  push(a, R::AttnKNorm, n + "kv_norm.weight", {hd}, TU::Vector, PG::Norm);
  push(a, R::AttnOutA, n + "wo_a.weight", {checked_mul(v.o_groups, v.o_lora), checked_mul(H, hd) / v.o_groups}, TU::Matmul,
       PG::Attention);
  push(a, R::AttnOutB, n + "wo_b.weight", {d, checked_mul(v.o_groups, v.o_lora)}, TU::Matmul, PG::Attention);
  auto compressor = [&](const std::string& c, int64_t head_dim, R kv, R gate, R ape, R norm) {
    const int64_t coff = s.compress_overlap ? 2 : 1;
    push(a, kv, c + "wkv.weight", {checked_mul(coff, head_dim), d}, TU::Matmul, PG::Attention);
    push(a, gate, c + "wgate.weight", {checked_mul(coff, head_dim), d}, TU::Matmul, PG::Attention);
    push(a, ape, c + "ape", {ratio, checked_mul(coff, head_dim)}, TU::Vector, PG::Attention);
    push(a, norm, c + "norm.weight", {head_dim}, TU::Vector, PG::Norm);
  };
  if (ratio > 0) compressor(n + "compressor.", hd, R::CompKv, R::CompGate, R::CompPosBias, R::CompNorm);
  if (s.index_n_heads > 0) {
    const int64_t ih = s.index_n_heads, idim = s.index_head_dim;
    push(a, R::IndexerQB, n + "indexer.wq_b.weight", {checked_mul(ih, idim), s.q_lora_rank}, TU::Matmul, PG::Attention);
    push(a, R::IndexerWeightsProj, n + "indexer.weights_proj.weight", {ih, d}, TU::Matmul, PG::Attention);
    compressor(n + "indexer.compressor.", idim, R::IndexerCompKv, R::IndexerCompGate, R::IndexerCompPosBias,
               R::IndexerCompNorm);
  }
  return a;
}

Layer block(const std::string& p, int li, const V4& v, int64_t ratio, bool hash) {
  Layer L;
  L.index = li;
  L.is_moe = true;
  const int64_t d = v.d;
  L.ops.push_back(hc_op(p, "attn", li, 0, d, v.hc));
  Op an = make_op(p + "attn_norm", OpKind::Norm, li, 0);
  an.eps = v.eps;
  push(an, R::Norm, p + "attn_norm.weight", {d}, TU::Vector, PG::Norm);
  L.ops.push_back(std::move(an));
  L.ops.push_back(attention_op(p, li, v, ratio));
  L.ops.push_back(hc_op(p, "ffn", li, 1, d, v.hc));
  Op fn = make_op(p + "ffn_norm", OpKind::Norm, li, 1);
  fn.eps = v.eps;
  push(fn, R::Norm, p + "ffn_norm.weight", {d}, TU::Vector, PG::Norm);
  L.ops.push_back(std::move(fn));
  Op gate = make_op(p + "ffn.gate", OpKind::Router, li, 1);
  gate.moe = v.moe;
  gate.moe.hash_routed = hash;
  gate.moe.correction_bias = !hash;
  push(gate, R::Router, p + "ffn.gate.weight", {v.moe.n_experts, d}, TU::Matmul, PG::Router);
  if (hash)
    push(gate, R::RouterHashTable, p + "ffn.gate.tid2eid", {v.vocab, v.moe.top_k}, TU::Gather, PG::Router);
  else
    push(gate, R::RouterCorrectionBias, p + "ffn.gate.bias", {v.moe.n_experts}, TU::Vector, PG::Router);
  L.ops.push_back(std::move(gate));
  MoeSpec moe = v.moe;
  moe.hash_routed = hash;
  const MlpNames names{"w1", "w3", "w2"};
  L.ops.push_back(experts_op(p + "ffn.experts", li, d, v.expert, moe, names));
  L.ops.push_back(mlp_op(p + "ffn.shared_experts", OpKind::SharedExperts, li, d, v.expert, PG::ExpertsShared, false, false,
                         names));
  return L;
}

void build(const ConfigReader& r, ModelIR& ir) {
  Dims x = read_dims(r);
  init_ir(ir, r, "deepseek_v4", x);
  V4 v;
  v.d = x.d;
  v.vocab = x.vocab;
  v.eps = rms_eps(r);
  ir.norm_eps = v.eps;
  if (r.bool_or("tie_word_embeddings", false))
    r.fail("tie_word_embeddings", "DeepSeek-V4 stores embed and head apart: true is not supported");
  if (r.bool_or("attention_bias", false)) r.fail("attention_bias", "DeepSeek-V4's linears have no bias: true is not supported");
  if (x.n_kv_heads != 1)
    r.fail("num_key_value_heads", "DeepSeek-V4 attention has one shared K=V head: must be 1, got " + std::to_string(x.n_kv_heads));
  v.hc = r.req_int("hc_mult", 1, 64);
  AttentionSpec& a = v.attn;
  a.type = AttentionType::Standard;
  a.n_heads = x.n_heads;
  a.n_kv_heads = 1;
  a.shared_kv = true;
  a.head_dim = r.req_int("head_dim");
  a.v_head_dim = a.head_dim;  // attention reads the same cached vector as key and value
  a.qk_rope_head_dim = r.req_int("qk_rope_head_dim");
  if (a.qk_rope_head_dim > a.head_dim)
    r.fail("qk_rope_head_dim", "must be <= head_dim (" + std::to_string(a.head_dim) + "), got " + std::to_string(a.qk_rope_head_dim));
  a.q_lora_rank = r.req_int("q_lora_rank");
  a.sliding_window = r.req_int("sliding_window");
  a.sinks = true;
  a.rope_theta = rope_theta(r, 10000.0);
  a.index_topk = r.req_int("index_topk");
  a.index_n_heads = r.req_int("index_n_heads");
  a.index_head_dim = r.req_int("index_head_dim");
  if (a.index_head_dim < a.qk_rope_head_dim)
    r.fail("index_head_dim", "must be >= qk_rope_head_dim (" + std::to_string(a.qk_rope_head_dim) + "), got " +
                                 std::to_string(a.index_head_dim));
  v.o_groups = r.req_int("o_groups");
  v.o_lora = r.req_int("o_lora_rank");
  if (checked_mul(a.n_heads, a.head_dim) % v.o_groups != 0)
    r.fail("o_groups", "must divide num_attention_heads x head_dim (" + std::to_string(a.n_heads * a.head_dim) + "), got " +
                           std::to_string(v.o_groups));

  v.moe = read_topk(r, "n_routed_experts", "num_experts_per_tok");
  v.moe.n_shared_experts = r.int_or("n_shared_experts", 1, 0);
  if (v.moe.n_shared_experts != 1)
    r.fail("n_shared_experts", "DeepSeek-V4's MoE has exactly one shared expert (inference/model.py asserts it), got " +
                                   std::to_string(v.moe.n_shared_experts));
  v.moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
  const std::string scoring = r.str_or("scoring_func", "sqrtsoftplus");
  if (scoring == "softmax") v.moe.scoring = ScoringFunc::Softmax;
  else if (scoring == "sigmoid") v.moe.scoring = ScoringFunc::Sigmoid;
  else if (scoring == "sqrtsoftplus") v.moe.scoring = ScoringFunc::SqrtSoftplus;
  else r.fail("scoring_func", "must be \"softmax\", \"sigmoid\" or \"sqrtsoftplus\", got " + quote_for_message(scoring));
  v.moe.norm_topk_prob = v.moe.scoring != ScoringFunc::Softmax;  // Gate: weights /= sum unless softmax
  v.expert.d_ff = r.req_int("moe_intermediate_size");
  v.expert.act = parse_activation(r, "hidden_act", "silu");
  if (v.expert.act != Activation::SiLU) r.fail("hidden_act", "DeepSeek-V4's experts are SwiGLU: must be \"silu\"");
  v.expert.swiglu_limit = r.num_or("swiglu_limit", 0.0);  // silu(min(gate, L)) * clamp(up, -L, L), every expert
  if (v.expert.swiglu_limit < 0) r.fail("swiglu_limit", "must be >= 0");
  v.n_hash = r.int_or("num_hash_layers", 0, 0);
  if (v.n_hash > x.n_layers)
    r.fail("num_hash_layers", "must be <= num_hidden_layers (" + std::to_string(x.n_layers) + "), got " + std::to_string(v.n_hash));

  ir.n_mtp_layers = r.int_or("num_nextn_predict_layers", 0, 0, 64);
  // One ratio per layer and MTP block (MTPBlock(num_hidden_layers + m) reads compress_ratios[its id]).
  const std::vector<int64_t> ratios = r.int_list("compress_ratios", 0, 1 << 20);
  if (static_cast<int64_t>(ratios.size()) < x.n_layers + ir.n_mtp_layers)
    r.fail("compress_ratios", "must have num_hidden_layers + num_nextn_predict_layers (" +
                                  std::to_string(x.n_layers + ir.n_mtp_layers) + ") entries, got " + std::to_string(ratios.size()));

  add_embedding(ir, "embed", x.vocab, x.d);
  for (int64_t i = 0; i < x.n_layers; ++i)
    ir.layers.push_back(block("layers." + std::to_string(i) + ".", static_cast<int>(i), v, ratios[i], i < v.n_hash));
  ir.post.push_back(hc_op("", "head", -1, 0, x.d, v.hc));
  add_head(ir, "norm", NormType::RMSNorm, false, v.eps, "head", false);

  for (int64_t m = 0; m < ir.n_mtp_layers; ++m) {
    const int64_t id = x.n_layers + m;
    const std::string p = "mtp." + std::to_string(m) + ".";
    Layer L = block(p, static_cast<int>(id), v, ratios[id], id < v.n_hash);
    Op extra = make_op("mtp." + std::to_string(m), OpKind::Norm, static_cast<int>(id));
    push(extra, R::MtpEmbedNorm, p + "enorm.weight", {x.d}, TU::Vector, PG::Norm);
    push(extra, R::MtpHiddenNorm, p + "hnorm.weight", {x.d}, TU::Vector, PG::Norm);
    push(extra, R::MtpEProj, p + "e_proj.weight", {x.d, x.d}, TU::Matmul, PG::Other);
    push(extra, R::MtpHProj, p + "h_proj.weight", {x.d, x.d}, TU::Matmul, PG::Other);
    L.ops.insert(L.ops.begin(), std::move(extra));
    L.ops.push_back(hc_op(p, "head", static_cast<int>(id), 1, x.d, v.hc));
    Op hn = make_op(p + "norm", OpKind::Norm, static_cast<int>(id), 1);
    push(hn, R::MtpHeadNorm, p + "norm.weight", {x.d}, TU::Vector, PG::Norm);
    L.ops.push_back(std::move(hn));
    ir.mtp_layers.push_back(std::move(L));
  }
}

}  // namespace

Family family_deepseek_v4() { return Family{"deepseek_v4", {"deepseek_v4"}, {"DeepseekV4ForCausalLM"}, build}; }

}  // namespace llmcost
