// Capacity-planning and hardware-sizing pages: ReportInput -> ReportDoc (tables + SVG charts).
#include "llmcost/capacity_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
Cell sec_ms(double s) { return Cell::number(s, fmt::format("{:.3f}", s * 1e3)); }
Cell sig(double v, int digits = 4) { return Cell::number(v, fmt::format("{:.{}g}", v, digits)); }

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
  std::string s = fmt::format(
      "{}: {} parameters in total, {} active per token ({} multiplied per token). Weights in {} take {} ({}).",
      m.analysis.ir.name, format_count(p.total), format_count(p.active), format_count(p.active_compute), w.quant,
      format_gb(static_cast<double>(m.weight_bytes)), format_gib(static_cast<double>(m.weight_bytes)));
  s += fmt::format(" The {} KV cache holds {} bytes per token, {} per sequence at {} tokens of context, {} for {} sequences.",
                   w.kv_dtype, format_thousands(m.kv.bytes_per_token), format_gb(static_cast<double>(m.kv.bytes_at_context)),
                   w.context, format_gb(static_cast<double>(m.kv.bytes_at_context) * static_cast<double>(w.batch)), w.batch);
  if (m.kv.expanded_bytes_per_token != m.kv.bytes_per_token)
    s += fmt::format(" (MLA latent cache; the naive expanded K/V would be {} bytes per token.)",
                     format_thousands(m.kv.expanded_bytes_per_token));
  if (m.kv.n_capped_layers > 0)
    s += fmt::format(" {} of {} attention layers keep only their window/chunk.", m.kv.n_capped_layers, m.kv.n_attention_layers);
  return s;
}

Table components_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Parameters and weight memory by component ({}, {} policy)", w.quant, w.quant_policy);
  t.columns = {{"component", "component", ""},
               {"params", "parameters", "parameters"},
               {"params_exact", "exact", "parameters"},
               {"weight_bytes", fmt::format("weights in {} (GB)", w.quant), "bytes"}};
  const auto& p = m.analysis.params;
  for (int g = 0; g < kNumParamGroups; ++g) {
    if (p.breakdown[g] == 0 && m.weight_bytes_by_group[g] == 0) continue;
    t.rows.push_back({Cell::str(group_label(static_cast<ParamGroup>(g))), params_cell(p.breakdown[g]),
                      Cell::integer(p.breakdown[g], format_thousands(p.breakdown[g])), int_bytes_gb(m.weight_bytes_by_group[g])});
  }
  t.rows.push_back({Cell::str("total"), params_cell(p.total), Cell::integer(p.total, format_thousands(p.total)),
                    int_bytes_gb(m.weight_bytes)});
  t.notes.push_back("B = 1e9 parameters, GB = 1e9 bytes. Bytes include the scheme's scales and zeros; tensors the "
                    "policy does not cover stay in bf16.");
  if (p.mtp > 0)
    t.notes.push_back(fmt::format("Multi-token-prediction layers ({} parameters) are not in the total.", format_count(p.mtp)));
  return t;
}

svg::BarChart memory_chart(const ModelPlan& m, const std::string& id) {
  svg::BarChart c;
  c.id = id;
  c.title = fmt::format("{}: memory per device vs capacity", m.analysis.ir.name);
  c.x_label = "hardware (devices used)";
  c.y_label = "memory per device (GB, 1e9 bytes)";
  for (const auto& d : m.memory) {
    c.categories.push_back(fmt::format("{} x{}", d.hw, d.devices));
    c.capacity.push_back(d.capacity_bytes / kGB);
  }
  svg::BarSeries w{"weights", {}};
  for (const auto& d : m.memory) w.values.push_back(d.weight_bytes / kGB);
  c.series.push_back(w);
  svg::BarSeries kv{"KV cache", {}}, act{"activations", {}};
  for (const auto& d : m.memory) {
    kv.values.push_back(d.kv_bytes / kGB);
    act.values.push_back(d.activation_bytes / kGB);
  }
  c.series.push_back(kv);
  if (std::any_of(act.values.begin(), act.values.end(), [](double v) { return v > 0; })) c.series.push_back(act);
  c.capacity_label = "device capacity";
  return c;
}

