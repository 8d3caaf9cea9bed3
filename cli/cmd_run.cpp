// `llmcost run MODEL --backend cpu`: executes a slice of the model on the CPU backend, measures
// decode steps (and a prefill) op by op and prints them beside the calibrated predictions
// (table or JSON), optionally with a Chrome trace of every op range.
#include <memory>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include "commands.h"
#include "llmcost/backend.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/run.h"
#include "llmcost/run_record.h"
#include "llmcost/trace.h"
#include "llmcost/value.h"

namespace llmcost::cli {

namespace {

RunOpRecord op_record(const OpRow& r) {
  RunOpRecord o;
  o.name = r.name;
  o.kind = op_kind_name(r.kind);
  o.predicted_s = r.predicted_s;
  o.measured_s = r.measured_s.median;
  o.measured_s_p10 = r.measured_s.p10;
  o.measured_s_p90 = r.measured_s.p90;
  o.bytes = r.bytes;
  o.flops = r.flops;
  o.achieved_bw_bytes_per_s = r.achieved_bw_bytes_per_s;
  o.error_pct = r.error_pct;
  o.predicted_bytes = r.predicted_bytes;
  if (r.dram_read_bytes >= 0) o.dram_read_bytes = r.dram_read_bytes;
  if (r.dram_write_bytes >= 0) o.dram_write_bytes = r.dram_write_bytes;
  return o;
}

// The measurement as the run file's record (llmcost/run_record.h owns the JSON).
RunRecord run_record(const RunResult& r) {
  RunRecord rec;
  rec.backend = r.backend;
  rec.device = r.device;
  rec.model = r.model;
  rec.batch = r.batch;
  rec.context = r.context;
  rec.prompt = r.prompt;
  rec.tokens = r.tokens;
  rec.routing = r.routing;
  rec.weight_dtype = r.weight_dtype;
  rec.layers.assign(r.layers.begin(), r.layers.end());
  rec.params = r.params;
  rec.weight_bytes = r.weight_bytes;
  rec.read_bw_bytes_per_s = r.calibration.read_bw_bytes_per_s;
  rec.gemm_flops_per_s = r.calibration.gemm_flops_per_s;
  rec.calibration_source = r.calibration.source;
  rec.calibration_stability = r.calibration.stability;
  rec.calibration_unstable = r.calibration.unstable;
  rec.gemm_flops_per_s_by_rows = r.calibration.gemm_rate_by_rows;
  rec.predicted_decode_step_s = r.predicted_decode_step_s;
  rec.predicted_decode_bytes = r.predicted_decode_bytes;
  rec.cuda_graph = r.cuda_graph;
  RunCounters counters;
  if (!r.counter_source.empty()) counters.source = r.counter_source;
  counters.passes = r.counter_passes;
  if (!r.counters_unavailable.empty()) counters.unavailable = r.counters_unavailable;
  rec.counters = counters;
  if (r.dram_read_bytes >= 0) rec.dram_read_bytes = r.dram_read_bytes;
  if (r.dram_write_bytes >= 0) rec.dram_write_bytes = r.dram_write_bytes;
  if (r.prompt > 0) rec.predicted_prefill_s = r.predicted_prefill_s;
  rec.predicted_distinct_experts = r.predicted_distinct_experts;
  rec.decode_step_s = r.decode_step_s.median;
  rec.decode_step_s_p10 = r.decode_step_s.p10;
  rec.decode_step_s_p90 = r.decode_step_s.p90;
  rec.decode_bytes = r.decode_bytes;
  rec.achieved_bw_bytes_per_s = r.achieved_bw_bytes_per_s;
  if (r.prompt > 0) rec.prefill_s = r.prefill_s.median;
  rec.distinct_experts_per_layer = r.distinct_experts_per_layer;
  rec.distinct_experts_per_step = r.distinct_experts_per_step;
  rec.ops.emplace();
  for (const auto& o : r.ops) rec.ops->push_back(op_record(o));
  for (const auto& o : r.prefill_ops) rec.prefill_ops.push_back(op_record(o));
  return rec;
}

std::string err_pct(double pred, double meas) {
  if (meas <= 0) return "-";
  return fmt::format("{:+.1f}", (pred - meas) / meas * 100.0);
}

void op_table(std::string& out, const std::vector<OpRow>& rows) {
  out += fmt::format("{:<56} {:>10} {:>10} {:>19} {:>10} {:>9} {:>8}\n", "op", "pred ms", "meas ms", "p10..p90 ms",
                     "MB moved", "GB/s", "err %");
  for (const OpRow& r : rows) {
    std::string name = r.name;
    if (r.kind == OpKind::RoutedExperts && r.distinct_experts > 0)
      name += fmt::format(" [{:.1f}/{:.1f} exp]", r.distinct_experts, r.predicted_distinct_experts);
    out += fmt::format("{:<56} {:>10.3f} {:>10.3f} {:>9.3f}..{:<9.3f} {:>10.2f} {:>9.2f} {:>8}\n", name,
                       r.predicted_s * 1e3, r.measured_s.median * 1e3, r.measured_s.p10 * 1e3, r.measured_s.p90 * 1e3,
                       r.bytes / 1e6, r.achieved_bw_bytes_per_s / 1e9, err_pct(r.predicted_s, r.measured_s.median));
  }
}

std::string run_table(const RunResult& r) {
  std::string out;
  out += fmt::format("run: {} on {} ({})\n", r.model, r.backend, r.device);
  std::string layers;
  for (size_t i = 0; i < r.layers.size(); ++i) layers += (i ? "," : "") + std::to_string(r.layers[i]);
  out += fmt::format("slice: layers [{}] + embedding + lm_head: {:.3f} B params, {:.3f} GB of {} weights\n", layers,
                     static_cast<double>(r.params) / 1e9, static_cast<double>(r.weight_bytes) / 1e9, r.weight_dtype);
  out += fmt::format("workload: batch {}, context {}, prompt {}, {} measured decode steps, routing {}\n", r.batch, r.context,
                     r.prompt, r.tokens, r.routing);
  out += fmt::format("calibration: read {:.2f} GB/s, GEMM {:.1f} GFLOP/s ({})\n", r.calibration.read_bw_bytes_per_s / 1e9,
                     r.calibration.gemm_flops_per_s / 1e9, r.calibration.source);
  if (!r.calibration.gemm_rate_by_rows.empty()) {
    std::string t;
    for (const auto& [m, f] : r.calibration.gemm_rate_by_rows) t += fmt::format("{}M={:.0f}: {:.1f}", t.empty() ? "" : ", ", m, f / 1e9);
    out += "calibration: matmul GFLOP/s by rows " + t + "\n";
  }
  if (!r.calibration.stability.empty()) out += "calibration: " + r.calibration.stability + "\n";
  out += "\ndecode step, per op (predicted = max(matmul FLOPs / GEMM rate at the op's rows + attention FLOPs / peak, bytes / "
         "read bandwidth)):\n";
  op_table(out, r.ops);
  out += fmt::format("\ndecode step: predicted {:.3f} ms, measured {:.3f} ms (p10 {:.3f}, p90 {:.3f}), error {} %\n",
                     r.predicted_decode_step_s * 1e3, r.decode_step_s.median * 1e3, r.decode_step_s.p10 * 1e3,
                     r.decode_step_s.p90 * 1e3, err_pct(r.predicted_decode_step_s, r.decode_step_s.median));
  out += fmt::format("decode bytes moved: {:.1f} MB per step, achieved {:.2f} GB/s ({:.0f}% of the calibrated read bandwidth)\n",
                     r.decode_bytes / 1e6, r.achieved_bw_bytes_per_s / 1e9,
                     r.calibration.read_bw_bytes_per_s > 0 ? r.achieved_bw_bytes_per_s / r.calibration.read_bw_bytes_per_s * 100 : 0.0);
  if (r.dram_read_bytes >= 0)
    out += fmt::format("DRAM bytes per decode step ({} counters, {} replay(s)): read {:.1f} MB, written {:.1f} MB; "
                       "predicted {:.1f} MB moved\n",
                       r.counter_source, r.counter_passes, r.dram_read_bytes / 1e6, r.dram_write_bytes / 1e6,
                       r.predicted_decode_bytes / 1e6);
  else
    out += fmt::format("DRAM bytes per decode step: not measured ({})\n", r.counters_unavailable);
  if (!r.distinct_experts_per_layer.empty()) {
    std::string d;
    for (size_t i = 0; i < r.distinct_experts_per_layer.size(); ++i)
      d += fmt::format("{}{:.2f}", i ? ", " : "", r.distinct_experts_per_layer[i]);
    out += fmt::format("distinct experts per MoE layer per step: measured [{}], predicted {:.2f}\n", d,
                       r.predicted_distinct_experts);
  }
  if (r.prompt > 0) {
    out += fmt::format("\nprefill of {} x {} tokens, per op:\n", r.batch, r.prompt);
    op_table(out, r.prefill_ops);
    out += fmt::format("\nprefill: predicted {:.3f} ms, measured {:.3f} ms (p10 {:.3f}, p90 {:.3f}), error {} %\n",
                       r.predicted_prefill_s * 1e3, r.prefill_s.median * 1e3, r.prefill_s.p10 * 1e3, r.prefill_s.p90 * 1e3,
                       err_pct(r.predicted_prefill_s, r.prefill_s.median));
  }
  out += "ms = 1e-3 s; MB = 1e6 bytes; GB/s = 1e9 bytes/s; bytes moved = weights read + KV cache read, as executed; "
         "error = (predicted - measured) / measured.\n";
  return out;
}

}  // namespace

void register_run(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string model, backend = "cpu", layers, routing = "router", calibration, trace, format = "table", output;
    std::string weights, dtype = "bf16", counters = "auto", cuda_graph;
    int64_t batch = 1, context = 1024, prompt = 0, tokens = 8, warmup = 2;
    int threads = 0;
    uint64_t seed = 1;
    bool progress = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("run", "Execute a model slice on a backend and measure it op by op against the prediction");
  c->add_option("model", o->model, "Model: bundled name, HF id, config path or directory")->required();
  c->add_option("--backend", o->backend, "Backend: cpu or cuda (when built with it)");
  c->add_option("--layers", o->layers, "Slice: N (first N layers) or dense:A,moe:B (default: every layer)");
  c->add_option("--batch", o->batch, "Sequences decoded together (default 1)")->check(CLI::Range(int64_t{1}, int64_t{65536}));
  c->add_option("--context", o->context, "Cached positions per sequence at the measured steps (default 1024)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  c->add_option("--prompt", o->prompt, "Also measure a prefill of this many tokens per sequence (default: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  c->add_option("--tokens", o->tokens, "Measured decode steps (default 8)")->check(CLI::Range(int64_t{1}, int64_t{100000}));
  c->add_option("--warmup", o->warmup, "Unmeasured decode steps first (default 2)")->check(CLI::Range(int64_t{0}, int64_t{1000}));
  c->add_option("--routing", o->routing, "router (default), uniform, zipf:S or fixed");
  c->add_option("--threads", o->threads, "Threads (default: all hardware threads)")->check(CLI::Range(1, 4096));
  c->add_option("--dtype", o->dtype, "Weight dtype: bf16 (default) or fp32")->check(CLI::IsMember({"bf16", "fp32"}));
  c->add_option("--seed", o->seed, "Seed of the synthetic weights, KV cache and forced routing (default 1)");
  c->add_option("--weights", o->weights, "safetensors file or directory with HF tensor names (default: synthetic weights)");
  c->add_option("--calibration", o->calibration, "Hardware YAML from `llmcost calibrate` (default: calibrate now)");
  c->add_option("--trace", o->trace, "Write a Chrome trace-event JSON (Perfetto) with one range per op");
  c->add_option("--counters", o->counters,
                "DRAM-counter pass after the timing steps: auto (the backend's counters when it has them), off, or fake "
                "(a stand-in reporting each op's executed bytes as DRAM reads, to test the pipeline without a device)")
      ->check(CLI::IsMember({"auto", "off", "fake"}));
  c->add_option("--cuda-graph", o->cuda_graph, "cuda backend: decode steps as CUDA graphs (on) or plain launches (off)")
      ->check(CLI::IsMember({"on", "off"}));
  c->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  c->add_option("-o,--output", o->output, "Write the report to this file instead of stdout");
  add_progress_flag(c, o->progress);
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      auto routing = parse_routing_override(o->routing);
      if (!routing) throw Error("--routing: expected router, uniform, zipf:S (S > 0) or fixed, got \"" + o->routing + "\"");
      make_backend(o->backend);  // unknown or not built: one line before the model is loaded
      ModelIR ir = load_named_model(ctx, o->model);
      RunOptions ro;
      ro.backend = o->backend;
      ro.layers = o->layers;
      ro.batch = o->batch;
      ro.context = o->context;
      ro.prompt = o->prompt;
      ro.tokens = o->tokens;
      ro.warmup = o->warmup;
      ro.routing = *routing;
      ro.threads = o->threads;
      ro.weight_dtype = o->dtype == "fp32" ? WeightDtype::FP32 : WeightDtype::BF16;
      ro.seed = o->seed;
      ro.weights_path = o->weights;
      ro.keep_trace = !o->trace.empty();
      ro.counters = *parse_counter_mode(o->counters);
      if (!o->cuda_graph.empty()) ro.cuda_graph = o->cuda_graph == "on";
      const bool tty = progress_wanted(o->progress);
      if (tty) ro.progress = [](const std::string& s) { fmt::print(stderr, "run: {}\n", s); };
      // Check the slice spec and its memory before a calibration spends seconds.
      check_run_fits(ir, ro);
      RunCalibration cal = o->calibration.empty()
                               ? calibrate_in_process(ro,
                                                      tty ? std::function<void(const std::string&)>([](const std::string& w) {
                                                        fmt::print(stderr, "run: calibrating {} ...\n", w);
                                                      })
                                                          : nullptr)
                               : calibration_from_hardware(load_hardware(o->calibration, ctx.configs()), ro.weight_dtype);
      RunResult r = run_measurement(ir, ro, cal);
      if (r.calibration.unstable && tty)
        fmt::print(stderr, "run: the calibration was unstable ({}): the predicted column is only as good as it\n", r.calibration.stability);
      std::string text = o->format == "json" ? run_record_to_json(run_record(r)) : run_table(r);
      if (!o->trace.empty()) {
        TraceMeta meta;
        meta.process_name = "llmcost run " + r.model;
        meta.other = {{"model", r.model}, {"backend", r.backend}, {"device", r.device},
                      {"batch", std::to_string(r.batch)}, {"context", std::to_string(r.context)}};
        meta.other.insert(meta.other.end(), r.profiler_notes.begin(), r.profiler_notes.end());
        write_chrome_trace(o->trace, r.trace, meta);
      }
      emit(text, o->output);
      return 0;
    };
  });
}

}  // namespace llmcost::cli
