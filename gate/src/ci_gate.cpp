// CI regression gate: reading baseline / run / Google Benchmark files into records, writing
// our record, and comparing current against baseline (analytic exact, measured normalized).
#include "llmcost/ci_gate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "llmcost/config_reader.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/memory.h"
#include "llmcost/quant.h"
#include "llmcost/run_record.h"

namespace llmcost::ci {

namespace {

constexpr const char* kFormatKey = "llmcost_ci_record";
constexpr int64_t kFormatVersion = 1;

std::string fmt_g(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string value_text(const AnalyticValue& v) {
  return (v.is_int ? std::to_string(v.int_value) : fmt_g(v.real_value, 17)) + (v.unit.empty() ? "" : " " + v.unit);
}

bool same_value(const AnalyticValue& a, const AnalyticValue& b) {
  if (a.is_int && b.is_int) return a.int_value == b.int_value;
  double x = a.is_int ? static_cast<double>(a.int_value) : a.real_value;
  double y = b.is_int ? static_cast<double>(b.int_value) : b.real_value;
  if (x == y) return true;
  return std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
}

double to_seconds(double v, const std::string& unit, const ConfigReader& r, const std::string& key) {
  if (unit == "ns") return v * 1e-9;
  if (unit == "us") return v * 1e-6;
  if (unit == "ms") return v * 1e-3;
  if (unit == "s") return v;
  r.fail(key, "must be one of ns, us, ms, s, got \"" + unit + "\"");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Google Benchmark JSON: aggregates (median / stddev / cv) when run with repetitions, else the
// median of the iteration entries of one run_name.
std::vector<Measurement> parse_gbench(const ConfigReader& root, const std::string& file) {
  const Value* arr = root.raw("benchmarks");
  if (!arr->is_array()) root.fail("benchmarks", "must be an array");
  double bw = 0.0;
  if (auto ctx = root.child("context")) {
    // Recorded with --benchmark_context=llmcost_read_bw_bytes_per_s=<calibrated B/s>.
    if (const Value* v = ctx->raw("llmcost_read_bw_bytes_per_s")) {
      if (v->is_number()) bw = v->as_double();
      else if (v->is_string()) {
        try {
          bw = std::stod(v->as_string());
        } catch (...) {
          ctx->fail("llmcost_read_bw_bytes_per_s", "must be a number of bytes/s, got \"" + v->as_string() + "\"");
        }
      }
    }
  }
  struct Acc {
    std::vector<double> iters;
    std::optional<double> med, stddev, cv;
    int64_t bytes = 0;
  };
  std::map<std::string, Acc> by_name;
  std::vector<std::string> order;
  for (size_t i = 0; i < arr->items().size(); ++i) {
    ConfigReader b(arr->items()[i], file, "/benchmarks/" + std::to_string(i));
    std::string name = b.has("run_name") ? b.req_str("run_name") : b.req_str("name");
    std::string run_type = b.str_or("run_type", "iteration");
    if (b.has("error_occurred") && b.bool_or("error_occurred", false)) continue;
    if (!by_name.count(name)) order.push_back(name);
    Acc& acc = by_name[name];
    if (run_type == "aggregate") {
      std::string agg = b.req_str("aggregate_name");
      if (agg == "cv") {
        acc.cv = b.num_or("real_time", 0.0);  // cv is a ratio, printed without a unit
        continue;
      }
      double t = to_seconds(b.num_or("real_time", -1.0), b.str_or("time_unit", "ns"), b, "time_unit");
      if (t < 0) b.fail("real_time", "must be a non-negative number");
      if (agg == "median") acc.med = t;
      else if (agg == "stddev") acc.stddev = t;
    } else {
      const Value* rt = b.raw("real_time");
      if (!rt || !rt->is_number() || rt->as_double() < 0) b.fail("real_time", "must be a non-negative number");
      acc.iters.push_back(to_seconds(rt->as_double(), b.str_or("time_unit", "ns"), b, "time_unit"));
      if (const Value* bps = b.raw("bytes_per_second"); bps && bps->is_number())
        acc.bytes = static_cast<int64_t>(std::llround(bps->as_double() * acc.iters.back()));
    }
  }
  std::vector<Measurement> out;
  for (const auto& name : order) {
    const Acc& a = by_name[name];
    Measurement m;
    m.name = name;
    m.source = file;
    m.read_bw_bytes_per_s = bw;
    m.bytes = a.bytes;
    if (a.med) {
      m.median_s = *a.med;
    } else if (!a.iters.empty()) {
      m.median_s = median(a.iters);
    } else {
      continue;
    }
    if (m.median_s > 0) {
      if (a.stddev) m.noise_rel = *a.stddev / m.median_s;
      else if (a.cv) m.noise_rel = *a.cv;
      else if (a.iters.size() >= 2) {
        auto [lo, hi] = std::minmax_element(a.iters.begin(), a.iters.end());
        m.noise_rel = (*hi - *lo) / (2 * m.median_s);
      }
    }
    out.push_back(m);
  }
  return out;
}

// `llmcost run --format json` (llmcost/run_record.h): the decode step (median, p10/p90), prefill,
// and per-op medians; ops carry their own p10/p90 spread, or the step's when the run gives none.
std::vector<Measurement> parse_run(const Value& doc, const std::string& file) {
  const RunRecord run = run_record_from_json(doc, file);
  const std::string prefix = run.model.empty() ? "" : run.model + "/";
  const double bw = run.read_bw_bytes_per_s;
  auto measurement = [&](const std::string& name, double median_s, double noise_rel, int64_t bytes) {
    Measurement m;
    m.name = prefix + name;
    m.median_s = median_s;
    m.noise_rel = noise_rel;
    m.read_bw_bytes_per_s = bw;
    m.bytes = bytes;
    m.source = file;
    return m;
  };
  std::vector<Measurement> out;
  double step_noise = 0.0;
  if (const auto& step = run.decode_step_s) {
    if (run.decode_step_s_p10 && run.decode_step_s_p90 && *step > 0)
      step_noise = std::max(0.0, (*run.decode_step_s_p90 - *run.decode_step_s_p10) / (2 * *step));
    out.push_back(measurement("decode_step", *step, step_noise, run.weight_bytes));
  }
  if (run.prefill_s && *run.prefill_s > 0) out.push_back(measurement("prefill", *run.prefill_s, step_noise, 0));
  if (run.ops)
    for (const RunOpRecord& op : *run.ops) {
      // The op's own p10/p90 when the run gives them, else the step's relative spread.
      const double t = op.measured_s;
      const double noise = op.measured_s_p10 && op.measured_s_p90 && t > 0
                               ? std::max(0.0, (*op.measured_s_p90 - *op.measured_s_p10) / (2 * t))
                               : step_noise;
      out.push_back(measurement("op:" + op.name, t, noise, static_cast<int64_t>(op.bytes)));
    }
  if (out.empty()) throw ConfigError(file, "/measured", "holds no decode_step_s, prefill_s or ops to gate on");
  return out;
}

Record parse_our_record(const ConfigReader& root, const std::string& file) {
  int64_t version = root.req_int(kFormatKey, 1, 1000);
  if (version != kFormatVersion)
    root.fail(kFormatKey, "must be " + std::to_string(kFormatVersion) + " (this llmcost's record format), got " +
                              std::to_string(version));
  Record r;
  std::map<std::string, std::string> units;
  if (auto u = root.child("units"))
    for (const auto& [key, val] : u->node().members()) {
      if (!val.is_string()) throw ConfigError(file, u->pointer_of(key), "must be a unit name (a string)");
      units[key] = val.as_string();
    }
  if (const Value* models = root.raw("models")) {
    if (!models->is_array()) root.fail("models", "must be an array");
    for (size_t i = 0; i < models->items().size(); ++i) {
      ConfigReader m(models->items()[i], file, "/models/" + std::to_string(i));
      ModelRecord mr;
      mr.model = m.req_str("model");
      auto metrics = m.child("metrics");
      if (!metrics) m.fail("metrics", "must be an object of metric -> number");
      for (const auto& [key, val] : metrics->node().members()) {
        if (!val.is_number()) throw ConfigError(file, metrics->pointer_of(key), "must be a number");
        AnalyticValue av;
        av.key = key;
        av.unit = units.count(key) ? units[key] : "";
        av.is_int = val.is_int();
        av.int_value = val.is_int() ? val.as_int() : 0;
        av.real_value = val.as_double();
        mr.metrics.push_back(av);
      }
      r.models.push_back(std::move(mr));
    }
  }
  if (const Value* ms = root.raw("measurements")) {
    if (!ms->is_array()) root.fail("measurements", "must be an array");
    for (size_t i = 0; i < ms->items().size(); ++i) {
      ConfigReader e(ms->items()[i], file, "/measurements/" + std::to_string(i));
      Measurement m;
      m.name = e.req_str("name");
      auto med = e.opt_num("median_s");
      if (!med || *med < 0) e.fail("median_s", "must be a non-negative number of seconds");
      m.median_s = *med;
      m.noise_rel = e.num_or("noise_rel", 0.0);
      if (m.noise_rel < 0) e.fail("noise_rel", "must be >= 0");
      m.read_bw_bytes_per_s = e.num_or("read_bw_bytes_per_s", 0.0);
      m.bytes = e.int_or("bytes", 0, 0, INT64_MAX);
      m.source = e.str_or("source", file);
      r.measurements.push_back(m);
    }
  }
  return r;
}

std::string fmt_time(double s) {
  if (s >= 1) return fmt_g(s, 4) + " s";
  if (s >= 1e-3) return fmt_g(s * 1e3, 4) + " ms";
  if (s >= 1e-6) return fmt_g(s * 1e6, 4) + " us";
  return fmt_g(s * 1e9, 4) + " ns";
}

}  // namespace

ModelRecord analytic_record(const std::string& model, const Analysis& a) {
  ModelRecord r;
  r.model = model;
  auto add = [&](const std::string& key, int64_t v, const std::string& unit) {
    AnalyticValue av;
    av.key = key;
    av.unit = unit;
    av.int_value = v;
    av.real_value = static_cast<double>(v);
    r.metrics.push_back(av);
  };
  const ParamCounts& p = a.params;
  add("params.total", p.total, "parameters");
  add("params.active", p.active, "parameters");
  add("params.active_compute", p.active_compute, "parameters");
  add("params.mtp", p.mtp, "parameters");
  for (int g = 0; g < kNumParamGroups; ++g)
    add(std::string("params.breakdown.") + param_group_name(static_cast<ParamGroup>(g)), p.breakdown[g], "parameters");
  // Weight bytes under every scheme (default policy) and as the checkpoint ships.
  QuantPolicy policy;
  for (QuantScheme s : all_quant_schemes())
    add(std::string("weight_bytes.") + quant_scheme_name(s), weight_bytes(a.ir, s, policy), "bytes");
  if (auto shipped = weight_bytes_as_shipped(a.ir)) add("weight_bytes.as_shipped", *shipped, "bytes");
  // KV cache per token and for one sequence at kContext, in every cache dtype.
  constexpr int64_t kContext = 4096;
  for (KvDtype d : all_kv_dtypes()) {
    KvCache kv = kv_cache(a.ir, kContext, d);
    add(std::string("kv.") + kv_dtype_name(d) + ".bytes_per_token", kv.bytes_per_token, "bytes");
    add(std::string("kv.") + kv_dtype_name(d) + ".bytes_at_4096", kv.bytes_at_context, "bytes");
  }
  // FLOPs: one decoded token at context 4096, one prefill of 1024 tokens.
  DecodeFlops df = decode_flops_per_token(a.ir, kContext);
  add("flops.decode_per_token_at_4096.matmul", df.matmul, "FLOP");
  add("flops.decode_per_token_at_4096.attention", df.attention, "FLOP");
  PrefillFlops pf = prefill_flops(a.ir, 1024);
  add("flops.prefill_1024.matmul", pf.matmul, "FLOP");
  add("flops.prefill_1024.attention", pf.attention, "FLOP");
  return r;
}

std::vector<Measurement> parse_measurements(const Value& doc, const std::string& file) {
  ConfigReader root(doc, file);
  if (root.has("benchmarks")) return parse_gbench(root, file);
  if (root.has("measured") || root.has("ops")) return parse_run(doc, file);
  throw ConfigError(file, "",
                    "must be `llmcost run --format json` output (with /measured) or Google Benchmark JSON (with "
                    "/benchmarks)");
}

Record parse_record(const Value& doc, const std::string& file) {
  ConfigReader root(doc, file);
  if (root.has(kFormatKey)) return parse_our_record(root, file);
  if (root.has("benchmarks") || root.has("measured") || root.has("ops")) {
    Record r;
    r.measurements = parse_measurements(doc, file);
    return r;
  }
  throw ConfigError(file, "",
                    std::string("must be a record from `llmcost ci record` (with /") + kFormatKey +
                        "), `llmcost run --format json` output or Google Benchmark JSON");
}

Record load_record(const std::string& path) { return parse_record(parse_json(read_text_file(path), path), path); }

std::string record_json(const Record& r) {
  nlohmann::ordered_json j;
  j[kFormatKey] = kFormatVersion;
  j["what"] =
      "llmcost CI baseline: analytic numbers (exact; parameters, weight and KV bytes, FLOPs) per model, and measured medians "
      "(seconds) with relative noise and the machine's calibrated read bandwidth (bytes/s)";
  nlohmann::ordered_json units = nlohmann::ordered_json::object();
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const auto& m : r.models) {
    nlohmann::ordered_json mj;
    mj["model"] = m.model;
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& v : m.metrics) {
      if (v.is_int) metrics[v.key] = v.int_value;
      else metrics[v.key] = v.real_value;
      if (!v.unit.empty()) units[v.key] = v.unit;
    }
    mj["metrics"] = metrics;
    models.push_back(mj);
  }
  j["units"] = units;
  j["models"] = models;
  nlohmann::ordered_json ms = nlohmann::ordered_json::array();
  for (const auto& m : r.measurements) {
    nlohmann::ordered_json e;
    e["name"] = m.name;
    e["median_s"] = m.median_s;
    e["noise_rel"] = m.noise_rel;
    e["read_bw_bytes_per_s"] = m.read_bw_bytes_per_s;
    e["bytes"] = m.bytes;
    e["source"] = m.source;
    ms.push_back(e);
  }
  j["measurements"] = ms;
  return j.dump(2) + "\n";
}

const char* status_name(Status s) {
  switch (s) {
    case Status::Same: return "same";
    case Status::Declared: return "changed (declared)";
    case Status::Changed: return "CHANGED";
    case Status::Missing: return "MISSING";
    case Status::Added: return "new";
    case Status::Slower: return "SLOWER";
    case Status::Faster: return "faster";
    case Status::NotCompared: return "not compared";
  }
  return "?";
}

bool Finding::is_regression() const {
  return status == Status::Changed || status == Status::Slower || (status == Status::Missing && subject != "measured");
}

int64_t CheckResult::regressions() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.is_regression(); });
}

