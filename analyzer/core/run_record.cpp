// The run file's writer and reader: every key of `llmcost run --format json` is named here only.
#include "llmcost/run_record.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "llmcost/config_reader.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {

using json = nlohmann::json;  // sorted keys: the run file's documented layout

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json op_json(const RunOpRecord& r) {
  json j = {{"name", r.name},
            {"kind", r.kind},
            {"predicted_s", opt(r.predicted_s)},
            {"measured_s", r.measured_s},
            {"bytes", r.bytes},
            {"flops", r.flops},
            {"achieved_bw_bytes_per_s", r.achieved_bw_bytes_per_s},
            {"error_pct", r.error_pct}};
  if (r.measured_s_p10) j["measured_s_p10"] = *r.measured_s_p10;
  if (r.measured_s_p90) j["measured_s_p90"] = *r.measured_s_p90;
  if (r.predicted_bytes) j["predicted_bytes"] = *r.predicted_bytes;
  if (r.dram_read_bytes) j["dram_read_bytes"] = *r.dram_read_bytes;
  if (r.dram_write_bytes) j["dram_write_bytes"] = *r.dram_write_bytes;
  return j;
}

constexpr const char* kSeconds = "must be a non-negative number of seconds";
// Byte and FLOP counts are read as numbers but used as int64 by the gate: below 2^63.
constexpr double kMaxCount = 9.2e18;

std::string num_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A measured figure: absent, or finite and >= 0 (opt_num already refuses non-finite values).
std::optional<double> opt_nonneg(const ConfigReader& r, const std::string& key, const char* what = kSeconds) {
  auto v = r.opt_num(key);
  if (v && *v < 0) r.fail(key, std::string(what) + ", got " + num_text(*v));
  return v;
}
double nonneg_or(const ConfigReader& r, const std::string& key, const char* what = kSeconds) {
  return opt_nonneg(r, key, what).value_or(0.0);
}
double count_or(const ConfigReader& r, const std::string& key) {
  double v = nonneg_or(r, key, "must be a non-negative count");
  if (v > kMaxCount) r.fail(key, "must be below 2^63 (9.2e18), got " + num_text(v));
  return v;
}

std::optional<double> opt_count(const ConfigReader& r, const std::string& key) {
  auto v = opt_nonneg(r, key, "must be a non-negative count");
  if (v && *v > kMaxCount) r.fail(key, "must be below 2^63 (9.2e18), got " + num_text(*v));
  return v;
}

RunOpRecord read_op(const ConfigReader& o) {
  RunOpRecord op;
  op.name = o.req_str("name");
  op.kind = o.str_or("kind", "");
  op.predicted_s = opt_nonneg(o, "predicted_s");
  auto measured = opt_nonneg(o, "measured_s");
  if (!measured) o.fail("measured_s", kSeconds);
  op.measured_s = *measured;
  op.measured_s_p10 = opt_nonneg(o, "measured_s_p10");
  op.measured_s_p90 = opt_nonneg(o, "measured_s_p90");
  op.bytes = count_or(o, "bytes");
  op.flops = count_or(o, "flops");
  op.achieved_bw_bytes_per_s = nonneg_or(o, "achieved_bw_bytes_per_s", "must be a non-negative rate");
  op.error_pct = o.num_or("error_pct", 0.0);
  op.predicted_bytes = opt_count(o, "predicted_bytes");
  op.dram_read_bytes = opt_count(o, "dram_read_bytes");
  op.dram_write_bytes = opt_count(o, "dram_write_bytes");
  return op;
}

std::vector<RunOpRecord> read_ops(const ConfigReader& root, const std::string& key) {
  const Value* ops = root.raw(key);
  if (!ops->is_array()) root.fail(key, "must be an array of {name, predicted_s, measured_s, ...}");
  std::vector<RunOpRecord> out;
  for (size_t i = 0; i < ops->items().size(); ++i)
    out.push_back(read_op(ConfigReader(ops->items()[i], root.file(), "/" + key + "/" + std::to_string(i))));
  return out;
}

