// Capacity-planning and hardware-sizing pages: ReportInput -> ReportDoc (tables + SVG charts).
#include "llmcost/capacity_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "llmcost/format.h"

namespace llmcost {

namespace {

constexpr double kGB = 1e9;

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  return out;
}

Cell gb_cell(double bytes) { return Cell::number(bytes, fmt::format("{:.2f}", bytes / kGB)); }
Cell int_bytes_gb(int64_t bytes) { return Cell::integer(bytes, fmt::format("{:.2f}", bytes / kGB)); }
Cell params_cell(int64_t n) { return Cell::integer(n, format_count(n)); }
Cell sec_ms(double s) { return Cell::number(s, fmt::format("{:.2f}", s * 1e3)); }
// Four significant digits without an exponent: 0.1234, 12.34, 1234, 10180.
std::string sig_text(double v) { return std::fabs(v) >= 1000 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v); }
Cell sig(double v) { return Cell::number(v, sig_text(v)); }
Cell ms_sig(double s) { return Cell::number(s, sig_text(s * 1e3)); }  // seconds shown as ms, 4 digits
Cell int_cell(int64_t v) { return Cell::integer(v, std::to_string(v)); }
Cell usd(const std::optional<double>& v, int decimals = 3) {
  return v ? Cell::number(*v, fmt::format("{:.{}f}", *v, decimals)) : Cell::str("-");
}

const char* group_label(ParamGroup g) {
  switch (g) {
    case ParamGroup::Embedding: return "embedding";
    case ParamGroup::Attention: return "attention";
    case ParamGroup::Mlp: return "dense MLP";
    case ParamGroup::ExpertsRouted: return "routed experts";
    case ParamGroup::ExpertsShared: return "shared experts";
    case ParamGroup::Router: return "router";
    case ParamGroup::Norm: return "norms";
    case ParamGroup::LmHead: return "lm_head";
    case ParamGroup::Other: return "other";
  }
  return "?";
}

std::string model_headline(const ModelPlan& m, const WorkloadInfo& w) {
  const auto& p = m.analysis.params;
  std::string s = fmt::format("{} ({}): {} parameters in total, {} active per token ({} multiplied per token).",
                              m.analysis.ir.name, m.analysis.ir.architecture, format_count(p.total), format_count(p.active),
                              format_count(p.active_compute));
  for (const auto& q : m.weights)
    s += fmt::format(" Weights in {}: {}.", q.quant, format_gb(static_cast<double>(q.weight_bytes)));
  s += fmt::format(" The {} KV cache holds {} bytes per token, {} per sequence at {} tokens.", w.kv_dtype,
                   format_thousands(m.kv.bytes_per_token), format_gb(static_cast<double>(m.kv.bytes_at_context)),
                   w.context);
  if (m.kv.expanded_bytes_per_token != m.kv.bytes_per_token)
    s += fmt::format(" (MLA latent cache; the naive expanded K/V would be {} bytes per token.)",
                     format_thousands(m.kv.expanded_bytes_per_token));
  if (m.kv.n_capped_layers > 0)
    s += fmt::format(" {} of {} attention layers keep only their window or chunk.", m.kv.n_capped_layers,
                     m.kv.n_attention_layers);
  if (m.kv.n_recurrent_layers > 0)
    s += fmt::format(" Its {} recurrent layers keep a constant {} of state per sequence instead (in the per-sequence figure).",
                     m.kv.n_recurrent_layers, format_gb(static_cast<double>(m.kv.state_bytes_per_sequence)));
  return s;
}

// The numbers of the model's headline paragraph, as a table (so JSON and CSV carry them).
Table facts_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = "Model facts";
  t.columns = {{"quantity", "quantity", ""}, {"value", "value", ""}, {"exact", "exact", ""}, {"unit", "unit", ""}};
  const auto& p = m.analysis.params;
  auto add = [&](const std::string& what, int64_t v, const std::string& shown, const std::string& unit) {
    t.rows.push_back({Cell::str(what), Cell::integer(v, shown), Cell::integer(v, format_thousands(v)), Cell::str(unit)});
  };
  add("parameters, total", p.total, format_count(p.total), "parameters");
  add("parameters, active per token", p.active, format_count(p.active), "parameters");
  add("parameters, multiplied per token", p.active_compute, format_count(p.active_compute), "parameters");
  if (p.mtp > 0) add("parameters, multi-token prediction (not in total)", p.mtp, format_count(p.mtp), "parameters");
  for (const auto& q : m.weights)
    add("weights in " + q.quant, q.weight_bytes, format_gb(static_cast<double>(q.weight_bytes)), "bytes");
  add("KV cache per token (" + w.kv_dtype + ")", m.kv.bytes_per_token, format_thousands(m.kv.bytes_per_token), "bytes");
  add(fmt::format("KV cache per sequence at {} tokens", w.context), m.kv.bytes_at_context,
      format_gb(static_cast<double>(m.kv.bytes_at_context)), "bytes");
  if (m.kv.n_recurrent_layers > 0)
    add("recurrent state per sequence (in the KV figure above)", m.kv.state_bytes_per_sequence,
        format_gb(static_cast<double>(m.kv.state_bytes_per_sequence)), "bytes");
  if (m.kv.expanded_bytes_per_token != m.kv.bytes_per_token)
    add("KV cache per token if MLA were expanded", m.kv.expanded_bytes_per_token,
        format_thousands(m.kv.expanded_bytes_per_token), "bytes");
  if (m.n_experts > 0) {
    add("routed experts per MoE layer", m.n_experts, std::to_string(m.n_experts), "experts");
    add("experts used per token", m.top_k, std::to_string(m.top_k), "experts");
  }
  return t;
}

