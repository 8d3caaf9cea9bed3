// Roofline predictions: compiled per-op coefficients (the cost model's formulas), split over a
// parallel layout, timed against a device's peaks, plus memory per device and communication.
#include "llmcost/roofline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "llmcost/flops.h"
#include "llmcost/memory.h"

namespace llmcost {

namespace {

constexpr double kActBytes = 2.0;     // activations are bf16 (as cost_model.cpp)
constexpr double kLogitBytes = 4.0;   // logits kept in fp32 for sampling

bool same_cost(const OpGroup& x, const OpGroup& y) {
  const CostModel::OpConstants &a = x.cost, &b = y.cost;
  return x.kind == y.kind && x.dtype == y.dtype && a.copy_bytes == b.copy_bytes && a.gather_rows == b.gather_rows &&
         a.matmul_flops_per_copy_row == b.matmul_flops_per_copy_row &&
         a.activation_bytes_per_token == b.activation_bytes_per_token && a.attn.sliding_window == b.attn.sliding_window &&
         a.attn.chunk_size == b.attn.chunk_size && a.attn.type == b.attn.type &&
         a.attention_flops_per_position == b.attention_flops_per_position &&
         a.kv_bytes_per_position == b.kv_bytes_per_position && a.n_experts == b.n_experts && a.top_k == b.top_k &&
         a.state_bytes == b.state_bytes && a.recurrent_flops_per_token == b.recurrent_flops_per_token &&
         a.index_flops_per_position == b.index_flops_per_position && a.index_bytes_per_position == b.index_bytes_per_position &&
         a.attn.index_topk == b.attn.index_topk;
}

// "model.layers.12.mlp" -> "model.layers.*.mlp"
std::string layer_pattern(const std::string& name) {
  // The first ".<digits>." run becomes ".*.".
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '.') continue;
    size_t j = i + 1;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
    if (j > i + 1 && j < name.size() && name[j] == '.') return name.substr(0, i) + ".*" + name.substr(j);
  }
  return name;
}

std::string fmt_int(int64_t v) { return std::to_string(v); }
std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

RooflineTime roofline(double flops, double bytes, double flops_per_s, double bytes_per_s) {
  RooflineTime t;
  t.compute_s = flops > 0 ? flops / flops_per_s : 0.0;
  t.memory_s = bytes > 0 ? bytes / bytes_per_s : 0.0;
  t.compute_bound = t.compute_s > t.memory_s;
  t.time_s = std::max(t.compute_s, t.memory_s);
  return t;
}

CompiledModel compile_model(const ModelIR& ir, QuantScheme quant, const QuantPolicy& policy, KvDtype kv,
                            const RoutingModel& routing) {
  CompiledModel m;
  m.ir = std::make_shared<const ModelIR>(ir);
  m.name = ir.name;
  m.source_file = ir.source_file;
  m.quant = quant;
  m.policy = policy;
  m.weight_format = weight_format_description(ir, quant, policy);
  m.quant_label = quant != QuantScheme::Auto ? std::string(quant_scheme_name(quant))
                  : ir.shipped_quant && ir.shipped_quant->understood
                      ? "as shipped (" + ir.shipped_quant->method + ")"
                      : "as shipped (" + stored_format_name(plain_stored_format(ir.torch_dtype)) + ")";
  m.kv = kv;
  m.routing = routing;
  m.n_layers = ir.n_layers;
  m.d_model = ir.d_model;
  m.vocab_size = ir.vocab_size;
  m.layer_dense_bytes.assign(static_cast<size_t>(ir.n_layers), 0.0);
  m.layer_expert_bytes.assign(static_cast<size_t>(ir.n_layers), 0.0);
  m.layer_attn.resize(static_cast<size_t>(ir.n_layers));
  m.layer_kv_bytes_per_token.assign(static_cast<size_t>(ir.n_layers), 0.0);
  m.layer_state_bytes.assign(static_cast<size_t>(ir.n_layers), 0.0);
  double widest = 0;

  // The per-op constants are the cost model's own (CostModel); this adds grouping, stored bytes
  // per layer and the widest activation.
  const CostModel cost(ir, quant, policy, kv);
  const int64_t n_experts = model_n_experts(ir);  // once: a per-op lookup made compiling quadratic in layers
  size_t next = 0;
  auto visit = [&](const Op& op, int where) {  // where: 0 pre, 1 layer, 2 post
    const CostModel::OpConstants& c = cost.ops()[next++];
    OpGroup g;
    g.kind = c.kind;
    g.dtype = parse_compute_dtype(c.compute_dtype).value_or(ComputeDtype::BF16);
    g.cost = c;
    if (c.kind == OpKind::RoutedExperts) {
      m.n_moe_layers++;
      m.n_experts = c.n_experts;
      m.top_k = c.top_k;
    }
    double width = 0;
    for (const auto& t : op.tensors)
      if (t.use == TensorUse::Matmul) width += static_cast<double>(t.out_features) * static_cast<double>(op.active_copies());
    if (op.kind != OpKind::LmHead) widest = std::max(widest, width);  // logits are counted apart

    const double stored = static_cast<double>(op_weight_bytes(op, quant, policy, op_site(op, ir, n_experts)));
    m.total_weight_bytes += stored;
    if (where == 0) {
      m.pre_bytes += stored;
    } else if (where == 2) {
      m.post_bytes += stored;
    } else {
      auto l = static_cast<size_t>(op.layer);
      (op.kind == OpKind::RoutedExperts ? m.layer_expert_bytes[l] : m.layer_dense_bytes[l]) += stored;
      if (op.kind == OpKind::Attention) {
        m.layer_attn[l] = op.attn;
        if (kv_cache_owned(op.attn)) m.layer_kv_bytes_per_token[l] += c.kv_bytes_per_position + c.index_bytes_per_position;
      } else if (op.kind == OpKind::Recurrent) {
        m.layer_state_bytes[l] += c.state_bytes;
      }
    }

    int index = static_cast<int>(m.op_names.size());
    m.op_names.push_back(op.name);
    for (auto& existing : m.groups) {
      if (same_cost(existing, g)) {
        existing.members.push_back(index);
        // The group's name lists its distinct name patterns: "model.layers.*.input_layernorm, model.norm".
        std::string pat = layer_pattern(op.name);
        std::string names = ", " + existing.name + ",";
        if (names.find(", " + pat + ",") == std::string::npos) existing.name += ", " + pat;
        return;
      }
    }
    g.name = layer_pattern(op.name);
    g.members.push_back(index);
    m.groups.push_back(std::move(g));
  };
  for (const auto& op : ir.pre) visit(op, 0);
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops) visit(op, 1);
  for (const auto& op : ir.post) visit(op, 2);
  m.workspace_bytes_per_token = widest * kActBytes;
  for (const auto& L : ir.layers) {
    std::set<int> tp_subs, moe_subs;
    for (const auto& op : L.ops) {
      const bool split = op.kind == OpKind::Attention || op.kind == OpKind::Recurrent || op.kind == OpKind::Mlp ||
                         op.kind == OpKind::SharedExperts || op.kind == OpKind::RoutedExperts;
      if (split) tp_subs.insert(op.sublayer);
      if (op.kind == OpKind::RoutedExperts) moe_subs.insert(op.sublayer);
    }
    m.n_tp_sublayers += static_cast<int64_t>(tp_subs.size());
    m.n_moe_sublayers += static_cast<int64_t>(moe_subs.size());
  }
  return m;
}

