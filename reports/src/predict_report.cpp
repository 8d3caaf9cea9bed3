// Writers for hw / predict / plan / compare: tables with units, JSON with raw SI values, CSV, Markdown.
#include "llmcost/predict_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "llmcost/format.h"
#include "llmcost/report_doc.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {

using json = nlohmann::ordered_json;

// Integral values (bytes, counts) as JSON integers; the rest as numbers.
json num(double v) {
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9.0e15) return static_cast<int64_t>(v);
  return v;
}

std::string secs(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.2f} us", s * 1e6);
}
std::string rate(double v, const char* unit) {  // SI prefixes for FLOP/s, B/s
  if (v >= 1e12) return fmt::format("{:.4g} T{}", v / 1e12, unit);
  if (v >= 1e9) return fmt::format("{:.4g} G{}", v / 1e9, unit);
  if (v >= 1e6) return fmt::format("{:.4g} M{}", v / 1e6, unit);
  return fmt::format("{:.0f} {}", v, unit);
}
std::string flops_str(double f) {
  if (f >= 1e12) return fmt::format("{:.2f} TFLOP", f / 1e12);
  if (f >= 1e9) return fmt::format("{:.2f} GFLOP", f / 1e9);
  if (f >= 1e6) return fmt::format("{:.2f} MFLOP", f / 1e6);
  return fmt::format("{:.0f} FLOP", f);
}
std::string bytes_str(double b) {
  if (b >= 1e9) return format_gb(b);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.2f} KB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}
std::string layout_str(const ParallelConfig& c) {
  std::string s = fmt::format("tp={}", c.tp);
  if (c.ep > 1) s += fmt::format(" ep={}", c.ep);
  if (c.pp > 1) s += fmt::format(" pp={}", c.pp);
  return s;
}

json sourced(const SourcedValue& v) { return json{{"value", num(v.value)}, {"source", v.source}}; }

json hardware_json(const HardwareSpec& h) {
  json j;
  j["name"] = h.name;
  j["description"] = h.description;
  j["kind"] = h.kind;
  j["source_file"] = h.source_file;
  j["memory_bytes"] = sourced(h.memory_bytes);
  j["mem_bw_bytes_per_s"] = sourced(h.mem_bw_bytes_per_s);
  json peaks = json::object();
  for (int i = 0; i < kNumComputeDtypes; ++i)
    if (h.peak_flops_per_s[i]) peaks[compute_dtype_name(static_cast<ComputeDtype>(i))] = sourced(*h.peak_flops_per_s[i]);
  j["peak_flops_per_s"] = peaks;
  auto link = [](const std::optional<LinkSpec>& l) -> json {
    if (!l) return nullptr;
    json o{{"name", l->name}, {"bw_bytes_per_s", sourced(l->bw_bytes_per_s)}};
    if (l->latency_s) o["latency_s"] = sourced(*l->latency_s);
    return o;
  };
  j["interconnect"] = link(h.interconnect);
  j["host_link"] = link(h.host_link);
  if (h.network) {
    json n{{"name", h.network->name}, {"bw_bytes_per_s", sourced(h.network->bw_bytes_per_s)},
           {"devices_per_node", sourced(h.network->devices_per_node)}};
    if (h.network->latency_s) n["latency_s"] = sourced(*h.network->latency_s);
    j["network"] = n;
  } else {
    j["network"] = nullptr;
  }
  auto dated = [](const std::optional<DatedPrice>& p) -> json {
    if (!p) return nullptr;
    return json{{"value", p->value}, {"source", p->source}, {"date", p->date}};
  };
  j["price"] = h.price.usd_per_device_hour || h.price.usd_purchase
                   ? json{{"usd_per_device_hour", dated(h.price.usd_per_device_hour)}, {"usd_purchase", dated(h.price.usd_purchase)}}
                   : json(nullptr);
  j["aliases"] = h.aliases;
  json eff = json::object();
  const EfficiencySpec& e = h.efficiency;
  if (e.mem_bw_fraction) eff["mem_bw_fraction"] = sourced(*e.mem_bw_fraction);
  if (e.tensor_fraction) eff["tensor_fraction"] = sourced(*e.tensor_fraction);
  if (e.gemm_m_half) eff["gemm_m_half"] = sourced(*e.gemm_m_half);
  if (e.step_overhead_s) eff["step_overhead_s"] = sourced(*e.step_overhead_s);
  if (e.collective_latency_s) eff["collective_latency_s"] = sourced(*e.collective_latency_s);
  j["efficiency"] = eff.empty() ? json(nullptr) : eff;
  json cal = json::object();
  if (h.calibrated.read_bw_bytes_per_s) cal["read_bw_bytes_per_s"] = sourced(*h.calibrated.read_bw_bytes_per_s);
  json g = json::object();
  for (int i = 0; i < kNumComputeDtypes; ++i)
    if (h.calibrated.gemm_flops_per_s[i]) g[compute_dtype_name(static_cast<ComputeDtype>(i))] = sourced(*h.calibrated.gemm_flops_per_s[i]);
  if (!g.empty()) cal["gemm_flops_per_s"] = g;
  j["calibrated"] = cal.empty() ? json(nullptr) : cal;
  return j;
}

json op_json(const OpGroupTime& o) {
  json j;
  j["name"] = o.name;
  j["kind"] = op_kind_name(o.kind);
  j["count"] = o.count;
  j["dtype"] = compute_dtype_name(o.dtype);
  j["peak_dtype"] = compute_dtype_name(o.peak_dtype);
  j["flops"] = num(o.flops);
  j["weight_bytes"] = num(o.weight_bytes);
  j["kv_bytes"] = num(o.kv_bytes);
  j["activation_bytes"] = num(o.activation_bytes);
  j["compute_s"] = o.t.compute_s;
  j["memory_s"] = o.t.memory_s;
  j["time_s"] = o.t.time_s;
  j["bound"] = o.t.compute_bound ? "compute" : "memory";
  j["op_names"] = o.op_names;
  return j;
}