svg::BarChart components_chart(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  svg::BarChart c;
  c.id = id;
  c.stacked = false;
  c.title = fmt::format("{}: weight memory by component (whole model, {})", m.analysis.ir.name, w.quant);
  c.x_label = "component";
  c.y_label = "weights (GB, 1e9 bytes)";
  svg::BarSeries s{"weights in " + w.quant, {}};
  for (int g = 0; g < kNumParamGroups; ++g) {
    if (m.weight_bytes_by_group[g] == 0) continue;
    c.categories.push_back(group_label(static_cast<ParamGroup>(g)));
    s.values.push_back(static_cast<double>(m.weight_bytes_by_group[g]) / kGB);
  }
  c.series = {s};
  return c;
}

Table memory_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Memory per device at batch {} x context {}", w.batch, w.context);
  t.columns = {{"hardware", "hardware", ""},
               {"layout", "layout", ""},
               {"devices", "devices", "devices"},
               {"weight_bytes_per_device", "weights (GB)", "bytes"},
               {"kv_bytes_per_device", "KV cache (GB)", "bytes"},
               {"activation_bytes_per_device", "activations (GB)", "bytes"},
               {"used_bytes_per_device", "total (GB)", "bytes"},
               {"capacity_bytes", "capacity (GB)", "bytes"},
               {"fits", "fits", ""},
               {"max_batch", "max batch at this context", "sequences"},
               {"note", "note", ""}};
  for (const auto& d : m.memory) {
    t.rows.push_back({Cell::str(d.hw), Cell::str(d.layout), Cell::integer(d.devices, std::to_string(d.devices)),
                      gb_cell(d.weight_bytes), gb_cell(d.kv_bytes),
                      d.activation_bytes > 0 ? gb_cell(d.activation_bytes) : Cell::str("not estimated"),
                      gb_cell(d.used_bytes()), gb_cell(d.capacity_bytes), Cell::str(d.fits ? "yes" : "NO"),
                      d.max_batch >= 0 ? Cell::integer(d.max_batch, std::to_string(d.max_batch)) : Cell::str("-"),
                      Cell::str(d.note)});
  }
  return t;
}

svg::LineChart batch_chart(const ModelPlan& m, const std::string& id, bool latency) {
  svg::LineChart c;
  c.id = id;
  c.log_x = true;
  c.x_ticks_at_data = true;
  c.x_label = "batch (concurrent sequences, log scale)";
  if (latency) {
    c.title = fmt::format("{}: decode step latency vs batch", m.analysis.ir.name);
    c.y_label = "decode step latency (ms)";
  } else {
    c.title = fmt::format("{}: decode throughput vs batch", m.analysis.ir.name);
    c.y_label = "decode throughput (tokens/s, all sequences)";
  }
  for (const auto& p : m.perf) {
    svg::LineSeries s;
    s.name = fmt::format("{} ({})", p.hw, p.layout);
    for (const auto& b : p.by_batch) {
      s.x.push_back(static_cast<double>(b.batch));
      s.y.push_back(latency ? b.decode_step_s * 1e3 : b.decode_tokens_per_s);
    }
    c.series.push_back(s);
  }
  return c;
}

Table perf_table(const ModelPlan& m, const std::string& id, const WorkloadInfo& w) {
  Table t;
  t.id = id;
  t.caption = fmt::format("Predicted performance at batch {}, context {}, prompt {} tokens", w.batch, w.context,
                          w.prompt_tokens);
  t.columns = {{"hardware", "hardware", ""},
               {"layout", "layout", ""},
               {"decode_step_s", "decode step (ms)", "s"},
               {"decode_tokens_per_s", "decode (tokens/s)", "tokens/s"},
               {"prefill_s", "prefill of the batch (ms)", "s"},
               {"decode_bound", "decode bound by", ""},
               {"rates", "rates", ""},
               {"usd_per_device_hour", "price ($/device-hour)", "USD/device-hour"},
               {"usd_per_million_tokens", "decode cost ($/1M tokens)", "USD/1e6 tokens"}};
  for (const auto& p : m.perf) {
    const BatchPoint& b = p.at_workload;
    t.rows.push_back({Cell::str(p.hw), Cell::str(p.layout), sec_ms(b.decode_step_s), sig(b.decode_tokens_per_s),
                      b.prefill_s > 0 ? sec_ms(b.prefill_s) : Cell::str("-"), Cell::str(p.decode_bound),
                      Cell::str(p.calibrated ? "calibrated" : "datasheet peaks"),
                      p.usd_per_device_hour ? Cell::number(*p.usd_per_device_hour, fmt::format("{:.2f}", *p.usd_per_device_hour))
                                            : Cell::str("no price given"),
                      p.usd_per_million_tokens
                          ? Cell::number(*p.usd_per_million_tokens, fmt::format("{:.3f}", *p.usd_per_million_tokens))
                          : Cell::str("-")});
  }
  return t;
}

