// Hardware YAML loader: every number must carry a `source:`; errors name the file and pointer.
#include "llmcost/hardware.h"
#include "llmcost/names.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "llmcost/config_reader.h"

namespace llmcost {

namespace fs = std::filesystem;

namespace {

const char* kDtypeNames[kNumComputeDtypes] = {"fp32", "bf16", "fp16", "fp8", "int8", "fp4"};

// The range a figure of each kind must lie in. The minima catch a value written in the wrong
// unit (GB instead of bytes, TB/s instead of B/s); the maxima are far past any device (a petabyte,
// a petabyte per second, an exaFLOP/s; a second of link latency) and refuse figures such as
// 1.7e308 that only overflow what is computed from them.
struct Range {
  double min, max;
  const char* unit;
};
constexpr Range kBytes{1e6, 1e15, "bytes, not GB"};
constexpr Range kBandwidth{1e6, 1e15, "bytes/s, not GB/s or TB/s"};
constexpr Range kFlops{1e6, 1e18, "FLOP/s, not TFLOP/s"};
constexpr Range kLatency{0.0, 1.0, "seconds"};
constexpr Range kFraction{1e-3, 1.0 + 1e-12, "a fraction in (0, 1]"};
constexpr Range kTokens{0.0, 1e6, "tokens"};
constexpr Range kOverhead{0.0, 1.0, "seconds per forward pass"};
constexpr Range kDeviceCount{1.0, 1e5, "devices"};
constexpr Range kUsdPerHour{0.0, 1e4, "US dollars per device-hour"};
constexpr Range kUsdPurchase{0.0, 1e8, "US dollars per device"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

SourcedValue read_sourced(const ConfigReader& parent, const std::string& key, const Range& range) {
  const Value* raw = parent.raw(key);
  if (!raw || !raw->is_object())
    parent.fail(key, "must be given as {value: NUMBER, source: \"where the number comes from\"}");
  auto c = parent.child(key);
  c->check_keys({"value", "source"});
  const Value* v = c->raw("value");
  if (!v || !v->is_number()) c->fail("value", "must be a number");
  double d = v->as_double();
  if (!std::isfinite(d) || d < range.min || d >= range.max)
    c->fail("value", "must be a finite number in [" + num(range.min) + ", " + num(range.max) + ") (" + range.unit + "), got " + num(d));
  SourcedValue out;
  out.value = d;
  const Value* s = c->raw("source");
  if (!s || !s->is_string() || s->as_string().empty())
    c->fail("source", "must be a non-empty string naming where the number comes from");
  out.source = s->as_string();
  return out;
}

std::optional<SourcedValue> opt_sourced(const ConfigReader& parent, const std::string& key, const Range& range) {
  if (!parent.has(key)) return std::nullopt;
  return read_sourced(parent, key, range);
}

LinkSpec read_link(const ConfigReader& parent, const std::string& key) {
  auto c = parent.child(key);
  c->check_keys({"name", "bw_bytes_per_s", "latency_s"});
  LinkSpec l;
  l.name = c->req_str("name");
  l.bw_bytes_per_s = read_sourced(*c, "bw_bytes_per_s", kBandwidth);
  l.latency_s = opt_sourced(*c, "latency_s", kLatency);
  return l;
}

NetworkSpec read_network(const ConfigReader& parent, const std::string& key) {
  auto c = parent.child(key);
  c->check_keys({"name", "bw_bytes_per_s", "latency_s", "devices_per_node"});
  NetworkSpec n;
  n.name = c->req_str("name");
  n.bw_bytes_per_s = read_sourced(*c, "bw_bytes_per_s", kBandwidth);
  n.latency_s = opt_sourced(*c, "latency_s", kLatency);
  n.devices_per_node = read_sourced(*c, "devices_per_node", kDeviceCount);
  if (n.devices_per_node.value != std::floor(n.devices_per_node.value))
    c->child("devices_per_node")->fail("value", "must be a whole number of devices, got " + num(n.devices_per_node.value));
  return n;
}

EfficiencySpec read_efficiency(const ConfigReader& parent, const std::string& key, bool profile = false) {
  auto c = parent.child(key);
  if (profile)
    c->check_keys({"engine", "fitted_on", "mem_bw_fraction", "tensor_fraction", "gemm_m_half", "step_overhead_s",
                   "collective_latency_s"});
  else
    c->check_keys({"mem_bw_fraction", "tensor_fraction", "gemm_m_half", "step_overhead_s", "collective_latency_s"});
  EfficiencySpec e;
  e.mem_bw_fraction = opt_sourced(*c, "mem_bw_fraction", kFraction);
  e.tensor_fraction = opt_sourced(*c, "tensor_fraction", kFraction);
  e.gemm_m_half = opt_sourced(*c, "gemm_m_half", kTokens);
  e.step_overhead_s = opt_sourced(*c, "step_overhead_s", kOverhead);
  e.collective_latency_s = opt_sourced(*c, "collective_latency_s", kLatency);
  return e;
}

// YYYY-MM-DD or YYYY-MM: a price is only as good as the day it was read.
bool is_price_date(const std::string& d) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (i >= d.size() || d[i] < '0' || d[i] > '9') return false;
    return true;
  };
  if (d.size() != 7 && d.size() != 10) return false;
  if (!digits(0, 4) || d[4] != '-' || !digits(5, 2)) return false;
  int month = (d[5] - '0') * 10 + (d[6] - '0');
  if (month < 1 || month > 12) return false;
  if (d.size() == 7) return true;
  int day = (d[8] - '0') * 10 + (d[9] - '0');
  return d[7] == '-' && digits(8, 2) && day >= 1 && day <= 31;
}

std::optional<DatedPrice> opt_price(const ConfigReader& parent, const std::string& key, const Range& range) {
  if (!parent.has(key)) return std::nullopt;
  const Value* raw = parent.raw(key);
  if (!raw || !raw->is_object())
    parent.fail(key, "must be given as {value: NUMBER, source: \"the price page\", date: \"YYYY-MM-DD\"}");
  auto c = parent.child(key);
  c->check_keys({"value", "source", "date"});
  const Value* v = c->raw("value");
  if (!v || !v->is_number()) c->fail("value", "must be a number");
  DatedPrice p;
  p.value = v->as_double();
  if (!std::isfinite(p.value) || p.value <= range.min || p.value >= range.max)
    c->fail("value", "must be a finite number in (" + num(range.min) + ", " + num(range.max) + ") (" + range.unit + "), got " + num(p.value));
  const Value* s = c->raw("source");
  if (!s || !s->is_string() || s->as_string().empty()) c->fail("source", "must be a non-empty string naming the price page");
  p.source = s->as_string();
  const Value* d = c->raw("date");
  if (!d || !d->is_string() || !is_price_date(d->as_string()))
    c->fail("date", "must be the date the price was read, as \"YYYY-MM-DD\" or \"YYYY-MM\"");
  p.date = d->as_string();
  return p;
}

void read_dtype_map(const ConfigReader& parent, const std::string& key, std::optional<SourcedValue>* out) {
  auto c = parent.child(key);
  if (!c) return;
  c->check_keys({kDtypeNames, kDtypeNames + kNumComputeDtypes});
  for (int i = 0; i < kNumComputeDtypes; ++i) out[i] = opt_sourced(*c, kDtypeNames[i], kFlops);
}

}  // namespace