Table components_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Parameters and weight memory by component ('{}' quantization policy)", w.quant_policy);
  t.columns = {{"component", "component", ""}, {"params", "parameters", "parameters"}, {"params_exact", "exact", "parameters"}};
  for (const auto& q : m.weights) t.columns.push_back({"weight_bytes_" + q.quant, "weights in " + q.quant + " (GB)", "bytes"});
  const auto& p = m.analysis.params;
  for (int g = 0; g < kNumParamGroups; ++g) {
    if (p.breakdown[g] == 0) continue;
    std::vector<Cell> row{Cell::str(group_label(static_cast<ParamGroup>(g))), params_cell(p.breakdown[g]),
                          Cell::integer(p.breakdown[g], format_thousands(p.breakdown[g]))};
    for (const auto& q : m.weights) row.push_back(int_bytes_gb(q.by_group[g]));
    t.rows.push_back(row);
  }
  std::vector<Cell> total{Cell::str("total"), params_cell(p.total), Cell::integer(p.total, format_thousands(p.total))};
  for (const auto& q : m.weights) total.push_back(int_bytes_gb(q.weight_bytes));
  t.rows.push_back(total);
  t.notes.push_back("B = 1e9 parameters, GB = 1e9 bytes. Bytes include each scheme's scales and zeros; tensors the "
                    "policy does not cover stay in bf16.");
  if (p.mtp > 0)
    t.notes.push_back(fmt::format("Multi-token-prediction layers ({} parameters) are not in the total.", format_count(p.mtp)));
  return t;
}

svg::BarChart memory_chart(const ModelPlan& m, const std::string& id) {
  svg::BarChart c;
  c.id = id;
  c.title = fmt::format("{}: memory per device vs capacity", m.analysis.ir.name);
  c.x_label = "hardware, weight format, devices per replica";
  c.y_label = "memory per device (GB, 1e9 bytes)";
  svg::BarSeries w{"weights", {}}, kv{"KV cache", {}}, act{"activations", {}}, ovh{"engine overhead", {}};
  for (const auto& d : m.memory) {
    c.categories.push_back(fmt::format("{} {} x{}", d.hw, d.quant, d.devices));
    c.capacity.push_back(d.capacity_bytes / kGB);
    w.values.push_back(d.weight_bytes / kGB);
    kv.values.push_back(d.kv_bytes / kGB);
    act.values.push_back(d.activation_bytes / kGB);
    ovh.values.push_back(d.overhead_bytes / kGB);
  }
  c.series = {w, kv, act, ovh};
  c.capacity_label = "usable capacity (memory x mem_util)";
  return c;
}

// Grouped bars: hardware x quantization, from the plan rows (missing / infeasible = 0).
svg::BarChart rows_chart(const ModelPlan& m, const WorkloadInfo& w, const std::string& id, const std::string& title,
                         const std::string& y_label, double (*value)(const PlanRow&)) {
  svg::BarChart c;
  c.id = id;
  c.stacked = false;
  c.title = title;
  c.x_label = "hardware";
  c.y_label = y_label;
  for (const auto& r : m.rows)
    if (std::find(c.categories.begin(), c.categories.end(), r.hardware) == c.categories.end())
      c.categories.push_back(r.hardware);
  for (const auto& q : w.quants) {
    svg::BarSeries s{q, std::vector<double>(c.categories.size(), 0.0)};
    for (const auto& r : m.rows) {
      if (r.quant != q || !r.feasible) continue;
      size_t k = std::find(c.categories.begin(), c.categories.end(), r.hardware) - c.categories.begin();
      s.values[k] = value(r);
    }
    c.series.push_back(s);
  }
  return c;
}