svg::RooflineChart roofline_chart(const ModelPlan& m, const RooflineData& r, const std::string& id) {
  svg::RooflineChart c;
  c.id = id;
  c.title = fmt::format("{} on {}: roofline ({} peak), one point per op", m.analysis.ir.name, r.hw, r.dtype);
  c.roofs = {{r.hw + " " + r.dtype, r.peak_flops_per_s, r.mem_bw_bytes_per_s}};
  c.groups = {"decode ops", "prefill ops"};
  for (const auto& op : r.ops) {
    if (!(op.bytes > 0) || !(op.flops > 0) || !(op.time_s > 0)) continue;
    c.points.push_back({op.phase + " " + op.name, op.flops / op.bytes, op.flops / op.time_s, op.phase == "prefill" ? 1u : 0u});
  }
  return c;
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
                      peak(ComputeDtype::BF16), peak(ComputeDtype::FP8), Cell::str(h.is_calibrated() ? "yes" : "no"),
                      Cell::str(src)});
  }
  return t;
}

Section run_section(const RunData& r) {
  Section s;
  s.id = "predicted-vs-measured";
  s.heading = "Predicted vs measured (" + r.backend + ", " + r.device + ")";
  s.paragraphs.push_back(fmt::format(
      "From {}: {}{} layer slice. Decode step predicted {:.3f} ms, measured {:.3f} ms (median; p10 {:.3f} ms, p90 {:.3f} "
      "ms). The prediction uses the calibrated read bandwidth {:.2f} GB/s.",
      r.file, r.model.empty() ? "" : r.model + ", ", r.slice_layers, r.predicted_decode_step_s * 1e3,
      r.measured_decode_step_s * 1e3, r.measured_p10_s * 1e3, r.measured_p90_s * 1e3, r.read_bw_bytes_per_s / kGB));
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
  c.frame.bottom = 110;  // long op names are drawn rotated
  if (!r.ops.empty()) s.charts.push_back(c);
  Table t;
  t.id = "run-ops-table";
  t.caption = "Per op";
  t.columns = {{"op", "op", ""},
               {"predicted_s", "predicted (ms)", "s"},
               {"measured_s", "measured (ms)", "s"},
               {"error_pct", "error (%)", "%"},
               {"bytes", "bytes moved (GB)", "bytes"}};
  for (const auto& op : r.ops)
    t.rows.push_back({Cell::str(op.name), sec_ms(op.predicted_s), sec_ms(op.measured_s),
                      Cell::number(op.error_pct, fmt::format("{:+.1f}", op.error_pct)), gb_cell(op.bytes)});
  s.tables.push_back(t);
  return s;
}

std::vector<std::string> workload_assumptions(const WorkloadInfo& w) {
  return {fmt::format("Workload: batch {} concurrent sequences, {} tokens of context each, prompts of {} tokens.", w.batch,
                      w.context, w.prompt_tokens),
          fmt::format("Weights stored as {} under the '{}' quantization policy (tensors outside it stay bf16); KV cache "
                      "in {}.",
                      w.quant, w.quant_policy, w.kv_dtype),
          fmt::format("MoE routing: {} (distinct experts a batch touches follow from it; real routing is skewed, uniform "
                      "is an upper bound on bytes read).",
                      w.routing)};
}

