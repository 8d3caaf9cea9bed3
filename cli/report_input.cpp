// Report inputs from the analyzer's plan and predictions, and run files read at the boundary.
#include "report_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "llmcost/analysis.h"
#include "llmcost/format.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"
#include "llmcost/run_record.h"

namespace llmcost::cli {

namespace {

constexpr int64_t kMaxSweepBatch = 1024;

// Paths under the bundled config directory shown as configs/...: the page should not carry the
// machine it was written on.
std::string shorten(std::string text, const std::string& config_dir) {
  for (const std::string& dir : {config_dir, default_config_dir()}) {
    if (dir.empty()) continue;
    std::string prefix = dir.back() == '/' ? dir : dir + "/";
    for (size_t p = text.find(prefix); p != std::string::npos; p = text.find(prefix, p))
      text.replace(p, prefix.size(), "configs/");
  }
  return text;
}

DeviceMemory device_memory(const Prediction& p, const std::string& quant) {
  DeviceMemory d;
  d.hw = p.hardware.name;
  d.quant = quant;
  d.devices = p.layout.devices;
  d.layout = format_layout(p.layout.cfg);
  d.capacity_bytes = p.memory.capacity_bytes;
  d.weight_bytes = p.memory.weights_bytes;
  d.kv_bytes = p.memory.kv_bytes;
  d.activation_bytes = p.memory.activation_bytes;
  d.overhead_bytes = p.memory.overhead_bytes();
  d.fits = p.memory.fits;
  return d;
}

// Decode step and tokens/s of one replica at the given batches (default 1, 2, 4 ...) up to
// max_batch, plus `extra` (the planned batch).
HwSweep sweep(const CompiledModel& m, const HardwareSpec& hw, PredictRequest r, int64_t max_batch, int64_t extra,
              const std::vector<int64_t>& given = {}) {
  HwSweep s;
  s.hw = hw.name;
  s.quant = m.quant_label.empty() ? quant_scheme_name(m.quant) : m.quant_label;
  s.layout = format_layout(r.parallel);
  std::vector<int64_t> batches;
  if (given.empty()) {
    for (int64_t b = 1; b <= std::min(max_batch, kMaxSweepBatch); b *= 2) batches.push_back(b);
  } else {
    for (int64_t b : given)
      if (b >= 1 && b <= max_batch) batches.push_back(b);
  }
  if (extra >= 1 && extra <= max_batch && std::find(batches.begin(), batches.end(), extra) == batches.end())
    batches.push_back(extra);
  std::sort(batches.begin(), batches.end());
  for (int64_t b : batches) {
    r.batch = b;
    Prediction p = predict(m, hw, r, false);
    s.by_batch.push_back({b, p.decode.time_s, p.tokens_per_s, p.moe.expected_experts_per_layer,
                          p.moe.uniform_experts_per_layer, p.moe.zipf_experts_per_layer});
  }
  return s;
}

RooflineData roofline_points(const Prediction& p, const std::string& quant, QuantScheme scheme) {
  auto dtype = parse_compute_dtype(scheme_compute_dtype(scheme)).value_or(ComputeDtype::BF16);
  if (scheme == QuantScheme::Auto) {  // as shipped: the arithmetic of the ops doing the most work
    double most = -1;
    for (const auto& g : p.decode.ops)
      if (g.flops * static_cast<double>(g.count) > most) most = g.flops * static_cast<double>(g.count), dtype = g.dtype;
  }
  RooflineData r;
  r.hw = p.hardware.name;
  r.quant = quant;
  r.layout = format_layout(p.layout.cfg);
  r.dtype = compute_dtype_name(p.rates.used_dtype[static_cast<int>(dtype)]);
  r.peak_flops_per_s = p.rates.flops_per_s[static_cast<int>(dtype)];
  r.mem_bw_bytes_per_s = p.rates.mem_bw_bytes_per_s;
  r.batch = p.request.batch;
  r.context = p.request.context;
  r.prompt_tokens = p.request.prompt_tokens > 0 ? p.request.prompt_tokens : p.request.context;
  for (const auto* phase : {&p.decode, &p.prefill})
    for (const auto& g : phase->ops)
      r.ops.push_back({g.name, phase == &p.decode ? "decode" : "prefill", g.flops, g.bytes(), g.t.time_s, !g.t.compute_bound});
  return r;
}

std::vector<QuantWeights> quant_weights(const ModelIR& ir, const std::vector<QuantScheme>& quants, const QuantPolicy& pol) {
  std::vector<QuantWeights> out;
  for (QuantScheme q : quants) out.push_back({quant_scheme_name(q), weight_bytes(ir, q, pol), weight_bytes_by_group(ir, q, pol)});
  return out;
}

std::string efficiency_assumption() {
  return "Efficiency: every op takes max(FLOPs / peak FLOP/s, bytes / memory bandwidth) (a roofline) at 100% of the "
         "datasheet dense peaks, which are upper bounds; hardware with a calibrated: section uses its measured rates. "
         "Real kernels reach less, so read throughput as a ceiling and latency as a floor.";
}

}  // namespace

ReportInput report_input_from_plan(const PlanResult& plan, const std::string& config_dir) {
  const Scenario& s = plan.scenario;
  ReportInput in;
  in.title = s.title.empty() ? "Capacity plan: " + s.name : s.title;
  in.source = shorten(s.source_file, config_dir);
  WorkloadInfo& w = in.workload;
  w.concurrency = s.concurrency;
  w.prompt_tokens = s.prompt_tokens;
  w.output_tokens = s.output_tokens;
  w.context = s.prompt_tokens + s.output_tokens;
  for (QuantScheme q : s.quants) w.quants.push_back(quant_scheme_name(q));
  w.quant_policy = quant_policy_name(s.policy);
  w.kv_dtype = kv_dtype_name(s.kv);
  w.routing = routing_name(s.routing);
  w.max_decode_step_s = s.max_decode_step_s;
  w.max_ttft_s = s.max_ttft_s;
  in.hardware = plan.hardware;
  for (const auto& h : s.hardware)
    if (h.usd_per_device_hour)
      in.price_sources.push_back(
          shorten(fmt::format("{}: ${:.2f} per device-hour ({})", h.name, *h.usd_per_device_hour, h.price_source), config_dir));
  if (in.price_sources.empty())
    in.missing.push_back("Cost per million tokens: no prices in the scenario (hardware: {name, usd_per_device_hour}).");

  const size_t H = s.hardware.size(), Q = s.quants.size();
  const int64_t ctx_max = plan_full_context(s);
  const int64_t ctx_mean = plan_mean_context(s);
  std::set<std::string> notes;
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    ModelIR ir = load_model(s.models[mi], config_dir);
    ModelPlan mp;
    mp.weights = quant_weights(ir, s.quants, s.policy);
    mp.kv = kv_cache(ir, ctx_max, s.kv);
    std::vector<CompiledModel> compiled;
    for (QuantScheme q : s.quants) compiled.push_back(compile_model(ir, q, s.policy, s.kv, s.routing));
    bool roof_done = false;
    for (size_t hi = 0; hi < H; ++hi) {
      for (size_t qi = 0; qi < Q; ++qi) {
        const PlanRow& row = plan.row(mi, qi, hi);
        mp.rows.push_back(row);
        if (!row.feasible) {
          mp.not_fitting.push_back(row.hardware + " (" + row.quant + "): " + row.reason);
          continue;
        }
        PredictRequest r = plan_request(s, row.parallel, row.batch_per_replica, ctx_max);
        Prediction at_max = predict(compiled[qi], plan.hardware[hi], r, false);
        for (const auto& n : at_max.notes) notes.insert(shorten(n, config_dir));
        mp.memory.push_back(device_memory(at_max, row.quant));
        if (qi != 0) continue;  // sweeps and the roofline at the first quantization
        r.context = ctx_mean;
        mp.sweeps.push_back(
            sweep(compiled[qi], plan.hardware[hi], r, row.max_concurrency_per_replica, row.batch_per_replica, s.batches));
        bool roof_hw = s.roofline_hardware.empty() || s.roofline_hardware == plan.hardware[hi].name ||
                       s.roofline_hardware == s.hardware[hi].name;
        if (roof_hw && !roof_done) {
          roof_done = true;
          mp.roofline.push_back(roofline_points(predict(compiled[qi], plan.hardware[hi], r, true), row.quant, s.quants[0]));
        }
      }
    }
    mp.n_experts = compiled.front().n_moe_layers > 0 ? compiled.front().n_experts : 0;
    mp.top_k = compiled.front().top_k;
    if (s.routing.kind == RoutingModel::Zipf) mp.zipf_s = s.routing.zipf_s;
    mp.analysis = analyze(std::move(ir));
    in.models.push_back(std::move(mp));
  }
  if (!s.roofline_hardware.empty() &&
      std::none_of(in.models.begin(), in.models.end(), [](const ModelPlan& m) { return !m.roofline.empty(); }))
    in.missing.push_back("Roofline: " + s.roofline_hardware + " (roofline_hardware) holds none of the models.");
  in.assumptions.push_back(efficiency_assumption());
  in.assumptions.push_back(fmt::format(
      "Devices: per hardware and weight format the plan picks the replica layout (tensor parallel within a node, then "
      "pipeline stages, up to {} devices per replica) needing the fewest devices in total; tensor-parallel all-reduce "
      "and pipeline sends over the interconnect are in the step time. Time to first token is one request's prefill.",
      s.max_devices_per_replica));
  for (const auto& n : notes) in.assumptions.push_back("Note: " + n + ".");
  return in;
}

