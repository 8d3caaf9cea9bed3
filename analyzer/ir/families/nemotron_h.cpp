// nemotron_h: Nemotron-H (hybrid Mamba-2 / attention / MLP) and Nemotron-3 Nano / Super / Ultra
// (hybrid Mamba-2 / attention / MoE, Super and Ultra with latent MoE and an MTP module).
// Reference: transformers models/nemotron_h/modeling_nemotron_h.py + configuration_nemotron_h.py
// (NemotronHForCausalLM); checkpoint names and the MTP module from vLLM
// model_executor/models/nemotron_h.py (hf_to_vllm_mapper: checkpoints say "backbone.", not
// "model.") and nemotron_h_mtp.py.
//
// Layer kinds: `layers_block_type` (or its alias `layer_types`) lists them; older configs give
// `hybrid_override_pattern`, one character a layer: M = Mamba-2 ("mamba" / "linear_attention"),
// * = attention ("attention" / "full_attention"), - = MLP ("mlp"), E = MoE ("moe"). The number of
// layers is the list's length (NemotronHConfig.num_hidden_layers is derived from it; a different
// num_hidden_layers is only warned about). Every layer is ONE block: residual + mixer(norm(x)),
// NemotronHBlock:
//   backbone.layers.<i>.norm.weight [d] (RMSNorm, layer_norm_epsilon)
//   M  NemotronHMamba2Mixer, I = mamba_num_heads x mamba_head_dim, G = n_groups, N = ssm_state_size,
//      H = mamba_num_heads, conv_dim = I + 2 G N:
//      mixer.in_proj [I + conv_dim + H, d] (= [2I + 2GN + H, d]: gate z, x, B, C, dt; bias: use_bias),
//      mixer.conv1d.weight [conv_dim, 1, conv_kernel] (+ .bias [conv_dim]: use_conv_bias),
//      mixer.dt_bias [H], mixer.A_log [H], mixer.D [H],
//      mixer.norm.weight [I] (gated RMSNorm, group size I / G), mixer.out_proj [d, I] (bias: use_bias)
//   *  NemotronHAttention: mixer.q_proj [H_q hd, d], k_proj / v_proj [H_kv hd, d], o_proj [d, H_q hd],
//      no biases, no rotary embedding (positions come from the Mamba layers); hd = head_dim
//      (older configs: attention_head_dim; NemotronHConfig's default 128).
//   -  NemotronHMLP: mixer.up_proj [intermediate_size, d], mixer.down_proj [d, intermediate_size]
//      (bias: mlp_bias), act mlp_hidden_act (relu2 = squared ReLU); not gated.
//   E  NemotronHMoE: mixer.gate.weight [n_routed_experts, d] + mixer.gate.e_score_correction_bias
//      [n_routed_experts] (a buffer the checkpoint stores), sigmoid scores, group-limited top-k
//      (n_group, topk_group), norm_topk_prob, routed_scaling_factor; experts
//      mixer.experts.<e>.up_proj [moe_intermediate_size, L] / down_proj [L, moe_intermediate_size]
//      (not gated), L = moe_latent_size when set (latent MoE: mixer.fc1_latent_proj [L, d] before the
//      experts and mixer.fc2_latent_proj [d, L] after them, bias mlp_bias), else d; one shared
//      expert mixer.shared_experts.up_proj / down_proj of moe_shared_expert_intermediate_size on d.
// Then backbone.norm_f.weight [d] and lm_head [vocab, d] (tie_word_embeddings) after
// backbone.embeddings [vocab, d].
//
// Multi-token prediction (vLLM NemotronHMultiTokenPredictor; transformers skips mtp.* on load):
// num_nextn_predict_layers (vLLM supports exactly 1) steps of the block kinds in
// `mtp_layers_block_type` (or `mtp_hybrid_override_pattern`; default attention, moe), each kind
// attention or moe, stored as mtp.layers.<j>. The first block of a step also holds enorm / hnorm [d]
// and eh_proj [d, 2d]; the last also final_layernorm [d]. The embedding and lm_head are the main
// model's (no copies stored).
//
// Recurrent state (vLLM MambaStateShapeCalculator.mamba2_state_shape): conv state
// (conv_kernel - 1) x conv_dim in the model dtype, SSM state H x P x N in mamba_ssm_cache_dtype
// (vLLM's NemotronH default, float32, when the config does not say).
//
// Refused (the references disagree or vLLM rejects it): attention_bias, n_shared_experts other
// than 1 (transformers builds one shared expert of moe_shared_expert_intermediate_size, vLLM one
// of n_shared_experts times it), num_nextn_predict_layers above 1, MTP blocks of another kind.
#include "../family.h"

