// `llmcost ci record` and `llmcost ci check`: the CI regression gate. Exit codes of check:
// 0 clean, 1 regression, 2 bad input.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "llmcost/analysis.h"
#include "llmcost/ci_gate.h"
#include "llmcost/ci_report.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/value.h"

namespace llmcost::cli {

namespace {

// Analytic records for the given model specs (all bundled models when empty).
std::vector<ci::ModelRecord> analytic_records(const std::vector<std::string>& specs, const std::string& config_dir) {
  std::vector<ci::ModelRecord> out;
  if (specs.empty()) {
    for (const auto& b : list_bundled_models(config_dir))
      out.push_back(ci::analytic_record(b.hf_id, analyze(load_model(b.path, config_dir))));
    if (out.empty()) throw Error(config_dir + "/models: no bundled model configs found", ErrorKind::BadConfig);
    return out;
  }
  for (const auto& s : specs) out.push_back(ci::analytic_record(s, analyze(load_model(s, config_dir))));
  return out;
}

// This build's analytic records for the models a baseline names. A baseline usually arrives with
// the pull request under test, so its names are not trusted as paths: each must be a bundled
// model or a config inside the baseline's own directory (see resolve_model_path_within).
std::vector<ci::ModelRecord> baseline_analytic_records(const ci::Record& base, const std::string& baseline_path,
                                                       const std::string& config_dir) {
  const std::string dir = std::filesystem::path(baseline_path).parent_path().string();
  std::vector<ci::ModelRecord> out;
  for (size_t i = 0; i < base.models.size(); ++i) {
    const std::string& spec = base.models[i].model;
    std::string path =
        resolve_model_path_within(spec, config_dir, dir, baseline_path + ": /models/" + std::to_string(i) + "/model");
    out.push_back(ci::analytic_record(spec, analyze(load_model(path, config_dir))));
  }
  return out;
}

// The calibrated read bandwidth of a hardware YAML (`llmcost calibrate -o FILE`), for
// measurements that do not carry one (Google Benchmark JSON without the context key).
double calibrated_read_bw(const std::string& path, const std::string& config_dir) {
  HardwareSpec hw = load_hardware(path, config_dir);
  if (!hw.calibrated.read_bw_bytes_per_s)
    throw ConfigError(hw.source_file, "/calibrated/read_bw_bytes_per_s",
                      "is required to normalize measurements (write the file with `llmcost calibrate -o FILE`)");
  return hw.calibrated.read_bw_bytes_per_s->value;
}

void fill_bandwidth(std::vector<ci::Measurement>& ms, double bw) {
  for (auto& m : ms)
    if (!(m.read_bw_bytes_per_s > 0)) m.read_bw_bytes_per_s = bw;
}

}  // namespace

void register_ci(CLI::App& app, Context& ctx) {
  auto* ci_cmd = app.add_subcommand("ci", "CI regression gate: record a baseline, check against it");
  ci_cmd->require_subcommand(1);

  struct RecordOpts {
    std::string output;
    std::vector<std::string> models;
    std::vector<std::string> measured;
    std::string calibration;
  };
  auto ro = std::make_shared<RecordOpts>();
  auto* rec = ci_cmd->add_subcommand(
      "record", "Record a baseline: exact analytic numbers of the models, and measured medians from run/benchmark files");
  rec->add_option("-o,--output", ro->output, "Write the baseline JSON here (default: stdout)");
  rec->add_option("--models", ro->models, "Models to record (bundled id/alias or path; default: every bundled model)")
      ->delimiter(',');
  rec->add_option("--measured", ro->measured,
                  "`llmcost run --format json`, Google Benchmark JSON or serving-benchmark result files (as `llmcost "
                  "check` reads) whose medians to record")
      ->delimiter(',');
  rec->add_option("--calibration", ro->calibration,
                  "Hardware YAML with a calibrated: section (llmcost calibrate -o): its read bandwidth normalizes "
                  "measurements that carry none");
  rec->callback([&ctx, ro] {
    ctx.run = [&ctx, ro] {
      ci::Record r;
      r.models = analytic_records(ro->models, ctx.configs());
      for (const auto& f : ro->measured) {
        auto ms = ci::load_measurements(f);
        r.measurements.insert(r.measurements.end(), ms.begin(), ms.end());
      }
      if (!ro->calibration.empty()) fill_bandwidth(r.measurements, calibrated_read_bw(ro->calibration, ctx.configs()));
      emit(ci::record_json(r), ro->output);
      return 0;
    };
  });

  struct CheckOpts {
    std::string baseline, current, summary, calibration, junit, format = "markdown";
    double tolerance_pct = 5.0;
    int64_t min_samples = 0;
    std::vector<std::string> declared;
  };
  auto co = std::make_shared<CheckOpts>();
  auto* chk = ci_cmd->add_subcommand(
      "check",
      "Compare against a baseline: analytic numbers must match exactly unless declared; measured medians (normalized by "
      "calibrated bandwidth) may not slow down beyond tolerance + noise. Exit 0 clean, 1 regression, 2 bad input");
  chk->add_option("--baseline", co->baseline, "Baseline: `llmcost ci record` output, run JSON or Google Benchmark JSON")
      ->required();
  chk->add_option("--current", co->current,
                  "Current record/run/benchmark JSON (default: this build's analytic numbers for the baseline's models)");
  // CLI::Range alone lets "nan" through (every comparison with NaN is false), and a NaN
  // tolerance would pass every slow-down.
  chk->add_option("--tolerance", co->tolerance_pct, "Allowed slow-down of measured medians beyond noise, in percent")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            double v = std::strtod(text.c_str(), nullptr);
            return std::isfinite(v) && v >= 0 && v <= 1000 ? "" : "must be a finite percentage in [0, 1000], got " + text;
          },
          "PERCENT in [0, 1000]"));
  chk->add_option("--declare", co->declared, "Intended analytic change, as MODEL:KEY (glob * allowed); repeatable");
  chk->add_option("--calibration", co->calibration,
                  "Hardware YAML with a calibrated: section: its read bandwidth normalizes current measurements that "
                  "carry none");
  chk->add_option("--summary", co->summary, "Also write the Markdown summary to this file (for a PR comment)");
  add_format_option(chk, co->format, {"markdown", "json"}, "Verdict on stdout (the --summary file is Markdown either way)");
  chk->add_option("--junit", co->junit, "Also write the verdict as JUnit XML to this file (CI test-result views)");
  chk->add_option("--min-samples", co->min_samples,
                  "Do not compare a measured median taken over fewer repetitions than this (where the file says; "
                  "default 0: compare all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  chk->callback([&ctx, co] {
    ctx.run = [&ctx, co] {
      std::string text;
      ci::CheckResult res;
      try {
        ci::Record base = ci::load_record(co->baseline);
        ci::Record cur;
        std::string current_what;
        if (!co->current.empty()) {
          cur = ci::load_record(co->current);
          current_what = "`" + co->current + "`";
        }
        if (!co->calibration.empty()) fill_bandwidth(cur.measurements, calibrated_read_bw(co->calibration, ctx.configs()));
        if (cur.models.empty() && !base.models.empty()) {
          cur.models = baseline_analytic_records(base, co->baseline, ctx.configs());
          current_what += std::string(current_what.empty() ? "" : " and ") + "this build's analytic numbers";
        }
        ci::CheckOptions opts;
        opts.tolerance_pct = co->tolerance_pct;
        opts.declared = co->declared;
        opts.min_samples = co->min_samples;
        res = ci::check(base, cur, opts);
        const std::string markdown = ci_check_markdown(res, co->baseline, current_what);
        text = co->format == "json" ? ci_check_json(res, co->baseline, current_what) : markdown;
        if (!co->summary.empty()) emit(markdown, co->summary);
        if (!co->junit.empty()) emit(ci_check_junit(res, co->baseline), co->junit);
      } catch (const Error& e) {
        std::cerr << format_error(e);
        return 2;  // ci check's own code for input it cannot read (see the file comment)
      }
      emit(text);
      if (!res.clean()) {
        std::cerr << "llmcost: ci check: " << res.regressions() << " regression(s) against " << co->baseline << "\n";
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace llmcost::cli