ReportInput report_input_from_compare(const ModelIR& ir, const CompiledModel& m, const CompareResult& r,
                                      const PredictRequest& req) {
  ReportInput in;
  in.title = "Hardware sizing: " + m.name;
  WorkloadInfo& w = in.workload;
  w.concurrency = req.batch;
  w.prompt_tokens = req.prompt_tokens > 0 ? req.prompt_tokens : req.context;
  w.output_tokens = 0;
  w.context = req.context;
  w.quants = {m.quant_label.empty() ? quant_scheme_name(m.quant) : m.quant_label};
  w.quant_policy = quant_policy_name(m.policy);
  w.kv_dtype = kv_dtype_name(m.kv);
  w.routing = routing_name(m.routing);
  in.missing.push_back("Cost per million tokens: llmcost compare takes no prices (use a scenario with llmcost report).");
  ModelPlan mp;
  mp.weights = quant_weights(ir, {m.quant}, m.policy);
  mp.kv = kv_cache(ir, req.context, m.kv);
  std::set<std::string> notes;
  for (const auto& row : r.rows) {
    const Prediction& p = row.prediction;
    in.hardware.push_back(p.hardware);
    for (const auto& n : p.notes) notes.insert(shorten(n, ""));
    PlanRow pr;
    pr.model = m.name;
    pr.hardware = p.hardware.name;
    pr.quant = m.quant_label.empty() ? quant_scheme_name(m.quant) : m.quant_label;
    pr.capacity_bytes = p.memory.capacity_bytes;
    pr.per_device_bytes = p.memory.per_device_bytes;
    pr.feasible = p.runnable;
    if (!pr.feasible) {
      pr.reason = p.reason;
      mp.rows.push_back(pr);
      mp.not_fitting.push_back(pr.hardware + " (" + pr.quant + "): " + pr.reason);
      continue;
    }
    pr.parallel = p.layout.cfg;
    pr.devices_per_replica = p.layout.devices;
    pr.replicas = 1;
    pr.devices = p.layout.devices;
    pr.max_concurrency_per_replica = p.memory.max_batch;
    pr.batch_per_replica = req.batch;
    pr.decode_step_s = p.decode.time_s;
    pr.ttft_s = p.prefill.time_s;
    pr.tokens_per_s_per_sequence = p.tokens_per_s_per_sequence;
    pr.output_tokens_per_s = p.tokens_per_s;
    pr.bound = p.decode.bound;
    mp.rows.push_back(pr);
    mp.memory.push_back(device_memory(p, pr.quant));
    PredictRequest q = req;
    q.parallel = p.layout.cfg;
    mp.sweeps.push_back(sweep(m, p.hardware, q, p.memory.max_batch, req.batch));
    if (mp.roofline.empty()) mp.roofline.push_back(roofline_points(p, pr.quant, m.quant));
  }
  mp.n_experts = m.n_moe_layers > 0 ? m.n_experts : 0;
  mp.top_k = m.top_k;
  if (m.routing.kind == RoutingModel::Zipf) mp.zipf_s = m.routing.zipf_s;
  mp.analysis = analyze(ir);
  in.models.push_back(std::move(mp));
  in.assumptions.push_back(efficiency_assumption());
  in.assumptions.push_back("Devices: per hardware the fewest devices (tensor parallel within a node, then pipeline stages) "
                           "that hold the batch at the context, unless a layout was given.");
  for (const auto& n : notes) in.assumptions.push_back("Note: " + n + ".");
  return in;
}

