// Capacity planning and hardware sizing: scenario parsing, layout search, replicas, throughput and cost.
#include "llmcost/plan.h"

#include <algorithm>
#include <limits>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "llmcost/config_reader.h"
#include "llmcost/model_loader.h"

namespace llmcost {

namespace fs = std::filesystem;

namespace {

// A price above this (USD per device-hour) is a typo or an attack, and its cost per token overflows.
constexpr double kMaxUsdPerDeviceHour = 1e6;

double positive_number(const ConfigReader& r, const std::string& key) {
  const Value* v = r.raw(key);
  if (!v->is_number() || !(v->as_double() > 0) || !std::isfinite(v->as_double()))
    r.fail(key, "must be a positive number");
  return v->as_double();
}

double read_price(const ConfigReader& r, const std::string& key) {
  const Value* v = r.raw(key);
  if (!v || !v->is_number() || !(v->as_double() > 0) || !(v->as_double() <= kMaxUsdPerDeviceHour))
    r.fail(key, "must be a price in USD per device-hour, in (0, 1e6]");
  return v->as_double();
}

int64_t largest_power_of_two(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

std::string layout_name(const ParallelConfig& c) {
  std::string t = "tp=" + std::to_string(c.tp);
  if (c.ep > 1) t += " ep=" + std::to_string(c.ep);
  if (c.pp > 1) t += " pp=" + std::to_string(c.pp);
  return t;
}

// Loads what entry `pointer` of the scenario names; a failure names the scenario file and entry
// first, then what went wrong with the model or hardware itself.
template <class Load>
auto named_in(const Scenario& s, const std::string& pointer, Load&& load) {
  try {
    return load();
  } catch (const Error& e) {
    throw ConfigError(s.source_file, pointer, std::string("cannot be loaded: ") + e.what());
  }
}

}  // namespace

Scenario parse_scenario(const Value& doc, const std::string& file) {
  ConfigReader r(doc, file);
  // The keys `llmcost report` reads too (title, batches, roofline_hardware, a single quant,
  // prices_usd_per_device_hour) are accepted so one scenario file serves both commands.
  r.check_keys({"name", "title", "description", "models", "hardware", "quant", "quant_policy", "kv_dtype", "routing",
                 "workload", "max_devices", "roofline_hardware", "prices_usd_per_device_hour", "mem_util", "memory_fraction"});
  Scenario s;
  s.source_file = file;
  s.name = r.str_or("name", fs::path(file).stem().string());
  s.title = r.str_or("title", "");
  const Value* models = r.raw("models");
  if (models && models->is_string() && models->as_string() == "all") {
    s.all_models = true;
  } else {
    s.models = r.str_list("models");
    if (s.models.empty()) r.fail("models", "must list at least one model (a bundled name, HF id or config path), or be \"all\"");
  }
  const Value* hw = r.raw("hardware");
  if (hw && hw->is_string() && hw->as_string() == "all") {
    s.all_hardware = true;
  } else {
    if (!hw || !hw->is_array() || hw->items().empty())
      r.fail("hardware", "must list at least one device (a name, or {name: ..., usd_per_device_hour: {value: ..., source: ...}}), "
                         "or be \"all\"");
    for (size_t i = 0; i < hw->items().size(); ++i) {
      const Value& item = hw->items()[i];
      std::string ptr = r.pointer_of("hardware") + "/" + std::to_string(i);
      ScenarioHardware h;
      if (item.is_string()) {
        h.name = item.as_string();
      } else if (item.is_object()) {
        ConfigReader c(item, file, ptr);
        c.check_keys({"name", "usd_per_device_hour"});
        h.name = c.req_str("name");
        if (auto price = c.child("usd_per_device_hour")) {
          price->check_keys({"value", "source"});
          if (!price->has("value")) price->fail("value", "is required (a positive number)");
          h.usd_per_device_hour = read_price(*price, "value");
          h.price_source = price->req_str("source");
        }
      } else {
        throw ConfigError(file, ptr, "must be a hardware name or an object with name");
      }
      s.hardware.push_back(h);
    }
  }
  if (auto prices = r.child("prices_usd_per_device_hour")) {
    for (const auto& member : prices->node().members()) s.prices[member.first] = read_price(*prices, member.first);
  }
  std::vector<std::string> quants;
  const Value* qv = r.raw("quant");
  if (qv && qv->is_string())
    quants = {qv->as_string()};
  else
    quants = r.str_list("quant");
  if (quants.empty()) quants = {"auto"};  // as the checkpoint ships
  for (size_t i = 0; i < quants.size(); ++i) {
    auto q = parse_quant_scheme(quants[i]);
    if (!q)
      throw ConfigError(file, r.pointer_of("quant") + (qv && qv->is_array() ? "/" + std::to_string(i) : std::string()),
                        "must be one of " + quant_scheme_names() + ", got " + quote_for_message(quants[i]));
    s.quants.push_back(*q);
  }
  std::string policy = r.str_or("quant_policy", "default");
  auto pol = parse_quant_policy(policy);
  if (!pol) r.fail("quant_policy", "must be default, experts, routed, all or a comma list of groups, got " + quote_for_message(policy));
  s.policy = *pol;
  std::string kv = r.str_or("kv_dtype", "bf16");
  auto kvd = parse_kv_dtype(kv);
  if (!kvd) r.fail("kv_dtype", "must be bf16, fp8, int8 or int4, got " + quote_for_message(kv));
  s.kv = *kvd;
  std::string routing = r.str_or("routing", "uniform");
  auto rt = parse_routing(routing);
  if (!rt) r.fail("routing", "must be uniform or zipf:S with S > 0, got " + quote_for_message(routing));
  s.routing = *rt;
  s.max_devices_per_replica = r.int_or("max_devices", 8, 1, 4096);
  s.roofline_hardware = r.str_or("roofline_hardware", "");
  // mem_util, as --mem-util; memory_fraction is its older name.
  if (r.has("mem_util") && r.has("memory_fraction"))
    r.fail("memory_fraction", "must not be given together with mem_util (the same number)");
  for (const char* key : {"mem_util", "memory_fraction"}) {
    if (!r.has(key)) continue;
    s.memory_fraction = positive_number(r, key);
    if (s.memory_fraction > 1) r.fail(key, "must be in (0, 1], got " + std::to_string(s.memory_fraction));
  }
  auto w = r.child("workload");
  if (!w) r.fail("workload", "is required: {concurrency, prompt_tokens, output_tokens[, max_decode_step_s, max_ttft_s]}");
  w->check_keys({"concurrency", "batch", "prompt_tokens", "output_tokens", "context", "batches", "max_decode_step_s",
                  "max_ttft_s", "prefill_chunk_tokens"});
  s.prefill_chunk_tokens = w->int_or("prefill_chunk_tokens", kDefaultPrefillChunkTokens, 1, int64_t(1) << 24);
  // concurrency (or batch, `llmcost report`'s name for it); output_tokens (or context - prompt_tokens).
  if (w->has("concurrency") && w->has("batch")) w->fail("batch", "must not be given together with concurrency (the same number)");
  s.concurrency = w->has("batch") ? w->req_int("batch", 1, int64_t(1) << 30) : w->req_int("concurrency", 1, int64_t(1) << 30);
  s.prompt_tokens = w->req_int("prompt_tokens", 1, int64_t(1) << 24);
  if (w->has("output_tokens")) {
    s.output_tokens = w->req_int("output_tokens", 1, int64_t(1) << 24);
    if (w->has("context") && w->req_int("context", 1, int64_t(1) << 24) != s.prompt_tokens + s.output_tokens)
      w->fail("context", "must equal prompt_tokens + output_tokens (" + std::to_string(s.prompt_tokens + s.output_tokens) +
                             ") when both are given");
  } else if (w->has("context")) {
    int64_t ctx = w->req_int("context", 1, int64_t(1) << 24);
    if (ctx <= s.prompt_tokens)
      w->fail("context", "must be more than prompt_tokens (" + std::to_string(s.prompt_tokens) +
                             ") so that output tokens = context - prompt_tokens, got " + std::to_string(ctx));
    s.output_tokens = ctx - s.prompt_tokens;
  } else {
    w->fail("output_tokens", "is required (a positive integer), or give context > prompt_tokens");
  }
  s.batches = w->int_list("batches", 1, 1 << 20);
  if (w->has("max_decode_step_s")) s.max_decode_step_s = positive_number(*w, "max_decode_step_s");
  if (w->has("max_ttft_s")) s.max_ttft_s = positive_number(*w, "max_ttft_s");
  return s;
}

Scenario load_scenario(const std::string& spec, const std::string& config_dir) {
  std::error_code ec;
  // Anything that exists is read, so that a FIFO or device is refused by name (never waited on).
  if (fs::exists(spec, ec) && !fs::is_directory(spec, ec)) return parse_scenario(parse_config_file(spec), spec);
  fs::path dir = fs::path(config_dir) / "scenarios";
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path p = dir / (spec + ext);
    if (spec.find('/') == std::string::npos && fs::is_regular_file(p, ec)) return parse_scenario(parse_config_file(p.string()), p.string());
  }
  std::string names;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") names += (names.empty() ? "" : ", ") + e.path().stem().string();
  throw Error(spec + ": cannot read scenario file (No such file or directory)" +
              (names.empty() ? std::string() : "; bundled scenarios: " + names));
}

std::vector<ParallelConfig> plan_layouts(int64_t n, bool moe) {
  std::vector<ParallelConfig> out;
  for (int64_t tp = 8; tp >= 1; tp /= 2)
    if (tp <= n && n % tp == 0) out.push_back(ParallelConfig{tp, 1, n / tp});
  if (moe && n > 1) {
    out.push_back(ParallelConfig{1, n, 1});
    const int64_t tp = std::min<int64_t>(n, 8);
    if (tp > 1) out.push_back(ParallelConfig{tp, n, 1});
  }
  return out;
}

int64_t plan_full_context(const Scenario& s) { return checked_add(s.prompt_tokens, s.output_tokens); }
int64_t plan_mean_context(const Scenario& s) { return std::max<int64_t>(s.prompt_tokens + s.output_tokens / 2, 1); }

PredictRequest plan_request(const Scenario& s, const ParallelConfig& layout, int64_t batch, int64_t context) {
  PredictRequest r;
  r.batch = batch;
  r.context = context;
  r.prompt_tokens = s.prompt_tokens;
  r.parallel = layout;
  r.memory_fraction = s.memory_fraction;
  r.prefill_chunk_tokens = s.prefill_chunk_tokens;
  return r;
}

const PlanRow& PlanResult::row(size_t model, size_t quant, size_t hw) const {
  const size_t Q = scenario.quants.size(), H = scenario.hardware.size();
  const size_t i = (model * Q + quant) * H + hw;
  if (quant >= Q || hw >= H || i >= rows.size())
    throw Error("plan row (model " + std::to_string(model) + ", quant " + std::to_string(quant) + ", hardware " +
                    std::to_string(hw) + ") is out of range: " + std::to_string(rows.size()) + " rows",
                ErrorKind::Internal);
  const PlanRow& r = rows[i];
  if (r.model_index != model || r.quant_index != quant || r.hardware_index != hw)
    throw Error("plan row " + std::to_string(i) + " has other keys than (model, quant, hardware) order gives", ErrorKind::Internal);
  return r;
}

std::optional<ParallelConfig> smallest_fitting_layout(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r,
                                                      int64_t max_devices) {
  for (int64_t n = 1; n <= max_devices; n *= 2) {
    if (n > 1 && !hw.interconnect) break;
    for (const ParallelConfig& c : plan_layouts(n, m.n_moe_layers > 0)) {
      PredictRequest q = r;
      q.parallel = c;
      if (predict_or_why(m, hw, q, false).runnable) return c;
    }
  }
  return std::nullopt;
}

std::vector<DeviceCountFit> fit_by_device_count(const CompiledModel& m, const HardwareSpec& hw, const PredictRequest& r,
                                                int64_t max_devices) {
  std::vector<DeviceCountFit> out;
  for (int64_t n = 1; n <= max_devices; n *= 2) {
    if (n > 1 && !hw.interconnect) break;
    DeviceCountFit f;
    f.devices = n;
    for (const ParallelConfig& c : plan_layouts(n, m.n_moe_layers > 0)) {
      PredictRequest q = r;
      q.parallel = c;
      Prediction p = predict_or_why(m, hw, q, false);
      if (!p.has_figures) {
        if (f.reason.empty()) f.reason = p.reason;
        continue;
      }
      f.formed = true;
      f.reason.clear();
      f.layout = c;
      f.max_batch = p.memory.max_batch;
      f.max_context = p.memory.max_context;
      f.max_context_limit = p.memory.max_context_limit;
      break;
    }
    out.push_back(f);
  }
  return out;
}

PlanRow plan_one(const CompiledModel& m, const HardwareSpec& hw, const Scenario& s, std::optional<double> usd_per_device_hour) {
  PlanRow row;
  row.model = m.name;
  row.hardware = hw.name;
  row.quant = m.quant_label.empty() ? quant_scheme_name(m.quant) : m.quant_label;
  row.usd_per_device_hour = usd_per_device_hour;
  row.capacity_bytes = hw.memory_bytes.value * s.memory_fraction;
  const int64_t ctx_max = plan_full_context(s);
  const int64_t ctx_mean = plan_mean_context(s);
  const double out = static_cast<double>(s.output_tokens);
  row.reason = past_max_positions(m, ctx_max);  // no layout changes that
  if (!row.reason.empty()) return row;

  struct Candidate {
    ParallelConfig par;
    int64_t n = 0, limit = 0, replicas = 0, devices = 0, batch = 0;
    bool latency_ok = true;
    Prediction at_batch;   // at the planned batch, mean context
    Prediction at_max;     // at the planned batch, full context (memory)
    Prediction batched;    // at the planned batch with its prompts prefilled together (throughput)
    double request_s = 0;
  };
  std::optional<Candidate> best;
  std::vector<Candidate> tried;  // every layout that can run it, for the runner-ups
  auto better = [](const Candidate& a, const Candidate& b) {
    if (a.latency_ok != b.latency_ok) return a.latency_ok;
    if (a.devices != b.devices) return a.devices < b.devices;
    return a.request_s < b.request_s;
  };
  std::string last_why;  // why the largest layout tried cannot run
  for (int64_t n = 1; n <= s.max_devices_per_replica; n *= 2) {
    if (n > 1 && !hw.interconnect) break;
    if (best && best->latency_ok && n > best->devices) break;  // more devices per replica cannot need fewer in total
    std::string why_n;        // this device count: the first formed layout's reason, else the first error
    bool why_formed = false;
    for (const ParallelConfig& c : plan_layouts(n, m.n_moe_layers > 0)) {
      const PredictRequest r = plan_request(s, c, 1, ctx_max);
      Prediction first = predict_or_why(m, hw, r, false);
      if (!first.runnable) {
        if (why_n.empty() || (first.has_figures && !why_formed)) {
          why_n = layout_name(c) + ": " + first.reason;
          why_formed = first.has_figures;
        }
        continue;
      }
      Candidate k;
      k.par = c;
      k.n = n;
      k.limit = std::min<int64_t>(first.memory.max_batch, int64_t(1) << 30);
      auto step_at = [&](int64_t b) { return predict(m, hw, plan_request(s, c, b, ctx_mean), false); };
      if (s.max_decode_step_s) {
        if (step_at(1).decode.time_s > *s.max_decode_step_s) {
          k.latency_ok = false;
        } else {
          int64_t lo = 1, hi = k.limit;  // the step grows with the batch
          while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            if (step_at(mid).decode.time_s <= *s.max_decode_step_s)
              lo = mid;
            else
              hi = mid - 1;
          }
          k.limit = lo;
        }
      }
      if (s.max_ttft_s && first.prefill.time_s > *s.max_ttft_s) k.latency_ok = false;
      k.replicas = (s.concurrency + k.limit - 1) / k.limit;
      k.devices = checked_mul(k.replicas, n);
      k.batch = (s.concurrency + k.replicas - 1) / k.replicas;
      k.at_batch = step_at(k.batch);
      k.at_max = predict(m, hw, plan_request(s, c, k.batch, ctx_max), false);
      k.request_s = k.at_batch.prefill.time_s + out * k.at_batch.decode.time_s;
      PredictRequest rb = plan_request(s, c, k.batch, ctx_mean);
      rb.prefill_batch = k.batch;
      k.batched = predict(m, hw, rb, false);
      if (!best || better(k, *best)) best = k;
      tried.push_back(std::move(k));
    }
    if (!why_n.empty()) last_why = why_n;
  }
  if (!best) {
    const int64_t tried = hw.interconnect ? largest_power_of_two(s.max_devices_per_replica) : 1;
    row.reason = "no layout of up to " + std::to_string(tried) + " device(s) runs it; " +
                 (last_why.empty() ? std::string("none could be formed") : last_why);
    return row;
  }
  const Candidate& b = *best;
  row.feasible = true;
  row.parallel = b.par;
  row.devices_per_replica = b.n;
  row.replicas = b.replicas;
  row.devices = b.devices;
  row.max_concurrency_per_replica = b.limit;
  row.batch_per_replica = b.batch;
  row.decode_step_s = b.at_batch.decode.time_s;
  row.ttft_s = b.at_batch.prefill.time_s;
  row.request_latency_s = b.request_s;
  row.tokens_per_s_per_sequence = 1.0 / row.decode_step_s;
  // Throughput: continuous batching's steady state, each replica's batch prefilled together and
  // then decoded (batch_lifetime_s, the formula `llmcost validate` checks against published runs).
  auto tok_s = [&](const Candidate& k) {
    return static_cast<double>(k.replicas) * static_cast<double>(k.batch) * out / batch_lifetime_s(k.batched, s.output_tokens);
  };
  row.output_tokens_per_s = tok_s(b);
  row.bound = b.at_batch.decode.bound;
  row.per_device_bytes = b.at_max.memory.per_device_bytes;
  row.meets_latency = b.latency_ok;
  if (!b.latency_ok) row.reason = "latency target missed even at batch 1";
  if (usd_per_device_hour)
    row.usd_per_million_output_tokens = usd_per_million_tokens(*usd_per_device_hour, row.devices, row.output_tokens_per_s);

