// `llmcost calibrate --backend cpu|cuda`: measures achievable bandwidth and GEMM FLOP/s of this machine or GPU,
// prints them (table or JSON) and writes a hardware YAML with a `calibrated:` section (-o).
// `calibrate --from RESULTS --hw NAME` fits efficiency figures to serving runs instead (cmd_check.cpp).
#include <memory>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llmcost/backend.h"
#include "llmcost/calibrate.h"
#include "llmcost/value.h"
#include "llmcost/version.h"

namespace llmcost::cli {

namespace {

nlohmann::json stats_json(const Stats& s) {
  return {{"median", s.median}, {"p10", s.p10}, {"p90", s.p90}, {"min", s.min}, {"max", s.max}, {"reps", s.n}};
}

std::string calibration_json(const Calibration& c) {
  nlohmann::json j = {
      {"backend", c.backend},
      {"device", c.cpu_model},
      {"host", c.host},
      {"date", c.date_utc},
      {"threads", c.threads},
      {"memory_bytes", c.memory_bytes},
      {"llc_bytes", c.llc_bytes},
      {"buffer_bytes", c.buffer_bytes},
      {"read_bw_bytes_per_s", stats_json(c.read_bw_bytes_per_s)},
      {"triad_bw_bytes_per_s", stats_json(c.triad_bw_bytes_per_s)},
      {"gemm_flops_per_s",
       {{"fp32", stats_json(c.gemm_fp32_flops_per_s)}, {"bf16", stats_json(c.gemm_bf16_flops_per_s)}}},
      {"gemm_impl", {{"fp32", c.gemm_fp32_impl}, {"bf16", c.gemm_bf16_impl}}},
      {"gemm_shape", {{"m", c.gemm_m}, {"n", c.gemm_n}, {"k", c.gemm_k}}},
  };
  if (c.backend == "cuda") {
    j.erase("triad_bw_bytes_per_s");
    j["copy_bw_bytes_per_s"] = stats_json(c.copy_bw_bytes_per_s);
    j["launch_latency_s"] = stats_json(c.launch_latency_s);
  }
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

std::string calibration_table(const Calibration& c) {
  std::string out = fmt::format("calibration: backend {}, {} ({} threads), host {}, {}\n", c.backend, c.cpu_model, c.threads,
                                c.host, c.date_utc);
  out += fmt::format("{:<22} {:>10} {:>10} {:>10} {:>5}  {:<8} {}\n", "measurement", "median", "p10", "p90", "reps", "unit",
                     "what");
  auto row = [&](const char* name, const Stats& s, const std::string& what, bool flops) {
    double scale = 1e9;
    out += fmt::format("{:<22} {:>10.2f} {:>10.2f} {:>10.2f} {:>5}  {:<8} {}\n", name, s.median / scale, s.p10 / scale,
                       s.p90 / scale, s.n, flops ? "GFLOP/s" : "GB/s", what);
  };
  std::string buf = fmt::format("{} MiB", c.buffer_bytes >> 20);
  std::string shape = fmt::format("{}x{}x{}", c.gemm_m, c.gemm_n, c.gemm_k);
  row("read bandwidth", c.read_bw_bytes_per_s, "sum over one " + buf + " buffer (bytes read / s)", false);
  if (c.backend == "cuda") {
    row("copy bandwidth", c.copy_bw_bytes_per_s, "device-to-device copy of " + buf + " (bytes read + written / s)", false);
    row("gemm fp32", c.gemm_fp32_flops_per_s, c.gemm_fp32_impl, true);
    row("gemm bf16", c.gemm_bf16_flops_per_s, c.gemm_bf16_impl, true);
    const Stats& l = c.launch_latency_s;
    out += fmt::format("{:<22} {:>10.2f} {:>10.2f} {:>10.2f} {:>5}  {:<8} {}\n", "launch latency", l.median * 1e6, l.p10 * 1e6,
                       l.p90 * 1e6, l.n, "us", "per empty kernel, 1000 back to back on one stream");
    out += "GB/s = 1e9 bytes/s; GFLOP/s = 1e9 FLOP/s; us = 1e-6 s; spread = p10..p90 over repetitions (CUDA events) after a warm-up.\n";
    return out;
  }
  row("triad bandwidth", c.triad_bw_bytes_per_s, "a = b + s*c over 3 x " + buf + " (12 bytes per element)", false);
  row("gemm fp32", c.gemm_fp32_flops_per_s, c.gemm_fp32_impl + ", m x n x k = " + shape, true);
  row("gemm bf16 weights", c.gemm_bf16_flops_per_s, c.gemm_bf16_impl + ", " + shape, true);
  out += "GB/s = 1e9 bytes/s; GFLOP/s = 1e9 FLOP/s; spread = p10..p90 over repetitions after a warm-up.\n";
  return out;
}

}  // namespace

void register_calibrate(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string backend = "cpu";
    std::string output;
    std::string format = "table";
    std::string name;
    int threads = 0;
    double seconds = 3.0;
    double buffer_mib = 0.0;
    std::vector<std::string> from;  // --from: fit efficiency figures to serving-benchmark results instead
    MeasuredOpts measured;
    int holdout_every = 4;
    bool progress = false;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("calibrate",
                               "Measure this machine's achievable memory bandwidth and GEMM FLOP/s; write a hardware YAML");
  c->add_option("--backend", o->backend, "cpu, or cuda when built with it")->check(CLI::IsMember({"cpu", "cuda"}));
  c->add_option("-o,--output", o->output, "Write the hardware YAML (with a calibrated: section) to this file");
  c->add_option("--format", o->format, "What stdout gets: table, json or yaml")->check(CLI::IsMember({"table", "json", "yaml"}));
  c->add_option("--name", o->name, "Hardware name in the YAML (default: cpu-<hostname>)");
  c->add_option("--threads", o->threads, "Threads to use (default: all hardware threads)")->check(CLI::Range(1, 4096));
  c->add_option("--seconds", o->seconds, "Approximate measuring time in seconds, shared by the four measurements (default 3)")
      ->check(CLI::Range(0.01, 3600.0));
  c->add_option("--buffer-mib", o->buffer_mib,
                "Size of each bandwidth buffer in MiB (default: max(8 x last-level cache, 256 MiB))")
      ->check(CLI::Range(0.001, 1048576.0));
  c->add_option("--from", o->from,
                "Fit the hardware's efficiency figures (mem_bw_fraction, tensor_fraction, step_overhead_s, "
                "collective_latency_s) to serving-benchmark result files (as `llmcost check` reads) and write them as "
                "a named profile into the hardware YAML (-o); needs --hw");
  c->add_option("--holdout-every", o->holdout_every, "With --from: hold out every Nth run from the fit and report its error (default 4; 0: none)")
      ->check(CLI::Range(0, 1000));
  add_progress_flag(c, o->progress);
  add_measured_options(c, o->measured, true);
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      if (!o->from.empty()) return run_calibrate_from(ctx, o->from, o->measured, o->holdout_every, o->format, o->output);
      make_backend(o->backend);  // "cuda: not available: ..." (not built, or no device)
      CalibrationOptions opts;
      opts.threads = o->threads;
      opts.seconds = o->seconds;
      opts.buffer_bytes = static_cast<size_t>(o->buffer_mib * 1024.0 * 1024.0);
      if (o->buffer_mib > 0.0 && opts.buffer_bytes < 64) opts.buffer_bytes = 64;
      if (progress_wanted(o->progress))
        opts.progress = [](const std::string& what) { fmt::print(stderr, "calibrate: measuring {} ...\n", what); };
      Calibration cal = o->backend == "cuda" ? calibrate_cuda(opts) : calibrate_cpu(opts);
      std::string name = o->name.empty() ? default_calibration_name(cal) : o->name;
      std::string yaml = calibration_yaml(cal, name);
      // The file first: if it cannot be written, stdout stays empty.
      if (!o->output.empty()) emit(yaml, o->output);
      if (o->format == "json") emit(calibration_json(cal));
      else if (o->format == "yaml") emit(yaml);
      else emit(calibration_table(cal));
      if (!o->output.empty()) fmt::print(stderr, "wrote {} (hardware \"{}\"; pass it as --hw or --calibration)\n", o->output, name);
      return 0;
    };
  });
}

}  // namespace llmcost::cli