double spec_tokens_per_step(int64_t n, double a) {
  if (n < 1) throw Error("--spec-tokens must be >= 1 draft token, got " + fmt_int(n));
  if (!(a >= 0 && a <= 1)) throw Error("--spec-acceptance must be a probability in [0, 1], got " + fmt_num(a));
  if (a == 1) return static_cast<double>(n + 1);
  return (1.0 - std::pow(a, static_cast<double>(n + 1))) / (1.0 - a);
}

namespace {

struct Phase {
  bool decode = true;
  int64_t batch = 1;      // sequences in the step (prefill: 1 request)
  int64_t per_seq = 1;    // new tokens per sequence (decode 1, prefill S)
  int64_t context = 1;    // decode: cached positions
};

PhaseResult run_phase(const CompiledModel& m, const HardwareSpec& hw, const EffectiveRates& rates, const AppliedEfficiency& eff,
                      const ParallelLayout& L, const Phase& ph, int64_t chunk_tokens, bool with_ops) {
  PhaseResult r;
  const double tp = static_cast<double>(L.cfg.tp);
  const double D = static_cast<double>(L.devices_per_stage);
  // Sequences one attention replica handles: a decode step and a batched prefill spread the
  // batch over the replicas (dp-attention replicas prefill their own prompts at the same time);
  // a prefill of one request runs on one replica.
  const int64_t seqs = L.sequences_per_replica(ph.batch);
  const int64_t replicas_busy = (ph.batch + seqs - 1) / seqs;
  const double b = static_cast<double>(seqs);
  const double S = static_cast<double>(ph.per_seq);
  const int64_t all_tokens = checked_mul(ph.batch, ph.per_seq);
  const int64_t replica_tokens = checked_mul(seqs, ph.per_seq);
  const double T_all = static_cast<double>(all_tokens);
  r.tokens = ph.decode ? ph.batch : all_tokens;
  const StepShape shape{ph.decode, ph.per_seq, ph.context};
  // Forward passes: a decode step is one; a prefill runs in chunks of at most chunk_tokens on
  // each busy replica, the replicas' chunks in the same passes.
  const int64_t pass_tokens = ph.decode ? all_tokens : std::min<int64_t>(replica_tokens, chunk_tokens);
  r.passes = ph.decode ? 1 : (replica_tokens + chunk_tokens - 1) / chunk_tokens;
  // Tokens of one pass that reach the routed experts: every busy replica's.
  const int64_t expert_pass_tokens = ph.decode ? all_tokens : std::min<int64_t>(all_tokens, checked_mul(pass_tokens, replicas_busy));
  // Achievable bandwidth: a calibrated figure is achieved already; a datasheet one is derated.
  const double bw = rates.bw_calibrated ? rates.mem_bw_bytes_per_s : rates.mem_bw_bytes_per_s * eff.mem_bw_fraction;
  // Tokens of one pass through a weight on this replica (the GEMM's M): prefill chunks batch the
  // replica's prompts; decode steps its sequences.
  const double m_dense = ph.decode ? b * S : static_cast<double>(pass_tokens);
  // Distinct experts are per (E, k): computed once per phase.
  int64_t cached_E = -1, cached_k = -1;
  double cached_distinct = 0;

  for (const auto& g : m.groups) {
    const double count = static_cast<double>(g.members.size());
    double distinct = 0;
    if (g.kind == OpKind::RoutedExperts) {
      if (g.cost.n_experts != cached_E || g.cost.top_k != cached_k) {
        cached_distinct = expected_distinct_experts(g.cost.n_experts, g.cost.top_k, all_tokens, m.routing);
        cached_E = g.cost.n_experts;
        cached_k = g.cost.top_k;
      }
      distinct = cached_distinct;
    }
    // The whole batch, one copy of the work; then what one device of a stage does.
    const OpCost all = op_step_cost(g.cost, static_cast<double>(ph.batch), shape, distinct);
    double f_dev = 0, w_dev = 0, kv_dev = 0, a_dev = 0;
    if (g.kind == OpKind::RoutedExperts) {
      // Experts are spread over every device of the stage (tp x ep); under ep the step waits for
      // the most loaded expert rank (ep_load_imbalance): its tokens' FLOPs and activations are
      // `imb` x the mean, and it reads the experts that load reaches, d(imb x mu) / d(mu) x the
      // mean, with d(L) = (E / ep)(1 - (1 - ep / E)^L) distinct of a rank's E / ep experts for L
      // routed pairs (-> 1 once every rank reads all of its experts).
      double imb = 1.0, w_imb = 1.0;
      if (L.cfg.ep > 1) {
        imb = ep_load_imbalance(g.cost.n_experts, g.cost.top_k, expert_pass_tokens, L.cfg.ep);
        const double per_rank = static_cast<double>(g.cost.n_experts) / static_cast<double>(L.cfg.ep);
        const double mu = static_cast<double>(expert_pass_tokens) * static_cast<double>(std::min(g.cost.top_k, g.cost.n_experts)) /
                          static_cast<double>(L.cfg.ep);
        auto reach = [&](double pairs) { return per_rank > 1 ? per_rank * -std::expm1(pairs * std::log1p(-1.0 / per_rank)) : 1.0; };
        if (mu > 0) w_imb = reach(imb * mu) / reach(mu);
        r.ep_imbalance = std::max(r.ep_imbalance, imb);
      }
      f_dev = all.flops / D * imb;
      w_dev = all.weight_bytes / D * w_imb;
      a_dev = all.activation_bytes / D * imb;
    } else {
      const OpCost mine = op_step_cost(g.cost, b, shape, 0.0);  // this replica's sequences
      f_dev = mine.flops / tp;
      w_dev = mine.weight_bytes / tp;
      // Heads split the KV cache over tp (replicated past n_kv_heads); an MLA latent is per token,
      // so every rank reads it whole.
      // A recurrent mixer's state splits by heads over tp (make_parallel_layout checks they divide).
      kv_dev = g.kind == OpKind::Attention   ? mine.kv_bytes / static_cast<double>(kv_shards(g.cost.attn, L.cfg.tp))
               : g.kind == OpKind::Recurrent ? mine.kv_bytes / tp
                                             : 0.0;
      a_dev = mine.activation_bytes;  // inputs are replicated on every rank
    }
    const double flops_all = all.flops, weight_all = all.weight_bytes, kv_all = all.kv_bytes, act_all = all.activation_bytes;
    const int di = static_cast<int>(g.dtype);
    // A GEMM's M: tokens through one weight copy per pass (routed experts: a pass's tokens x top_k
    // over the distinct experts they reach).
    double m_rows = m_dense;
    if (g.kind == OpKind::RoutedExperts && distinct > 0)
      m_rows = static_cast<double>(expert_pass_tokens) * static_cast<double>(g.cost.top_k) / distinct;
    const double flops_rate = eff.gemm_rate(rates.flops_per_s[di], m_rows, rates.flops_calibrated[di]);
    RooflineTime t = roofline(f_dev, w_dev + kv_dev + a_dev, flops_rate, bw);
    r.ops_s += count * t.time_s;
    (t.compute_bound ? r.compute_bound_s : r.memory_bound_s) += count * t.time_s;
    r.flops += count * f_dev;
    r.bytes += count * (w_dev + kv_dev + a_dev);
    r.flops_all_devices += count * flops_all;
    r.bytes_all_devices += count * (weight_all + kv_all + act_all);
    if (with_ops) {
      OpGroupTime o;
      o.name = g.name;
      o.members = g.members;
      o.op_names.reserve(g.members.size());
      for (int i : g.members) o.op_names.push_back(m.op_names[static_cast<size_t>(i)]);
      o.kind = g.kind;
      o.count = static_cast<int64_t>(g.members.size());
      o.dtype = g.dtype;
      o.peak_dtype = rates.used_dtype[di];
      o.flops = f_dev;
      o.weight_bytes = w_dev;
      o.kv_bytes = kv_dev;
      o.activation_bytes = a_dev;
      o.t = t;
      r.ops.push_back(std::move(o));
    }
  }

  // Communication over the interconnect (none on a single device); a group wider than one node
  // (the YAML's network.devices_per_node) runs over the scale-out network, its slowest hop.
  if (L.devices > 1 && hw.interconnect) {
    const double d = static_cast<double>(m.d_model);
    const double node = hw.network ? hw.network->devices_per_node.value : 0.0;
    const double link_bw = hw.interconnect->send_bw_bytes_per_s();
    const double net_bw = hw.network ? std::min(link_bw, hw.network->bw_bytes_per_s.value) : link_bw;
    const double link_lat = std::max(hw.interconnect->latency_s ? hw.interconnect->latency_s->value : 0.0, eff.collective_latency_s);
    const double net_lat = hw.network && hw.network->latency_s ? std::max(link_lat, hw.network->latency_s->value) : link_lat;
    // A group spans nodes when it has more devices than one node holds (tp groups and ep groups
    // are laid out node by node, so tp 8 x ep 16 keeps its all-reduces inside a node).
    auto spans = [&](int64_t group) { return hw.network && static_cast<double>(group) > node; };
    CommVolume& c = r.comm;
    const double tokens_replica = b * S;  // tokens one replica's ranks hold
    if (L.cfg.tp > 1) {
      // One all-reduce after each sublayer split over tp (attention, the FFN, a Nemotron-H block),
      // except MoE sublayers whose experts are exchanged by all-to-all instead.
      int64_t n = m.n_tp_sublayers - (L.cfg.ep > 1 ? m.n_moe_sublayers : 0);
      double msg = tokens_replica * d * kActBytes;
      c.tp_allreduce_bytes = static_cast<double>(n) * 2.0 * (tp - 1) / tp * msg;
      c.n_collectives += n;
    }
    if (L.cfg.ep > 1 && m.n_moe_layers > 0) {
      const double ep = static_cast<double>(L.cfg.ep);
      // Each device dispatches the tokens it owns to top_k experts and gets them back.
      double owned = ph.decode ? T_all / D : T_all / (tp * static_cast<double>(replicas_busy));
      // The most loaded rank receives r.ep_imbalance x the mean, and the exchange waits for it.
      c.ep_alltoall_bytes = static_cast<double>(m.n_moe_layers) * 2.0 * owned * static_cast<double>(m.top_k) * d * kActBytes *
                            (ep - 1) / ep * r.ep_imbalance;
      c.n_collectives += 2 * m.n_moe_layers;
    }
    if (L.cfg.pp > 1) {
      c.pp_send_bytes = static_cast<double>(L.cfg.pp - 1) * T_all * d * kActBytes;
      c.n_collectives += L.cfg.pp - 1;
    }
    // Stage-to-stage sends cross a node boundary when the stages before them fill whole nodes.
    double pp_time = 0;
    if (L.cfg.pp > 1) {
      const double per_send = tokens_replica * d * kActBytes;
      for (int64_t st = 1; st < L.cfg.pp; ++st) {
        const bool crosses = hw.network && static_cast<int64_t>(static_cast<double>(st * L.devices_per_stage) /
                                                                 hw.network->devices_per_node.value) !=
                                               static_cast<int64_t>(static_cast<double>(st * L.devices_per_stage - 1) /
                                                                    hw.network->devices_per_node.value);
        pp_time += crosses ? per_send / std::min(link_bw, hw.network->bw_bytes_per_s.value) +
                                 (hw.network->latency_s ? hw.network->latency_s->value : link_lat)
                           : per_send / link_bw + link_lat;
      }
    }
    // All-reduces over the tp group: NVLink inside a node, the scale-out network beyond.
    const int64_t n_tp = L.cfg.tp > 1 ? c.n_collectives - (L.cfg.pp - 1) - (L.cfg.ep > 1 && m.n_moe_layers > 0 ? 2 * m.n_moe_layers : 0) : 0;
    double t = c.tp_allreduce_bytes / (spans(L.cfg.tp) ? net_bw : link_bw) + static_cast<double>(n_tp) * (spans(L.cfg.tp) ? net_lat : link_lat);
    // All-to-all over ep ranks: of the (ep - 1) / ep of a device's tokens that leave it, (ep -
    // node) / ep go to other nodes over its NIC while the rest cross NVLink at the same time.
    if (c.ep_alltoall_bytes > 0) {
      const double ep = static_cast<double>(L.cfg.ep);
      const int64_t n_ep = 2 * m.n_moe_layers;
      if (spans(L.cfg.ep)) {
        const double sent = c.ep_alltoall_bytes * ep / (ep - 1.0);  // every dispatched byte, own rank included
        t += std::max(sent * (node - 1.0) / ep / link_bw, sent * (ep - node) / ep / net_bw) + static_cast<double>(n_ep) * net_lat;
      } else {
        t += c.ep_alltoall_bytes / link_bw + static_cast<double>(n_ep) * link_lat;
      }
    }
    c.time_s = t + pp_time;
  }
  r.overhead_s = static_cast<double>(r.passes) * eff.step_overhead_s;
  r.time_s = r.ops_s + r.comm.time_s + r.overhead_s;
  if (r.comm.time_s > r.memory_bound_s && r.comm.time_s > r.compute_bound_s)
    r.bound = "communication";
  else
    r.bound = r.compute_bound_s > r.memory_bound_s ? "compute" : "memory";
  return r;
}

}  // namespace