namespace llmcost {

using TU = TensorUse;
using PG = ParamGroup;
using R = TensorRole;

namespace {

enum class Block { Mamba, Attention, Mlp, Moe };

// One layer kind from a name of layers_block_type (legacy names remapped as transformers'
// remap_legacy_layer_types does); false when the name is not a kind.
bool block_of_name(const std::string& s, Block& b) {
  if (s == "mamba" || s == "linear_attention") b = Block::Mamba;
  else if (s == "attention" || s == "full_attention") b = Block::Attention;
  else if (s == "mlp") b = Block::Mlp;
  else if (s == "moe") b = Block::Moe;
  else return false;
  return true;
}

std::vector<Block> blocks_from_list(const ConfigReader& r, const std::string& key) {
  std::vector<Block> out;
  const auto names = r.str_list(key);
  for (size_t i = 0; i < names.size(); ++i) {
    Block b;
    if (!block_of_name(names[i], b))
      throw ConfigError(r.file(), r.pointer_of(key) + "/" + std::to_string(i),
                        "must be one of \"mamba\", \"attention\", \"mlp\", \"moe\" (or \"linear_attention\", "
                        "\"full_attention\"), got " + quote_for_message(names[i]));
    out.push_back(b);
  }
  return out;
}

std::vector<Block> blocks_from_pattern(const ConfigReader& r, const std::string& key) {
  std::vector<Block> out;
  const std::string p = r.req_str(key);
  for (size_t i = 0; i < p.size(); ++i) {
    switch (p[i]) {
      case 'M': out.push_back(Block::Mamba); break;
      case '*': out.push_back(Block::Attention); break;
      case '-': out.push_back(Block::Mlp); break;
      case 'E': out.push_back(Block::Moe); break;
      default:
        r.fail(key, "must be made of the characters M (Mamba-2), * (attention), - (MLP), E (MoE); character " +
                        std::to_string(i) + " is " + quote_for_message(std::string(1, p[i])));
    }
  }
  return out;
}

// Everything a block of each kind is built from.
struct Shapes {
  int64_t d = 0;
  double eps = 1e-5;
  RecurrentSpec rs;
  bool mamba_bias = false, conv_bias = true;
  AttentionSpec attn;
  MlpSpec mlp;          // "-" layers
  MlpSpec expert;       // routed experts
  MlpSpec shared;       // the shared expert
  bool mlp_bias = false;
  MoeSpec moe;
  int64_t latent = 0;   // moe_latent_size; 0: experts on d
};

Op mamba2_op(const std::string& name, int li, const Shapes& x) {
  const RecurrentSpec& rs = x.rs;
  Op op = make_op(name, OpKind::Recurrent, li, 0);
  op.rec = rs;
  const int64_t inner = checked_mul(rs.n_heads, rs.v_head_dim);
  add_linear(op, R::RecInProj, "in_proj", x.d, checked_add(checked_add(inner, rs.conv_dim), rs.n_heads), x.mamba_bias,
             PG::Attention);
  add(op, R::RecConv, "conv1d.weight", {rs.conv_dim, 1, rs.conv_kernel}, TU::Vector, PG::Attention);
  if (x.conv_bias) add_bias(op, R::RecConv, "conv1d.bias", rs.conv_dim, PG::Attention);
  add(op, R::RecDtBias, "dt_bias", {rs.n_heads}, TU::Vector, PG::Attention);
  add(op, R::RecALog, "A_log", {rs.n_heads}, TU::Vector, PG::Attention);
  add(op, R::RecD, "D", {rs.n_heads}, TU::Vector, PG::Attention);
  add(op, R::RecNorm, "norm.weight", {inner}, TU::Vector, PG::Norm);
  add_linear(op, R::RecOutProj, "out_proj", inner, x.d, x.mamba_bias, PG::Attention);
  return op;
}

// A block: its pre-norm and its one mixer, all in one sublayer (one residual add).
Layer make_block(const std::string& p, int64_t idx, Block kind, const Shapes& x) {
  Layer L;
  L.index = static_cast<int>(idx);
  const int li = L.index;
  const int sub = kind == Block::Mamba || kind == Block::Attention ? 0 : 1;
  L.ops.push_back(norm_op(p + ".norm", li, x.d, NormType::RMSNorm, false, x.eps, sub));
  const std::string mp = p + ".mixer";
  const MlpNames up_down{"", "up_proj", "down_proj"};
  switch (kind) {
    case Block::Mamba: L.ops.push_back(mamba2_op(mp, li, x)); break;
    case Block::Attention: L.ops.push_back(standard_attention(mp, li, x.d, x.attn, StdAttnOpts{})); break;
    case Block::Mlp: L.ops.push_back(mlp_op(mp, OpKind::Mlp, li, x.d, x.mlp, PG::Mlp, false, x.mlp_bias, up_down)); break;
    case Block::Moe: {
      L.is_moe = true;
      // The Router op is the MoE block (mixer): its gate (gate.weight, gate.e_score_correction_bias)
      // and, in a latent MoE, fc1/fc2_latent_proj, which are modules of the block, not of its gate.
      Op router = make_op(mp, OpKind::Router, li, 1);
      router.moe = x.moe;
      router.moe.correction_bias = true;
      add(router, R::Router, "gate.weight", {x.moe.n_experts, x.d}, TU::Matmul, PG::Router);
      add(router, R::RouterCorrectionBias, "gate.e_score_correction_bias", {x.moe.n_experts}, TU::Vector, PG::Router);
      if (x.latent > 0) {
        add(router, R::MoeLatentIn, "fc1_latent_proj.weight", {x.latent, x.d}, TU::Matmul, PG::ExpertsRouted);
        add(router, R::MoeLatentOut, "fc2_latent_proj.weight", {x.d, x.latent}, TU::Matmul, PG::ExpertsRouted);
        if (x.mlp_bias) {
          add_bias(router, R::MoeLatentIn, "fc1_latent_proj.bias", x.latent, PG::ExpertsRouted);
          add_bias(router, R::MoeLatentOut, "fc2_latent_proj.bias", x.d, PG::ExpertsRouted);
        }
      }
      L.ops.push_back(std::move(router));
      L.ops.push_back(experts_op(mp + ".experts", li, x.latent > 0 ? x.latent : x.d, x.expert, x.moe, up_down));
      L.ops.push_back(mlp_op(mp + ".shared_experts", OpKind::SharedExperts, li, x.d, x.shared, PG::ExpertsShared, false,
                             x.mlp_bias, up_down));
      break;
    }
  }
  for (Op& op : L.ops) op.sublayer = sub;
  return L;
}

void build_nemotron_h(const ConfigReader& r, ModelIR& ir) {
  // Layer kinds, as NemotronHConfig.__post_init__ fills them in.
  std::vector<Block> kinds;
  if (r.has("layers_block_type")) kinds = blocks_from_list(r, "layers_block_type");
  else if (r.has("layer_types")) kinds = blocks_from_list(r, "layer_types");
  else if (r.has("hybrid_override_pattern")) kinds = blocks_from_pattern(r, "hybrid_override_pattern");
  else r.fail("hybrid_override_pattern", "is required (or layers_block_type): the kind of every layer");
  const char* kinds_key = r.has("layers_block_type") ? "layers_block_type"
                          : r.has("layer_types")      ? "layer_types"
                                                      : "hybrid_override_pattern";
  if (kinds.empty()) r.fail(kinds_key, "must name at least one layer");
  if (kinds.size() > 100000) r.fail(kinds_key, "must name at most 100000 layers, got " + std::to_string(kinds.size()));
  const int64_t n_layers = static_cast<int64_t>(kinds.size());

  Dims base;
  base.d = r.req_int("hidden_size");
  base.n_layers = n_layers;
  base.n_heads = r.int_or("num_attention_heads", 32, 1, 1 << 20);
  base.n_kv_heads = r.int_or("num_key_value_heads", base.n_heads, 1, 1 << 20);
  base.vocab = r.int_or("vocab_size", 131072);
  init_ir(ir, r, "nemotron_h", base);
  if (r.has("num_hidden_layers") && r.int_or("num_hidden_layers", n_layers, 0) != n_layers)
    ir.notes.push_back("num_hidden_layers (" + std::to_string(r.int_or("num_hidden_layers", n_layers, 0)) + ") differs from the " +
                       std::to_string(n_layers) + " layers " + kinds_key + " lists; the list is used, as transformers does");
  ir.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);

