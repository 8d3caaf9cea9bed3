// `llmcost check` and `llmcost calibrate --from` as aligned text and JSON.
#include "llmcost/check_report.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "llmcost/format.h"

namespace llmcost {

namespace {

std::string g4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 1000 ? "%.0f" : "%.4g", v);
  return buf;
}
std::string signed_pct(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100.0 * (ratio - 1.0));
  return buf;
}
std::string pct(double e, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, 100.0 * e);
  return buf;
}
// "tp8", "tp8/ep8/pp2": the spelling of the published TSVs' parallelism column.
std::string layout(int64_t tp, int64_t ep, int64_t pp) {
  std::string t = "tp" + std::to_string(tp);
  if (ep > 1) t += "/ep" + std::to_string(ep);
  if (pp > 1) t += "/pp" + std::to_string(pp);
  return t;
}
std::string ratio_str(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}
const char* metric_words(const std::string& m) {
  if (m == "ttft_s") return "TTFT (s)";
  if (m == "tpot_s") return "time per output token (s)";
  if (m == "throughput_tokens_per_s") return "output throughput (tokens/s)";
  return "all figures";
}

// Left-aligned columns without a rule (TextTable, fitted to the terminal's width). `kinds` and
// `drop` by column (missing: free text, always shown).
std::string align(const std::vector<std::vector<std::string>>& t, const std::vector<CellKind>& kinds = {},
                  const std::vector<int>& drop = {}) {
  std::vector<TextColumn> cols;
  for (size_t k = 0; k < t[0].size(); ++k)
    cols.push_back({t[0][k], true, k < kinds.size() ? kinds[k] : CellKind::Text, k < drop.size() ? drop[k] : 0});
  TextStyle style;
  style.rule = false;
  style.trim_trailing = true;
  TextTable table(cols, style);
  for (size_t r = 1; r < t.size(); ++r) table.add_row(t[r]);
  return table.render();
}

std::string summary_rows(const std::vector<MetricSummary>& s) {
  std::vector<std::vector<std::string>> t{{"figure", "predicted", "median |error|", "worst predicted/measured", "not predicted"}};
  for (const auto& m : s)
    t.push_back({metric_words(m.metric), std::to_string(m.n), m.n ? pct(m.median_abs_error) : "-",
                 m.n ? g4(m.worst_ratio) : "-", std::to_string(m.not_predicted)});
  const auto N = CellKind::Number;
  return align(t, {CellKind::Text, N, N, N, N});
}

nlohmann::json summary_json(const std::vector<MetricSummary>& s) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& m : s)
    a.push_back({{"metric", m.metric}, {"predicted", m.n}, {"not_predicted", m.not_predicted},
                 {"median_abs_error", m.median_abs_error}, {"worst_ratio", m.worst_ratio}});
  return a;
}

nlohmann::json result_json(const PublishedResult& r) {
  nlohmann::json j = {{"metric", r.c.metric}, {"measured", r.c.value}};
  if (r.ok) {
    j["predicted"] = r.predicted;
    j["ratio"] = r.ratio;
    j["error"] = r.ratio - 1.0;
    j["batch"] = r.batch;
    j["basis"] = r.basis;
  } else {
    j["predicted"] = nullptr;
    j["why"] = r.why;
  }
  return j;
}

}  // namespace

std::string check_table(const std::vector<CheckedRun>& runs, const std::vector<MetricSummary>& summary) {
  std::vector<std::vector<std::string>> t{{"run", "format", "engine", "model", "hardware", "in/out", "conc.", "TTFT meas.",
                                           "pred.", "error", "TPOT meas.", "pred.", "error", "tput meas.", "pred.", "error"}};
  std::vector<std::string> notes, why;  // what a run's figures are where not the header's; figures not predicted
  for (const auto& cr : runs) {
    const MeasuredRun& r = cr.run;
    std::string model = r.model.substr(r.model.rfind('/') == std::string::npos ? 0 : r.model.rfind('/') + 1);
    std::vector<std::string> row{r.where(), r.format, r.engine, model + (r.precision != "auto" ? " " + r.precision : ""),
                                 std::to_string(std::max(r.tp, r.ep) * r.pp) + "x " + r.hw + " " + layout(r.tp, r.ep, r.pp),
                                 std::to_string(r.input_len) + "/" + std::to_string(r.output_len),
                                 r.concurrency == 0 ? "max" : std::to_string(r.concurrency)};
    for (const char* m : {"ttft_s", "tpot_s", "throughput_tokens_per_s"}) {
      const PublishedResult* found = nullptr;
      for (const auto& x : cr.results)
        if (x.c.metric == m) found = &x;
      if (!found) {
        row.insert(row.end(), {"-", "-", "-"});
      } else if (!found->ok) {
        row.insert(row.end(), {g4(found->c.value), "n/a", "-"});
        why.push_back(r.where() + " " + m + ": not predicted: " + found->why);
      } else {
        row.insert(row.end(), {g4(found->c.value), g4(found->predicted), signed_pct(found->ratio)});
      }
    }
    t.push_back(row);
    if (!r.note.empty()) notes.push_back(r.where() + ": " + r.note);
  }
  std::string out =
      "Measured serving runs vs llmcost (error = predicted / measured - 1; TTFT and TPOT in seconds, mean per request; "
      "tput = output tokens/s of the whole run; conc. = requests in flight)\n\n";
  const auto N = CellKind::Number, T = CellKind::Text;
  // The run's file is the row's name; format and engine, then hardware and model, give way first.
  out += align(t, {CellKind::Path, T, T, T, T, N, N, N, N, N, N, N, N, N, N, N}, {0, 4, 3, 1, 2});
  out += "\nOverall (median |predicted / measured - 1| per figure)\n\n" + summary_rows(summary);
  notes.insert(notes.end(), why.begin(), why.end());
  for (const auto& w : notes) out += "\n" + w;
  if (!notes.empty()) out += "\n";
  return out;
}