namespace {

std::string layout_text(const ParallelConfig& c) {
  std::string t = "tp=" + fmt_int(c.tp);
  if (c.ep > 1) t += " ep=" + fmt_int(c.ep);
  if (c.pp > 1) t += " pp=" + fmt_int(c.pp);
  int64_t n = c.pp * std::max(c.tp, c.ep);
  return t + " (" + fmt_int(n) + (n == 1 ? " device)" : " devices)");
}

std::string gb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  return buf;
}

void check_request(const PredictRequest& req) {
  if (req.batch < 1) throw Error("--batch must be >= 1, got " + fmt_int(req.batch));
  if (req.context < 1) throw Error("--context must be >= 1 token, got " + fmt_int(req.context));
  if (req.prompt_tokens < 0) throw Error("--prompt must be >= 0 tokens, got " + fmt_int(req.prompt_tokens));
  if (!(req.memory_fraction > 0 && req.memory_fraction <= 1))
    throw Error("--mem-util must be in (0, 1], got " + fmt_num(req.memory_fraction));
  if (req.prefill_chunk_tokens < 1) throw Error("--prefill-chunk must be >= 1 token, got " + fmt_int(req.prefill_chunk_tokens));
  if (req.prefill_batch < 1) throw Error("prefill batch must be >= 1 prompt, got " + fmt_int(req.prefill_batch));
  if (req.spec_tokens < 0) throw Error("--spec-tokens must be >= 1 draft token, got " + fmt_int(req.spec_tokens));
  if (req.spec_tokens > 0) spec_tokens_per_step(req.spec_tokens, req.spec_acceptance);  // checks the acceptance
}