const char* compute_dtype_name(ComputeDtype d) { return kDtypeNames[static_cast<int>(d)]; }

std::optional<ComputeDtype> parse_compute_dtype(const std::string& name) {
  for (int i = 0; i < kNumComputeDtypes; ++i)
    if (name == kDtypeNames[i]) return static_cast<ComputeDtype>(i);
  return std::nullopt;
}

bool HardwareSpec::is_calibrated() const {
  if (calibrated.read_bw_bytes_per_s) return true;
  for (const auto& g : calibrated.gemm_flops_per_s)
    if (g) return true;
  return false;
}

EffectiveRates effective_rates(const HardwareSpec& hw) {
  EffectiveRates r;
  if (hw.calibrated.read_bw_bytes_per_s) {
    r.mem_bw_bytes_per_s = hw.calibrated.read_bw_bytes_per_s->value;
    r.bw_calibrated = true;
  } else {
    r.mem_bw_bytes_per_s = hw.mem_bw_bytes_per_s.value;
  }
  // Where a device has no unit for a dtype, the weights are upcast and the next wider
  // arithmetic it has is used.
  using D = ComputeDtype;
  const std::vector<D> order[kNumComputeDtypes] = {
      {D::FP32, D::BF16, D::FP16},                   // FP32 (tensor cores are not used for fp32)
      {D::BF16, D::FP16, D::FP32},                   // BF16
      {D::FP16, D::BF16, D::FP32},                   // FP16
      {D::FP8, D::BF16, D::FP16, D::FP32},           // FP8
      {D::INT8, D::BF16, D::FP16, D::FP32},          // INT8
      {D::FP4, D::FP8, D::BF16, D::FP16, D::FP32},   // FP4
  };
  for (int i = 0; i < kNumComputeDtypes; ++i) {
    for (D d : order[i]) {
      const auto& cal = hw.calibrated.gemm_flops_per_s[static_cast<int>(d)];
      const auto& peak = hw.peak(d);
      if (!cal && !peak) continue;
      r.used_dtype[i] = d;
      r.flops_calibrated[i] = cal.has_value();
      r.flops_per_s[i] = cal ? cal->value : peak->value;
      break;
    }
  }
  return r;
}