std::string check_json(const std::vector<CheckedRun>& runs, const std::vector<MetricSummary>& summary) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& cr : runs) {
    const MeasuredRun& r = cr.run;
    nlohmann::json j = {{"run", r.where()},   {"format", r.format},       {"engine", r.engine},
                        {"model", r.model},   {"precision", r.precision}, {"kv_dtype", r.kv_dtype},
                        {"hardware", r.hw},   {"tp", r.tp},               {"ep", r.ep},
                        {"pp", r.pp},         {"input_len", r.input_len}, {"output_len", r.output_len},
                        {"concurrency", r.concurrency}};
    if (!r.note.empty()) j["note"] = r.note;
    nlohmann::json fs = nlohmann::json::array();
    for (const auto& x : cr.results) fs.push_back(result_json(x));
    j["figures"] = fs;
    a.push_back(j);
  }
  nlohmann::json doc = {{"units", {{"ttft_s", "s"}, {"tpot_s", "s"}, {"throughput_tokens_per_s", "output tokens/s"}}},
                        {"error", "predicted / measured - 1"},
                        {"runs", a},
                        {"summary", summary_json(summary)}};
  return doc.dump(2) + "\n";
}

namespace {
const char* kFigures[] = {"mem_bw_fraction", "tensor_fraction", "step_overhead_s", "collective_latency_s"};
double fig(const EfficiencyFit& f, int i) {
  return i == 0 ? f.mem_bw_fraction : i == 1 ? f.tensor_fraction : i == 2 ? f.step_overhead_s : f.collective_latency_s;
}
}  // namespace

std::string calibrate_from_table(const CalibrateFromReport& r) {
  std::string out = "Efficiency figures of " + r.hardware + " fit to " + std::to_string(r.fit_runs) + " measured runs (" +
                    std::to_string(r.result.fit_results.size()) + " figures), " + std::to_string(r.holdout_runs) +
                    " runs (" + std::to_string(r.result.holdout_results.size()) + " figures) held out; profile \"" +
                    r.profile + "\"" + (r.engine.empty() ? "" : ", engine " + r.engine) + "\n\n";
  std::vector<std::vector<std::string>> t{{"figure", "start", "fitted", "unit", "note"}};
  const char* units[] = {"fraction of datasheet bandwidth", "fraction of tensor peak", "s per forward pass", "s per collective"};
  for (int i = 0; i < 4; ++i)
    t.push_back({kFigures[i], g4(fig(r.start, i)), g4(fig(r.result.fit, i)), units[i],
                 r.result.determined[i] ? "" : "not determined by these runs: kept at start"});
  const auto N = CellKind::Number, T = CellKind::Text;
  out += align(t, {T, N, N, T, T});
  char buf[96];
  std::snprintf(buf, sizeof buf, "\nfit: rms |log(predicted / measured)| %.4f after %d evaluations\n", r.result.fit_rms_log_error,
                r.result.evaluations);
  out += buf;
  out += "\nFit runs (median |predicted / measured - 1|)\n\n" + summary_rows(r.fit_summary);
  if (r.holdout_summary.empty())
    out += "\nHeld-out runs: none (too few runs to hold any out)\n";
  else
    out += "\nHeld-out runs, never used by the fit\n\n" + summary_rows(r.holdout_summary);
  return out;
}