Table memory_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Memory per device of one replica at its planned batch and {} tokens of context", w.context);
  t.columns = {{"hardware", "hardware", ""},
               {"quant", "weights", ""},
               {"layout", "layout", ""},
               {"devices_per_replica", "devices / replica", "devices"},
               {"weight_bytes_per_device", "weights (GB)", "bytes"},
               {"kv_bytes_per_device", "KV cache (GB)", "bytes"},
               {"activation_bytes_per_device", "activations (GB)", "bytes"},
               {"overhead_bytes_per_device", "engine overhead (GB)", "bytes"},
               {"used_bytes_per_device", "total (GB)", "bytes"},
               {"capacity_bytes", "usable capacity (GB)", "bytes"}};
  for (const auto& d : m.memory)
    t.rows.push_back({Cell::str(d.hw), Cell::str(d.quant), Cell::str(d.layout), int_cell(d.devices), gb_cell(d.weight_bytes),
                      gb_cell(d.kv_bytes), gb_cell(d.activation_bytes), gb_cell(d.overhead_bytes), gb_cell(d.used_bytes()),
                      gb_cell(d.capacity_bytes)});
  t.notes.push_back("Usable capacity = device memory x mem_util. Engine overhead = runtime context + CUDA graphs + "
                    "collective buffers (GPUs; the last only when a replica spans devices).");
  for (const auto& s : m.not_fitting) t.notes.push_back("Not runnable: " + s + ".");
  return t;
}

svg::LineChart sweep_chart(const ModelPlan& m, const std::string& id, bool latency) {
  svg::LineChart c;
  c.id = id;
  c.log_x = true;
  c.log_y = true;  // hardware differ by 10x and more
  c.x_ticks_at_data = true;
  c.x_label = "batch per replica (concurrent sequences, log scale)";
  std::string quant = m.sweeps.empty() ? "" : m.sweeps.front().quant;
  if (latency) {
    c.title = fmt::format("{} ({}): decode step latency vs batch", m.analysis.ir.name, quant);
    c.y_label = "decode step = time per output token (ms, log)";
  } else {
    c.title = fmt::format("{} ({}): decode throughput of one replica vs batch", m.analysis.ir.name, quant);
    c.y_label = "decode throughput (tokens/s per replica, log)";
  }
  for (const auto& sw : m.sweeps) {
    svg::LineSeries s;
    s.name = fmt::format("{} ({})", sw.hw, sw.layout);
    for (const auto& b : sw.by_batch) {
      s.x.push_back(static_cast<double>(b.batch));
      s.y.push_back(latency ? b.decode_step_s * 1e3 : b.decode_tokens_per_s);
    }
    c.series.push_back(s);
  }
  return c;
}

// MoE: the distinct experts a decode step reads per layer as the batch grows (the formula is
// expected_distinct_experts in analyzer/cost/cost_model.cpp).
svg::LineChart experts_chart(const ModelPlan& m, const WorkloadInfo& w, const std::string& id) {
  svg::LineChart c;
  c.id = id;
  c.log_x = true;
  c.x_ticks_at_data = true;
  c.title = fmt::format("{}: experts read per MoE layer per decode step ({} routed, top-{})", m.analysis.ir.name,
                        m.n_experts, m.top_k);
  c.x_label = "batch (tokens decoded together, log scale)";
  c.y_label = "distinct experts read per layer";
  const HwSweep& sw = m.sweeps.front();  // routing, not hardware, decides it
  svg::LineSeries all{fmt::format("all {} experts", m.n_experts), {}, {}}, uni{"uniform routing", {}, {}},
      zipf{fmt::format("zipf:{:g} (skewed) routing", m.zipf_s), {}, {}}, used{"workload routing (" + w.routing + ")", {}, {}},
      one{fmt::format("top-{} (one token)", m.top_k), {}, {}};
  for (const auto& b : sw.by_batch) {
    double x = static_cast<double>(b.batch);
    all.x.push_back(x), all.y.push_back(static_cast<double>(m.n_experts));
    uni.x.push_back(x), uni.y.push_back(b.experts_per_layer_uniform);
    zipf.x.push_back(x), zipf.y.push_back(b.experts_per_layer_zipf);
    used.x.push_back(x), used.y.push_back(b.experts_per_layer);
    one.x.push_back(x), one.y.push_back(static_cast<double>(m.top_k));
  }
  c.series = {all, uni, zipf, one};
  if (w.routing != "uniform" && w.routing != zipf.name.substr(0, zipf.name.find(' '))) c.series.push_back(used);
  return c;
}

