// Backend-independent parts of the runner: --layers slice selection, --routing parsing, the
// slice memory prediction and the check against free memory, and the backend registry.
#include "llmcost/backend.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "llmcost/memory.h"
#include "llmcost/value.h"
#include "strf.h"

namespace llmcost {

std::unique_ptr<Backend> make_cpu_backend();  // cpu/cpu_backend.cpp
#ifdef LLMCOST_WITH_CUDA
std::unique_ptr<Backend> make_cuda_backend();  // cuda/cuda_backend.cpp
#endif

namespace {

// One entry per backend of the source tree (ggml-backend-reg.cpp keeps the same kind of list).
// A backend built into this binary has `make`; one that is not says why. The only #ifdef of the
// registry: the CUDA sources are added to the target by CMake when CUDA is found.
struct BackendReg {
  const char* name;
  std::unique_ptr<Backend> (*make)();
  const char* unavailable;
};

#ifdef LLMCOST_WITH_CUDA
constexpr BackendReg kCudaReg{"cuda", make_cuda_backend, ""};
#else
constexpr BackendReg kCudaReg{"cuda", nullptr, "built without the CUDA backend"};
#endif

const BackendReg kRegistry[] = {
    {"cpu", make_cpu_backend, ""},
    kCudaReg,
};

}  // namespace

double gemm_rate_at(const RunCalibration& c, double rows) {
  const auto& t = c.gemm_rate_by_rows;
  if (t.empty() || !(rows > 0)) return c.gemm_flops_per_s;
  if (rows <= t.front().first) return t.front().second;
  if (rows >= t.back().first) return t.back().second;
  for (size_t i = 1; i < t.size(); ++i)
    if (rows <= t[i].first) {
      const double x0 = std::log(t[i - 1].first), x1 = std::log(t[i].first);
      const double y0 = std::log(t[i - 1].second), y1 = std::log(t[i].second);
      const double f = x1 > x0 ? (std::log(rows) - x0) / (x1 - x0) : 0.0;
      return std::exp(y0 + f * (y1 - y0));
    }
  return t.back().second;
}

void summarize_read_bw(RunCalibration& c) {
  if (c.read_bw_samples.empty()) return;
  const Stats all = summarize(c.read_bw_samples);
  const double spread = all.rel_spread();
  const size_t before = c.samples_before_run == 0 ? c.read_bw_samples.size() : std::min(c.samples_before_run, c.read_bw_samples.size());
  const std::vector<double> a(c.read_bw_samples.begin(), c.read_bw_samples.begin() + static_cast<std::ptrdiff_t>(before));
  const std::vector<double> b(c.read_bw_samples.begin() + static_cast<std::ptrdiff_t>(before), c.read_bw_samples.end());
  const Stats sa = summarize(a);
  c.read_bw_bytes_per_s = all.max;
  std::string drift_text;
  double drift = 0;
  if (!b.empty() && sa.max > 0) {
    const Stats sb = summarize(b);
    drift = sb.max / sa.max - 1.0;
    drift_text = strf("; best %.2f GB/s in the calibration, %.2f GB/s between the %zu run steps (%+.0f%%)", sa.max / 1e9,
                      sb.max / 1e9, b.size(), drift * 100);
    if (std::fabs(drift) > kUnstableSpread) {
      // The machine changed under the run: predict the steps with what was left between them.
      const double k = sb.max / sa.max;
      c.read_bw_bytes_per_s = sb.max;
      c.gemm_flops_per_s *= k;
      for (auto& [m, rate] : c.gemm_rate_by_rows) rate *= k;
      drift_text += strf(", so the steps are predicted at that bandwidth and every GEMM rate x %.2f", k);
    }
  }
  c.unstable = spread > kUnstableSpread || std::fabs(drift) > kUnstableSpread;
  c.stability = strf("%sread bandwidth best %.2f GB/s of %zu samples (median %.2f, p10 %.2f, p90 %.2f GB/s: spread %.0f%%)%s",
                     c.unstable ? "UNSTABLE (> 10%): " : "stable: ", c.read_bw_bytes_per_s / 1e9, all.n, all.median / 1e9,
                     all.p10 / 1e9, all.p90 / 1e9, spread * 100, drift_text.c_str());
}

std::optional<RoutingOverride> parse_routing_override(const std::string& text) {
  RoutingOverride r;
  if (text == "router") return r;
  if (text == "uniform") return RoutingOverride{RoutingOverride::Uniform, 1.0};
  if (text == "fixed") return RoutingOverride{RoutingOverride::Fixed, 1.0};
  if (text.rfind("zipf:", 0) == 0) {
    const std::string num = text.substr(5);
    char* end = nullptr;
    double s = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || !(s > 0) || s > 100) return std::nullopt;
    return RoutingOverride{RoutingOverride::Zipf, s};
  }
  return std::nullopt;
}

std::string routing_override_name(const RoutingOverride& r) {
  switch (r.kind) {
    case RoutingOverride::Uniform: return "uniform";
    case RoutingOverride::Fixed: return "fixed";
    case RoutingOverride::Zipf: return strf("zipf:%g", r.zipf_s);
    default: return "router";
  }
}

namespace {

bool parse_count(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::stoll(s);
  return true;
}

}  // namespace