Section model_section(const ModelPlan& m, const WorkloadInfo& w, size_t index) {
  Section s;
  std::string p = "m" + std::to_string(index) + "-" + slug(m.analysis.ir.name);
  s.id = p;
  s.heading = m.analysis.ir.name;
  s.paragraphs.push_back(model_headline(m, w));
  if (!m.memory.empty()) s.charts.push_back(memory_chart(m, p + "-memory"));
  s.charts.push_back(components_chart(m, p + "-components-chart", w));
  if (!m.perf.empty()) {
    s.charts.push_back(batch_chart(m, p + "-tps", false));
    s.charts.push_back(batch_chart(m, p + "-latency", true));
  }
  for (size_t i = 0; i < m.roofline.size(); ++i)
    s.charts.push_back(roofline_chart(m, m.roofline[i], p + "-roofline-" + std::to_string(i)));
  s.tables.push_back(components_table(m, p + "-components", w));
  if (!m.memory.empty()) s.tables.push_back(memory_table(m, p + "-memory-table", w));
  if (!m.perf.empty()) s.tables.push_back(perf_table(m, p + "-perf-table", w));
  return s;
}

Section summary_section(const ReportInput& in) {
  Section s;
  s.id = "summary";
  s.heading = "Summary: which hardware fits, how many devices, how fast";
  Table t;
  t.id = "summary-table";
  t.caption = "Every model on every hardware";
  t.columns = {{"model", "model", ""},
               {"hardware", "hardware", ""},
               {"devices", "devices", "devices"},
               {"layout", "layout", ""},
               {"fits", "fits", ""},
               {"used_bytes_per_device", "memory per device (GB)", "bytes"},
               {"capacity_bytes", "capacity (GB)", "bytes"},
               {"decode_tokens_per_s", "decode (tokens/s)", "tokens/s"},
               {"decode_step_s", "decode step (ms)", "s"},
               {"usd_per_million_tokens", "$/1M tokens", "USD/1e6 tokens"}};
  for (const auto& m : in.models)
    for (const auto& d : m.memory) {
      const HwPerformance* perf = nullptr;
      for (const auto& p : m.perf)
        if (p.hw == d.hw) perf = &p;
      t.rows.push_back(
          {Cell::str(m.analysis.ir.name), Cell::str(d.hw), Cell::integer(d.devices, std::to_string(d.devices)),
           Cell::str(d.layout), Cell::str(d.fits ? "yes" : "NO"), gb_cell(d.used_bytes()), gb_cell(d.capacity_bytes),
           perf ? sig(perf->at_workload.decode_tokens_per_s) : Cell::str("-"),
           perf ? sec_ms(perf->at_workload.decode_step_s) : Cell::str("-"),
           perf && perf->usd_per_million_tokens
               ? Cell::number(*perf->usd_per_million_tokens, fmt::format("{:.3f}", *perf->usd_per_million_tokens))
               : Cell::str("-")});
    }
  s.tables.push_back(t);
  return s;
}

ReportDoc build(const ReportInput& in, bool sizing) {
  ReportDoc d;
  d.title = in.title;
  d.subtitle = "Source: " + in.source;
  d.assumptions = workload_assumptions(in.workload);
  d.assumptions.insert(d.assumptions.end(), in.assumptions.begin(), in.assumptions.end());
  d.missing = in.missing;
  if (!in.run) d.missing.push_back("Predicted vs measured per op: no run file given (llmcost report ... --run RUN.json).");
  if (!sizing || in.models.size() > 1) d.sections.push_back(summary_section(in));
  for (size_t i = 0; i < in.models.size() && (!sizing || i == 0); ++i)
    d.sections.push_back(model_section(in.models[i], in.workload, i));
  if (in.run) d.sections.push_back(run_section(*in.run));
  Section hw;
  hw.id = "hardware";
  hw.heading = "Hardware";
  hw.tables.push_back(hardware_table(in.hardware));
  d.sections.push_back(hw);
  return d;
}

}  // namespace

ReportDoc capacity_report(const ReportInput& in) { return build(in, false); }
ReportDoc sizing_report(const ReportInput& in) { return build(in, true); }
std::string compare_html(const ReportInput& in) { return report_html(sizing_report(in)); }

}  // namespace llmcost