Table plan_table(const std::vector<const PlanRow*>& rows, const std::string& id, const std::string& caption,
                 bool with_model, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = caption;
  if (with_model) t.columns.push_back({"model", "model", ""});
  std::vector<Column> cols = {{"hardware", "hardware", ""},
                              {"quant", "weights", ""},
                              {"devices", "devices", "devices"},
                              {"replica", "replicas x layout", ""},
                              {"batch_per_replica", "batch / replica", "sequences"},
                              {"decode_step_s", "decode step (ms)", "s"},
                              {"ttft_s", "time to first token (ms)", "s"},
                              {"tokens_per_s_per_sequence", "tokens/s per user", "tokens/s"},
                              {"output_tokens_per_s", "output tokens/s (all)", "tokens/s"},
                              {"per_device_bytes", "memory / device (GB)", "bytes"},
                              {"capacity_bytes", "capacity (GB)", "bytes"},
                              {"usd_per_million_output_tokens", "$ / 1M output tokens", "USD per 1e6 tokens"},
                              {"note", "note", ""}};
  t.columns.insert(t.columns.end(), cols.begin(), cols.end());
  for (const PlanRow* r : rows) {
    std::vector<Cell> row;
    if (with_model) row.push_back(Cell::str(r->model));
    row.push_back(Cell::str(r->hardware));
    row.push_back(Cell::str(r->quant));
    if (!r->feasible) {
      for (int i = 0; i < 8; ++i) row.push_back(Cell::str("-"));  // devices .. memory per device
      row.push_back(gb_cell(r->capacity_bytes));
      row.push_back(Cell::str("-"));
      row.push_back(Cell::str("not runnable: " + r->reason));
      t.rows.push_back(row);
      continue;
    }
    std::string note = r->bound + "-bound";
    if (!r->meets_latency) note += "; " + r->reason;
    row.insert(row.end(), {int_cell(r->devices),
                           Cell::str(fmt::format("{} x {}", r->replicas, format_layout(r->parallel))),
                           int_cell(r->batch_per_replica), sec_ms(r->decode_step_s), sec_ms(r->ttft_s),
                           sig(r->tokens_per_s_per_sequence), sig(r->output_tokens_per_s), gb_cell(r->per_device_bytes),
                           gb_cell(r->capacity_bytes), usd(r->usd_per_million_output_tokens), Cell::str(note)});
    t.rows.push_back(row);
  }
  if (w.output_tokens > 0)
    t.notes.push_back("Replicas serve the concurrency together; decode step and tokens/s per user at the batch per "
                      "replica and the mean context (prompt + half the output); memory at the full context.");
  else
    t.notes.push_back(fmt::format("One replica per hardware at batch {} and context {}.", w.concurrency, w.context));
  return t;
}

svg::RooflineChart roofline_chart(const ModelPlan& m, const RooflineData& r, const std::string& id) {
  svg::RooflineChart c;
  c.id = id;
  c.title = fmt::format("{} on {} ({}, {}, {} peak): roofline, one point per op group", m.analysis.ir.name, r.hw, r.quant,
                        r.layout, r.dtype);
  c.roofs = {{r.hw + " " + r.dtype, r.peak_flops_per_s, r.mem_bw_bytes_per_s}};
  c.groups = {fmt::format("decode ops (batch {}, context {})", r.batch, r.context),
              fmt::format("prefill ops ({} tokens)", r.prompt_tokens)};
  for (const auto& op : r.ops) {
    if (!(op.bytes > 0) || !(op.flops > 0) || !(op.time_s > 0)) continue;
    c.points.push_back({op.phase + " " + op.name, op.flops / op.bytes, op.flops / op.time_s, op.phase == "prefill" ? 1u : 0u});
  }
  return c;
}

Table roofline_table(const RooflineData& r, const std::string& id) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Op groups on {} (per device, per member op, one step)", r.hw);
  t.columns = {{"phase", "phase", ""},        {"op", "op group", ""},           {"flops", "GFLOP", "FLOP"},
               {"bytes", "bytes (MB)", "bytes"}, {"time_s", "time (us)", "s"}, {"bound", "bound", ""}};
  for (const auto& op : r.ops)
    t.rows.push_back({Cell::str(op.phase), Cell::str(op.name), Cell::number(op.flops, fmt::format("{:.4g}", op.flops / 1e9)),
                      Cell::number(op.bytes, fmt::format("{:.4g}", op.bytes / 1e6)),
                      Cell::number(op.time_s, fmt::format("{:.4g}", op.time_s * 1e6)),
                      Cell::str(op.memory_bound ? "memory" : "compute")});
  return t;
}

Table hardware_table(const std::vector<HardwareSpec>& hw) {
  Table t;
  t.id = "hardware-specs";
  t.caption = "Hardware used (datasheet numbers; calibrated ones where measured)";
  t.columns = {{"name", "name", ""},
               {"description", "description", ""},
               {"memory_bytes", "memory (GB)", "bytes"},
               {"mem_bw_bytes_per_s", "memory bandwidth (TB/s)", "bytes/s"},
               {"bf16_flops_per_s", "bf16 dense (TFLOP/s)", "FLOP/s"},
               {"fp8_flops_per_s", "fp8 dense (TFLOP/s)", "FLOP/s"},
               {"interconnect", "interconnect", ""},
               {"calibrated", "calibrated", ""},
               {"sources", "sources", ""}};
  for (const auto& h : hw) {
    auto peak = [&](ComputeDtype d) {
      const auto& p = h.peak(d);
      return p ? Cell::number(p->value, fmt::format("{:.1f}", p->value / 1e12)) : Cell::str("-");
    };
    std::string src = "memory: " + h.memory_bytes.source + "; bandwidth: " + h.mem_bw_bytes_per_s.source;
    if (const auto& p = h.peak(ComputeDtype::BF16)) src += "; bf16: " + p->source;
    t.rows.push_back({Cell::str(h.name), Cell::str(h.description), gb_cell(h.memory_bytes.value),
                      Cell::number(h.mem_bw_bytes_per_s.value, fmt::format("{:.2f}", h.mem_bw_bytes_per_s.value / 1e12)),
                      peak(ComputeDtype::BF16), peak(ComputeDtype::FP8),
                      Cell::str(h.interconnect ? h.interconnect->name : "none (single device)"),
                      Cell::str(h.is_calibrated() ? "yes" : "no"), Cell::str(src)});
  }
  return t;
}