std::vector<int> select_layers(const ModelIR& ir, const std::string& spec) {
  const std::string where = "--layers \"" + spec + "\"";
  int64_t n = 0;
  std::vector<int> out;
  if (parse_count(spec, n)) {
    if (n < 1 || n > static_cast<int64_t>(ir.layers.size()))
      throw Error(strf("%s: expected 1..%zu (the model's layers), got %lld", where.c_str(), ir.layers.size(), (long long)n));
    for (int64_t i = 0; i < n; ++i) out.push_back(ir.layers[static_cast<size_t>(i)].index);
    return out;
  }
  int64_t want_dense = 0, want_moe = 0;
  bool any = false;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    int64_t c = 0;
    if (colon == std::string::npos || !parse_count(item.substr(colon + 1), c))
      throw Error(where + ": expected N or a list like dense:1,moe:2, got item \"" + item + "\"");
    const std::string kind = item.substr(0, colon);
    if (kind == "dense") want_dense += c;
    else if (kind == "moe") want_moe += c;
    else throw Error(where + ": layer kind must be dense or moe, got \"" + kind + "\"");
    any = true;
  }
  if (!any || want_dense + want_moe == 0) throw Error(where + ": expected at least one layer");
  int64_t have_dense = 0, have_moe = 0;
  for (const Layer& L : ir.layers) (L.is_moe ? have_moe : have_dense)++;
  if (want_dense > have_dense)
    throw Error(strf("%s: %s has %lld dense layers, asked for %lld", where.c_str(), ir.name.c_str(), (long long)have_dense, (long long)want_dense));
  if (want_moe > have_moe)
    throw Error(strf("%s: %s has %lld MoE layers, asked for %lld", where.c_str(), ir.name.c_str(), (long long)have_moe, (long long)want_moe));
  int64_t d = 0, m = 0;
  for (const Layer& L : ir.layers) {
    if (L.is_moe ? (m++ < want_moe) : (d++ < want_dense)) out.push_back(L.index);
  }
  return out;
}

ModelIR slice_model(const ModelIR& ir, const std::vector<int>& layers) {
  ModelIR s = ir;
  s.layers.clear();
  s.mtp_layers.clear();
  s.n_mtp_layers = 0;
  for (int idx : layers) {
    bool found = false;
    for (const Layer& L : ir.layers)
      if (L.index == idx) {
        s.layers.push_back(L);
        found = true;
        break;
      }
    if (!found) throw Error(strf("%s: no decoder layer %d", ir.name.c_str(), idx));
  }
  s.n_layers = static_cast<int64_t>(s.layers.size());
  return s;
}

SliceMemory predict_slice_memory(const ModelIR& slice, const BackendOptions& opts) {
  SliceMemory m;
  QuantPolicy all;  // every tensor in the runner's dtype: the runner stores all matmuls and tables alike
  all.router = all.embedding = all.lm_head = all.other = true;
  m.weight_bytes = weight_bytes(slice, opts.weight_dtype == WeightDtype::BF16 ? QuantScheme::BF16 : QuantScheme::FP32, all);
  const int64_t positions = checked_mul(std::max<int64_t>(1, opts.max_batch), std::max<int64_t>(1, opts.max_context));
  int64_t per_pos = 0;
  for (const Layer& L : slice.layers)
    for (const Op& op : L.ops)
      if (op.kind == OpKind::Attention) {
        const AttentionSpec& a = op.attn;
        per_pos += a.type == AttentionType::MLA ? (a.kv_lora_rank + a.qk_rope_head_dim) * 2
                                                : a.n_kv_heads * (a.head_dim + a.v_head_dim) * 2;
      }
  m.kv_bytes = checked_mul(per_pos, positions);
  // Activations: a few [tokens, max(width)] fp32 buffers plus the logits; prefill is the largest.
  int64_t width = slice.d_model;
  for (const Layer& L : slice.layers)
    for (const Op& op : L.ops) {
      width = std::max(width, op.mlp.d_ff * 2);
      width = std::max(width, op.attn.n_heads * std::max(op.attn.head_dim, op.attn.kv_lora_rank));
    }
  const int64_t step_tokens = opts.max_step_tokens > 0 ? opts.max_step_tokens : positions;
  m.scratch_bytes = checked_mul(step_tokens, checked_mul(8 * width + slice.vocab_size, 4));
  return m;
}

uint64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  uint64_t v = 0;
  while (f >> key >> v >> unit)
    if (key == "MemAvailable:") return v * 1024;
  return 0;
}

void check_slice_fits(const ModelIR& slice, const SliceMemory& need, const FreeMemory& free) {
  const uint64_t available_bytes = free.bytes;
  if (available_bytes == 0 || static_cast<uint64_t>(need.total_bytes()) <= available_bytes) return;
  throw Error(strf(
      "%s: the slice of %zu layer(s) needs %.2f GB (weights %.2f GB, KV cache %.2f GB, activations %.2f GB) "
      "but only %.2f GB is available (%s); choose fewer layers or a smaller batch/context "
      "(GB = 1e9 bytes)",
      slice.name.c_str(), slice.layers.size(), need.total_bytes() / 1e9, need.weight_bytes / 1e9, need.kv_bytes / 1e9,
      need.scratch_bytes / 1e9, available_bytes / 1e9, free.source.c_str()));
}

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  for (const BackendReg& r : kRegistry) out.push_back(BackendInfo{r.name, r.make != nullptr, r.unavailable});
  return out;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  std::string names;
  for (const BackendReg& r : kRegistry) {
    if (name == r.name) {
      if (!r.make) throw Error(name + ": not available: " + r.unavailable, ErrorKind::DeviceUnavailable);
      return r.make();
    }
    names += names.empty() ? r.name : std::string(", ") + r.name;
  }
  throw Error("--backend \"" + name + "\": expected one of " + names);
}

}  // namespace llmcost
