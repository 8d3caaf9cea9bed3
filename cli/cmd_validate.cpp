// `llmcost validate`: llmcost's prediction beside each published serving measurement
// (tests/data/published/*.tsv), the datasheet roofline and the derated model side by side, with
// per-class median errors; optional gates for tests and CI.
#include <cmath>
#include <iostream>
#include <memory>

#include "commands.h"
#include "llmcost/error.h"
#include "llmcost/published.h"

namespace llmcost::cli {

namespace {

std::string g4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 1000 ? "%.0f" : "%.4g", v);
  return buf;
}
std::string ratio_str(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}
std::string pct(double e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * e);
  return buf;
}

std::string layout(const PublishedCase& c) {
  std::string t = "tp" + std::to_string(c.tp);
  if (c.ep > 1) t += "/ep" + std::to_string(c.ep);
  if (c.pp > 1) t += "/pp" + std::to_string(c.pp);
  return t;
}

// One row per case: the markdown table the README embeds, or the same as aligned text.
std::string render(const std::vector<PublishedResult>& before, const std::vector<PublishedResult>& after,
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
                    std::to_string(c.count) + "x " + c.gpu + " " + layout(c), c.engine,
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
    sum.push_back({a.cls, std::to_string(a.n), a.role, b ? pct(b->median_abs_error) : "-", b ? ratio_str(b->worst_ratio) : "-",
                   pct(a.median_abs_error), ratio_str(a.worst_ratio)});
  }
  auto table = [&](const std::vector<std::vector<std::string>>& t) {
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
    std::vector<size_t> w(t[0].size(), 0);
    for (const auto& r : t)
      for (size_t k = 0; k < r.size(); ++k) w[k] = std::max(w[k], r[k].size());
    for (const auto& r : t) {
      std::string line;
      for (size_t k = 0; k < r.size(); ++k) line += r[k] + std::string(w[k] - r[k].size() + 2, ' ');
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  };
  std::string out;
  out += "Published serving measurements vs llmcost (ratio = predicted / published; times in s, throughput in output "
         "tokens/s; datasheet = pure roofline, derated = the hardware YAML's efficiency block)\n\n";
  out += table(rows);
  out += "\nMedian |predicted / published - 1| per class (decode: per-token latency at <= 16 in flight; ttft: time to "
         "first token; throughput: >= 64 in flight or max); fit = cases used to set the efficiency figures, holdout = the rest\n\n";
  out += table(sum);
  for (const auto& r : after)
    if (!r.ok) out += "\nnot predicted: " + r.c.file + ":" + std::to_string(r.c.line) + ": " + r.why + "\n";
  return out;
}

}  // namespace

void register_validate(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string path, format = "table", output, efficiency = "derated";
    double max_median_error = -1, max_ratio = -1;
  };
  auto o = std::make_shared<Opts>();
  auto* v = app.add_subcommand("validate",
                               "Predict every published serving measurement in a TSV (or a directory of them, e.g. "
                               "tests/data/published) and print the prediction beside it with the ratio and per-class errors");
  v->add_option("path", o->path, "A published-measurements TSV or a directory of *.tsv")->required();
  v->add_option("--format", o->format, "table or markdown")->check(CLI::IsMember({"table", "markdown"}));
  v->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  v->add_option("--efficiency", o->efficiency, "The mode the gates check: derated (default) or datasheet")
      ->check(CLI::IsMember({"derated", "datasheet"}));
  v->add_option("--max-median-error", o->max_median_error,
                "Exit 1 when a class's median |predicted / published - 1| exceeds this (e.g. 0.2)")
      ->check(CLI::Range(0.0, 100.0));
  v->add_option("--max-ratio", o->max_ratio, "Exit 1 when a case's ratio is outside [1/R, R] or it cannot be predicted (e.g. 2)")
      ->check(CLI::Range(1.0, 1e6));
  v->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      auto cases = load_published(o->path);
      std::vector<PublishedResult> before, after;
      for (const auto& c : cases) {
        before.push_back(predict_published(c, ctx.configs(), EfficiencyMode::Datasheet));
        after.push_back(predict_published(c, ctx.configs(), EfficiencyMode::Derated));
      }
      auto sb = summarize_published(before), sa = summarize_published(after);
      emit(render(before, after, sb, sa, o->format == "markdown"), o->output);
      const auto& gated = o->efficiency == "datasheet" ? before : after;
      const auto& gsum = o->efficiency == "datasheet" ? sb : sa;
      std::vector<std::string> fails;
      if (o->max_median_error >= 0)
        for (const auto& s : gsum)
          if (s.role == "all" && s.median_abs_error > o->max_median_error)
            fails.push_back(s.cls + " median |error| " + pct(s.median_abs_error) + " > " + pct(o->max_median_error));
      if (o->max_ratio >= 0)
        for (const auto& r : gated)
          if (!r.ok || r.ratio > o->max_ratio || r.ratio < 1.0 / o->max_ratio)
            fails.push_back(r.c.file + ":" + std::to_string(r.c.line) + " " +
                            (r.ok ? "ratio " + ratio_str(r.ratio) + " outside [1/" + g4(o->max_ratio) + ", " + g4(o->max_ratio) + "]"
                                  : "not predicted: " + r.why));
      if (fails.empty()) return 0;
      std::string all;
      for (const auto& f : fails) all += (all.empty() ? "" : "; ") + f;
      std::cerr << format_error(Error(std::string(o->efficiency) + " predictions off the published cases: " + all));
      return 1;
    };
  });
}

}  // namespace llmcost::cli