json phase_json(const PhaseResult& r, bool decode) {
  json j;
  if (decode) {
    j["step_s"] = r.time_s;
  } else {
    j["s"] = r.time_s;
    j["tokens"] = r.tokens;
  }
  j[decode ? "bytes_per_step" : "bytes"] = num(r.bytes);
  j[decode ? "flops_per_step" : "flops"] = num(r.flops);
  j[decode ? "bytes_per_step_all_devices" : "bytes_all_devices"] = num(r.bytes_all_devices);
  j[decode ? "flops_per_step_all_devices" : "flops_all_devices"] = num(r.flops_all_devices);
  j["bound"] = r.bound;
  j["memory_bound_s"] = r.memory_bound_s;
  j["compute_bound_s"] = r.compute_bound_s;
  j["communication_s"] = r.comm.time_s;
  j["overhead_s"] = r.overhead_s;  // fixed per-pass overhead (derated only)
  j["passes"] = r.passes;
  json ops = json::array();
  for (const auto& o : r.ops) ops.push_back(op_json(o));
  j["ops"] = ops;
  return j;
}

std::string bound_word(const std::string& b) { return b + "-bound"; }

std::string opt_num(const std::optional<double>& v, const char* f = "{:.4g}") {
  return v ? fmt::format(fmt::runtime(f), *v) : std::string();
}

}  // namespace

// ---------------------------------------------------------------- hw

std::string hw_table(const std::vector<HardwareSpec>& hws) {
  TextTable t({"name", "device", "memory", "bandwidth", "bf16", "fp8", "int8", "fp4", "fp32", "interconnect", "$/device-h"},
              {true, true, false, false, false, false, false, false, false, true, false});
  t.set_optional(9, 3).set_optional(8, 2).set_optional(6, 1);  // interconnect, fp32, int8 give way in a narrow terminal
  auto peak = [](const HardwareSpec& h, ComputeDtype d) {
    return h.peak(d) ? fmt::format("{:.1f}", h.peak(d)->value / 1e12) : std::string("-");
  };
  for (const auto& h : hws) {
    std::string ic = h.interconnect ? fmt::format("{} {:.0f} GB/s", h.interconnect->name, h.interconnect->bw_bytes_per_s.value / 1e9)
                                    : std::string("none (single device)");
    t.add_row({h.name + (h.is_calibrated() ? " *" : ""), h.description, format_gib(h.memory_bytes.value),
               fmt::format("{:.3f} TB/s", h.mem_bw_bytes_per_s.value / 1e12), peak(h, ComputeDtype::BF16),
               peak(h, ComputeDtype::FP8), peak(h, ComputeDtype::INT8), peak(h, ComputeDtype::FP4), peak(h, ComputeDtype::FP32), ic,
               h.price.usd_per_device_hour ? fmt::format("{:.2f} ({})", h.price.usd_per_device_hour->value, h.price.usd_per_device_hour->date)
                                           : std::string("-")});
  }
  return t.render() +
         "Dense peaks in TFLOP/s (int8: TOPS), never the 2:4-sparsity figure; '-' = no such unit. Bandwidth TB/s = 1e12 B/s; "
         "memory GiB = 2^30 bytes; interconnect GB/s bidirectional per device. * = calibrated figures present (preferred). "
         "$/device-h = cloud on-demand list price, US dollars per device-hour (date read). "
         "Every number's source: `llmcost hw --format json`.\n";
}

std::string hw_json(const std::vector<HardwareSpec>& hws) {
  json arr = json::array();
  for (const auto& h : hws) arr.push_back(hardware_json(h));
  return arr.dump(2) + "\n";
}

// ---------------------------------------------------------------- predict

namespace {

json memory_json(const MemoryResult& m) {
  return json{{"weights_bytes", num(m.weights_bytes)},
              {"kv_bytes", num(m.kv_bytes)},
              {"activation_bytes", num(m.activation_bytes)},
              {"activation_tokens", m.activation_tokens},
              {"engine_overhead", json{{"runtime_context_bytes", num(m.runtime_context_bytes)},
                                       {"cuda_graph_bytes", num(m.cuda_graph_bytes)},
                                       {"comm_buffer_bytes", num(m.comm_buffer_bytes)},
                                       {"total_bytes", num(m.overhead_bytes())}}},
              {"per_device_bytes", num(m.per_device_bytes)},
              {"capacity_bytes", num(m.capacity_bytes)},
              {"device_memory_bytes", num(m.device_memory_bytes)},
              {"mem_util", m.memory_fraction},
              {"fits", m.fits},
              {"max_batch", m.max_batch},
              {"max_context", m.max_context},
              {"max_context_limit", m.max_context_limit},
              {"model_weight_bytes", num(m.model_weight_bytes)},
              {"kv_bytes_per_sequence", num(m.kv_bytes_per_sequence)},
              {"pipeline_stage", m.stage}};
}

std::string context_limit_text(int64_t max_context, const std::string& limit) {
  if (max_context == 0) return "none";
  std::string t = std::to_string(max_context) + " tokens";
  if (limit == "max_position_embeddings") t += " (the model's max_position_embeddings)";
  if (limit == "search cap") t += " or more";
  return t;
}

}  // namespace

