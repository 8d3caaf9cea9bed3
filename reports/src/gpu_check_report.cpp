// The GPU validation summary: run files against the targets, per step and per op.
#include "llmcost/gpu_check_report.h"

#include <cmath>

#include <fmt/format.h>

namespace llmcost {

namespace {

bool is_moe(const RunRecord& r) { return r.predicted_distinct_experts > 0 || !r.distinct_experts_per_layer.empty(); }

size_t layer_count(const RunRecord& r) {
  if (!r.layers.empty()) return r.layers.size();
  return 0;
}

std::string run_label(const RunRecord& r) {
  std::string s = r.model.empty() ? std::string("(unnamed model)") : r.model;
  if (size_t n = layer_count(r)) s += fmt::format(" [{} layer{}]", n, n == 1 ? "" : "s");
  else if (!r.layers_spec.empty()) s += " [layers " + r.layers_spec + "]";
  s += fmt::format(", {}, batch {}, context {}", is_moe(r) ? "MoE" : "dense", r.batch, r.context);
  if (r.cuda_graph) s += *r.cuda_graph ? ", CUDA graph on" : ", CUDA graph off";
  return s;
}

Cell num(double v, const std::string& shown) { return Cell::number(v, shown); }
Cell dash() { return Cell::str("-"); }
Cell ms(double s) { return num(s, fmt::format("{:.3f}", s * 1e3)); }
Cell pct_signed(double fraction) { return num(fraction * 100.0, fmt::format("{:+.1f}", fraction * 100.0)); }
Cell pct(double fraction) { return num(fraction * 100.0, fmt::format("{:.1f}", fraction * 100.0)); }
Cell scaled(double v, double unit, int digits) { return num(v, fmt::format("{:.{}f}", v / unit, digits)); }

std::optional<double> measured_step(const RunRecord& r) {
  if (r.decode_step_s && *r.decode_step_s > 0) return r.decode_step_s;
  return std::nullopt;
}

std::optional<double> predicted_bytes(const RunRecord& r) {
  if (r.predicted_decode_bytes) return r.predicted_decode_bytes;
  return std::nullopt;
}

std::optional<double> dram_bytes(const RunRecord& r) {
  if (!r.dram_read_bytes) return std::nullopt;
  return *r.dram_read_bytes + r.dram_write_bytes.value_or(0.0);
}

std::string counters_text(const RunRecord& r) {
  if (r.dram_read_bytes && r.counters && r.counters->source) {
    std::string s = *r.counters->source + " counters";
    if (*r.counters->source == "fake") s += " (stand-in: executed bytes, not a measurement)";
    return s;
  }
  if (r.counters && r.counters->unavailable) return "not measured: " + *r.counters->unavailable;
  return "not measured: the run file has no counter pass";
}

struct TargetRow {
  std::string target, run, rule;
  std::optional<double> value;  // the figure compared (fraction)
  double threshold = 0;
  Verdict verdict = Verdict::NotMeasured;
  std::string basis;
};

Table targets_table(const GpuCheckInput& in) {
  const GpuCheckTargets& t = in.targets;
  std::vector<TargetRow> rows;
  auto bw_target = [&](bool moe, double threshold) {
    const std::string name = fmt::format("{} decode at batch 1: achieved bandwidth", moe ? "MoE" : "dense");
    const std::string rule = fmt::format(">= {:.0f}% of the calibrated read bandwidth", threshold * 100);
    size_t before = rows.size();
    for (const GpuCheckRun& run : in.runs) {
      const RunRecord& r = run.record;
      if (r.batch != 1 || is_moe(r) != moe) continue;
      TargetRow row{name, run_label(r), rule, std::nullopt, threshold, Verdict::NotMeasured, ""};
      if (!measured_step(r)) row.basis = "not measured: the run file has no measured decode step";
      else if (r.read_bw_bytes_per_s <= 0) row.basis = "not measured: the run file has no calibrated read bandwidth";
      else {
        row.value = r.achieved_bw_bytes_per_s / r.read_bw_bytes_per_s;
        row.verdict = *row.value >= threshold ? Verdict::Pass : Verdict::Fail;
        row.basis = fmt::format("{:.1f} GB/s of {:.1f} GB/s ({})", r.achieved_bw_bytes_per_s / 1e9,
                                r.read_bw_bytes_per_s / 1e9, r.calibration_source);
        if (in.datasheet && in.datasheet->read_bw_bytes_per_s > 0)
          row.basis += fmt::format("; {:.1f}% of the {} datasheet {:.1f} GB/s", r.achieved_bw_bytes_per_s /
                                   in.datasheet->read_bw_bytes_per_s * 100, in.datasheet->name,
                                   in.datasheet->read_bw_bytes_per_s / 1e9);
      }
      rows.push_back(row);
    }
    if (rows.size() == before)
      rows.push_back({name, "-", rule, std::nullopt, threshold, Verdict::NotMeasured,
                      fmt::format("not measured: no {} run at batch 1 in this summary", moe ? "MoE" : "dense")});
  };
  bw_target(false, t.dense_batch1_bw_fraction);
  bw_target(true, t.moe_batch1_bw_fraction);

  const std::string step_name = "decode step: predicted (calibrated) vs measured";
  const std::string step_rule = fmt::format("|predicted - measured| / measured <= {:.0f}%", t.step_error_fraction * 100);
  const std::string dram_name = "DRAM bytes per decode step vs predicted";
  const std::string dram_rule =
      fmt::format("|DRAM read + written - predicted| / predicted <= {:.0f}%", t.dram_error_fraction * 100);
  for (const GpuCheckRun& run : in.runs) {
    const RunRecord& r = run.record;
    TargetRow row{step_name, run_label(r), step_rule, std::nullopt, t.step_error_fraction, Verdict::NotMeasured, ""};
    if (auto m = measured_step(r)) {
      row.value = std::fabs(r.predicted_decode_step_s - *m) / *m;
      row.verdict = *row.value <= t.step_error_fraction ? Verdict::Pass : Verdict::Fail;
      row.basis = fmt::format("predicted {:.3f} ms, measured {:.3f} ms", r.predicted_decode_step_s * 1e3, *m * 1e3);
    } else {
      row.basis = "not measured: the run file has no measured decode step";
    }
    rows.push_back(row);
  }
  if (in.runs.empty())
    rows.push_back({step_name, "-", step_rule, std::nullopt, t.step_error_fraction, Verdict::NotMeasured,
                    "not measured: no run in this summary"});
  for (const GpuCheckRun& run : in.runs) {
    const RunRecord& r = run.record;
    TargetRow row{dram_name, run_label(r), dram_rule, std::nullopt, t.dram_error_fraction, Verdict::NotMeasured, ""};
    auto d = dram_bytes(r);
    auto p = predicted_bytes(r);
    if (!d) row.basis = counters_text(r);
    else if (!p || *p <= 0) row.basis = "not measured: the run file has no predicted bytes per step";
    else {
      row.value = std::fabs(*d - *p) / *p;
      row.verdict = *row.value <= t.dram_error_fraction ? Verdict::Pass : Verdict::Fail;
      row.basis = fmt::format("{:.4g} GB counted, {:.4g} GB predicted; {}", *d / 1e9, *p / 1e9, counters_text(r));
    }
    rows.push_back(row);
  }
  if (in.runs.empty())
    rows.push_back({dram_name, "-", dram_rule, std::nullopt, t.dram_error_fraction, Verdict::NotMeasured,
                    "not measured: no run in this summary"});

  Table tab;
  tab.id = "targets";
  tab.caption = "Targets, per run they apply to";
  tab.columns = {{"target", "target", ""},
                 {"run", "run", ""},
                 {"rule", "rule", ""},
                 {"value_pct", "value (%)", "%"},
                 {"threshold_pct", "threshold (%)", "%"},
                 {"verdict", "verdict", ""},
                 {"basis", "basis", ""}};
  for (const TargetRow& r : rows)
    tab.rows.push_back({Cell::str(r.target), Cell::str(r.run), Cell::str(r.rule), r.value ? pct(*r.value) : dash(),
                        pct(r.threshold), Cell::str(verdict_name(r.verdict)), Cell::str(r.basis)});
  tab.notes.push_back("value: achieved / calibrated read bandwidth for the bandwidth targets, |error| otherwise; "
                      "verdict: pass, fail, or not measured (with the reason in basis).");
  return tab;
}

Table steps_table(const GpuCheckInput& in) {
  Table tab;
  tab.id = "steps";
  tab.caption = "Decode step per run: predicted vs measured, achieved bandwidth, DRAM bytes";
  const bool ds = in.datasheet && in.datasheet->read_bw_bytes_per_s > 0;
  tab.columns = {{"run", "run", ""},
                 {"file", "file", ""},
                 {"backend", "backend", ""},
                 {"device", "device", ""},
                 {"predicted_step_s", "predicted step (ms)", "s"},
                 {"measured_step_s", "measured step (ms, median)", "s"},
                 {"step_error_pct", "error (%)", "%"},
                 {"bytes_moved", "moved (GB, executed)", "bytes"},
                 {"achieved_bw_bytes_per_s", "achieved (GB/s)", "bytes/s"},
                 {"calibrated_bw_bytes_per_s", "calibrated read (GB/s)", "bytes/s"},
                 {"of_calibrated_pct", "of calibrated (%)", "%"},
                 {"calibration", "calibration", ""},
                 {"of_datasheet_pct", ds ? "of datasheet " + in.datasheet->name + " (%)" : "of datasheet (%)", "%"},
                 {"predicted_bytes", "predicted bytes (GB)", "bytes"},
                 {"dram_read_bytes", "DRAM read (GB)", "bytes"},
                 {"dram_write_bytes", "DRAM written (GB)", "bytes"},
                 {"dram_vs_predicted_pct", "DRAM vs predicted (%)", "%"},
                 {"counters", "counters", ""}};
  for (const GpuCheckRun& run : in.runs) {
    const RunRecord& r = run.record;
    auto m = measured_step(r);
    auto p = predicted_bytes(r);
    auto d = dram_bytes(r);
    tab.rows.push_back({
        Cell::str(run_label(r)),
        Cell::str(run.file),
        Cell::str(r.backend),
        Cell::str(r.device),
        ms(r.predicted_decode_step_s),
        m ? ms(*m) : dash(),
        m ? pct_signed((r.predicted_decode_step_s - *m) / *m) : dash(),
        scaled(r.decode_bytes, 1e9, 3),
        m ? scaled(r.achieved_bw_bytes_per_s, 1e9, 1) : dash(),
        scaled(r.read_bw_bytes_per_s, 1e9, 1),
        m && r.read_bw_bytes_per_s > 0 ? pct(r.achieved_bw_bytes_per_s / r.read_bw_bytes_per_s) : dash(),
        Cell::str(r.calibration_source),
        m && ds ? pct(r.achieved_bw_bytes_per_s / in.datasheet->read_bw_bytes_per_s) : dash(),
        p ? scaled(*p, 1e9, 3) : dash(),
        r.dram_read_bytes ? scaled(*r.dram_read_bytes, 1e9, 3) : dash(),
        r.dram_write_bytes ? scaled(*r.dram_write_bytes, 1e9, 3) : dash(),
        d && p && *p > 0 ? pct_signed((*d - *p) / *p) : dash(),
        Cell::str(counters_text(r)),
    });
  }
  tab.notes.push_back("error = (predicted - measured) / measured; moved = weights + KV cache read as executed, mean per "
                      "step; achieved = moved / measured median step; DRAM vs predicted = (read + written - predicted) / "
                      "predicted, from the counter pass (one extra decode step).");
  return tab;
}

Table ops_table(const GpuCheckRun& run, size_t index) {
  Table tab;
  tab.id = fmt::format("ops-{}", index);
  tab.caption = "Decode step per op: " + run_label(run.record) + " (" + run.file + ")";
  tab.columns = {{"op", "op", ""},
                 {"kind", "kind", ""},
                 {"predicted_s", "predicted (ms)", "s"},
                 {"measured_s", "measured (ms, median)", "s"},
                 {"error_pct", "error (%)", "%"},
                 {"bytes", "moved (MB, executed)", "bytes"},
                 {"achieved_bw_bytes_per_s", "achieved (GB/s)", "bytes/s"},
                 {"predicted_bytes", "predicted bytes (MB)", "bytes"},
                 {"dram_read_bytes", "DRAM read (MB)", "bytes"},
                 {"dram_write_bytes", "DRAM written (MB)", "bytes"},
                 {"dram_vs_predicted_pct", "DRAM vs predicted (%)", "%"}};
  if (!run.record.ops) return tab;
  for (const RunOpRecord& o : *run.record.ops) {
    std::optional<double> d;
    if (o.dram_read_bytes) d = *o.dram_read_bytes + o.dram_write_bytes.value_or(0.0);
    const bool has_pred = o.predicted_s.has_value();
    tab.rows.push_back({
        Cell::str(o.name),
        Cell::str(o.kind),
        has_pred ? ms(*o.predicted_s) : dash(),
        ms(o.measured_s),
        has_pred && o.measured_s > 0 ? pct_signed((*o.predicted_s - o.measured_s) / o.measured_s) : dash(),
        scaled(o.bytes, 1e6, 3),
        o.measured_s > 0 ? scaled(o.achieved_bw_bytes_per_s, 1e9, 1) : dash(),
        o.predicted_bytes ? scaled(*o.predicted_bytes, 1e6, 3) : dash(),
        o.dram_read_bytes ? scaled(*o.dram_read_bytes, 1e6, 3) : dash(),
        o.dram_write_bytes ? scaled(*o.dram_write_bytes, 1e6, 3) : dash(),
        d && o.predicted_bytes && *o.predicted_bytes > 0 ? pct_signed((*d - *o.predicted_bytes) / *o.predicted_bytes)
                                                          : dash(),
    });
  }
  return tab;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Pass: return "pass";
    case Verdict::Fail: return "fail";
    case Verdict::NotMeasured: break;
  }
  return "not measured";
}

ReportDoc gpu_check_report(const GpuCheckInput& in) {
  ReportDoc doc;
  doc.title = in.title;
  size_t n_ops = 0;
  for (const auto& r : in.runs) n_ops += r.record.ops ? r.record.ops->size() : 0;
  doc.subtitle = fmt::format("{} run file(s), {} op row(s); {} step(s) did not run.", in.runs.size(), n_ops,
                             in.not_run.size());
  if (in.datasheet)
    doc.assumptions.push_back(fmt::format("datasheet read bandwidth: {} {:.1f} GB/s ({})", in.datasheet->name,
                                          in.datasheet->read_bw_bytes_per_s / 1e9, in.datasheet->source));
  doc.assumptions.push_back("predictions: the run's roofline per op, max(matmul FLOPs / the calibrated GEMM rate at the op's "
                            "rows (a single rate where the calibration has no table) + attention FLOPs / the best rate, bytes / "
                            "calibrated read bandwidth), with the calibration each run names");
  for (const auto& n : in.notes) doc.assumptions.push_back(n);
  for (const auto& n : in.not_run) doc.missing.push_back("did not run: " + n);
  if (!in.datasheet && !in.datasheet_missing.empty())
    doc.missing.push_back("fraction of the datasheet bandwidth: " + in.datasheet_missing);

  Section targets;
  targets.id = "targets";
  targets.heading = "Targets";
  targets.tables.push_back(targets_table(in));
  doc.sections.push_back(std::move(targets));

  Section steps;
  steps.id = "steps";
  steps.heading = "Decode steps";
  steps.tables.push_back(steps_table(in));
  doc.sections.push_back(std::move(steps));

  Section ops;
  ops.id = "ops";
  ops.heading = "Per op (decode step)";
  for (size_t i = 0; i < in.runs.size(); ++i) ops.tables.push_back(ops_table(in.runs[i], i));
  if (in.runs.empty()) ops.paragraphs.push_back("No run file.");
  doc.sections.push_back(std::move(ops));
  return doc;
}

}  // namespace llmcost