// The MTP modules as a model of their own (their layers renumbered from 0, no embedding or head
// outside them: a DeepSeek-style module carries its own norm and head), for one draft pass. A
// module's copy of the embedding table is left out: a lookup reads one row per token, and the cost
// walk charges an op's tensors whole.
ModelIR mtp_draft_ir(const ModelIR& ir) {
  ModelIR d = ir;
  d.layers = ir.mtp_layers;
  d.n_layers = static_cast<int64_t>(d.layers.size());
  d.mtp_layers.clear();
  d.n_mtp_layers = 0;
  bool own_head = false;
  for (size_t l = 0; l < d.layers.size(); ++l)
    for (auto& op : d.layers[l].ops) {
      op.layer = static_cast<int>(l);
      op.tensors.erase(std::remove_if(op.tensors.begin(), op.tensors.end(),
                                      [](const Tensor& t) { return t.use == TensorUse::Gather; }),
                       op.tensors.end());
      for (const auto& t : op.tensors)
        if (t.role == TensorRole::LmHead) own_head = true;
    }
  d.pre.clear();
  if (own_head) d.post.clear();  // else the shared final norm and head make the draft token
  return d;
}

// Speculative decoding's step on a prediction's layout (the one formula of its figures).
SpecResult speculative_step(const CompiledModel& m, const HardwareSpec& hw, const Prediction& p, const PredictRequest& req,
                            bool with_ops) {
  SpecResult s;
  s.present = true;
  s.draft_tokens = req.spec_tokens;
  s.acceptance = req.spec_acceptance;
  s.tokens_per_step = spec_tokens_per_step(req.spec_tokens, req.spec_acceptance);
  s.verify = run_phase(m, hw, p.rates, p.efficiency, p.layout, Phase{true, req.batch, req.spec_tokens + 1, req.context},
                       req.prefill_chunk_tokens, with_ops);
  if (!m.ir->mtp_layers.empty()) {
    const CompiledModel draft = compile_model(mtp_draft_ir(*m.ir), m.quant, m.policy, m.kv, m.routing);
    ParallelConfig cfg = req.parallel;
    cfg.pp = 1;  // the modules sit on the last stage
    const ParallelLayout L = make_parallel_layout(*draft.ir, hw, cfg);
    s.draft = run_phase(draft, hw, p.rates, p.efficiency, L, Phase{true, req.batch, 1, req.context}, req.prefill_chunk_tokens,
                        with_ops);
    s.draft_counted = true;
    s.draft_s = static_cast<double>(req.spec_tokens) * s.draft.time_s;
    s.draft_note = "draft: " + fmt_int(req.spec_tokens) + " pass" + (req.spec_tokens == 1 ? "" : "es") + " of the model's " +
                   fmt_int(static_cast<int64_t>(m.ir->mtp_layers.size())) + " MTP layer" +
                   (m.ir->mtp_layers.size() == 1 ? "" : "s") + " per step";
  } else {
    s.draft_note = "draft cost not counted (no MTP layers; give a draft model's own prediction)";
  }
  s.step_s = s.verify.time_s + s.draft_s;
  s.tokens_per_s_per_sequence = s.tokens_per_step / s.step_s;
  s.tokens_per_s = static_cast<double>(req.batch) * s.tokens_per_s_per_sequence;
  return s;
}