  Shapes x;
  x.d = base.d;
  x.eps = r.num_or("layer_norm_epsilon", 1e-5);
  ir.norm_eps = x.eps;
  bool any[4] = {false, false, false, false};
  for (Block b : kinds) any[static_cast<int>(b)] = true;

  // Mamba-2.
  RecurrentSpec& rs = x.rs;
  rs.type = RecurrentType::Mamba2;
  rs.n_heads = r.int_or("mamba_num_heads", 128, 1, 1 << 20);
  rs.v_head_dim = r.int_or("mamba_head_dim", 64, 1, 1 << 20);
  rs.k_head_dim = r.int_or("ssm_state_size", 128, 1, 1 << 20);
  rs.n_k_heads = r.has("n_groups") ? r.int_or("n_groups", 8, 1, 1 << 20) : r.int_or("mamba_n_groups", 8, 1, 1 << 20);
  rs.conv_kernel = r.has("conv_kernel") ? r.int_or("conv_kernel", 4, 1, 1 << 10) : r.int_or("mamba_d_conv", 4, 1, 1 << 10);
  x.conv_bias = r.has("use_conv_bias") ? r.bool_or("use_conv_bias", true) : r.bool_or("mamba_conv_bias", true);
  x.mamba_bias = r.bool_or("use_bias", false);
  const int64_t inner = checked_mul(rs.n_heads, rs.v_head_dim);
  if (any[static_cast<int>(Block::Mamba)] && (rs.n_heads % rs.n_k_heads != 0))
    r.fail(r.has("n_groups") ? "n_groups" : "mamba_n_groups",
           "must divide mamba_num_heads (" + std::to_string(rs.n_heads) + "), got " + std::to_string(rs.n_k_heads));
  rs.conv_dim = checked_add(inner, checked_mul(2, checked_mul(rs.n_k_heads, rs.k_head_dim)));
  // vLLM NemotronHForCausalLMConfig: the config's mamba_ssm_cache_dtype, else float32.
  rs.state_bits = r.has("mamba_ssm_cache_dtype") || r.has("mamba_ssm_dtype") ? recurrent_state_bits(r, ir) : 32;
  rs.conv_state_bits = model_dtype_bits(ir.torch_dtype);

