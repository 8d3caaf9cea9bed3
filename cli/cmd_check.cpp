// `llmcost check RESULTS...`: serving-benchmark result files (vLLM, SGLang, trtllm-bench, AIPerf /
// GenAI-Perf, llama-bench) beside llmcost's prediction of each measured figure; and the
// `calibrate --from` path that fits a hardware's efficiency figures to such files.
#include <algorithm>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "llmcost/check_report.h"
#include "llmcost/error.h"
#include "llmcost/kv_cache.h"
#include "llmcost/measured.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/roofline.h"

namespace llmcost::cli {

void add_measured_options(CLI::App* c, MeasuredOpts& o, bool hw_help_fit) {
  c->add_option("--model", o.model, "Model where a file names none (llama-bench: instead of its model_filename)");
  c->add_option("--hw", o.hw,
                hw_help_fit ? "The hardware whose figures are fit (bundled name or YAML path); every run must be on it"
                            : "Hardware where a file names none (result files do not name the GPU)");
  c->add_option("--profile", o.profile,
                hw_help_fit ? "Name of the profile written into the hardware YAML (default: the runs' engine, e.g. vllm)"
                            : "Predict with this profile of the hardware YAML (written by calibrate --from)");
  c->add_option("--engine", o.engine, "Engine name where a file names none (e.g. vllm-0.11)");
  c->add_option("--tp", o.tp, "Tensor-parallel size where a file says none")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_option("--ep", o.ep, "Expert-parallel size where a file says none")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_option("--pp", o.pp, "Pipeline-parallel size where a file says none")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_option("--concurrency", o.concurrency, "Requests in flight where a file says none (a request-rate run)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  c->add_option("--quant", o.quant, "Weight format where a file says none (default auto: as the checkpoint ships)")
      ->check(CLI::Validator(
          [](std::string& v) { return parse_quant_scheme(v) ? std::string() : "unknown scheme \"" + v + "\" (one of " + quant_scheme_names() + ")"; },
          "SCHEME"));
  c->add_option("--kv-dtype", o.kv_dtype, "KV-cache dtype where a file says none: bf16, fp8, int8, int4")
      ->check(CLI::IsMember({"bf16", "fp8", "int8", "int4"}));
}

namespace {

MeasuredDefaults defaults_of(const MeasuredOpts& o) {
  MeasuredDefaults d;
  d.model = o.model;
  d.hw = o.hw;
  d.engine = o.engine;
  d.precision = o.quant;
  d.kv_dtype = o.kv_dtype;
  if (o.tp) d.tp = o.tp;
  if (o.ep) d.ep = o.ep;
  if (o.pp) d.pp = o.pp;
  if (o.concurrency) d.concurrency = o.concurrency;
  return d;
}

std::vector<MeasuredRun> load_all(const std::vector<std::string>& files, const MeasuredOpts& o) {
  std::vector<MeasuredRun> runs;
  for (const auto& f : files) {
    auto rs = load_measured(f, defaults_of(o));
    runs.insert(runs.end(), rs.begin(), rs.end());
  }
  return runs;
}

}  // namespace

int run_calibrate_from(const Context& ctx, const std::vector<std::string>& files, const MeasuredOpts& o, int holdout_every,
                       const std::string& format, const std::string& output) {
  if (o.hw.empty()) throw Error("calibrate --from: --hw is required (the hardware whose efficiency figures are fit)", ErrorKind::Usage);
  HardwareSpec hw = load_hardware(o.hw, ctx.configs());
  MeasuredOpts with_hw = o;
  with_hw.hw = hw.name;
  auto runs = load_all(files, with_hw);
  // Held out: every Nth run in file order (runs, not figures: a run's TTFT and TPOT stay together).
  std::vector<PublishedCase> fit, hold;
  int fit_runs = 0, hold_runs = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].hw != hw.name && runs[i].hw != o.hw)
      throw Error(runs[i].where() + ": hardware \"" + runs[i].hw + "\", but --hw is \"" + hw.name +
                      "\"; expected runs on one hardware type",
                  ErrorKind::BadInput);
    runs[i].hw = hw.name;
    const bool held = holdout_every > 0 && runs.size() >= 3 && (i + 1) % holdout_every == 0;
    auto cs = measured_cases(runs[i], held ? "holdout" : "fit");
    (held ? hold : fit).insert((held ? hold : fit).end(), cs.begin(), cs.end());
    ++(held ? hold_runs : fit_runs);
  }
  // The engine: as the runs name it; several -> refused (one profile per engine).
  std::string engine = runs.empty() ? "" : runs[0].engine;
  for (const auto& r : runs)
    if (r.engine != engine)
      throw Error(r.where() + ": engine \"" + r.engine + "\" differs from \"" + engine +
                      "\" of the first run; expected runs of one engine (a profile is per engine; --engine names it)",
                  ErrorKind::BadInput);
  std::string profile = o.profile;
  if (profile.empty()) {
    for (char c : engine) {
      if (c == ' ' || c == '(') break;
      profile += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (profile.empty() || profile.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos)
    throw Error("--profile: expected a name of letters, digits, '_', '.' or '-', got \"" + profile + "\"", ErrorKind::Usage);
  EfficiencyFit start;
  const auto a = applied_efficiency(hw, EfficiencyMode::Derated);
  if (hw.efficiency.mem_bw_fraction) start.mem_bw_fraction = a.mem_bw_fraction;
  if (hw.efficiency.tensor_fraction) start.tensor_fraction = a.tensor_fraction;
  if (hw.efficiency.step_overhead_s) start.step_overhead_s = a.step_overhead_s;
  if (hw.efficiency.collective_latency_s) start.collective_latency_s = a.collective_latency_s;
  CalibrateFromReport rep;
  rep.hardware = hw.name;
  rep.profile = profile;
  rep.engine = engine;
  rep.start = start;
  rep.fit_runs = fit_runs;
  rep.holdout_runs = hold_runs;
  rep.result = fit_efficiency(fit, hold, hw, ctx.configs(), start);
  rep.fit_summary = summarize_by_metric(rep.result.fit_results);
  rep.holdout_summary = summarize_by_metric(rep.result.holdout_results);
  std::string source = fmt::format("calibrate --from: fit to {} runs of {} on {}", fit_runs, engine, hw.name) +
                       (rep.holdout_summary.empty() || rep.holdout_summary.back().n == 0
                            ? std::string(", none held out")
                            : fmt::format(", {} held out: median |error| {:.1f}%", hold_runs,
                                          100.0 * rep.holdout_summary.back().median_abs_error));
  std::string yaml = hardware_yaml_with_profile(hw, profile, engine, rep.result.fit, source);
  if (!output.empty()) emit(yaml, output);
  if (format == "json") emit(calibrate_from_json(rep));
  else if (format == "yaml") emit(yaml);
  else emit(calibrate_from_table(rep));
  if (!output.empty())
    fmt::print(stderr, "wrote {} (hardware \"{}\" with profile \"{}\"; use --hw {} --profile {})\n", output, hw.name, profile, output,
               profile);
  return 0;
}

void register_check(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> files;
    MeasuredOpts m;
    std::string format = "table", output;
    double max_median_error = -1;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("check",
                               "Read serving-benchmark result files (vLLM bench serve --save-result, SGLang bench_serving "
                               "JSONL, trtllm-bench --report_json, AIPerf/GenAI-Perf profile export, llama-bench -o json) and "
                               "print measured vs predicted TTFT, time per output token and throughput with the error");
  c->add_option("results", o->files, "Result files")->required();
  add_measured_options(c, o->m, false);
  add_format_option(c, o->format, {"table", "json"}, "Output format");
  c->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  c->add_option("--max-median-error", o->max_median_error,
                "Exit 1 when the median |predicted / measured - 1| over all figures exceeds this (e.g. 0.3)")
      ->check(CLI::Range(0.0, 100.0));
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      auto runs = load_all(o->files, o->m);
      // Hardware (and --profile) first: an unknown name or profile is the command's error, not a run's.
      std::map<std::string, HardwareSpec> hws;
      for (const auto& r : runs)
        if (!hws.count(r.hw)) hws.emplace(r.hw, apply_profile(load_hardware(r.hw, ctx.configs()), o->m.profile));
      std::map<std::string, CompiledModel> models;
      std::vector<CheckedRun> checked;
      std::vector<PublishedResult> all;
      for (const auto& r : runs) {
        CheckedRun cr;
        cr.run = r;
        for (const auto& cs : measured_cases(r)) {
          PublishedResult pr;
          try {
            const HardwareSpec& hw = hws.at(cs.gpu);
            const std::string key = cs.model + "|" + cs.precision + "|" + cs.kv_dtype;
            auto m = models.find(key);
            if (m == models.end())
              m = models.emplace(key, compile_model(load_model(cs.model, ctx.configs()), *parse_quant_scheme(cs.precision),
                                                    QuantPolicy{}, *parse_kv_dtype(cs.kv_dtype), RoutingModel{}))
                      .first;
            pr = predict_published(cs, m->second, hw, EfficiencyMode::Derated);
          } catch (const Error& e) {
            pr.c = cs;
            pr.why = e.what();
          }
          cr.results.push_back(pr);
          all.push_back(pr);
        }
        checked.push_back(std::move(cr));
      }
      auto summary = summarize_by_metric(all);
      emit(o->format == "json" ? check_json(checked, summary) : check_table(checked, summary), o->output);
      if (o->max_median_error >= 0 && !summary.empty() && summary.back().median_abs_error > o->max_median_error) {
        std::cerr << format_error(Error(fmt::format("check: median |predicted / measured - 1| {:.1f}% > {:.1f}%",
                                                    100 * summary.back().median_abs_error, 100 * o->max_median_error)));
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace llmcost::cli