Section run_section(const RunData& r) {
  Section s;
  s.id = "predicted-vs-measured";
  s.heading = "Predicted vs measured (" + r.backend + ", " + r.device + ")";
  s.paragraphs.push_back(fmt::format(
      "From {}: {}slice of layers {}{}. Decode step predicted {:.3f} ms, measured {:.3f} ms (median; p10 {:.3f} ms, p90 "
      "{:.3f} ms). The prediction uses the calibrated read bandwidth {:.2f} GB/s.",
      r.file, r.model.empty() ? "" : r.model + ", ", r.slice.empty() ? "(not stated)" : r.slice,
      r.batch > 0 ? fmt::format(", batch {}, context {}", r.batch, r.context) : std::string(),
      r.predicted_decode_step_s * 1e3, r.measured_decode_step_s * 1e3, r.measured_p10_s * 1e3, r.measured_p90_s * 1e3,
      r.read_bw_bytes_per_s / kGB));
  svg::BarChart c;
  c.id = "run-ops";
  c.stacked = false;
  c.log_y = true;
  c.title = "Predicted vs measured time per op (one decode step)";
  c.x_label = "op";
  c.y_label = "time per decode step (s, log scale)";
  svg::BarSeries pred{"predicted", {}}, meas{"measured (median)", {}};
  for (const auto& op : r.ops) {
    c.categories.push_back(op.name);
    pred.values.push_back(op.predicted_s);
    meas.values.push_back(op.measured_s);
  }
  c.series = {pred, meas};
  if (!r.ops.empty()) s.charts.push_back(c);
  Table st;
  st.id = "run-summary";
  st.caption = "Decode step";
  st.columns = {{"quantity", "quantity", ""}, {"value", "value", ""}, {"unit", "unit", ""}};
  auto row = [&](const std::string& k, double v, const std::string& shown, const std::string& unit) {
    st.rows.push_back({Cell::str(k), Cell::number(v, shown), Cell::str(unit)});
  };
  row("predicted", r.predicted_decode_step_s, fmt::format("{:.3f}", r.predicted_decode_step_s * 1e3), "ms");
  row("measured median", r.measured_decode_step_s, fmt::format("{:.3f}", r.measured_decode_step_s * 1e3), "ms");
  row("measured p10", r.measured_p10_s, fmt::format("{:.3f}", r.measured_p10_s * 1e3), "ms");
  row("measured p90", r.measured_p90_s, fmt::format("{:.3f}", r.measured_p90_s * 1e3), "ms");
  row("calibrated read bandwidth", r.read_bw_bytes_per_s, fmt::format("{:.2f}", r.read_bw_bytes_per_s / kGB), "GB/s");
  st.notes.push_back("JSON/CSV values are in seconds and bytes/s.");
  s.tables.push_back(st);
  Table t;
  t.id = "run-ops-table";
  t.caption = "Per op";
  t.columns = {{"op", "op", ""},
               {"predicted_s", "predicted (ms)", "s"},
               {"measured_s", "measured median (ms)", "s"},
               {"measured_p10_s", "p10 (ms)", "s"},
               {"measured_p90_s", "p90 (ms)", "s"},
               {"error_pct", "error (%)", "%"},
               {"bytes", "bytes moved (GB)", "bytes"}};
  for (const auto& op : r.ops)
    t.rows.push_back({Cell::str(op.name), ms_sig(op.predicted_s), ms_sig(op.measured_s),
                      op.measured_p10_s > 0 ? ms_sig(op.measured_p10_s) : Cell::str("-"),
                      op.measured_p90_s > 0 ? ms_sig(op.measured_p90_s) : Cell::str("-"),
                      Cell::number(op.error_pct, fmt::format("{:+.1f}", op.error_pct)), gb_cell(op.bytes)});
  s.tables.push_back(t);
  return s;
}