std::string calibrate_from_json(const CalibrateFromReport& r) {
  nlohmann::json figs = nlohmann::json::object();
  for (int i = 0; i < 4; ++i)
    figs[kFigures[i]] = {{"start", fig(r.start, i)}, {"fitted", fig(r.result.fit, i)}, {"determined", r.result.determined[i]}};
  nlohmann::json hold = nlohmann::json::array();
  for (const auto& x : r.result.holdout_results) {
    auto j = result_json(x);
    j["run"] = x.c.file;
    hold.push_back(j);
  }
  nlohmann::json doc = {{"hardware", r.hardware},
                        {"profile", r.profile},
                        {"engine", r.engine},
                        {"figures", figs},
                        {"fit_runs", r.fit_runs},
                        {"holdout_runs", r.holdout_runs},
                        {"fit_rms_log_error", r.result.fit_rms_log_error},
                        {"evaluations", r.result.evaluations},
                        {"fit_summary", summary_json(r.fit_summary)},
                        {"holdout_summary", summary_json(r.holdout_summary)},
                        {"holdout", hold}};
  return doc.dump(2) + "\n";
}

// One row per case: the markdown table the README embeds, or the same as aligned text.
std::string published_table(const std::vector<PublishedResult>& before, const std::vector<PublishedResult>& after,
                   const std::vector<ClassSummary>& sb, const std::vector<ClassSummary>& sa, bool markdown) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"#", "model", "precision", "hardware", "engine", "in/out", "conc.", "metric", "published", "datasheet",
                  "ratio", "derated", "ratio", "role"});
  for (size_t i = 0; i < after.size(); ++i) {
    const PublishedCase& c = after[i].c;
    auto cell = [](const PublishedResult& r, bool ratio) {
      if (!r.ok) return ratio ? std::string("-") : std::string("not predicted");
      return ratio ? ratio_str(r.ratio) : g4(r.predicted);
    };
    std::string model = c.model.substr(c.model.find('/') == std::string::npos ? 0 : c.model.find('/') + 1);
    rows.push_back({std::to_string(i + 1), model, c.precision + (c.kv_dtype != "bf16" ? " kv " + c.kv_dtype : ""),
                    std::to_string(c.count) + "x " + c.gpu + " " + layout(c.tp, c.ep, c.pp), c.engine,
                    std::to_string(c.input_len) + "/" + std::to_string(c.output_len),
                    c.concurrency == 0 ? "max" : std::to_string(c.concurrency), c.metric, g4(c.value),
                    cell(before[i], false), cell(before[i], true), cell(after[i], false), cell(after[i], true), c.role});
  }
  std::vector<std::vector<std::string>> sum;
  sum.push_back({"class", "cases", "role", "datasheet median |error|", "datasheet worst ratio", "derated median |error|",
                 "derated worst ratio"});
  for (const auto& a : sa) {
    const ClassSummary* b = nullptr;
    for (const auto& x : sb)
      if (x.cls == a.cls && x.role == a.role) b = &x;
    sum.push_back({a.cls, std::to_string(a.n), a.role, b ? pct(b->median_abs_error, 0) : "-", b ? ratio_str(b->worst_ratio) : "-",
                   pct(a.median_abs_error, 0), ratio_str(a.worst_ratio)});
  }
  auto table = [&](const std::vector<std::vector<std::string>>& t, const std::vector<CellKind>& kinds, const std::vector<int>& drop) {
    std::string out;
    if (markdown) {
      for (size_t r = 0; r < t.size(); ++r) {
        out += "|";
        for (const auto& c : t[r]) out += " " + c + " |";
        out += "\n";
        if (r == 0) {
          out += "|";
          for (size_t k = 0; k < t[0].size(); ++k) out += "---|";
          out += "\n";
        }
      }
      return out;
    }
    return align(t, kinds, drop);
  };
  std::string out;
  out += "Published serving measurements vs llmcost (ratio = predicted / published; times in s, throughput in output "
         "tokens/s; datasheet = pure roofline, derated = the hardware YAML's efficiency block)\n\n";
  const auto N = CellKind::Number, T = CellKind::Text;
  // precision and engine give way first in a narrow terminal.
  out += table(rows, {N, T, T, T, T, N, N, T, N, N, N, N, N, T}, {0, 0, 2, 0, 1});
  out += "\nMedian |predicted / published - 1| per class (decode: per-token latency at <= 16 in flight; ttft: time to "
         "first token; throughput: >= 64 in flight or max); fit = cases used to set the efficiency figures, holdout = the rest\n\n";
  out += table(sum, {T, N, T, N, N, N, N}, {});
  for (const auto& r : after)
    if (!r.ok) out += "\nnot predicted: " + r.c.file + ":" + std::to_string(r.c.line) + ": " + r.why + "\n";
  return out;
}


}  // namespace llmcost