const char* efficiency_mode_name(EfficiencyMode m) { return m == EfficiencyMode::Datasheet ? "datasheet" : "derated"; }

std::optional<EfficiencyMode> parse_efficiency_mode(const std::string& name) {
  if (name == "derated") return EfficiencyMode::Derated;
  if (name == "datasheet") return EfficiencyMode::Datasheet;
  return std::nullopt;
}

double AppliedEfficiency::gemm_rate(double rate, double m, bool calibrated) const {
  double r = calibrated ? rate : rate * tensor_fraction;
  if (gemm_m_half > 0 && m > 0) r *= m / (m + gemm_m_half);
  return r;
}

AppliedEfficiency applied_efficiency(const HardwareSpec& hw, EfficiencyMode mode) {
  AppliedEfficiency a;
  const bool cal = hw.is_calibrated();
  const bool derate = mode == EfficiencyMode::Derated && hw.efficiency.any();
  a.label = cal && derate ? "calibrated+derated" : cal ? "calibrated" : derate ? "derated" : "datasheet";
  if (!derate) return a;
  const EfficiencySpec& e = hw.efficiency;
  auto use = [&](const std::optional<SourcedValue>& v, const char* name, double& out) {
    if (!v) return;
    out = v->value;
    a.figures.push_back(std::string(name) + " " + num(v->value) + " (" + v->source + ")");
  };
  use(e.mem_bw_fraction, "mem_bw_fraction", a.mem_bw_fraction);
  use(e.tensor_fraction, "tensor_fraction", a.tensor_fraction);
  use(e.gemm_m_half, "gemm_m_half", a.gemm_m_half);
  use(e.step_overhead_s, "step_overhead_s", a.step_overhead_s);
  use(e.collective_latency_s, "collective_latency_s", a.collective_latency_s);
  return a;
}