std::vector<std::string> workload_assumptions(const WorkloadInfo& w) {
  std::string quants;
  for (const auto& q : w.quants) quants += (quants.empty() ? "" : ", ") + q;
  std::vector<std::string> out;
  if (w.output_tokens > 0)
    out.push_back(fmt::format("Workload: {} concurrent requests, each a {}-token prompt and {} output tokens (memory "
                              "sized for {} cached tokens per sequence).",
                              w.concurrency, w.prompt_tokens, w.output_tokens, w.context));
  else
    out.push_back(fmt::format("Workload: batch {} sequences, {} tokens of context each, prompts of {} tokens.",
                              w.concurrency, w.context, w.prompt_tokens));
  if (w.max_decode_step_s || w.max_ttft_s) {
    std::string t = "Latency targets:";
    if (w.max_decode_step_s)
      t += fmt::format(" decode step <= {:.1f} ms ({:.1f} tokens/s per user)", *w.max_decode_step_s * 1e3,
                       1.0 / *w.max_decode_step_s);
    if (w.max_ttft_s) t += fmt::format("{} time to first token <= {:.0f} ms", w.max_decode_step_s ? ";" : "", *w.max_ttft_s * 1e3);
    out.push_back(t + "; replicas are added until every request meets them.");
  }
  out.push_back(fmt::format("Quantization: weights in {} under the '{}' policy (tensors outside it stay bf16); KV cache "
                            "in {}.",
                            quants, w.quant_policy, w.kv_dtype));
  out.push_back(fmt::format("MoE routing: {} (the distinct experts a batch touches follow from it; real routing is "
                            "skewed, so uniform is an upper bound on expert bytes read).",
                            w.routing));
  return out;
}

Table workload_table(const WorkloadInfo& w) {
  Table t;
  t.id = "workload";
  t.caption = "Workload";
  t.columns = {{"input", "input", ""}, {"value", "value", ""}};
  auto num = [&](const std::string& k, int64_t v) { t.rows.push_back({Cell::str(k), Cell::integer(v, std::to_string(v))}); };
  auto str = [&](const std::string& k, const std::string& v) { t.rows.push_back({Cell::str(k), Cell::str(v)}); };
  num(w.output_tokens > 0 ? "concurrent requests" : "batch (sequences)", w.concurrency);
  num("prompt tokens per request", w.prompt_tokens);
  if (w.output_tokens > 0) num("output tokens per request", w.output_tokens);
  num("cached tokens per sequence (memory)", w.context);
  if (w.max_decode_step_s)
    t.rows.push_back({Cell::str("latency target: decode step (ms)"),
                      Cell::number(*w.max_decode_step_s, fmt::format("{:.1f}", *w.max_decode_step_s * 1e3))});
  if (w.max_ttft_s)
    t.rows.push_back({Cell::str("latency target: time to first token (ms)"),
                      Cell::number(*w.max_ttft_s, fmt::format("{:.0f}", *w.max_ttft_s * 1e3))});
  std::string quants;
  for (const auto& q : w.quants) quants += (quants.empty() ? "" : ", ") + q;
  str("weight formats", quants);
  str("quantization policy", w.quant_policy);
  str("KV cache dtype", w.kv_dtype);
  str("MoE routing", w.routing);
  return t;
}

Section model_section(const ModelPlan& m, const WorkloadInfo& w, size_t index, bool with_rows) {
  Section s;
  std::string p = "m" + std::to_string(index) + "-" + slug(m.analysis.ir.name);
  s.id = p;
  s.heading = m.analysis.ir.name;
  s.paragraphs.push_back(model_headline(m, w));
  if (!m.memory.empty()) s.charts.push_back(memory_chart(m, p + "-memory"));
  if (!m.rows.empty()) {
    s.charts.push_back(rows_chart(m, w, p + "-devices", fmt::format("{}: devices needed (0 = does not fit)", m.analysis.ir.name),
                                  "devices (all replicas)", [](const PlanRow& r) { return static_cast<double>(r.devices); }));
    std::get<svg::BarChart>(s.charts.back()).integer_y = true;
    if (std::any_of(m.rows.begin(), m.rows.end(), [](const PlanRow& r) { return r.usd_per_million_output_tokens.has_value(); }))
      s.charts.push_back(rows_chart(m, w, p + "-cost",
                                    fmt::format("{}: cost per million output tokens (priced hardware)", m.analysis.ir.name),
                                    "USD per 1e6 output tokens", [](const PlanRow& r) {
                                      return r.usd_per_million_output_tokens.value_or(0.0);
                                    }));
  }
  if (!m.sweeps.empty()) {
    s.charts.push_back(sweep_chart(m, p + "-tps", false));
    s.charts.push_back(sweep_chart(m, p + "-latency", true));
  }
  if (m.n_experts > 0 && !m.sweeps.empty()) {
    s.charts.push_back(experts_chart(m, w, p + "-experts"));
    s.paragraphs.push_back(fmt::format(
        "Mixture of experts: each token uses {} of {} routed experts, but the tokens of a batch pick different ones, so "
        "the bytes a decode step reads grow with the batch towards the whole model (chart below).",
        m.top_k, m.n_experts));
  }
  for (size_t i = 0; i < m.roofline.size(); ++i)
    s.charts.push_back(roofline_chart(m, m.roofline[i], p + "-roofline-" + std::to_string(i)));
  if (with_rows && !m.rows.empty()) {
    std::vector<const PlanRow*> rows;
    for (const auto& r : m.rows) rows.push_back(&r);
    s.tables.push_back(plan_table(rows, p + "-plan", "Per hardware and weight format", false, w));
  }
  s.tables.push_back(facts_table(m, p + "-facts", w));
  s.tables.push_back(components_table(m, p + "-components", w));
  if (!m.memory.empty()) s.tables.push_back(memory_table(m, p + "-memory-table", w));
  for (size_t i = 0; i < m.roofline.size(); ++i)
    s.tables.push_back(roofline_table(m.roofline[i], p + "-roofline-table-" + std::to_string(i)));
  return s;
}