std::vector<double> num_list(const ConfigReader& r, const std::string& key) {
  std::vector<double> out;
  const Value* v = r.raw(key);
  if (!v) return out;
  if (!v->is_array()) r.fail(key, "must be an array of numbers");
  for (size_t i = 0; i < v->items().size(); ++i) {
    const Value& x = v->items()[i];
    if (!x.is_number()) throw ConfigError(r.file(), r.pointer_of(key) + "/" + std::to_string(i), "must be a number");
    out.push_back(x.as_double());
  }
  return out;
}

}  // namespace

std::string RunRecord::slice_text() const {
  if (!layers_spec.empty()) return layers_spec;
  std::string s;
  for (int64_t l : layers) s += (s.empty() ? "" : ", ") + std::to_string(l);
  return s;
}

std::string run_record_to_json(const RunRecord& r) {
  json ops = json::array(), pre = json::array();
  if (r.ops)
    for (const auto& o : *r.ops) ops.push_back(op_json(o));
  for (const auto& o : r.prefill_ops) pre.push_back(op_json(o));
  json j = {
      {"backend", r.backend},
      {"device", r.device},
      {"model", r.model},
      {"workload",
       {{"batch", r.batch}, {"context", r.context}, {"prompt", r.prompt}, {"tokens", r.tokens}, {"routing", r.routing},
        {"weight_dtype", r.weight_dtype}}},
      {"slice", {{"layers", r.layers}, {"params", r.params}, {"weight_bytes", r.weight_bytes}}},
      {"calibration",
       {{"read_bw_bytes_per_s", r.read_bw_bytes_per_s},
        {"gemm_flops_per_s", r.gemm_flops_per_s},
        {"source", r.calibration_source}}},
      {"predicted",
       {{"decode_step_s", r.predicted_decode_step_s},
        {"prefill_s", opt(r.predicted_prefill_s)},
        {"distinct_experts_per_layer", r.predicted_distinct_experts}}},
      {"measured",
       {{"decode_step_s", opt(r.decode_step_s)},
        {"decode_step_s_p10", opt(r.decode_step_s_p10)},
        {"decode_step_s_p90", opt(r.decode_step_s_p90)},
        {"decode_bytes", r.decode_bytes},
        {"achieved_bw_bytes_per_s", r.achieved_bw_bytes_per_s},
        {"prefill_s", opt(r.prefill_s)},
        {"distinct_experts_per_layer", r.distinct_experts_per_layer},
        {"distinct_experts_per_layer_per_step", r.distinct_experts_per_step}}},
      {"ops", ops},
      {"prefill_ops", pre},
  };
  if (r.cuda_graph) j["workload"]["cuda_graph"] = *r.cuda_graph;
  if (!r.calibration_stability.empty()) {
    j["calibration"]["stability"] = r.calibration_stability;
    j["calibration"]["unstable"] = r.calibration_unstable;
  }
  if (!r.gemm_flops_per_s_by_rows.empty()) {
    json t = json::array();
    for (const auto& [m, f] : r.gemm_flops_per_s_by_rows) t.push_back({m, f});
    j["calibration"]["gemm_flops_per_s_by_rows"] = t;
  }
  if (r.predicted_decode_bytes) j["predicted"]["decode_bytes"] = *r.predicted_decode_bytes;
  if (r.dram_read_bytes) j["measured"]["dram_read_bytes"] = *r.dram_read_bytes;
  if (r.dram_write_bytes) j["measured"]["dram_write_bytes"] = *r.dram_write_bytes;
  if (r.counters)
    j["counters"] = {{"source", r.counters->source ? json(*r.counters->source) : json(nullptr)},
                     {"passes", r.counters->passes},
                     {"unavailable", r.counters->unavailable ? json(*r.counters->unavailable) : json(nullptr)}};
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

RunRecord run_record_from_json(const Value& doc, const std::string& file) {
  ConfigReader root(doc, file);
  RunRecord r;
  r.backend = root.str_or("backend", "");
  r.device = root.str_or("device", "");
  r.model = root.str_or("model", "");
  if (auto w = root.child("workload")) {
    r.batch = w->int_or("batch", 0, 0);
    r.context = w->int_or("context", 0, 0);
    r.prompt = w->int_or("prompt", 0, 0);
    r.tokens = w->int_or("tokens", 0, 0);
    r.routing = w->str_or("routing", "");
    r.weight_dtype = w->str_or("weight_dtype", "");
    if (const Value* g = w->raw("cuda_graph")) {
      if (!g->is_bool()) w->fail("cuda_graph", "must be true or false");
      r.cuda_graph = g->as_bool();
    }
  }
  if (auto s = root.child("slice")) {
    const Value* l = s->raw("layers");
    if (l && l->is_int()) r.layers_spec = std::to_string(l->as_int());
    else if (l && l->is_string()) r.layers_spec = l->as_string();
    else r.layers = s->int_list("layers");
    r.params = s->int_or("params", 0, 0, INT64_MAX);
    r.weight_bytes = s->int_or("weight_bytes", 0, 0, INT64_MAX);
  }
  if (auto c = root.child("calibration")) {
    r.read_bw_bytes_per_s = nonneg_or(*c, "read_bw_bytes_per_s", "must be a non-negative rate");
    r.gemm_flops_per_s = nonneg_or(*c, "gemm_flops_per_s", "must be a non-negative rate");
    r.calibration_source = c->str_or("source", "");
    r.calibration_stability = c->str_or("stability", "");
    r.calibration_unstable = c->bool_or("unstable", false);
  }
  if (auto p = root.child("predicted")) {
    r.predicted_decode_step_s = nonneg_or(*p, "decode_step_s");
    r.predicted_prefill_s = opt_nonneg(*p, "prefill_s");
    r.predicted_distinct_experts = nonneg_or(*p, "distinct_experts_per_layer", "must be a non-negative count");
    r.predicted_decode_bytes = opt_count(*p, "decode_bytes");
  }
  auto m = root.child("measured");
  if (!m) root.fail("measured", "must be an object (the measured results of `llmcost run`)");
  r.decode_step_s = opt_nonneg(*m, "decode_step_s");
  r.decode_step_s_p10 = opt_nonneg(*m, "decode_step_s_p10");
  r.decode_step_s_p90 = opt_nonneg(*m, "decode_step_s_p90");
  r.decode_bytes = count_or(*m, "decode_bytes");
  r.achieved_bw_bytes_per_s = nonneg_or(*m, "achieved_bw_bytes_per_s", "must be a non-negative rate");
  r.prefill_s = opt_nonneg(*m, "prefill_s");
  r.dram_read_bytes = opt_count(*m, "dram_read_bytes");
  r.dram_write_bytes = opt_count(*m, "dram_write_bytes");
  if (auto c = root.child("counters")) {
    RunCounters rc;
    auto opt_str = [&](const std::string& key) -> std::optional<std::string> {
      const Value* v = c->raw(key);
      if (!v || v->is_null()) return std::nullopt;
      if (!v->is_string()) c->fail(key, "must be a string or null");
      return v->as_string();
    };
    rc.source = opt_str("source");
    rc.passes = c->int_or("passes", 0, 0, 1000000);
    rc.unavailable = opt_str("unavailable");
    r.counters = rc;
  }
  r.distinct_experts_per_layer = num_list(*m, "distinct_experts_per_layer");
  if (const Value* steps = m->raw("distinct_experts_per_layer_per_step")) {
    const std::string key = "distinct_experts_per_layer_per_step", what = "must be an array of arrays of integers";
    if (!steps->is_array()) m->fail(key, what);
    for (size_t i = 0; i < steps->items().size(); ++i) {
      const Value& step = steps->items()[i];
      const std::string ptr = m->pointer_of(key) + "/" + std::to_string(i);
      if (!step.is_array()) throw ConfigError(file, ptr, what);
      std::vector<int64_t> counts;
      for (size_t k = 0; k < step.items().size(); ++k) {
        if (!step.items()[k].is_int()) throw ConfigError(file, ptr + "/" + std::to_string(k), "must be an integer");
        counts.push_back(step.items()[k].as_int());
      }
      r.distinct_experts_per_step.push_back(std::move(counts));
    }
  }
  if (root.has("ops")) r.ops = read_ops(root, "ops");
  if (root.has("prefill_ops")) r.prefill_ops = read_ops(root, "prefill_ops");
  return r;
}

RunRecord read_run_record(const std::string& path) { return run_record_from_json(parse_record_file(path), path); }

}  // namespace llmcost