bool glob_match(const std::string& p, const std::string& t) {
  // Iterative wildcard match with backtracking to the last '*'.
  size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

CheckResult check(const Record& base, const Record& cur, const CheckOptions& opts) {
  CheckResult res;
  res.tolerance_pct = opts.tolerance_pct;
  auto declared = [&](const std::string& model, const std::string& key) {
    for (const auto& d : opts.declared)
      if (glob_match(d, model + ":" + key)) return true;
    return false;
  };

  // Analytic: exact.
  for (const auto& bm : base.models) {
    auto cm = std::find_if(cur.models.begin(), cur.models.end(), [&](const ModelRecord& m) { return m.model == bm.model; });
    for (const auto& bv : bm.metrics) {
      Finding f;
      f.subject = bm.model;
      f.key = bv.key;
      f.baseline = value_text(bv);
      const AnalyticValue* cv = nullptr;
      if (cm != cur.models.end())
        for (const auto& v : cm->metrics)
          if (v.key == bv.key) cv = &v;
      if (!cv) {
        f.status = declared(bm.model, bv.key) ? Status::Declared : Status::Missing;
        f.current = "-";
        res.findings.push_back(f);
        continue;
      }
      ++res.analytic_compared;
      f.current = value_text(*cv);
      if (same_value(bv, *cv)) {
        f.status = Status::Same;
      } else {
        f.status = declared(bm.model, bv.key) ? Status::Declared : Status::Changed;
        double b = bv.is_int ? static_cast<double>(bv.int_value) : bv.real_value;
        double c = cv->is_int ? static_cast<double>(cv->int_value) : cv->real_value;
        f.change_pct = b != 0 ? (c - b) / std::fabs(b) * 100.0 : 0.0;
        if (bv.is_int && cv->is_int) f.note = "difference " + std::to_string(cv->int_value - bv.int_value);
      }
      res.findings.push_back(f);
    }
    if (cm != cur.models.end())
      for (const auto& cv : cm->metrics)
        if (std::none_of(bm.metrics.begin(), bm.metrics.end(), [&](const AnalyticValue& v) { return v.key == cv.key; }))
          res.findings.push_back({bm.model, cv.key, Status::Added, "-", value_text(cv), 0.0, "re-record the baseline"});
  }
  for (const auto& cm : cur.models)
    if (std::none_of(base.models.begin(), base.models.end(), [&](const ModelRecord& m) { return m.model == cm.model; }))
      res.findings.push_back({cm.model, "*", Status::Added, "-", "present", 0.0, "model not in the baseline"});

  // Measured: medians normalized by calibrated read bandwidth, beyond tolerance and noise.
  for (const auto& bm : base.measurements) {
    Finding f;
    f.subject = "measured";
    f.key = bm.name;
    f.baseline = fmt_time(bm.median_s) + " ±" + fmt_g(bm.noise_rel * 100, 3) + "%";
    auto it = std::find_if(cur.measurements.begin(), cur.measurements.end(),
                           [&](const Measurement& m) { return m.name == bm.name; });
    if (it == cur.measurements.end()) {
      f.status = cur.measurements.empty() ? Status::NotCompared : Status::Missing;
      f.current = "-";
      f.note = cur.measurements.empty() ? "no current measurements given" : "not in the current measurements";
      res.findings.push_back(f);
      continue;
    }
    ++res.measured_compared;
    f.current = fmt_time(it->median_s) + " ±" + fmt_g(it->noise_rel * 100, 3) + "%";
    double ratio;
    if (bm.read_bw_bytes_per_s > 0 && it->read_bw_bytes_per_s > 0 && bm.median_s > 0) {
      // Time x bandwidth: the work expressed as bytes the machine could have read, so a faster
      // or slower machine (or a noisy neighbour at calibration time) does not look like a code change.
      ratio = (it->median_s * it->read_bw_bytes_per_s) / (bm.median_s * bm.read_bw_bytes_per_s);
      f.note = "normalized by calibrated read bandwidth (" + fmt_g(bm.read_bw_bytes_per_s / 1e9, 4) + " -> " +
               fmt_g(it->read_bw_bytes_per_s / 1e9, 4) + " GB/s)";
    } else {
      ratio = bm.median_s > 0 ? it->median_s / bm.median_s : 1.0;
      f.note = "raw medians (no calibration in both records)";
    }
    f.change_pct = (ratio - 1.0) * 100.0;
    double noise_pct = std::sqrt(bm.noise_rel * bm.noise_rel + it->noise_rel * it->noise_rel) * 100.0;
    double threshold_pct = opts.tolerance_pct + noise_pct;
    f.note += "; threshold " + fmt_g(threshold_pct, 3) + "% = tolerance " + fmt_g(opts.tolerance_pct, 3) + "% + noise " +
              fmt_g(noise_pct, 3) + "%";
    if (f.change_pct > threshold_pct) f.status = Status::Slower;
    else if (f.change_pct < -threshold_pct) f.status = Status::Faster;
    else f.status = Status::Same;
    res.findings.push_back(f);
  }
  for (const auto& cm : cur.measurements)
    if (std::none_of(base.measurements.begin(), base.measurements.end(),
                     [&](const Measurement& m) { return m.name == cm.name; }))
      res.findings.push_back({"measured", cm.name, Status::Added, "-", fmt_time(cm.median_s), 0.0, "not in the baseline"});
  return res;
}

}  // namespace llmcost::ci