  // Why it won: against the best of the others, by the same order (latency target, fewest
  // devices, shortest request); the others listed best first.
  auto summary = [&](const Candidate& k) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s: %lld device(s) (%lld replica(s) of %lld), at most %lld sequences per replica, KV %.2f GB per device, "
                  "%.0f output tokens/s at batch %lld per replica (step %.2f ms)",
                  layout_label(k.par).c_str(), static_cast<long long>(k.devices), static_cast<long long>(k.replicas),
                  static_cast<long long>(k.n), static_cast<long long>(k.limit), k.at_max.memory.kv_bytes / 1e9, tok_s(k),
                  static_cast<long long>(k.batch), k.at_batch.decode.time_s * 1e3);
    return std::string(buf);
  };
  std::vector<const Candidate*> others;
  for (const auto& k : tried)
    if (!(k.par.tp == b.par.tp && k.par.ep == b.par.ep && k.par.pp == b.par.pp)) others.push_back(&k);
  std::stable_sort(others.begin(), others.end(), [&](const Candidate* x, const Candidate* y) { return better(*x, *y); });
  for (const Candidate* k : others) row.runner_ups.push_back(summary(*k));
  char why[400];
  const std::string me = layout_label(b.par);
  if (others.empty()) {
    std::snprintf(why, sizeof why, "%s: the only layout of up to %lld devices per replica that runs it", me.c_str(),
                  static_cast<long long>(s.max_devices_per_replica));
  } else {
    const Candidate& r = *others.front();
    const std::string them = layout_label(r.par);
    if (b.latency_ok && !r.latency_ok) {
      std::snprintf(why, sizeof why, "%s meets the latency target; %s does not", me.c_str(), them.c_str());
    } else if (b.devices < r.devices) {
      std::snprintf(why, sizeof why, "%s serves %lld requests on %lld devices, %s needs %lld: it holds %lld sequences per replica (KV %.2f GB per device) where %s holds %lld (KV %.2f GB per device)",
                    me.c_str(), static_cast<long long>(s.concurrency), static_cast<long long>(b.devices), them.c_str(),
                    static_cast<long long>(r.devices), static_cast<long long>(b.limit), b.at_max.memory.kv_bytes / 1e9, them.c_str(),
                    static_cast<long long>(r.limit), r.at_max.memory.kv_bytes / 1e9);
    } else {
      std::snprintf(why, sizeof why, "%s: a request takes %.2f s where %s takes %.2f s on the same %lld devices (decode step %.2f ms vs %.2f ms, "
                    "TTFT %.0f ms vs %.0f ms); %.2fx its output tokens/s",
                    me.c_str(), b.request_s, them.c_str(), r.request_s, static_cast<long long>(b.devices), b.at_batch.decode.time_s * 1e3,
                    r.at_batch.decode.time_s * 1e3, b.at_batch.prefill.time_s * 1e3, r.at_batch.prefill.time_s * 1e3, tok_s(b) / tok_s(r));
    }
  }
  row.layout_why = why;
  if (b.par.ep > 1 && b.par.tp < b.par.ep)
    row.layout_why += "; KV per device: its attention replica's sequences only (1/" + std::to_string(b.par.ep / b.par.tp) + " of the batch)";
  return row;
}