// The answer first: the cheapest way to serve the workload (by $ per million output tokens where
// every runnable row is priced, else by devices), the fastest per sequence, and the Pareto front
// of cost against per-sequence speed, every runnable row as a point.
Section answer_section(const ReportInput& in) {
  Section s;
  s.id = "answer";
  s.heading = "Answer";
  std::vector<const PlanRow*> ok;
  for (const auto& m : in.models)
    for (const auto& r : m.rows)
      if (r.feasible && r.meets_latency && r.output_tokens_per_s > 0) ok.push_back(&r);
  if (ok.empty()) {
    s.paragraphs.push_back("No combination runs this workload within its targets: see All combinations for why.");
    return s;
  }
  const bool priced = std::all_of(ok.begin(), ok.end(), [](const PlanRow* r) { return r->usd_per_million_output_tokens.has_value(); });
  auto cost = [&](const PlanRow* r) { return priced ? *r->usd_per_million_output_tokens : static_cast<double>(r->devices); };
  auto describe = [&](const PlanRow* r) {
    std::string t = fmt::format("{} ({}) on {} x {} ({}{}): {} output tokens/s in all, {} tokens/s per sequence, "
                                "time to first token {} ms",
                                r->model, r->quant, r->devices, r->hardware, layout_label(r->parallel),
                                r->replicas > 1 ? fmt::format(", {} replicas", r->replicas) : std::string(),
                                sig_text(r->output_tokens_per_s), sig_text(r->tokens_per_s_per_sequence), sig_text(r->ttft_s * 1e3));
    if (r->usd_per_million_output_tokens) t += fmt::format(", ${:.3f} per million output tokens", *r->usd_per_million_output_tokens);
    return t;
  };
  const PlanRow* cheapest = *std::min_element(ok.begin(), ok.end(), [&](const PlanRow* a, const PlanRow* b) {
    return cost(a) != cost(b) ? cost(a) < cost(b) : a->tokens_per_s_per_sequence > b->tokens_per_s_per_sequence;
  });
  const PlanRow* fastest = *std::max_element(ok.begin(), ok.end(), [&](const PlanRow* a, const PlanRow* b) {
    return a->tokens_per_s_per_sequence != b->tokens_per_s_per_sequence ? a->tokens_per_s_per_sequence < b->tokens_per_s_per_sequence
                                                                          : cost(a) > cost(b);
  });
  s.paragraphs.push_back(fmt::format("Cheapest ({}): {}.", priced ? "lowest $ per million output tokens" : "fewest devices", describe(cheapest)));
  if (fastest != cheapest) s.paragraphs.push_back("Fastest per sequence: " + describe(fastest) + ".");
  std::vector<double> xs, ys;
  for (const PlanRow* r : ok) {
    xs.push_back(cost(r));
    ys.push_back(r->tokens_per_s_per_sequence);
  }
  const std::vector<size_t> front = pareto_front(xs, ys);
  std::string names;
  for (size_t i : front) names += (names.empty() ? "" : "; ") + fmt::format("{} {} on {}", ok[i]->model, ok[i]->quant, ok[i]->hardware);
  s.paragraphs.push_back(fmt::format("Pareto front ({} of {} runnable combinations; none of the others is both cheaper and "
                                     "faster per sequence than all of these): {}. Predictions: {}.",
                                     front.size(), ok.size(), names,
                                     "each hardware's efficiency figures as stated under Inputs (derated unless said otherwise)"));
  svg::LineChart c;
  c.id = "answer-pareto";
  c.title = "Cost against speed per sequence: every runnable combination, the Pareto front joined";
  c.x_label = priced ? "USD per million output tokens" : "devices in total";
  c.y_label = "output tokens/s per sequence";
  svg::LineSeries f;
  f.name = "Pareto front";
  for (size_t i : front) {
    f.x.push_back(xs[i]);
    f.y.push_back(ys[i]);
  }
  c.series.push_back(f);
  std::vector<std::string> hws;
  for (const PlanRow* r : ok)
    if (std::find(hws.begin(), hws.end(), r->hardware) == hws.end()) hws.push_back(r->hardware);
  for (const auto& hw : hws) {
    svg::LineSeries p;
    p.name = hw;
    p.markers_only = true;
    for (size_t i = 0; i < ok.size(); ++i)
      if (ok[i]->hardware == hw) {
        p.x.push_back(xs[i]);
        p.y.push_back(ys[i]);
      }
    c.series.push_back(p);
  }
  s.charts.push_back(c);
  return s;
}

