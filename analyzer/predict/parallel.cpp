// Parallel layout validation: tp/ep/pp checked against the model's heads, experts, widths and layers.
#include "llmcost/parallel.h"

#include <algorithm>
#include <string>

#include "llmcost/value.h"

namespace llmcost {

namespace {
std::string s(int64_t v) { return std::to_string(v); }
}  // namespace

std::string layout_label(const ParallelConfig& c) {
  std::string t;
  if (c.ep <= 1)
    t = "tp " + s(c.tp);
  else if (c.tp == c.ep)
    t = "tp " + s(c.tp) + " + ep " + s(c.ep);
  else if (c.tp < c.ep)
    t = "dp-attention " + s(c.ep / std::max<int64_t>(c.tp, 1)) + (c.tp > 1 ? " x tp " + s(c.tp) + "," : std::string(" x")) + " ep " + s(c.ep);
  else
    t = "tp " + s(c.tp) + " (experts ep " + s(c.ep) + " x tp " + s(c.tp / c.ep) + ")";
  if (c.pp > 1) t += " x pp " + s(c.pp);
  return t;
}

int64_t kv_shards(const AttentionSpec& a, int64_t tp) {
  if (a.type == AttentionType::MLA) return 1;
  return std::min(tp, std::max<int64_t>(a.n_kv_heads, 1));
}

ParallelLayout make_parallel_layout(const ModelIR& ir, const HardwareSpec& hw, const ParallelConfig& cfg) {
  if (cfg.tp < 1) throw Error("--tp must be >= 1, got " + s(cfg.tp));
  if (cfg.ep < 1) throw Error("--ep must be >= 1, got " + s(cfg.ep));
  if (cfg.pp < 1) throw Error("--pp must be >= 1, got " + s(cfg.pp));
  ParallelLayout L;
  L.cfg = cfg;
  L.devices_per_stage = std::max(cfg.tp, cfg.ep);
  if (L.devices_per_stage % std::min(cfg.tp, cfg.ep) != 0)
    throw Error("--tp " + s(cfg.tp) + " and --ep " + s(cfg.ep) + ": the smaller must divide the larger");
  L.devices = checked_mul(cfg.pp, L.devices_per_stage);
  L.attention_replicas = L.devices_per_stage / cfg.tp;
  if (L.devices > 1 && !hw.interconnect)
    throw Error(hw.name + " has no interconnect in " + hw.source_file + ": tp x ep x pp must be 1, got " + s(cfg.tp) +
                " x " + s(cfg.ep) + " x " + s(cfg.pp));
  if (cfg.pp > ir.n_layers)
    throw Error("--pp " + s(cfg.pp) + " is more than the model's " + s(ir.n_layers) + " layers (" + ir.source_file + ")");

  const std::string& f = ir.source_file;
  bool has_experts = false;
  auto check_op = [&](const Op& op) {
    if (op.kind == OpKind::Attention) {
      if (op.attn.n_heads % cfg.tp != 0)
        throw Error(f + ": --tp " + s(cfg.tp) + " does not divide the " + s(op.attn.n_heads) + " attention heads of " + op.name);
      // KV heads split tp ways, or (tp a multiple of them) are replicated, as serving engines do.
      if (op.attn.type == AttentionType::Standard && op.attn.n_kv_heads % cfg.tp != 0 && cfg.tp % op.attn.n_kv_heads != 0)
        throw Error(f + ": --tp " + s(cfg.tp) + " neither divides nor is a multiple of the " + s(op.attn.n_kv_heads) +
                    " KV heads of " + op.name);
    } else if (op.kind == OpKind::Recurrent) {
      if (op.rec.n_heads % cfg.tp != 0 || op.rec.n_k_heads % cfg.tp != 0)
        throw Error(f + ": --tp " + s(cfg.tp) + " does not divide the " + s(op.rec.n_heads) + " heads / " + s(op.rec.n_k_heads) +
                    " key heads (groups) of the recurrent mixer " + op.name);
    } else if (op.kind == OpKind::Mlp || op.kind == OpKind::SharedExperts) {
      if (op.mlp.d_ff % cfg.tp != 0)
        throw Error(f + ": --tp " + s(cfg.tp) + " does not divide the MLP width " + s(op.mlp.d_ff) + " of " + op.name);
    } else if (op.kind == OpKind::RoutedExperts) {
      has_experts = true;
      if (op.moe.n_experts % cfg.ep != 0)
        throw Error(f + ": --ep " + s(cfg.ep) + " does not divide the " + s(op.moe.n_experts) + " experts of " + op.name);
      int64_t expert_tp = L.devices_per_stage / cfg.ep;
      if (op.mlp.d_ff % expert_tp != 0)
        throw Error(f + ": " + s(expert_tp) + "-way expert tensor parallelism (max(tp, ep) / ep) does not divide the expert width " +
                    s(op.mlp.d_ff) + " of " + op.name);
    }
  };
  for (const auto& layer : ir.layers)
    for (const auto& op : layer.ops) check_op(op);
  if (cfg.ep > 1 && !has_experts) throw Error(f + ": --ep " + s(cfg.ep) + " needs a mixture-of-experts model; this one has no routed experts");

  // Contiguous ranges; the first (n_layers % pp) stages take one layer more.
  L.stage_of_layer.resize(static_cast<size_t>(ir.n_layers));
  int64_t base = ir.n_layers / cfg.pp, extra = ir.n_layers % cfg.pp, layer = 0;
  for (int64_t st = 0; st < cfg.pp; ++st)
    for (int64_t i = 0; i < base + (st < extra ? 1 : 0); ++i) L.stage_of_layer[static_cast<size_t>(layer++)] = static_cast<int>(st);
  return L;
}

}  // namespace llmcost