HardwareSpec apply_profile(const HardwareSpec& hw, const std::string& name) {
  if (name.empty()) return hw;
  std::string names;
  for (const auto& p : hw.profiles) {
    if (p.name != name) {
      names += (names.empty() ? "" : ", ") + p.name;
      continue;
    }
    HardwareSpec out = hw;
    auto over = [](std::optional<SourcedValue>& dst, const std::optional<SourcedValue>& src) {
      if (src) dst = src;
    };
    over(out.efficiency.mem_bw_fraction, p.efficiency.mem_bw_fraction);
    over(out.efficiency.tensor_fraction, p.efficiency.tensor_fraction);
    over(out.efficiency.gemm_m_half, p.efficiency.gemm_m_half);
    over(out.efficiency.step_overhead_s, p.efficiency.step_overhead_s);
    over(out.efficiency.collective_latency_s, p.efficiency.collective_latency_s);
    return out;
  }
  throw Error(hw.source_file + ": profiles: no profile \"" + escape_control_chars(name) + "\"; expected one of: " +
              (names.empty() ? std::string("(none; `llmcost calibrate --from` writes them)") : names));
}

HardwareSpec parse_hardware(const Value& doc, const std::string& file) {
  ConfigReader r(doc, file);
  r.check_keys({"name", "description", "kind", "memory_bytes", "mem_bw_bytes_per_s", "peak_flops_per_s", "interconnect",
                 "host_link", "network", "efficiency", "calibrated", "price", "aliases", "profiles"});
  HardwareSpec hw;
  hw.source_file = file;
  hw.name = r.req_str("name");
  hw.description = r.str_or("description", hw.name);
  hw.kind = r.str_or("kind", "gpu");
  if (hw.kind != "gpu" && hw.kind != "cpu") r.fail("kind", "must be \"gpu\" or \"cpu\", got " + quote_for_message(hw.kind));
  hw.memory_bytes = read_sourced(r, "memory_bytes", kBytes);
  hw.mem_bw_bytes_per_s = read_sourced(r, "mem_bw_bytes_per_s", kBandwidth);
  if (!r.has("peak_flops_per_s")) r.fail("peak_flops_per_s", "must list dense peaks per dtype (bf16, fp16, fp8, int8, fp4, fp32)");
  read_dtype_map(r, "peak_flops_per_s", hw.peak_flops_per_s);
  if (!hw.peak(ComputeDtype::BF16) && !hw.peak(ComputeDtype::FP16) && !hw.peak(ComputeDtype::FP32))
    r.fail("peak_flops_per_s", "must give at least one of bf16, fp16, fp32");
  if (r.has("interconnect")) hw.interconnect = read_link(r, "interconnect");
  if (r.has("host_link")) hw.host_link = read_link(r, "host_link");
  if (r.has("network")) hw.network = read_network(r, "network");
  if (r.has("efficiency")) hw.efficiency = read_efficiency(r, "efficiency");
  if (r.has("price")) {
    auto c = r.child("price");
    if (!c) r.fail("price", "must be a map with usd_per_device_hour and/or usd_purchase");
    c->check_keys({"usd_per_device_hour", "usd_purchase"});
    hw.price.usd_per_device_hour = opt_price(*c, "usd_per_device_hour", kUsdPerHour);
    hw.price.usd_purchase = opt_price(*c, "usd_purchase", kUsdPurchase);
    if (!hw.price.usd_per_device_hour && !hw.price.usd_purchase) r.fail("price", "must give usd_per_device_hour or usd_purchase");
  }
  hw.aliases = r.str_list("aliases");
  for (size_t i = 0; i < hw.aliases.size(); ++i)
    if (hw.aliases[i].empty()) r.fail("aliases/" + std::to_string(i), "must be a non-empty name");
  if (r.has("profiles")) {
    const Value* raw = r.raw("profiles");
    if (!raw->is_object()) r.fail("profiles", "must map a profile name to its efficiency figures");
    auto ps = r.child("profiles");
    for (const auto& [name, v] : raw->members()) {
      if (!v.is_object()) ps->fail(name, "must be an object of efficiency figures ({value, source} each) and engine");
      EfficiencyProfile p;
      p.name = name;
      p.efficiency = read_efficiency(*ps, name, true);
      auto pc = ps->child(name);
      p.engine = pc->str_or("engine", "");
      p.fitted_on = pc->str_or("fitted_on", "");
      hw.profiles.push_back(std::move(p));
    }
  }
  if (auto c = r.child("calibrated")) {
    // triad_bw_bytes_per_s, copy_bw_bytes_per_s, launch_latency_s (calibrate --backend cuda),
    // threads, measured_on and date are written by `llmcost calibrate` for people to read; only
    // the bandwidth figures' form is checked.
    c->check_keys({"read_bw_bytes_per_s", "gemm_flops_per_s", "triad_bw_bytes_per_s", "copy_bw_bytes_per_s",
                   "launch_latency_s", "threads", "measured_on", "date"});
    (void)opt_sourced(*c, "triad_bw_bytes_per_s", kBandwidth);
    (void)opt_sourced(*c, "copy_bw_bytes_per_s", kBandwidth);
    hw.calibrated.read_bw_bytes_per_s = opt_sourced(*c, "read_bw_bytes_per_s", kBandwidth);
    read_dtype_map(*c, "gemm_flops_per_s", hw.calibrated.gemm_flops_per_s);
  }
  return hw;
}