  // Attention.
  if (base.n_heads % base.n_kv_heads != 0)
    r.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(base.n_heads) + "), got " +
                                      std::to_string(base.n_kv_heads));
  if (r.bool_or("attention_bias", false))
    r.fail("attention_bias", "must be false: transformers' and vLLM's NemotronHAttention have no biases");
  x.attn.n_heads = base.n_heads;
  x.attn.n_kv_heads = base.n_kv_heads;
  x.attn.head_dim = r.has("head_dim") ? r.req_int("head_dim", 1, 1 << 20) : r.int_or("attention_head_dim", 128, 1, 1 << 20);
  x.attn.v_head_dim = x.attn.head_dim;
  x.attn.use_rope = false;  // NemotronHAttention applies no rotary embedding
  x.attn.sliding_window = r.int_or("sliding_window", 0, 0);  // vLLM: per_layer_sliding_window

  // MLP and MoE.
  x.mlp_bias = r.bool_or("mlp_bias", false);
  const Activation act = parse_activation(r, "mlp_hidden_act", "relu2");
  for (MlpSpec* m : {&x.mlp, &x.expert, &x.shared}) {
    m->gated = false;
    m->act = act;
  }
  if (any[static_cast<int>(Block::Mlp)]) x.mlp.d_ff = r.int_or("intermediate_size", 21504);
  auto read_moe = [&] {
    x.moe.n_experts = r.int_or("n_routed_experts", 8, 1, 1 << 20);
    x.moe.top_k = r.int_or("num_experts_per_tok", 2, 1, 1 << 20);
    x.moe.scoring = ScoringFunc::Sigmoid;
    x.moe.norm_topk_prob = r.bool_or("norm_topk_prob", true);
    x.moe.n_group = r.int_or("n_group", 1, 1, 1 << 20);
    x.moe.topk_group = r.int_or("topk_group", 1, 1, 1 << 20);
    x.moe.correction_bias = true;
    x.moe.routed_scaling_factor = r.num_or("routed_scaling_factor", 1.0);
    if (r.int_or("n_shared_experts", 1, 0, 1 << 20) != 1)
      r.fail("n_shared_experts", "must be 1: transformers builds one shared expert of moe_shared_expert_intermediate_size, "
                                 "vLLM one of n_shared_experts times that width");
    x.moe.n_shared_experts = 1;
    x.expert.d_ff = r.int_or("moe_intermediate_size", 7688);
    x.shared.d_ff = r.int_or("moe_shared_expert_intermediate_size", 7688);
    x.latent = r.has("moe_latent_size") ? r.req_int("moe_latent_size") : 0;
  };

