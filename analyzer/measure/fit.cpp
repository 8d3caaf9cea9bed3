// `llmcost calibrate --from`: the four global efficiency figures of one hardware fit to measured
// runs (least squares of log predicted / measured, Nelder-Mead on log figures), and the hardware
// YAML with the result as a named profile.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "llmcost/error.h"
#include "llmcost/kv_cache.h"
#include "llmcost/measured.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"

namespace llmcost {

namespace {

constexpr int kParams = 4;
using Vec = std::array<double, kParams>;

EfficiencyFit from_log(const Vec& x) {
  EfficiencyFit f;
  f.mem_bw_fraction = std::min(1.0, std::exp(x[0]));
  f.tensor_fraction = std::min(1.0, std::exp(x[1]));
  f.step_overhead_s = std::exp(x[2]);
  f.collective_latency_s = std::exp(x[3]);
  return f;
}
Vec to_log(const EfficiencyFit& f) {
  return {std::log(f.mem_bw_fraction), std::log(f.tensor_fraction), std::log(std::max(f.step_overhead_s, 1e-7)),
          std::log(std::max(f.collective_latency_s, 1e-8))};
}

// Nelder-Mead over the free coordinates (the others held at x0).
Vec nelder_mead(const std::function<double(const Vec&)>& f, Vec x0, const std::array<bool, kParams>& free, int max_evals,
                int* evals) {
  std::vector<int> idx;
  for (int i = 0; i < kParams; ++i)
    if (free[i]) idx.push_back(i);
  const int n = static_cast<int>(idx.size());
  if (n == 0) return x0;
  std::vector<Vec> s(n + 1, x0);
  std::vector<double> fs(n + 1);
  for (int k = 0; k < n; ++k) s[k + 1][idx[k]] += 0.3;
  for (int k = 0; k <= n; ++k) fs[k] = f(s[k]), ++*evals;
  while (*evals < max_evals) {
    std::vector<int> order(n + 1);
    for (int k = 0; k <= n; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](int a, int b) { return fs[a] < fs[b]; });
    std::vector<Vec> s2;
    std::vector<double> f2;
    for (int k : order) s2.push_back(s[k]), f2.push_back(fs[k]);
    s = s2;
    fs = f2;
    double spread = 0;
    for (int k = 1; k <= n; ++k)
      for (int i : idx) spread = std::max(spread, std::fabs(s[k][i] - s[0][i]));
    if (fs[n] - fs[0] < 1e-14 && spread < 1e-6) break;
    Vec c = x0;
    for (int i : idx) {
      c[i] = 0;
      for (int k = 0; k < n; ++k) c[i] += s[k][i] / n;
    }
    auto along = [&](double t) {
      Vec p = c;
      for (int i : idx) p[i] = c[i] + t * (s[n][i] - c[i]);
      return p;
    };
    Vec xr = along(-1.0);
    double fr = f(xr);
    ++*evals;
    if (fr < fs[0]) {
      Vec xe = along(-2.0);
      double fe = f(xe);
      ++*evals;
      if (fe < fr) s[n] = xe, fs[n] = fe;
      else s[n] = xr, fs[n] = fr;
    } else if (fr < fs[n - 1]) {
      s[n] = xr, fs[n] = fr;
    } else {
      Vec xc = fr < fs[n] ? along(-0.5) : along(0.5);
      double fc = f(xc);
      ++*evals;
      if (fc < std::min(fr, fs[n])) {
        s[n] = xc, fs[n] = fc;
      } else {
        for (int k = 1; k <= n; ++k) {
          for (int i : idx) s[k][i] = s[0][i] + 0.5 * (s[k][i] - s[0][i]);
          fs[k] = f(s[k]);
          ++*evals;
        }
      }
    }
  }
  int best = static_cast<int>(std::min_element(fs.begin(), fs.end()) - fs.begin());
  return s[best];
}

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string sci(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  std::string s = buf;
  // YAML 1.2 floats need a dot or an exponent with a sign-free mantissa; %g gives 2e-05 -> 2.0e-05.
  if (s.find('e') != std::string::npos && s.find('.') == std::string::npos) s.insert(s.find('e'), ".0");
  return s;
}

}  // namespace

HardwareSpec with_efficiency(const HardwareSpec& hw, const EfficiencyFit& f, const std::string& source) {
  HardwareSpec out = hw;
  out.efficiency.mem_bw_fraction = SourcedValue{f.mem_bw_fraction, source};
  out.efficiency.tensor_fraction = SourcedValue{f.tensor_fraction, source};
  out.efficiency.step_overhead_s = SourcedValue{f.step_overhead_s, source};
  out.efficiency.collective_latency_s = SourcedValue{f.collective_latency_s, source};
  return out;
}