double usd_per_million_tokens(double usd_per_device_hour, int64_t devices, double tokens_per_s) {
  if (!(tokens_per_s > 0)) return std::numeric_limits<double>::quiet_NaN();
  return usd_per_device_hour * static_cast<double>(devices) / (tokens_per_s * 3600.0) * 1e6;
}

std::string price_basis(const HardwareSpec& hw) {
  if (!hw.price.usd_per_device_hour) return "";
  const DatedPrice& p = *hw.price.usd_per_device_hour;
  return hw.source_file + ": /price/usd_per_device_hour, " + p.date + " (" + p.source + ")";
}

PlanResult run_plan(const Scenario& s, const std::string& config_dir) {
  PlanResult res;
  res.scenario = s;
  Scenario& sc = res.scenario;
  if (sc.all_models) {
    sc.models.clear();
    for (const auto& b : list_bundled_models(config_dir)) sc.models.push_back(b.hf_id);
    if (sc.models.empty()) throw ConfigError(s.source_file, "/models", "is \"all\" but " + config_dir + "/models has no configs");
  }
  if (sc.all_hardware) {
    sc.hardware.clear();
    for (auto& h : list_hardware(config_dir)) {
      sc.hardware.push_back(ScenarioHardware{h.name, std::nullopt, ""});
      res.hardware.push_back(std::move(h));
    }
    if (sc.hardware.empty()) throw ConfigError(s.source_file, "/hardware", "is \"all\" but " + config_dir + "/hardware has no specs");
  } else {
    for (size_t i = 0; i < sc.hardware.size(); ++i)
      res.hardware.push_back(named_in(s, "/hardware/" + std::to_string(i), [&] { return load_hardware(sc.hardware[i].name, config_dir); }));
  }
  for (size_t i = 0; i < sc.hardware.size(); ++i) {
    auto it = sc.prices.find(sc.hardware[i].name);
    if (it == sc.prices.end()) it = sc.prices.find(res.hardware[i].name);
    if (!sc.hardware[i].usd_per_device_hour && it != sc.prices.end()) {
      sc.hardware[i].usd_per_device_hour = it->second;
      sc.hardware[i].price_source = s.source_file + ": /prices_usd_per_device_hour";
    }
    // Neither the scenario nor its price map names one: the hardware YAML's dated price.
    if (!sc.hardware[i].usd_per_device_hour && res.hardware[i].price.usd_per_device_hour) {
      const DatedPrice& p = *res.hardware[i].price.usd_per_device_hour;
      sc.hardware[i].usd_per_device_hour = p.value;
      sc.hardware[i].price_source = price_basis(res.hardware[i]);
    }
  }
  for (size_t mi = 0; mi < sc.models.size(); ++mi) {
    const std::string pointer = s.all_models ? "/models" : "/models/" + std::to_string(mi);
    ModelIR ir = named_in(s, pointer, [&] { return load_model(sc.models[mi], config_dir); });
    for (const QuantScheme& q : sc.quants) {
      CompiledModel m = compile_model(ir, q, sc.policy, sc.kv, sc.routing);
      for (size_t hi = 0; hi < sc.hardware.size(); ++hi) {
        PlanRow row = plan_one(m, res.hardware[hi], sc, sc.hardware[hi].usd_per_device_hour);
        row.model_index = mi;
        row.quant_index = static_cast<size_t>(&q - sc.quants.data());
        row.hardware_index = hi;
        res.rows.push_back(std::move(row));
      }
    }
  }
  return res;
}