// Model x hardware rows, one column per weight format: devices needed, with throughput and cost.
Section summary_section(const ReportInput& in) {
  Section s;
  s.id = "summary";
  s.heading = "Summary: devices needed per model, hardware and weight format";
  s.paragraphs.push_back("Each cell: devices in total (all replicas) to serve the workload, then output tokens/s of all "
                         "replicas and, for priced hardware, USD per million output tokens. Throughput is continuous "
                         "batching's steady state: each replica's batch has its prompts prefilled together (in chunks) "
                         "and then decodes, a finished sequence replaced by a new one. The full table is under "
                         "All combinations.");
  Table t;
  t.id = "summary-table";
  t.caption = "Devices needed (output tokens/s, $ per 1M output tokens)";
  t.columns = {{"model", "model", ""}, {"hardware", "hardware", ""}};
  for (const auto& q : in.workload.quants) t.columns.push_back({"devices_" + q, q, "devices"});
  for (const auto& m : in.models) {
    std::vector<std::string> hws;
    for (const auto& r : m.rows)
      if (std::find(hws.begin(), hws.end(), r.hardware) == hws.end()) hws.push_back(r.hardware);
    for (const auto& hw : hws) {
      std::vector<Cell> row{Cell::str(m.analysis.ir.name), Cell::str(hw)};
      for (const auto& q : in.workload.quants) {
        const PlanRow* r = nullptr;
        for (const auto& x : m.rows)
          if (x.hardware == hw && x.quant == q) r = &x;
        if (!r) {
          row.push_back(Cell::str(""));
        } else if (!r->feasible) {
          row.push_back(Cell::str("not runnable"));
        } else {
          std::string text = fmt::format("{} ({} tok/s", r->devices, sig_text(r->output_tokens_per_s));
          if (r->usd_per_million_output_tokens) text += fmt::format(", ${:.3f}", *r->usd_per_million_output_tokens);
          text += r->meets_latency ? ")" : ", misses latency target)";
          row.push_back(Cell::integer(r->devices, text));
        }
      }
      t.rows.push_back(row);
    }
  }
  s.tables.push_back(t);
  return s;
}

ReportDoc build(const ReportInput& in, bool sizing) {
  ReportDoc d;
  d.title = in.title;
  d.subtitle = (in.description.empty() ? "" : in.description + ". ") + "Source: " + in.source;
  d.assumptions = workload_assumptions(in.workload);
  d.assumptions.insert(d.assumptions.end(), in.assumptions.begin(), in.assumptions.end());
  d.missing = in.missing;
  if (!in.run) d.missing.push_back("Predicted vs measured per op: no run file given (llmcost report ... --run RUN.json).");
  d.sections.push_back(answer_section(in));
  if (!sizing) d.sections.push_back(summary_section(in));
  for (size_t i = 0; i < in.models.size() && (!sizing || i == 0); ++i)
    d.sections.push_back(model_section(in.models[i], in.workload, i, sizing));
  if (in.run) d.sections.push_back(run_section(*in.run));
  if (!sizing) {
    Section all;
    all.id = "all-combinations";
    all.heading = "All combinations";
    std::vector<const PlanRow*> rows;
    for (const auto& m : in.models)
      for (const auto& r : m.rows) rows.push_back(&r);
    all.tables.push_back(plan_table(rows, "plan-table", "Every model on every hardware and weight format", true, in.workload));
    d.sections.push_back(all);
  }
  Section hw;
  hw.id = "hardware";
  hw.heading = "Inputs: workload and hardware";
  hw.tables.push_back(workload_table(in.workload));
  for (const auto& p : in.price_sources) hw.paragraphs.push_back("Price: " + p);
  hw.tables.push_back(hardware_table(in.hardware));
  d.sections.push_back(hw);
  return d;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& speed) {
  std::vector<size_t> idx(std::min(cost.size(), speed.size()));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  // Cheapest first, the faster of equal costs first: a point is on the front when it is faster
  // than every cheaper-or-equal point before it.
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return cost[a] != cost[b] ? cost[a] < cost[b] : speed[a] > speed[b]; });
  std::vector<size_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (speed[i] > best) {
      front.push_back(i);
      best = speed[i];
    }
  return front;
}

ReportDoc capacity_report(const ReportInput& in) { return build(in, false); }
ReportDoc sizing_report(const ReportInput& in) { return build(in, true); }
std::string compare_html(const ReportInput& in) { return report_html(sizing_report(in)); }

}  // namespace llmcost