std::string predict_json(const Prediction& p, const std::vector<DeviceCountFit>& fits) {
  json j;
  j["runnable"] = p.runnable;
  j["reason"] = p.runnable ? json(nullptr) : json(p.reason);
  j["model"] = json{{"name", p.model}, {"source_file", p.model_source}};
  json hw = hardware_json(p.hardware);
  hw["rates_used"] = json{{"mem_bw_bytes_per_s", num(p.rates.mem_bw_bytes_per_s)},
                          {"basis", p.rates.bw_calibrated ? "calibrated" : "datasheet"}};
  j["hardware"] = hw;
  // Which figures the timing used: datasheet (pure roofline), derated (efficiency block), calibrated.
  j["efficiency"] = json{{"mode", efficiency_mode_name(p.request.efficiency)},
                         {"basis", p.efficiency.label},
                         {"figures", p.efficiency.figures}};
  const PredictRequest& r = p.request;
  j["workload"] = json{{"batch", r.batch},
                       {"context", r.context},
                       {"prompt_tokens", r.prompt_tokens > 0 ? r.prompt_tokens : r.context},
                       {"prefill_chunk_tokens", r.prefill_chunk_tokens},
                       {"mem_util", r.memory_fraction},
                       {"quant", p.quant},
                       {"quant_policy", p.policy},
                       {"weight_format", p.weight_format},
                       {"kv_dtype", p.kv_dtype},
                       {"routing", p.moe.present ? p.moe.routing : std::string("uniform")}};
  // Not runnable: no timing. Memory stays when the layout was formed: it says by how much.
  if (p.runnable) {
    json d = phase_json(p.decode, true);
    json dec;
    dec["step_s"] = d["step_s"];
    dec["tokens_per_s"] = p.tokens_per_s;
    dec["tokens_per_s_per_sequence"] = p.tokens_per_s_per_sequence;
    for (auto it = d.begin(); it != d.end(); ++it)
      if (it.key() != "step_s") dec[it.key()] = it.value();
    j["decode"] = dec;
    j["prefill"] = phase_json(p.prefill, false);
    if (p.spec.present) {
      const SpecResult& sp = p.spec;
      j["speculative"] = json{{"draft_tokens", sp.draft_tokens},
                              {"acceptance", sp.acceptance},
                              {"tokens_per_step", sp.tokens_per_step},
                              {"verify", phase_json(sp.verify, true)},
                              {"draft_counted", sp.draft_counted},
                              {"draft_pass", sp.draft_counted ? phase_json(sp.draft, true) : json(nullptr)},
                              {"draft_s", sp.draft_s},
                              {"step_s", sp.step_s},
                              {"tokens_per_s_per_sequence", sp.tokens_per_s_per_sequence},
                              {"tokens_per_s", sp.tokens_per_s},
                              {"draft_note", sp.draft_note}};
    }
  } else {
    j["decode"] = nullptr;
    j["prefill"] = nullptr;
  }
  j["memory"] = p.has_figures ? memory_json(p.memory) : json(nullptr);
  if (p.moe.present) {
    j["moe"] = json{{"expected_experts_per_layer", p.moe.expected_experts_per_layer},
                    {"routing", p.moe.routing},
                    {"n_experts", p.moe.n_experts},
                    {"top_k", p.moe.top_k},
                    {"n_moe_layers", p.moe.n_moe_layers},
                    {"uniform_experts_per_layer", p.moe.uniform_experts_per_layer},
                    {"zipf", json{{"s", p.moe.zipf_s}, {"experts_per_layer", p.moe.zipf_experts_per_layer}}},
                    {"prefill_experts_per_layer", p.moe.prefill_experts_per_layer}};
  } else {
    j["moe"] = nullptr;
  }
  const ParallelLayout& L = p.layout;
  json par{{"tp", L.cfg.tp}, {"ep", L.cfg.ep}, {"pp", L.cfg.pp}};
  if (p.has_figures) {
    par["devices"] = L.devices;
    par["attention_replicas"] = L.attention_replicas;
    par["interconnect"] = p.hardware.interconnect ? json(p.hardware.interconnect->name) : json(nullptr);
    par["send_bw_bytes_per_s"] = p.hardware.interconnect ? num(p.hardware.interconnect->send_bw_bytes_per_s()) : json(nullptr);
  }
  if (p.runnable) {
    par["decode_tp_allreduce_bytes"] = num(p.decode.comm.tp_allreduce_bytes);
    par["decode_ep_alltoall_bytes"] = num(p.decode.comm.ep_alltoall_bytes);
    par["decode_pp_send_bytes"] = num(p.decode.comm.pp_send_bytes);
    par["decode_collectives"] = p.decode.comm.n_collectives;
    par["decode_communication_s"] = p.decode.comm.time_s;
    par["prefill_communication_s"] = p.prefill.comm.time_s;
  }
  j["parallel"] = par;
  if (!fits.empty()) {
    json arr = json::array();
    for (const auto& f : fits) {
      json o{{"devices", f.devices}, {"formed", f.formed}};
      if (f.formed) {
        o["layout"] = json{{"tp", f.layout.tp}, {"ep", f.layout.ep}, {"pp", f.layout.pp}};
        o["max_batch"] = f.max_batch;
        o["max_context"] = f.max_context;
        o["max_context_limit"] = f.max_context_limit;
      } else {
        o["reason"] = f.reason;
      }
      arr.push_back(o);
    }
    j["fit_by_device_count"] = arr;
  }
  j["notes"] = p.notes;
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

std::string predict_table(const Prediction& p, const std::vector<DeviceCountFit>& fits) {
  const PredictRequest& r = p.request;
  const ParallelLayout& L = p.layout;
  const int64_t prompt = r.prompt_tokens > 0 ? r.prompt_tokens : r.context;
  std::string out;
  out += fmt::format("{} on {} ({}; {}; {})\n", p.model, p.hardware.name, p.hardware.description, p.hardware.source_file,
                     p.efficiency.label == "datasheet" ? std::string(p.rates.bw_calibrated ? "calibrated bandwidth" : "datasheet peaks")
                                                       : p.efficiency.label + " figures");
  for (const auto& f : p.efficiency.figures) out += "  efficiency: " + f + "\n";
  out += fmt::format("workload: batch {}, context {} tokens, prompt {} tokens; weights {}, KV {}{}; {}{}\n", r.batch,
                     r.context, prompt, p.weight_format.empty() ? p.quant + " (policy " + p.policy + ")" : p.weight_format, p.kv_dtype, p.moe.present ? ", routing " + p.moe.routing : std::string(),
                     layout_str(L.cfg),
                     p.has_figures ? fmt::format(" = {} device{}", L.devices, L.devices == 1 ? "" : "s") : std::string());
  if (!p.runnable) out += "\nNOT RUNNABLE: " + p.reason + "\n";
  if (p.runnable) {
    out += fmt::format("\nDecode step: {} ({}); {:.1f} tokens/s per sequence, {:.1f} tokens/s aggregate\n",
                       secs(p.decode.time_s), bound_word(p.decode.bound), p.tokens_per_s_per_sequence, p.tokens_per_s);
    out += fmt::format("  per device per step: {} read, {}; memory-bound ops {}, compute-bound ops {}, communication {}\n",
                       bytes_str(p.decode.bytes), flops_str(p.decode.flops), secs(p.decode.memory_bound_s),
                       secs(p.decode.compute_bound_s), secs(p.decode.comm.time_s));
    if (p.spec.present) {
      const SpecResult& sp = p.spec;
      out += fmt::format("Speculative decoding: {} draft token{} per step, each accepted with probability {:g} (assumed) -> "
                         "{:.3f} tokens per step per sequence, expected ((1 - A^(N+1)) / (1 - A))\n",
                         sp.draft_tokens, sp.draft_tokens == 1 ? "" : "s", sp.acceptance, sp.tokens_per_step);
      out += fmt::format("  verify pass ({} tokens per sequence): {} ({}), {} read, {} per device; {}{}\n", sp.draft_tokens + 1,
                         secs(sp.verify.time_s), bound_word(sp.verify.bound), bytes_str(sp.verify.bytes),
                         flops_str(sp.verify.flops), sp.draft_note,
                         sp.draft_counted ? fmt::format(": {} each, {} in all", secs(sp.draft.time_s), secs(sp.draft_s)) : "");
      out += fmt::format("  step {}; {:.1f} tokens/s per sequence, {:.1f} tokens/s aggregate (without: {:.1f}, {:.1f})\n",
                         secs(sp.step_s), sp.tokens_per_s_per_sequence, sp.tokens_per_s, p.tokens_per_s_per_sequence,
                         p.tokens_per_s);
    }
    out += fmt::format("Prefill (time to first token) of {} tokens: {} ({}); {} per device\n", p.prefill.tokens,
                       secs(p.prefill.time_s), bound_word(p.prefill.bound), flops_str(p.prefill.flops));
  }
  if (p.has_figures) {
    const MemoryResult& m = p.memory;
    out += fmt::format("Memory per device{}: weights {} + KV {} + activations {} ({} tokens per forward pass) + engine overhead {} "
                       "(runtime context {}, CUDA graphs {}, collective buffers {}) = {} of usable {} ({:g} x {}) -> {}\n",
                       L.cfg.pp > 1 ? fmt::format(" (stage {})", m.stage) : std::string(), format_gb(m.weights_bytes),
                       format_gb(m.kv_bytes), format_gb(m.activation_bytes), m.activation_tokens, format_gb(m.overhead_bytes()),
                       format_gb(m.runtime_context_bytes), format_gb(m.cuda_graph_bytes), format_gb(m.comm_buffer_bytes),
                       format_gb(m.per_device_bytes), format_gb(m.capacity_bytes), m.memory_fraction,
                       format_gb(m.device_memory_bytes), m.fits ? "fits" : "DOES NOT FIT");
    out += fmt::format("Largest that fits with {}: batch {} at context {}; context {} at batch {}\n", layout_str(L.cfg), m.max_batch,
                       r.context, context_limit_text(m.max_context, m.max_context_limit), r.batch);
  }
  if (p.runnable && p.moe.present)
    out += fmt::format("MoE: {} experts, top-{}, {} MoE layers; distinct experts per layer per step: {:.2f} ({}); uniform {:.2f}, "
                       "zipf:{:g} {:.2f}; prefill {:.2f}\n",
                       p.moe.n_experts, p.moe.top_k, p.moe.n_moe_layers, p.moe.expected_experts_per_layer, p.moe.routing,
                       p.moe.uniform_experts_per_layer, p.moe.zipf_s, p.moe.zipf_experts_per_layer,
                       p.moe.prefill_experts_per_layer);
  if (p.runnable && L.devices > 1)
    out += fmt::format("Communication per decode step per device: TP all-reduce {}, EP all-to-all {}, PP sends {} ({} collectives) "
                       "over {} at {}/s per direction = {}\n",
                       bytes_str(p.decode.comm.tp_allreduce_bytes), bytes_str(p.decode.comm.ep_alltoall_bytes),
                       bytes_str(p.decode.comm.pp_send_bytes), p.decode.comm.n_collectives, p.hardware.interconnect->name,
                       bytes_str(p.hardware.interconnect->send_bw_bytes_per_s()), secs(p.decode.comm.time_s));
  for (const auto& n : p.notes) out += "note: " + n + "\n";
  if (!fits.empty()) {
    out += fmt::format("\nLargest that fits per device count (layouts tp <= 8 then pp, for MoE then dp-attention x ep; mem-util {:g}):\n", r.memory_fraction);
    TextTable t({"devices", "layout", fmt::format("max batch at context {}", r.context),
                 fmt::format("max context at batch {}", r.batch)},
                {false, true, false, false});
    for (const auto& f : fits) {
      if (!f.formed) {
        t.add_row({std::to_string(f.devices), "not runnable: " + f.reason, "-", "-"});
        continue;
      }
      t.add_row({std::to_string(f.devices), layout_str(f.layout), std::to_string(f.max_batch),
                 context_limit_text(f.max_context, f.max_context_limit)});
    }
    out += t.render();
  }
  if (!p.runnable) return out;

  out += "\nDecode step per op (per device; ops of equal cost grouped, times are per op):\n";  TextTable t({"op", "count", "dtype", "FLOPs", "bytes", "time", "bound", "share"}, {true, false, true});
  for (const auto& o : p.decode.ops) {
    double share = p.decode.time_s > 0 ? 100.0 * o.t.time_s * static_cast<double>(o.count) / p.decode.time_s : 0.0;
    std::string dt = compute_dtype_name(o.dtype);
    if (o.peak_dtype != o.dtype) dt += fmt::format(" (on {})", compute_dtype_name(o.peak_dtype));
    t.add_row({o.name, std::to_string(o.count), dt, flops_str(o.flops), bytes_str(o.bytes()), secs(o.t.time_s),
               o.t.compute_bound ? "compute" : "memory", fmt::format("{:.1f}%", share)});
  }
  out += t.render();
  out += fmt::format("Roofline per op: time = max(FLOPs / peak(dtype), bytes / {}); GB = 1e9 bytes; share = count x time / step.\n",
                     rate(p.rates.mem_bw_bytes_per_s, "B/s"));
  return out;
}

// ---------------------------------------------------------------- plan

namespace {

struct PlanCol {
  const char* key;
  const char* header;
};

// Rows as document cells: the rounded text people read and, where it differs, the raw value
// the CSV carries.
std::vector<Cell> shown_and_raw(const std::vector<std::string>& shown, const std::vector<std::string>& raw) {
  std::vector<Cell> cells;
  for (size_t i = 0; i < shown.size(); ++i)
    cells.push_back(i < raw.size() && raw[i] != shown[i] ? Cell::shown_raw(shown[i], raw[i]) : Cell::str(shown[i]));
  return cells;
}

bool is_one_of(const std::string& k, std::initializer_list<const char*> keys) {
  for (const char* x : keys)
    if (k == x) return true;
  return false;
}

std::vector<std::string> plan_cells(const PlanRow& r, bool raw) {
  auto f = [&](double v, const char* shown) { return raw ? fmt::format("{:.9g}", v) : fmt::format(fmt::runtime(shown), v); };
  std::vector<std::string> c{r.model, r.hardware, r.quant};
  if (!r.feasible) {
    c.insert(c.end(), {raw ? "false" : "no", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
                       raw ? fmt::format("{:.0f}", r.capacity_bytes) : format_gb(r.capacity_bytes),
                       opt_num(r.usd_per_device_hour, "{:.2f}"), "", "not runnable: " + r.reason});
    return c;
  }
  c.push_back(raw ? "true" : "yes");
  c.push_back(layout_str(r.parallel));
  c.push_back(std::to_string(r.devices_per_replica));
  c.push_back(std::to_string(r.replicas));
  c.push_back(std::to_string(r.devices));
  c.push_back(std::to_string(r.max_concurrency_per_replica));
  c.push_back(std::to_string(r.batch_per_replica));
  c.push_back(raw ? fmt::format("{:.9g}", r.decode_step_s) : fmt::format("{:.1f}", r.decode_step_s * 1e3));
  c.push_back(raw ? fmt::format("{:.9g}", r.ttft_s) : fmt::format("{:.0f}", r.ttft_s * 1e3));
  c.push_back(f(r.request_latency_s, "{:.2f}"));
  c.push_back(f(r.tokens_per_s_per_sequence, "{:.1f}"));
  c.push_back(f(r.output_tokens_per_s, "{:.0f}"));
  c.push_back(raw ? (r.meets_latency ? "true" : "false") : (r.meets_latency ? "yes" : "NO"));
  c.push_back(r.bound);
  c.push_back(raw ? fmt::format("{:.0f}", r.per_device_bytes) : format_gb(r.per_device_bytes));
  c.push_back(raw ? fmt::format("{:.0f}", r.capacity_bytes) : format_gb(r.capacity_bytes));
  c.push_back(opt_num(r.usd_per_device_hour, "{:.2f}"));
  c.push_back(opt_num(r.usd_per_million_output_tokens, raw ? "{:.6g}" : "{:.3f}"));
  c.push_back(r.reason);
  return c;
}

const std::vector<PlanCol>& plan_cols() {
  static const std::vector<PlanCol> cols = {
      {"model", "model"},
      {"hardware", "hardware"},
      {"quant", "quant"},
      {"feasible", "fits"},
      {"layout", "replica layout"},
      {"devices_per_replica", "dev/replica"},
      {"replicas", "replicas"},
      {"devices", "devices"},
      {"max_concurrency_per_replica", "max conc/replica"},
      {"batch_per_replica", "batch/replica"},
      {"decode_step_s", "step (ms)"},
      {"ttft_s", "TTFT (ms)"},
      {"request_latency_s", "request (s)"},
      {"tokens_per_s_per_sequence", "tok/s/user"},
      {"output_tokens_per_s", "output tok/s"},
      {"meets_latency", "meets target"},
      {"bound", "bound"},
      {"per_device_bytes", "mem/device (GB)"},
      {"capacity_bytes", "capacity (GB)"},
      {"usd_per_device_hour", "$/device-h"},
      {"usd_per_million_output_tokens", "$/M output tok"},
      {"reason", "note"},
  };
  return cols;
}

std::string plan_header_text(const PlanResult& r) {
  const Scenario& s = r.scenario;
  std::string t = fmt::format("Plan {} ({}): {} concurrent requests, {} prompt + {} output tokens; weights per row, policy {}, KV {}, routing {}",
                              s.name, s.source_file, s.concurrency, s.prompt_tokens, s.output_tokens, quant_policy_name(s.policy),
                              kv_dtype_name(s.kv), routing_name(s.routing));
  if (s.max_decode_step_s) t += fmt::format("; target step <= {} ms", *s.max_decode_step_s * 1e3);
  if (s.max_ttft_s) t += fmt::format("; target TTFT <= {} ms", *s.max_ttft_s * 1e3);
  t += fmt::format("; mem-util {:g} (share of each device's memory usable), prefill chunk {} tokens", s.memory_fraction,
                   s.prefill_chunk_tokens);
  return t + fmt::format("; at most {} devices per replica\n", s.max_devices_per_replica);
}

const char* kPlanNote =
    "A replica is the layout (devices a power of two; tp <= 8, then pp; for MoE also dp-attention x ep and tp + ep) needing the fewest devices in total whose memory holds the batch at "
    "prompt+output context and whose decode step meets the target; replicas = ceil(concurrency / max concurrency per "
    "replica); memory per device = weights + KV + activations + engine overhead within device memory x mem-util; a row no "
    "layout can run says \"not runnable\" and why. Step at the mean context (prompt + output/2); TTFT = prefill of one prompt; output tok/s = replicas x "
    "batch x output / (batch x TTFT + output x step). Datasheet roofline (upper bound on speed). GB = 1e9 bytes.\n";

}  // namespace

namespace {

// The plan as one table: Markdown left-aligns the three columns naming the row, the terminal
// also its prose columns and drops the capacity, price and devices-per-replica columns.
Table plan_doc_table(const PlanResult& r) {
  Table t;
  t.id = "plan";
  size_t i = 0;
  for (const auto& c : plan_cols()) {
    Column col{c.key, c.header, ""};
    col.align = i++ < 3 ? Align::Left : Align::Right;
    col.text_left = is_one_of(c.key, {"model", "hardware", "quant", "layout", "bound", "reason"});
    if (is_one_of(c.key, {"capacity_bytes", "usd_per_device_hour", "devices_per_replica"})) col.hidden_in = kHiddenInText;
    // In a narrow terminal these give way first (bound first).
    col.drop_priority = is_one_of(c.key, {"bound"}) ? 3 : is_one_of(c.key, {"max_concurrency_per_replica"}) ? 2
                        : is_one_of(c.key, {"replicas"})                  ? 1
                                                                          : 0;
    t.columns.push_back(col);
  }
  for (const auto& row : r.rows) t.rows.push_back(shown_and_raw(plan_cells(row, false), plan_cells(row, true)));
  return t;
}

}  // namespace

// Per feasible row: why its layout won, and the runner-ups (plan.h PlanRow::layout_why).
std::string plan_layout_choice(const PlanResult& r, const char* bullet) {
  std::string out;
  for (const auto& row : r.rows) {
    if (!row.feasible || row.layout_why.empty()) continue;
    if (out.empty()) out = "\nLayout choice (fewest devices meeting the targets, then shortest request):\n";
    out += fmt::format("{}{} on {} ({}): {}\n", bullet, row.model, row.hardware, row.quant, row.layout_why);
    for (const auto& u : row.runner_ups) out += fmt::format("    runner-up {}\n", u);
  }
  return out;
}

std::string plan_table(const PlanResult& r) {
  std::string out = plan_header_text(r) + table_text(plan_doc_table(r)) + kPlanNote + plan_layout_choice(r, "  ");
  for (const auto& h : r.scenario.hardware)
    if (h.usd_per_device_hour) out += fmt::format("price {}: ${:.2f}/device-hour ({})\n", h.name, *h.usd_per_device_hour, h.price_source);
  return out;
}

std::string plan_csv(const PlanResult& r) { return table_csv_wide(plan_doc_table(r)); }

std::string plan_markdown(const PlanResult& r) {
  return "## " + plan_header_text(r) + "\n" + table_markdown(plan_doc_table(r)) + kPlanNote + plan_layout_choice(r, "- ");
}

// Stays its own writer: nested (scenario, hardware with sources, parallel as an object), which a
// document table's flat rows do not express.
std::string plan_json(const PlanResult& r) {
  const Scenario& s = r.scenario;
  json j;
  json sc;
  sc["name"] = s.name;
  sc["source_file"] = s.source_file;
  sc["models"] = s.models;
  sc["quant"] = json::array();
  for (auto q : s.quants) sc["quant"].push_back(quant_scheme_name(q));
  sc["quant_policy"] = quant_policy_name(s.policy);
  sc["kv_dtype"] = kv_dtype_name(s.kv);
  sc["routing"] = routing_name(s.routing);
  sc["concurrency"] = s.concurrency;
  sc["prompt_tokens"] = s.prompt_tokens;
  sc["output_tokens"] = s.output_tokens;
  sc["max_decode_step_s"] = s.max_decode_step_s ? json(*s.max_decode_step_s) : json(nullptr);
  sc["max_ttft_s"] = s.max_ttft_s ? json(*s.max_ttft_s) : json(nullptr);
  sc["max_devices_per_replica"] = s.max_devices_per_replica;
  sc["mem_util"] = s.memory_fraction;
  sc["prefill_chunk_tokens"] = s.prefill_chunk_tokens;
  j["scenario"] = sc;
  json hws = json::array();
  for (size_t i = 0; i < r.hardware.size(); ++i) {
    json h = hardware_json(r.hardware[i]);
    if (i < s.hardware.size() && s.hardware[i].usd_per_device_hour)
      h["usd_per_device_hour"] = json{{"value", *s.hardware[i].usd_per_device_hour}, {"source", s.hardware[i].price_source}};
    hws.push_back(h);
  }
  j["hardware"] = hws;
  json rows = json::array();
  for (const auto& x : r.rows) {
    json o;
    o["model"] = x.model;
    o["hardware"] = x.hardware;
    o["quant"] = x.quant;
    o["feasible"] = x.feasible;
    o["reason"] = x.reason;
    o["layout_why"] = x.layout_why;
    o["runner_ups"] = x.runner_ups;
    o["parallel"] = json{{"tp", x.parallel.tp}, {"ep", x.parallel.ep}, {"pp", x.parallel.pp}};
    o["devices_per_replica"] = x.devices_per_replica;
    o["replicas"] = x.replicas;
    o["devices"] = x.devices;
    o["max_concurrency_per_replica"] = x.max_concurrency_per_replica;
    o["batch_per_replica"] = x.batch_per_replica;
    o["decode_step_s"] = x.decode_step_s;
    o["ttft_s"] = x.ttft_s;
    o["request_latency_s"] = x.request_latency_s;
    o["tokens_per_s_per_sequence"] = x.tokens_per_s_per_sequence;
    o["output_tokens_per_s"] = x.output_tokens_per_s;
    o["meets_latency"] = x.meets_latency;
    o["bound"] = x.bound;
    o["per_device_bytes"] = num(x.per_device_bytes);
    o["capacity_bytes"] = num(x.capacity_bytes);
    o["usd_per_device_hour"] = x.usd_per_device_hour ? json(*x.usd_per_device_hour) : json(nullptr);
    o["usd_per_million_output_tokens"] = x.usd_per_million_output_tokens ? json(*x.usd_per_million_output_tokens) : json(nullptr);
    rows.push_back(o);
  }
  j["rows"] = rows;
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

// ---------------------------------------------------------------- compare

namespace {

const std::vector<PlanCol>& compare_cols() {
  static const std::vector<PlanCol> cols = {
      {"hardware", "hardware"},       {"layout", "layout"},          {"devices", "devices"},
      {"fits", "fits"},               {"max_batch", "max batch"},    {"decode_step_s", "step (ms)"},
      {"tokens_per_s_per_sequence", "tok/s/seq"}, {"tokens_per_s", "tok/s total"},
      {"usd_per_device_hour", "$/device-h"}, {"usd_per_million_output_tokens", "$/M tok out"}, {"ttft_s", "TTFT (ms)"},
      {"bound", "bound"},             {"per_device_bytes", "mem/device (GB)"}, {"capacity_bytes", "capacity (GB)"},
      {"mem_bw_bytes_per_s", "bandwidth (TB/s)"}, {"note", "note"},
  };
  return cols;
}

// The hardware YAML's on-demand price per device-hour; empty without one.
std::string price_cell(const HardwareSpec& hw, bool raw) {
  if (!hw.price.usd_per_device_hour) return "";
  const double v = hw.price.usd_per_device_hour->value;
  return raw ? fmt::format("{:.9g}", v) : fmt::format("{:.2f}", v);
}

// Cost per million output tokens of the layout's devices at that price; empty without a price.
std::string cost_cell(const Prediction& p, bool raw) {
  if (!p.hardware.price.usd_per_device_hour || !(p.tokens_per_s > 0)) return "";
  const double v = usd_per_million_tokens(p.hardware.price.usd_per_device_hour->value, p.layout.devices, p.tokens_per_s);
  return raw ? fmt::format("{:.9g}", v) : fmt::format("{:.3f}", v);
}

std::vector<std::string> compare_cells(const CompareRow& row, bool raw) {
  const Prediction& p = row.prediction;
  std::string note = row.auto_layout ? "smallest layout that fits" : "";
  auto f = [&](double v, const char* shown) { return raw ? fmt::format("{:.9g}", v) : fmt::format(fmt::runtime(shown), v); };
  if (!p.runnable) {
    auto mem = [&](double v) {
      if (!p.has_figures) return std::string();
      return raw ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}", v / 1e9);
    };
    return {p.hardware.name,
            layout_str(p.layout.cfg),
            p.has_figures ? std::to_string(p.layout.devices) : std::string(),
            raw ? "false" : "NO",
            p.has_figures ? std::to_string(p.memory.max_batch) : std::string(),
            "", "", "", price_cell(p.hardware, raw), "", "", "",
            mem(p.memory.per_device_bytes),
            mem(p.memory.capacity_bytes),
            raw ? fmt::format("{:.0f}", p.rates.mem_bw_bytes_per_s) : fmt::format("{:.3f}", p.rates.mem_bw_bytes_per_s / 1e12),
            "not runnable: " + p.reason};
  }
  return {p.hardware.name,
          layout_str(p.layout.cfg),
          std::to_string(p.layout.devices),
          raw ? (p.memory.fits ? "true" : "false") : (p.memory.fits ? "yes" : "NO"),
          std::to_string(p.memory.max_batch),
          raw ? fmt::format("{:.9g}", p.decode.time_s) : fmt::format("{:.2f}", p.decode.time_s * 1e3),
          f(p.tokens_per_s_per_sequence, "{:.1f}"),
          f(p.tokens_per_s, "{:.0f}"),
          price_cell(p.hardware, raw),
          cost_cell(p, raw),
          raw ? fmt::format("{:.9g}", p.prefill.time_s) : fmt::format("{:.1f}", p.prefill.time_s * 1e3),
          p.decode.bound,
          raw ? fmt::format("{:.0f}", p.memory.per_device_bytes) : fmt::format("{:.2f}", p.memory.per_device_bytes / 1e9),
          raw ? fmt::format("{:.0f}", p.memory.capacity_bytes) : fmt::format("{:.2f}", p.memory.capacity_bytes / 1e9),
          raw ? fmt::format("{:.0f}", p.rates.mem_bw_bytes_per_s) : fmt::format("{:.3f}", p.rates.mem_bw_bytes_per_s / 1e12),
          note};
}

std::string compare_header(const CompareResult& r) {
  if (r.rows.empty()) return r.model + "\n";
  const Prediction& p = r.rows.front().prediction;
  return fmt::format("{}: batch {}, context {}, prompt {} tokens; weights {}, KV {}{}; mem-util {:g}\n", r.model,
                     p.request.batch, p.request.context, p.request.prompt_tokens > 0 ? p.request.prompt_tokens : p.request.context,
                     p.weight_format.empty() ? p.quant + " (policy " + p.policy + ")" : p.weight_format, p.kv_dtype,
                     p.moe.present ? ", routing " + p.moe.routing : std::string(), p.request.memory_fraction);
}

const char* kCompareNote =
    "Datasheet roofline per device (calibrated figures where the spec has them); step = one decode step of the batch; "
    "TTFT = prefill of one prompt; memory per device includes activations and engine overhead; capacity = usable memory "
    "(device memory x mem-util); GB = 1e9 bytes, TB/s = 1e12 B/s. $/device-h = the hardware YAML's cloud on-demand "
    "list price per device-hour (US dollars; basis below); $/M tok out = $/device-h x devices / (tok/s total x 3600) x 1e6, "
    "US dollars per million output tokens at this batch (decode only, prefill not charged).\n";

// One line per priced device: its price, the page and the date it was read.
std::string compare_price_lines(const CompareResult& r) {
  std::string out;
  std::vector<std::string> seen;
  for (const auto& row : r.rows) {
    const HardwareSpec& hw = row.prediction.hardware;
    if (std::find(seen.begin(), seen.end(), hw.name) != seen.end()) continue;
    seen.push_back(hw.name);
    if (!hw.price.usd_per_device_hour)
      out += fmt::format("price {}: none in {} (no cost shown)\n", hw.name, hw.source_file);
    else
      out += fmt::format("price {}: ${:.2f}/device-hour, on-demand, read {} ({})\n", hw.name, hw.price.usd_per_device_hour->value,
                         hw.price.usd_per_device_hour->date, hw.price.usd_per_device_hour->source);
  }
  return out;
}

}  // namespace

namespace {

// The comparison as one table; the model column is for the CSV only (the header line names it
// in the terminal and Markdown).
Table compare_doc_table(const CompareResult& r) {
  Table t;
  t.id = "compare";
  Column model{"model", "model", ""};
  model.hidden_in = kHiddenInText | kHiddenInMarkdown;
  t.columns.push_back(model);
  for (const auto& c : compare_cols()) {
    Column col{c.key, c.header, ""};
    col.align = is_one_of(c.key, {"hardware", "layout"}) ? Align::Left : Align::Right;
    col.text_left = is_one_of(c.key, {"hardware", "layout", "bound", "note"});
    col.drop_priority = is_one_of(c.key, {"mem_bw_bytes_per_s"})          ? 3
                        : is_one_of(c.key, {"bound", "capacity_bytes"}) ? 2
                        : is_one_of(c.key, {"usd_per_device_hour"})     ? 1
                                                                        : 0;
    t.columns.push_back(col);
  }
  for (const auto& row : r.rows) {
    std::vector<Cell> cells{Cell::str(r.model)};
    for (auto& c : shown_and_raw(compare_cells(row, false), compare_cells(row, true))) cells.push_back(std::move(c));
    t.rows.push_back(std::move(cells));
  }
  return t;
}

}  // namespace

std::string compare_table(const CompareResult& r) {
  return compare_header(r) + table_text(compare_doc_table(r)) + kCompareNote + compare_price_lines(r);
}

std::string compare_csv(const CompareResult& r) { return table_csv_wide(compare_doc_table(r)); }

std::string compare_markdown(const CompareResult& r) {
  return "## " + compare_header(r) + "\n" + table_markdown(compare_doc_table(r)) + kCompareNote + "\n" + compare_price_lines(r);
}

// Stays its own writer: each row is the nested predict JSON.
std::string compare_json(const CompareResult& r) {
  json j;
  j["model"] = r.model;
  json rows = json::array();
  for (const auto& row : r.rows) {
    json p = json::parse(predict_json(row.prediction));
    p.erase("llmcost_version");  // stamped once, on the document
    p["auto_layout"] = row.auto_layout;
    p["fits_any_layout"] = row.fits_any;
    const Prediction& pr = row.prediction;
    if (pr.hardware.price.usd_per_device_hour) {
      const DatedPrice& price = *pr.hardware.price.usd_per_device_hour;
      p["usd_per_device_hour"] = json{{"value", price.value}, {"source", price.source}, {"date", price.date}, {"basis", "cloud on-demand list price"}};
      p["usd_per_million_output_tokens"] =
          pr.runnable && pr.tokens_per_s > 0 ? json(usd_per_million_tokens(price.value, pr.layout.devices, pr.tokens_per_s)) : json(nullptr);
    } else {
      p["usd_per_device_hour"] = nullptr;
      p["usd_per_million_output_tokens"] = nullptr;
    }
    rows.push_back(p);
  }
  j["rows"] = rows;
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

}  // namespace llmcost