CompareResult run_compare(const CompiledModel& m, const std::vector<HardwareSpec>& hws, const PredictRequest& r,
                          bool auto_layout, int64_t max_devices) {
  CompareResult res;
  res.model = m.name;
  for (const auto& hw : hws) {
    CompareRow row;
    PredictRequest q = r;
    if (auto_layout) {
      row.auto_layout = true;
      auto c = smallest_fitting_layout(m, hw, r, max_devices);
      if (c) {
        q.parallel = *c;
      } else {
        row.fits_any = false;
        // The largest layout that can be formed, to show how far off it is.
        q.parallel = ParallelConfig{};
        if (hw.interconnect)
          for (const ParallelConfig& l : plan_layouts(largest_power_of_two(max_devices))) {
            PredictRequest t = r;
            t.parallel = l;
            if (predict_or_why(m, hw, t, false).has_figures) {
              q.parallel = l;
              break;
            }
          }
      }
    }
    row.prediction = predict_or_why(m, hw, q, true);
    const std::string past = past_max_positions(m, std::max(r.context, r.prompt_tokens));
    if (!row.fits_any && !past.empty())
      row.prediction.reason = past;  // no layout changes that
    else if (!row.fits_any)
      row.prediction.reason = "no layout of up to " + std::to_string(hw.interconnect ? largest_power_of_two(max_devices) : 1) +
                              " device(s) runs it; " + layout_name(q.parallel) + ": " + row.prediction.reason;
    res.rows.push_back(std::move(row));
  }
  return res;
}

}  // namespace llmcost