std::vector<HardwareSpec> list_hardware(const std::string& config_dir) {
  std::vector<HardwareSpec> out;
  std::error_code ec;
  fs::path dir = fs::path(config_dir) / "hardware";
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
  }
  for (const auto& f : files) out.push_back(parse_hardware(parse_config_file(f.string()), f.string()));
  std::sort(out.begin(), out.end(), [](const HardwareSpec& a, const HardwareSpec& b) { return a.name < b.name; });
  return out;
}

HardwareSpec load_hardware(const std::string& spec, const std::string& config_dir) {
  if (spec.empty()) throw Error("hardware: an empty name was given; run `llmcost hw` for the list");
  std::error_code ec;
  // Anything that exists is read, so that a FIFO or device is refused by name (never waited on).
  if (fs::exists(spec, ec) && !fs::is_directory(spec, ec)) return parse_hardware(parse_config_file(spec), spec);
  fs::path dir = fs::path(config_dir) / "hardware";
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path p = dir / (spec + ext);
    if (spec.find('/') == std::string::npos && fs::is_regular_file(p, ec)) return parse_hardware(parse_config_file(p.string()), p.string());
  }
  auto all = list_hardware(config_dir);
  // Names match without regard to case; an alias (`aliases:` in the YAML, e.g. h100 for the SXM
  // part) too, and the spec then says which part was chosen.
  const std::string key = lower_ascii(spec);
  for (auto& h : all) {
    if (lower_ascii(h.name) == key || lower_ascii(fs::path(h.source_file).stem().string()) == key) {
      if (h.name != spec) h.resolved_note = "hardware \"" + escape_control_chars(spec) + "\" taken as " + h.name + " (" + h.description + ")";
      return h;
    }
  }
  for (auto& h : all)
    for (const auto& a : h.aliases)
      if (lower_ascii(a) == key) {
        h.resolved_note = "hardware \"" + escape_control_chars(spec) + "\" taken as " + h.name + " (" + h.description +
                          "); name another part exactly to choose it (`llmcost hw` lists them)";
        return h;
      }
  if (spec.find('/') != std::string::npos) throw Error(spec + ": cannot read file (No such file or directory)");
  std::string names;
  for (auto& h : all) names += (names.empty() ? "" : ", ") + h.name;
  std::vector<std::string> candidates;
  for (auto& h : all) {
    candidates.push_back(h.name);
    for (const auto& a : h.aliases) candidates.push_back(a);
  }
  const std::string close = closest_names(spec, candidates);
  throw Error("hardware \"" + escape_control_chars(spec) + "\" is neither a readable path nor a bundled hardware spec" +
              (close.empty() ? std::string() : "; did you mean: " + close) + "; known: " +
              (names.empty() ? std::string("(none in " + dir.string() + ")") : names));
}

}  // namespace llmcost