std::string compare_page_html(const ModelIR& ir, const CompiledModel& m, const CompareResult& r, const PredictRequest& req,
                              const std::string& command_line) {
  ReportInput in = report_input_from_compare(ir, m, r, req);
  in.source = command_line;
  return compare_html(in);
}

RunData read_run_file(const std::string& path) {
  const RunRecord run = read_run_record(path);
  // The page needs the step and every op's prediction, which the gate's reading leaves optional.
  if (!run.decode_step_s) throw ConfigError(path, "/measured/decode_step_s", "must be a number of seconds");
  if (!run.ops) throw ConfigError(path, "/ops", "must be an array of {name, predicted_s, measured_s, ...}");
  RunData r;
  r.file = path;
  r.backend = run.backend.empty() ? "?" : run.backend;
  r.device = run.device.empty() ? "?" : run.device;
  r.model = run.model;
  r.slice = run.slice_text();
  r.read_bw_bytes_per_s = run.read_bw_bytes_per_s;
  r.batch = run.batch;
  r.context = run.context;
  r.predicted_decode_step_s = run.predicted_decode_step_s;
  r.measured_decode_step_s = *run.decode_step_s;
  r.measured_p10_s = run.decode_step_s_p10.value_or(*run.decode_step_s);
  r.measured_p90_s = run.decode_step_s_p90.value_or(*run.decode_step_s);
  for (size_t i = 0; i < run.ops->size(); ++i) {
    const RunOpRecord& o = (*run.ops)[i];
    if (!o.predicted_s)
      throw ConfigError(path, "/ops/" + std::to_string(i) + "/predicted_s", "must be a non-negative number of seconds");
    MeasuredOp op;
    op.name = o.name;
    op.predicted_s = *o.predicted_s;
    op.measured_s = o.measured_s;
    op.measured_p10_s = o.measured_s_p10.value_or(0.0);
    op.measured_p90_s = o.measured_s_p90.value_or(0.0);
    op.bytes = o.bytes;
    op.error_pct = o.error_pct;
    r.ops.push_back(op);
  }
  return r;
}

}  // namespace llmcost::cli