// The identity of a prediction (what was asked, on what), before any figure.
Prediction identity(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& req) {
  Prediction p;
  p.model = m.name;
  p.model_source = m.source_file;
  p.hardware = hw;
  p.rates = effective_rates(hw);
  p.efficiency = applied_efficiency(hw, req.efficiency);
  p.quant = quant_scheme_name(m.quant);
  p.policy = quant_policy_name(m.policy);
  p.weight_format = m.weight_format;
  p.kv_dtype = kv_dtype_name(m.kv);
  p.request = req;
  p.layout.cfg = req.parallel;
  p.memory.device_memory_bytes = hw.memory_bytes.value;
  p.memory.memory_fraction = req.memory_fraction;
  p.memory.capacity_bytes = hw.memory_bytes.value * req.memory_fraction;
  return p;
}

Prediction predict_impl(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& req, bool with_ops,
                        bool layout_errors_throw) {
  check_request(req);
  Prediction p = identity(m, hw, req);
  try {
    p.layout = make_parallel_layout(*m.ir, hw, req.parallel);
  } catch (const Error& e) {
    if (layout_errors_throw) throw;
    p.runnable = false;
    p.has_figures = false;
    p.reason = e.what();
    return p;
  }
  const ParallelLayout& L = p.layout;
  const int64_t S = req.prompt_tokens > 0 ? req.prompt_tokens : req.context;

  p.decode = run_phase(m, hw, p.rates, p.efficiency, L, Phase{true, req.batch, 1, req.context}, req.prefill_chunk_tokens, with_ops);
  p.tokens_per_s_per_sequence = 1.0 / p.decode.time_s;
  p.tokens_per_s = static_cast<double>(req.batch) / p.decode.time_s;
  p.prefill = run_phase(m, hw, p.rates, p.efficiency, L, Phase{false, req.prefill_batch, S, S}, req.prefill_chunk_tokens, with_ops);
  if (req.spec_tokens > 0) p.spec = speculative_step(m, hw, p, req, with_ops);

  // Memory per device: per pipeline stage, weights + KV of the sequences its replica serves +
  // the workspace of one forward pass + the engine's overhead. The one formula for "fits".
  const double tp = static_cast<double>(L.cfg.tp);
  const double D = static_cast<double>(L.devices_per_stage);
  const auto pp = static_cast<size_t>(L.cfg.pp);
  std::vector<double> stage_w(pp, 0.0);
  stage_w[0] += m.pre_bytes / tp;
  stage_w[pp - 1] += m.post_bytes / tp;
  for (size_t l = 0; l < m.layer_dense_bytes.size(); ++l)
    stage_w[static_cast<size_t>(L.stage_of_layer[l])] += m.layer_dense_bytes[l] / tp + m.layer_expert_bytes[l] / D;
  // KV of one sequence per stage (per device) at `context`; *whole_model gets the unsplit sum.
  auto stage_kv_at = [&](int64_t context, double* whole_model) {
    std::vector<double> kv(pp, 0.0);
    double all = 0;
    for (size_t l = 0; l < m.layer_dense_bytes.size(); ++l) {
      double kv_l = m.layer_kv_bytes_per_token[l] * static_cast<double>(kv_cached_tokens(m.layer_attn[l], context));
      all += kv_l;
      kv[static_cast<size_t>(L.stage_of_layer[l])] += kv_l / static_cast<double>(kv_shards(m.layer_attn[l], L.cfg.tp));
      // A recurrent layer's constant state, split by heads over tp.
      all += m.layer_state_bytes[l];
      kv[static_cast<size_t>(L.stage_of_layer[l])] += m.layer_state_bytes[l] / tp;
    }
    if (whole_model) *whole_model = all;
    return kv;
  };
  double kv_seq = 0;
  const std::vector<double> stage_kv = stage_kv_at(req.context, &kv_seq);

  MemoryResult& mem = p.memory;
  const bool gpu = hw.kind == "gpu";
  mem.runtime_context_bytes = gpu ? req.overhead.runtime_context_bytes : 0.0;
  mem.cuda_graph_bytes = gpu ? req.overhead.cuda_graph_bytes : 0.0;
  mem.comm_buffer_bytes = !gpu || L.devices < 2     ? 0.0
                          : L.devices == 2          ? req.overhead.comm_buffer_bytes_2
                                                    : req.overhead.comm_buffer_bytes_more;
  const double overhead = mem.overhead_bytes();
  const double ws_per_token = (2.0 * static_cast<double>(m.d_model)) * kActBytes + m.workspace_bytes_per_token / tp;
  const double logits_per_seq = static_cast<double>(m.vocab_size) / tp * kLogitBytes;
  auto step_tokens = [&](int64_t seqs, int64_t prompt) {
    return std::min<int64_t>(std::max<int64_t>(seqs, prompt), req.prefill_chunk_tokens);
  };
  auto workspace = [&](int64_t seqs, int64_t prompt) {
    return static_cast<double>(step_tokens(seqs, prompt)) * ws_per_token + static_cast<double>(seqs) * logits_per_seq;
  };
  // Bytes on the fullest device for `seqs` sequences per replica with per-stage KV `kv`.
  auto need = [&](int64_t seqs, int64_t prompt, const std::vector<double>& kv, size_t* worst) {
    const double bseq = static_cast<double>(seqs);
    const double ws = workspace(seqs, prompt) + overhead;
    double best = -1;
    for (size_t s = 0; s < pp; ++s) {
      double v = stage_w[s] + bseq * kv[s] + ws;
      if (v > best) {
        best = v;
        if (worst) *worst = s;
      }
    }
    return best;
  };
  mem.model_weight_bytes = m.total_weight_bytes;
  mem.kv_bytes_per_sequence = kv_seq;
  size_t worst = 0;
  const int64_t seqs = L.sequences_per_replica(req.batch);
  mem.per_device_bytes = need(seqs, S, stage_kv, &worst);
  mem.stage = static_cast<int>(worst);
  mem.weights_bytes = stage_w[worst];
  mem.kv_bytes = static_cast<double>(seqs) * stage_kv[worst];
  mem.activation_tokens = step_tokens(seqs, S);
  mem.activation_bytes = workspace(seqs, S);
  mem.fits = mem.per_device_bytes <= mem.capacity_bytes;
  // Largest batch: sequences per replica by bisection (need() grows with it), times replicas.
  const int64_t kCap = int64_t(1) << 40;
  auto largest = [](int64_t cap, auto&& ok) {  // largest v in [1, cap] with ok(v), 0 if none; ok monotone
    if (!ok(1)) return int64_t(0);
    int64_t lo = 1, hi = 2;
    while (hi < cap && ok(hi)) lo = hi, hi *= 2;
    if (hi >= cap) {
      if (ok(cap)) return cap;
      hi = cap;
    }
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      (ok(mid) ? lo : hi) = mid;
    }
    return lo;
  };
  const int64_t max_seqs = largest(kCap, [&](int64_t b) { return need(b, S, stage_kv, nullptr) <= mem.capacity_bytes; });
  mem.max_batch = max_seqs >= kCap ? kCap : max_seqs * L.attention_replicas;
  // Largest context at this batch: the prompt is the context unless one was given.
  const int64_t kContextCap = int64_t(1) << 30;
  const int64_t max_pos = m.ir ? m.ir->max_position_embeddings : 0;
  const int64_t ctx_cap = max_pos > 0 ? std::min(max_pos, kContextCap) : kContextCap;
  mem.max_context = largest(ctx_cap, [&](int64_t c) {
    return need(seqs, req.prompt_tokens > 0 ? req.prompt_tokens : c, stage_kv_at(c, nullptr), nullptr) <= mem.capacity_bytes;
  });
  mem.max_context_limit = mem.max_context < ctx_cap ? "memory" : max_pos > 0 ? "max_position_embeddings" : "search cap";

  MoeResult& moe = p.moe;
  if (m.n_moe_layers > 0) {
    moe.present = true;
    moe.n_experts = m.n_experts;
    moe.top_k = m.top_k;
    moe.n_moe_layers = m.n_moe_layers;
    moe.routing = routing_name(m.routing);
    moe.expected_experts_per_layer = expected_distinct_experts(m.n_experts, m.top_k, req.batch, m.routing);
    moe.uniform_experts_per_layer = expected_distinct_experts(m.n_experts, m.top_k, req.batch, RoutingModel{});
    moe.zipf_s = m.routing.kind == RoutingModel::Zipf ? m.routing.zipf_s : 1.0;
    moe.zipf_experts_per_layer = expected_distinct_experts(m.n_experts, m.top_k, req.batch, RoutingModel{RoutingModel::Zipf, moe.zipf_s});
    moe.prefill_experts_per_layer = expected_distinct_experts(m.n_experts, m.top_k, S, m.routing);
  }

  for (int i = 0; i < kNumComputeDtypes; ++i) {
    auto want = static_cast<ComputeDtype>(i);
    bool used = false;
    for (const auto& g : m.groups) used = used || g.dtype == want;
    if (used && p.rates.used_dtype[i] != want)
      p.notes.push_back(hw.name + " has no " + compute_dtype_name(want) + " peak: those ops are timed at its " +
                        compute_dtype_name(p.rates.used_dtype[i]) + " peak (weights upcast)");
  }
  if (p.rates.bw_calibrated) p.notes.push_back("memory bandwidth: calibrated measurement from " + hw.source_file);
  if (L.cfg.pp > 1) p.notes.push_back("pipeline stages run in turn for a step: pp divides memory, not step latency");
  if (L.attention_replicas > 1)
    p.notes.push_back("data-parallel attention (" + layout_label(L.cfg) + "): " + fmt_int(L.attention_replicas) +
                      " attention replicas, each with its own " + fmt_int(L.sequences_per_replica(req.batch)) + " of the " +
                      fmt_int(req.batch) + " sequences' KV cache; attention and dense weights held whole on every replica");
  if (p.decode.ep_imbalance > 1.0) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "x%.3f (decode step), x%.3f (prefill pass)", p.decode.ep_imbalance, p.prefill.ep_imbalance);
    p.notes.push_back("expert parallel: the most loaded of " + fmt_int(L.cfg.ep) + " expert ranks gets " + buf +
                      " the mean routed tokens (uniform routing, ep_load_imbalance in cost_model.h); routed experts and the "
                      "all-to-all are timed at it");
  }
  if (p.efficiency.label == "datasheet" && req.efficiency == EfficiencyMode::Derated)
    p.notes.push_back("datasheet figures: " + hw.source_file + " has no efficiency block, so every op runs at peak bandwidth / FLOP/s");
  else if (!p.efficiency.figures.empty())
    p.notes.push_back(p.efficiency.label + " figures (" + hw.source_file + " efficiency block; --efficiency datasheet for the pure roofline)");
  if (L.devices > 1 && hw.network && static_cast<double>(L.devices_per_stage) > hw.network->devices_per_node.value)
    p.notes.push_back("tp x ep group of " + fmt_int(L.devices_per_stage) + " spans nodes of " +
                      fmt_num(hw.network->devices_per_node.value) + ": traffic between nodes runs over " + hw.network->name + " (" +
                      gb(hw.network->bw_bytes_per_s.value).substr(0, gb(hw.network->bw_bytes_per_s.value).size() - 3) + " GB/s per device)");
  if (L.devices > 1 && hw.interconnect && !hw.interconnect->latency_s && p.efficiency.collective_latency_s == 0)
    p.notes.push_back("no collective latency in " + hw.source_file + ": communication time is bytes / bandwidth only");

  // Runnable: the context within the model's positions, and the memory within the usable share.
  std::vector<std::string> why;
  if (std::string past = past_max_positions(m, std::max(req.context, S)); !past.empty()) why.push_back(past);
  if (!mem.fits)
    why.push_back("needs " + gb(mem.per_device_bytes) + " per device (" + gb(mem.weights_bytes) + " weights + " +
                  gb(mem.kv_bytes) + " KV + " + gb(mem.activation_bytes) + " activations + " + gb(overhead) +
                  " engine overhead), more than the usable " + gb(mem.capacity_bytes) + " (" +
                  fmt_num(req.memory_fraction) + " x " + gb(mem.device_memory_bytes) + " of " + hw.name + ") with " +
                  layout_text(L.cfg));
  for (const auto& w : why) p.reason += (p.reason.empty() ? "" : "; ") + w;
  p.runnable = why.empty();
  return p;
}

}  // namespace