  // MTP block kinds (read before building, so that an MTP MoE block reads the MoE keys).
  const int64_t n_mtp = r.int_or("num_nextn_predict_layers", 0, 0, 64);
  std::vector<Block> mtp_kinds;
  if (n_mtp > 0) {
    if (n_mtp > 1) r.fail("num_nextn_predict_layers", "must be 0 or 1 (vLLM's NemotronH MTP supports one step), got " + std::to_string(n_mtp));
    // NemotronHConfig: mtp_layers_block_type, else the default; mtp_hybrid_override_pattern
    // replaces the default (or a list equal to it).
    const std::vector<Block> def = {Block::Attention, Block::Moe};
    const char* key = "mtp_layers_block_type";
    mtp_kinds = r.has(key) ? blocks_from_list(r, key) : def;
    if (mtp_kinds == def && r.has("mtp_hybrid_override_pattern")) {
      key = "mtp_hybrid_override_pattern";
      mtp_kinds = blocks_from_pattern(r, key);
    }
    if (mtp_kinds.empty()) r.fail(key, "must name at least one MTP block");
    for (size_t i = 0; i < mtp_kinds.size(); ++i)
      if (mtp_kinds[i] != Block::Attention && mtp_kinds[i] != Block::Moe)
        r.fail(key, "may hold only attention and moe blocks (vLLM's NemotronH MTP builds no other); block " + std::to_string(i) +
                        " is " + (mtp_kinds[i] == Block::Mamba ? "mamba" : "mlp"));
    for (Block b : mtp_kinds) any[static_cast<int>(b)] = true;
  }
  if (any[static_cast<int>(Block::Moe)]) read_moe();

  add_embedding(ir, "backbone.embeddings", base.vocab, base.d);
  for (int64_t i = 0; i < n_layers; ++i) ir.layers.push_back(make_block(layer_prefix("backbone.layers", i), i, kinds[i], x));
  add_head(ir, "backbone.norm_f", NormType::RMSNorm, false, x.eps, "lm_head", ir.tie_word_embeddings);

  ir.n_mtp_layers = n_mtp;
  for (size_t j = 0; j < mtp_kinds.size(); ++j) {
    const std::string p = layer_prefix("mtp.layers", static_cast<int64_t>(j));
    const int64_t idx = n_layers + static_cast<int64_t>(j);
    Layer L = make_block(p, idx, mtp_kinds[j], x);
    if (j == 0) {
      Op in = make_op(p, OpKind::Norm, static_cast<int>(idx), L.ops.front().sublayer);
      add(in, R::MtpEmbedNorm, "enorm.weight", {x.d}, TU::Vector, PG::Norm);
      add(in, R::MtpHiddenNorm, "hnorm.weight", {x.d}, TU::Vector, PG::Norm);
      add(in, R::MtpProj, "eh_proj.weight", {x.d, checked_mul(2, x.d)}, TU::Matmul, PG::Other);
      L.ops.insert(L.ops.begin(), std::move(in));
    }
    if (j + 1 == mtp_kinds.size()) {
      Op out = make_op(p, OpKind::Norm, static_cast<int>(idx), L.ops.back().sublayer);
      add(out, R::MtpHeadNorm, "final_layernorm.weight", {x.d}, TU::Vector, PG::Norm);
      L.ops.push_back(std::move(out));
    }
    ir.mtp_layers.push_back(std::move(L));
  }
}

}  // namespace

Family family_nemotron_h() {
  Family fam;
  fam.name = "nemotron_h";
  fam.model_types = {"nemotron_h"};
  fam.hf_classes = {"NemotronHForCausalLM"};
  fam.build = build_nemotron_h;
  return fam;
}

}  // namespace llmcost