FitResult fit_efficiency(const std::vector<PublishedCase>& fit_cases, const std::vector<PublishedCase>& holdout_cases,
                         const HardwareSpec& hw, const std::string& config_dir, const EfficiencyFit& start) {
  if (fit_cases.empty()) throw Error("calibrate --from: no measured figures to fit", ErrorKind::BadInput);
  std::map<std::string, CompiledModel> models;
  auto model_of = [&](const PublishedCase& c) -> const CompiledModel& {
    const std::string key = c.model + "|" + c.precision + "|" + c.kv_dtype;
    auto it = models.find(key);
    if (it == models.end()) {
      ModelIR ir = load_model(c.model, config_dir);
      it = models.emplace(key, compile_model(ir, *parse_quant_scheme(c.precision), QuantPolicy{}, *parse_kv_dtype(c.kv_dtype),
                                             RoutingModel{})).first;
    }
    return it->second;
  };
  for (const auto& c : fit_cases)
    if (c.gpu != hw.name && c.gpu != hw.source_file)
      throw Error(c.file + ": hardware \"" + c.gpu + "\", but the fit is for \"" + hw.name +
                      "\"; expected measurements of one hardware type (calibrate --hw)",
                  ErrorKind::BadInput);
  auto predict_all = [&](const std::vector<PublishedCase>& cs, const HardwareSpec& h) {
    std::vector<PublishedResult> out;
    for (const auto& c : cs) {
      try {
        out.push_back(predict_published(c, model_of(c), h, EfficiencyMode::Derated));
      } catch (const Error& e) {
        PublishedResult r;
        r.c = c;
        r.why = e.what();
        out.push_back(r);
      }
    }
    return out;
  };
  auto objective_of = [&](const std::vector<PublishedResult>& rs) {
    double sum = 0;
    for (const auto& r : rs) sum += r.ok ? std::pow(std::log(r.ratio), 2) : 1e6;
    return sum;
  };
  const std::string src = "calibrate --from (fitting)";
  auto at = [&](const Vec& x) { return predict_all(fit_cases, with_efficiency(hw, from_log(x), src)); };
  const Vec x0 = to_log(start);
  auto r0 = at(x0);
  for (const auto& r : r0)
    if (!r.ok) throw Error(r.c.file + ": " + r.c.metric + " cannot be predicted: " + r.why, ErrorKind::BadInput);
  // A figure no fit case depends on (e.g. collective latency with every run on one device) stays
  // where it started: a step of +30% must move some prediction by 0.1%.
  std::array<bool, kParams> free{};
  for (int i = 0; i < kParams; ++i) {
    Vec x = x0;
    x[i] += std::log(1.3);
    auto r1 = at(x);
    for (size_t k = 0; k < r0.size(); ++k)
      if (r1[k].ok && std::fabs(std::log(r1[k].predicted / r0[k].predicted)) > 1e-3) free[i] = true;
  }
  FitResult res;
  Vec best = nelder_mead([&](const Vec& x) { return objective_of(at(x)); }, x0, free, 2000, &res.evaluations);
  // A restart from the optimum sheds a simplex that collapsed early.
  best = nelder_mead([&](const Vec& x) { return objective_of(at(x)); }, best, free, res.evaluations + 1500, &res.evaluations);
  res.fit = from_log(best);
  HardwareSpec fitted = with_efficiency(hw, res.fit, src);
  res.fit_results = predict_all(fit_cases, fitted);
  res.holdout_results = predict_all(holdout_cases, fitted);
  res.fit_rms_log_error = std::sqrt(objective_of(res.fit_results) / static_cast<double>(fit_cases.size()));
  for (int i = 0; i < kParams; ++i) res.determined[i] = free[i];
  return res;
}

std::string hardware_yaml_with_profile(const HardwareSpec& hw, const std::string& name, const std::string& engine,
                                       const EfficiencyFit& f, const std::string& source) {
  const std::string text = read_text_file(hw.source_file, kYamlInput);
  // Drop a top-level `profiles:` block (to the next top-level key) and write all profiles anew.
  std::string kept;
  bool in_profiles = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    const bool top = !line.empty() && line[0] != ' ' && line[0] != '\t' && line[0] != '#' && line[0] != '\n' && line[0] != '\r';
    if (top) in_profiles = line.rfind("profiles:", 0) == 0;
    if (!in_profiles) kept += line;
  }
  if (!kept.empty() && kept.back() != '\n') kept += '\n';
  std::string block = "profiles:                         # efficiency figures fit by `llmcost calibrate --from` (--profile NAME)\n";
  auto emit = [&](const std::string& n, const std::string& eng, const std::string& fitted_on, const EfficiencySpec& e) {
    block += "  " + n + ":\n";
    if (!eng.empty()) block += "    engine: " + yaml_quote(eng) + "\n";
    if (!fitted_on.empty()) block += "    fitted_on: " + yaml_quote(fitted_on) + "\n";
    auto fig = [&](const char* key, const std::optional<SourcedValue>& v) {
      if (v) block += std::string("    ") + key + ": {value: " + sci(v->value) + ", source: " + yaml_quote(v->source) + "}\n";
    };
    fig("mem_bw_fraction", e.mem_bw_fraction);
    fig("tensor_fraction", e.tensor_fraction);
    fig("gemm_m_half", e.gemm_m_half);
    fig("step_overhead_s", e.step_overhead_s);
    fig("collective_latency_s", e.collective_latency_s);
  };
  for (const auto& p : hw.profiles)
    if (p.name != name) emit(p.name, p.engine, p.fitted_on, p.efficiency);
  EfficiencySpec e;
  e.mem_bw_fraction = SourcedValue{f.mem_bw_fraction, source};
  e.tensor_fraction = SourcedValue{f.tensor_fraction, source};
  e.step_overhead_s = SourcedValue{f.step_overhead_s, source};
  e.collective_latency_s = SourcedValue{f.collective_latency_s, source};
  emit(name, engine, source, e);
  const std::string out = kept + block;
  (void)parse_hardware(parse_yaml(out, hw.source_file), hw.source_file);  // what is written must load
  return out;
}

}  // namespace llmcost
