// CI regression gate: reading baseline / run / Google Benchmark files into records, writing
// our record, and comparing current against baseline (analytic exact, measured normalized).
#include "llmcost/ci_gate.h"
#include "llmcost/measured.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "llmcost/config_reader.h"
#include "llmcost/flops.h"
#include "llmcost/glob.h"
#include "llmcost/kv_cache.h"
#include "llmcost/memory.h"
#include "llmcost/quant.h"
#include "llmcost/run_record.h"
#include "llmcost/version.h"

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

// A relative half-spread above this is no measurement (a spread 20x the median): refused rather
// than turned into a threshold that lets any slow-down pass.
constexpr double kMaxNoiseRel = 10.0;
// An op's p90 past an hour is no preemption: such a spread is refused like any other.
constexpr double kMaxOpSeconds = 3600.0;
// Bytes are int64 in a record; a figure at or past 2^63 cannot be one.
constexpr double kMaxBytes = 9.2e18;

void check_noise(double noise_rel, const ConfigReader& r, const std::string& key) {
  if (!(noise_rel >= 0 && noise_rel <= kMaxNoiseRel))
    r.fail(key, "gives a relative noise of " + fmt_g(noise_rel) + ", outside 0.." + fmt_g(kMaxNoiseRel));
}

double nonneg(const ConfigReader& r, const std::string& key, const std::string& what) {
  auto v = r.opt_num(key);  // finite or absent
  if (!v || *v < 0) r.fail(key, what + (v ? ", got " + fmt_g(*v) : std::string()));
  return *v;
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
      const std::string key = "llmcost_read_bw_bytes_per_s";
      if (v->is_number()) bw = v->as_double();
      else if (v->is_string()) {
        try {
          bw = std::stod(v->as_string());
        } catch (...) {
          ctx->fail(key, "must be a number of bytes/s, got " + quote_for_message(v->as_string()));
        }
      }
      if (!(std::isfinite(bw) && bw >= 0)) ctx->fail(key, "must be a non-negative number of bytes/s, got " + fmt_g(bw));
    }
  }
  struct Acc {
    std::vector<double> iters;
    std::optional<double> med, stddev, cv;
    std::string med_at, noise_at;  // pointers of the entries the median and the noise come from
    int64_t bytes = 0;
    int64_t repetitions = 0;  // of the aggregate entries ("repetitions")
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
    const double rt = nonneg(b, "real_time", "must be a non-negative number");
    if (run_type == "aggregate") {
      std::string agg = b.req_str("aggregate_name");
      if (agg == "cv") {
        acc.cv = rt;  // cv is a ratio, printed without a unit
        check_noise(rt, b, "real_time");
        acc.noise_at = b.pointer_of("real_time");
        continue;
      }
      double t = to_seconds(rt, b.str_or("time_unit", "ns"), b, "time_unit");
      if (b.has("repetitions")) acc.repetitions = b.int_or("repetitions", 0, 0, INT64_MAX);
      if (agg == "median") {
        acc.med = t;
        acc.med_at = b.pointer();
      } else if (agg == "stddev") {
        acc.stddev = t;
        acc.noise_at = b.pointer_of("real_time");
      }
    } else {
      acc.iters.push_back(to_seconds(rt, b.str_or("time_unit", "ns"), b, "time_unit"));
      if (acc.noise_at.empty()) acc.noise_at = b.pointer_of("real_time");
      if (b.has("bytes_per_second")) {
        const double bytes = nonneg(b, "bytes_per_second", "must be a non-negative number of bytes/s") * acc.iters.back();
        if (!(bytes < kMaxBytes))
          b.fail("bytes_per_second", "x real_time gives " + fmt_g(bytes) + " bytes, past what a record holds (2^63)");
        acc.bytes = static_cast<int64_t>(std::llround(bytes));
      }
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
    m.samples = a.med ? std::max<int64_t>(a.repetitions, static_cast<int64_t>(a.iters.size())) : static_cast<int64_t>(a.iters.size());
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
    if (!(m.noise_rel <= kMaxNoiseRel))
      throw ConfigError(file, a.noise_at, "gives benchmark " + quote_for_message(name) + " a relative noise of " +
                                              fmt_g(m.noise_rel) + ", outside 0.." + fmt_g(kMaxNoiseRel));
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
  auto measurement = [&](const std::string& name, double median_s, double noise_rel, int64_t bytes, int64_t samples) {
    Measurement m;
    m.name = prefix + name;
    m.median_s = median_s;
    m.noise_rel = noise_rel;
    m.read_bw_bytes_per_s = bw;
    m.bytes = bytes;
    m.samples = samples;
    m.source = file;
    return m;
  };
  // The reader has checked every time as finite and >= 0; the spread must still be plausible.
  // An op (`op`) of a few microseconds can show a spread past the bound from one preemption on a
  // shared machine: it is kept at the bound (its threshold then says it cannot be gated) instead
  // of refusing the whole run; a spread that is no number at all is still refused.
  auto noise_of = [&](double p10, double p90, double t, const std::string& pointer, bool op = false) {
    double n = std::max(0.0, (p90 - p10) / (2 * t));
    if (op && std::isfinite(p90 - p10) && n > kMaxNoiseRel && p90 <= kMaxOpSeconds) return kMaxNoiseRel;
    if (!(n <= kMaxNoiseRel))
      throw ConfigError(file, pointer, "gives a relative noise of " + fmt_g(n) + " ((p90 - p10) / 2 median), outside 0.." +
                                           fmt_g(kMaxNoiseRel));
    return n;
  };
  std::vector<Measurement> out;
  double step_noise = 0.0;
  if (const auto& step = run.decode_step_s) {
    if (run.decode_step_s_p10 && run.decode_step_s_p90 && *step > 0)
      step_noise = noise_of(*run.decode_step_s_p10, *run.decode_step_s_p90, *step, "/measured/decode_step_s_p90");
    out.push_back(measurement("decode_step", *step, step_noise, run.weight_bytes, run.tokens));
  }
  if (run.prefill_s && *run.prefill_s > 0) out.push_back(measurement("prefill", *run.prefill_s, step_noise, 0, 0));
  if (run.ops)
    for (size_t i = 0; i < run.ops->size(); ++i) {
      const RunOpRecord& op = (*run.ops)[i];
      // The op's own p10/p90 when the run gives them, else the step's relative spread.
      const double t = op.measured_s;
      const double noise = op.measured_s_p10 && op.measured_s_p90 && t > 0
                               ? noise_of(*op.measured_s_p10, *op.measured_s_p90, t,
                                          "/ops/" + std::to_string(i) + "/measured_s_p90", true)
                               : step_noise;
      // bytes: the reader checked 0 <= bytes < 2^63, so the conversion is defined.
      out.push_back(measurement("op:" + op.name, t, noise, static_cast<int64_t>(op.bytes), run.tokens));
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
  // Which llmcost wrote it; baselines recorded before the field existed have none.
  if (root.has("llmcost_version")) {
    const Value* v = root.raw("llmcost_version");
    if (!v->is_string()) root.fail("llmcost_version", "must be a string (the llmcost version that wrote the record)");
    r.llmcost_version = v->as_string();
  }
  std::map<std::string, std::string> units;
  if (auto u = root.child("units"))
    for (const auto& [key, val] : u->node().members()) {
      if (!val.is_string()) throw ConfigError(file, u->pointer_of(key), "must be a unit name (a string)");
      units[key] = val.as_string();
    }
  if (const Value* models = root.raw("models")) {
    if (!models->is_array()) root.fail("models", "must be an array");
    std::unordered_map<std::string, size_t> seen_models;  // a model recorded twice would compare against itself
    for (size_t i = 0; i < models->items().size(); ++i) {
      ConfigReader m(models->items()[i], file, "/models/" + std::to_string(i));
      ModelRecord mr;
      mr.model = m.req_str("model");
      if (auto [it, fresh] = seen_models.emplace(mr.model, i); !fresh)
        m.fail("model", "must name each model once, but repeats /models/" + std::to_string(it->second) + "/model " +
                            quote_for_message(mr.model));
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
    std::unordered_map<std::string, size_t> seen_names;
    for (size_t i = 0; i < ms->items().size(); ++i) {
      ConfigReader e(ms->items()[i], file, "/measurements/" + std::to_string(i));
      Measurement m;
      m.name = e.req_str("name");
      if (auto [it, fresh] = seen_names.emplace(m.name, i); !fresh)
        e.fail("name", "must name each measurement once, but repeats /measurements/" + std::to_string(it->second) +
                           "/name " + quote_for_message(m.name));
      m.median_s = nonneg(e, "median_s", "must be a non-negative number of seconds");
      m.noise_rel = e.num_or("noise_rel", 0.0);
      check_noise(m.noise_rel, e, "noise_rel");
      m.read_bw_bytes_per_s = e.has("read_bw_bytes_per_s")
                                  ? nonneg(e, "read_bw_bytes_per_s", "must be a non-negative number of bytes/s")
                                  : 0.0;
      m.bytes = e.int_or("bytes", 0, 0, INT64_MAX);
      m.samples = e.int_or("samples", 0, 0, INT64_MAX);
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
  // Recurrent layers' constant state per sequence (in bytes_at_4096 above; its own dtypes).
  if (KvCache kv = kv_cache(a.ir, kContext, KvDtype::BF16); kv.n_recurrent_layers > 0)
    add("kv.state_bytes_per_sequence", kv.state_bytes_per_sequence, "bytes");
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

namespace {

// Serving-benchmark result files (analyzer/measure/measured.cpp), whose figures are compared run
// with run: no model or hardware needs naming, nothing is predicted.
std::vector<Measurement> serving_measurements(const std::string& path) {
  MeasuredDefaults d;
  d.require_model_and_hw = false;
  std::vector<Measurement> out;
  for (const auto& r : load_measured(path, d)) {
    std::string name = "serving " + r.format + " " + (r.model.empty() ? std::string("(model not named)") : r.model) + " " +
                       std::to_string(r.input_len) + "/" + std::to_string(r.output_len) + " c" + std::to_string(r.concurrency) +
                       " tp" + std::to_string(r.tp) + " ";
    auto add = [&](const char* what, double s) {
      Measurement m;
      m.name = name + what;
      m.median_s = s;
      m.source = r.where();
      out.push_back(m);
    };
    if (r.ttft_s) add("ttft_s", *r.ttft_s);
    if (r.tpot_s) add("tpot_s", *r.tpot_s);
    if (r.throughput_tokens_per_s) add("s_per_output_token", 1.0 / *r.throughput_tokens_per_s);
  }
  return out;
}

// The parsed document, or nullopt for a serving result file (which may be JSON Lines, or carry
// Python's Infinity); a file that is neither rethrows the JSON error.
std::optional<Value> record_doc(const std::string& path) {
  try {
    Value doc = parse_record_file(path);
    if (!measured_format(doc).empty()) return std::nullopt;
    return doc;
  } catch (const Error&) {
    std::exception_ptr json_error = std::current_exception();
    MeasuredDefaults d;
    d.require_model_and_hw = false;
    try {
      load_measured(path, d);
    } catch (const Error&) {
      std::rethrow_exception(json_error);  // neither: the JSON error says what is wrong
    }
    return std::nullopt;
  }
}

}  // namespace

std::vector<Measurement> load_measurements(const std::string& path) {
  auto doc = record_doc(path);
  return doc ? parse_measurements(*doc, path) : serving_measurements(path);
}

Record load_record(const std::string& path) {
  auto doc = record_doc(path);
  if (doc) return parse_record(*doc, path);
  Record r;
  r.measurements = serving_measurements(path);
  return r;
}

std::string record_json(const Record& r) {
  nlohmann::ordered_json j;
  j[kFormatKey] = kFormatVersion;
  j["llmcost_version"] = r.llmcost_version.empty() ? version_stamp() : r.llmcost_version;
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
    if (m.samples > 0) e["samples"] = m.samples;
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

bool glob_match(const std::string& p, const std::string& t) { return wildcard_match(p, t); }

CheckResult check(const Record& base, const Record& cur, const CheckOptions& opts) {
  CheckResult res;
  res.tolerance_pct = opts.tolerance_pct;
  auto declared = [&](const std::string& model, const std::string& key) {
    for (const auto& d : opts.declared)
      if (glob_match(d, model + ":" + key)) return true;
    return false;
  };

  // Every lookup goes through a hash map, so a check is linear in the size of both records.
  // Duplicate names resolve as before: the first current model / measurement, the last metric.
  std::unordered_map<std::string, const ModelRecord*> cur_models, base_models;
  for (const auto& m : cur.models) cur_models.emplace(m.model, &m);
  for (const auto& m : base.models) base_models.emplace(m.model, &m);

  // Analytic: exact.
  for (const auto& bm : base.models) {
    auto cm_it = cur_models.find(bm.model);
    const ModelRecord* cm = cm_it == cur_models.end() ? nullptr : cm_it->second;
    std::unordered_map<std::string, const AnalyticValue*> cur_metrics;
    std::unordered_set<std::string> base_keys;
    if (cm)
      for (const auto& v : cm->metrics) cur_metrics[v.key] = &v;
    for (const auto& bv : bm.metrics) base_keys.insert(bv.key);
    for (const auto& bv : bm.metrics) {
      Finding f;
      f.subject = bm.model;
      f.key = bv.key;
      f.baseline = value_text(bv);
      auto cv_it = cur_metrics.find(bv.key);
      const AnalyticValue* cv = cv_it == cur_metrics.end() ? nullptr : cv_it->second;
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
    if (cm)
      for (const auto& cv : cm->metrics)
        if (!base_keys.count(cv.key))
          res.findings.push_back({bm.model, cv.key, Status::Added, "-", value_text(cv), 0.0, "re-record the baseline"});
  }
  for (const auto& cm : cur.models)
    if (!base_models.count(cm.model))
      res.findings.push_back({cm.model, "*", Status::Added, "-", "present", 0.0, "model not in the baseline"});

  std::unordered_map<std::string, const Measurement*> cur_measured;
  std::unordered_set<std::string> base_measured;
  for (const auto& m : cur.measurements) cur_measured.emplace(m.name, &m);
  for (const auto& m : base.measurements) base_measured.insert(m.name);

  // Measured: medians normalized by calibrated read bandwidth, beyond tolerance and noise.
  for (const auto& bm : base.measurements) {
    Finding f;
    f.subject = "measured";
    f.key = bm.name;
    f.baseline = fmt_time(bm.median_s) + " ±" + fmt_g(bm.noise_rel * 100, 3) + "%";
    auto found = cur_measured.find(bm.name);
    if (found == cur_measured.end()) {
      f.status = cur.measurements.empty() ? Status::NotCompared : Status::Missing;
      f.current = "-";
      f.note = cur.measurements.empty() ? "no current measurements given" : "not in the current measurements";
      res.findings.push_back(f);
      continue;
    }
    const Measurement* it = found->second;
    if (opts.min_samples > 0) {
      auto few = [&](const Measurement& m) { return m.samples > 0 && m.samples < opts.min_samples; };
      if (few(bm) || few(*it)) {
        f.status = Status::NotCompared;
        f.current = fmt_time(it->median_s);
        f.note = "too few samples: baseline " + (bm.samples > 0 ? std::to_string(bm.samples) : std::string("?")) + ", current " +
                 (it->samples > 0 ? std::to_string(it->samples) : std::string("?")) + " (--min-samples " +
                 std::to_string(opts.min_samples) + ")";
        res.findings.push_back(f);
        continue;
      }
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
    if (!base_measured.count(cm.name))
      res.findings.push_back({"measured", cm.name, Status::Added, "-", fmt_time(cm.median_s), 0.0, "not in the baseline"});
  return res;
}

}  // namespace llmcost::ci