std::string past_max_positions(const CompiledModel& m, int64_t tokens) {
  const int64_t max_pos = m.ir ? m.ir->max_position_embeddings : 0;
  if (max_pos <= 0 || tokens <= max_pos) return "";
  return "context " + fmt_int(tokens) + " exceeds the model's max_position_embeddings " + fmt_int(max_pos) + " (" +
         m.source_file + ")";
}

Prediction predict(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& req, bool with_ops) {
  return predict_impl(m, hw, req, with_ops, true);
}

double batch_lifetime_s(const Prediction& batched, int64_t output_tokens) {
  return batched.prefill.time_s + static_cast<double>(std::max<int64_t>(output_tokens - 1, 0)) * batched.decode.time_s;
}

Prediction predict_or_why(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& req, bool with_ops) {
  return predict_impl(m, hw, req, with_ops, false);
}

Prediction predict(const ModelIR& ir, const HardwareSpec& hw, const Workload& w, const ParallelConfig& par) {
  CompiledModel m = compile_model(ir, w.quant, w.policy, w.kv, w.routing);
  PredictRequest r;
  r.batch = w.batch;
  r.context = w.context;
  r.prompt_tokens = w.prompt_tokens;
  r.parallel = par;
  return predict(m, hw, r, true);
}

std::vector<std::pair<std::string, double>> per_op_decode_s(const Prediction& p) {
  size_t n = 0;
  for (const auto& o : p.decode.ops) n += o.members.size();
  std::vector<std::pair<std::string, double>> out(n);
  for (const auto& o : p.decode.ops)
    for (size_t j = 0; j < o.members.size(); ++j) out[static_cast<size_t>(o.members[j])] = {o.op_names[j], o.t.time_s};
  return out;
}

}  // namespace llmcost
