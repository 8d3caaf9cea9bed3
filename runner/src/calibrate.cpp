// CPU calibration: read-only and triad bandwidth over buffers much larger than the last-level
// cache, fp32 and bf16-weight GEMM FLOP/s; medians over timed repetitions; hardware YAML writer.
#include "llmcost/calibrate.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "llmcost/safetensors.h"
#include "llmcost/value.h"

#ifdef LLMCOST_HAVE_BLAS
#include <cblas.h>
// Declared weak so that a netlib cblas.h / libblas (no thread control) still links.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace llmcost {

namespace {

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

// Thread t's slice [begin, end) of n elements, boundaries on 16-float (64-byte) multiples so
// slices never share a cache line.
std::pair<size_t, size_t> slice(size_t n, int t, int threads) {
  auto cut = [&](int i) -> size_t {
    if (i >= threads) return n;
    size_t c = static_cast<size_t>((static_cast<unsigned __int128>(n) * static_cast<unsigned>(i)) / static_cast<unsigned>(threads));
    return std::min(n, c & ~static_cast<size_t>(15));
  };
  return {cut(t), cut(t + 1)};
}

// Runs f(t) for t in [0, threads) on `threads` threads (the caller's thread is t = 0).
template <typename F>
void parallel(int threads, F&& f) {
  if (threads <= 1) {
    f(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) pool.emplace_back([&f, t] { f(t); });
  f(0);
  for (auto& th : pool) th.join();
}

typedef float v8f __attribute__((vector_size(32)));

// Cloned per ISA (picked at load time): wider loads read a little faster even when memory-bound,
// and calibration should report what the machine can do, not what the baseline ISA can.
__attribute__((target_clones("avx512f", "avx2", "default"))) float sum_slice(const float* a, size_t n) {
  // Four independent vector accumulators hide the add latency; loads are what is measured.
  v8f s0 = {}, s1 = {}, s2 = {}, s3 = {};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    v8f x0, x1, x2, x3;
    std::memcpy(&x0, a + i, 32);
    std::memcpy(&x1, a + i + 8, 32);
    std::memcpy(&x2, a + i + 16, 32);
    std::memcpy(&x3, a + i + 24, 32);
    s0 += x0;
    s1 += x1;
    s2 += x2;
    s3 += x3;
  }
  v8f s = (s0 + s1) + (s2 + s3);
  float r = 0.0f;
  for (int j = 0; j < 8; ++j) r += s[j];
  for (; i < n; ++i) r += a[i];
  return r;
}

uint64_t read_sysfs_size(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s.empty()) return 0;
  uint64_t mult = 1;
  char suffix = s.back();
  if (suffix == 'K') mult = 1024;
  else if (suffix == 'M') mult = 1024 * 1024;
  if (mult != 1) s.pop_back();
  try {
    return std::stoull(s) * mult;
  } catch (...) {
    return 0;
  }
}

std::string proc_field(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t\r") + 1);
      return v;
    }
  }
  return "";
}

uint64_t meminfo_bytes(const std::string& key) {
  std::string v = proc_field("/proc/meminfo", key);  // "24576000 kB"
  try {
    return v.empty() ? 0 : std::stoull(v) * 1024;
  } catch (...) {
    return 0;
  }
}

// Times `body` (one repetition, returns nothing) after one warm-up run: at least min_reps,
// then until `budget_s` has passed, at most max_reps. Returns seconds per repetition.
template <typename F>
std::vector<double> time_reps(F&& body, double budget_s, int min_reps, int max_reps) {
  body();  // warm-up: page faults, caches, thread start-up, BLAS buffers
  std::vector<double> secs;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < max_reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    body();
    auto t1 = std::chrono::steady_clock::now();
    secs.push_back(std::chrono::duration<double>(t1 - t0).count());
    double elapsed = std::chrono::duration<double>(t1 - start).count();
    if (r + 1 >= min_reps && elapsed >= budget_s) break;
  }
  return secs;
}

Stats rates(const std::vector<double>& secs, double work) {
  std::vector<double> r;
  r.reserve(secs.size());
  for (double s : secs) r.push_back(work / std::max(s, 1e-12));
  return summarize(r);
}

volatile float g_sink;  // keeps the read kernel's result alive

std::string iso_utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6e", v);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- kernels

BandwidthBuffer::BandwidthBuffer(size_t n_floats, int threads, float fill) : n_(n_floats) {
  threads = resolve_threads(threads);
  mapped_bytes_ = std::max<size_t>(n_floats * sizeof(float), 4096);
  void* p = ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error("calibrate: cannot allocate a " + std::to_string(mapped_bytes_) + "-byte buffer (" + std::strerror(errno) + ")");
#ifdef MADV_HUGEPAGE
  ::madvise(p, mapped_bytes_, MADV_HUGEPAGE);  // fewer TLB misses while streaming; advisory only
#endif
  p_ = static_cast<float*>(p);
  // First touch by the threads that will read each slice (NUMA placement).
  parallel(threads, [&](int t) {
    auto [b, e] = slice(n_, t, threads);
    for (size_t i = b; i < e; ++i) p_[i] = fill;
  });
}

BandwidthBuffer::~BandwidthBuffer() {
  if (p_) ::munmap(p_, mapped_bytes_);
}

double read_sum(const float* a, size_t n, int threads) {
  threads = resolve_threads(threads);
  std::vector<double> partial(static_cast<size_t>(threads) * 8, 0.0);  // 64 bytes apart: no false sharing
  parallel(threads, [&](int t) {
    auto [b, e] = slice(n, t, threads);
    partial[static_cast<size_t>(t) * 8] = sum_slice(a + b, e - b);
  });
  double s = 0.0;
  for (int t = 0; t < threads; ++t) s += partial[static_cast<size_t>(t) * 8];
  return s;
}

namespace {
__attribute__((target_clones("avx512f", "avx2", "default"))) void triad_slice(float* __restrict a, const float* __restrict b,
                                                                              const float* __restrict c, float s, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}
}  // namespace

void triad(float* a, const float* b, const float* c, float s, size_t n, int threads) {
  threads = resolve_threads(threads);
  parallel(threads, [&](int t) {
    auto [lo, hi] = slice(n, t, threads);
    triad_slice(a + lo, b + lo, c + lo, s, hi - lo);
  });
}

const char* gemm_impl_name() {
#ifdef LLMCOST_HAVE_BLAS
  return "openblas sgemm";
#else
  return "blocked loop";
#endif
}

void gemm_fp32(const float* a, const float* w, float* c, int m, int n, int k, int threads) {
  threads = resolve_threads(threads);
#ifdef LLMCOST_HAVE_BLAS
  if (openblas_set_num_threads) openblas_set_num_threads(threads);
  // C[m, n] = A[m, k] x W[n, k]^T
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, w, k, 0.0f, c, n);
#else
  // Rows of W split across threads; a block of W rows is reused across all rows of A while it
  // sits in cache.
  constexpr int kBlockN = 64;
  parallel(threads, [&](int t) {
    int n_blocks = (n + kBlockN - 1) / kBlockN;
    for (int nb = t; nb < n_blocks; nb += threads) {
      int n0 = nb * kBlockN, n1 = std::min(n, n0 + kBlockN);
      for (int i = 0; i < m; ++i) {
        const float* ar = a + static_cast<size_t>(i) * k;
        for (int j = n0; j < n1; ++j) {
          const float* wr = w + static_cast<size_t>(j) * k;
          float acc[8] = {};
          int p = 0;
          for (; p + 8 <= k; p += 8)
            for (int q = 0; q < 8; ++q) acc[q] += ar[p + q] * wr[p + q];
          float s = 0.0f;
          for (int q = 0; q < 8; ++q) s += acc[q];
          for (; p < k; ++p) s += ar[p] * wr[p];
          c[static_cast<size_t>(i) * n + j] = s;
        }
      }
    }
  });
#endif
}

void gemm_bf16_weights(const float* a, const uint16_t* w, float* c, int m, int n, int k, int threads) {
  threads = resolve_threads(threads);
  // Panels of W rows are widened to fp32 (in parallel), then multiplied; the panel is small
  // enough to stay in the last-level cache between conversion and use.
  constexpr int kPanelN = 256;
  std::vector<float> panel(static_cast<size_t>(kPanelN) * k);
  std::vector<float> c_panel(static_cast<size_t>(m) * kPanelN);
  for (int n0 = 0; n0 < n; n0 += kPanelN) {
    int nb = std::min(kPanelN, n - n0);
    size_t elems = static_cast<size_t>(nb) * k;
    const uint16_t* src = w + static_cast<size_t>(n0) * k;
    parallel(threads, [&](int t) {
      auto [b, e] = slice(elems, t, threads);
      bf16_to_fp32(src + b, panel.data() + b, e - b);
    });
    gemm_fp32(a, panel.data(), c_panel.data(), m, nb, k, threads);
    for (int i = 0; i < m; ++i)
      std::memcpy(c + static_cast<size_t>(i) * n + n0, c_panel.data() + static_cast<size_t>(i) * nb, sizeof(float) * nb);
  }
}

uint64_t last_level_cache_bytes() {
  uint64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream type(base + "type");
    std::string ty;
    if (!(type >> ty)) continue;
    if (ty == "Instruction") continue;
    best = std::max(best, read_sysfs_size(base + "size"));
  }
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (best == 0) {
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    best = static_cast<uint64_t>(std::max({l3, l2, 0L}));
  }
#endif
  return best;
}

// ---------------------------------------------------------------- calibration

Calibration calibrate_cpu(const CalibrationOptions& opts) {
  Calibration c;
  c.threads = resolve_threads(opts.threads);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) c.host = host;
  c.cpu_model = proc_field("/proc/cpuinfo", "model name");
  if (c.cpu_model.empty()) c.cpu_model = "unknown CPU";
  c.date_utc = iso_utc_now();
  c.memory_bytes = meminfo_bytes("MemTotal");
  c.llc_bytes = last_level_cache_bytes();
  c.buffer_bytes = opts.buffer_bytes ? opts.buffer_bytes : std::max<uint64_t>(8 * c.llc_bytes, 256ull << 20);
  c.buffer_bytes -= c.buffer_bytes % 64;
  if (c.buffer_bytes < 64) throw Error("calibrate: buffer size must be at least 64 bytes");
  if (opts.gemm_m <= 0 || opts.gemm_n <= 0 || opts.gemm_k <= 0) throw Error("calibrate: GEMM dimensions must be positive");
  if (!(opts.seconds > 0.0)) throw Error("calibrate: --seconds must be positive");
  uint64_t avail = meminfo_bytes("MemAvailable");
  uint64_t need = (opts.measure_triad ? 3 : 1) * c.buffer_bytes;
  if (avail && need > avail / 2)
    throw Error("calibrate: the bandwidth buffers need " + std::to_string(need) + " bytes (" + std::to_string(need / c.buffer_bytes) +
                " x " + std::to_string(c.buffer_bytes) + ") but only " + std::to_string(avail) +
                " bytes are available (half of MemAvailable); pass a smaller buffer");
  // The time is shared by the measurements asked for (read always; triad; the two GEMMs).
  const double budget = opts.seconds / (1.0 + (opts.measure_triad ? 1.0 : 0.0) + (opts.measure_gemm ? 2.0 : 0.0));
  const size_t n = c.buffer_bytes / sizeof(float);
  // Each measurement named as it starts, with its share of --seconds.
  auto progress = [&](const char* what) {
    if (!opts.progress) return;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s (about %.3g s)", what, budget);
    opts.progress(buf);
  };

  {
    BandwidthBuffer b(n, c.threads, 1.0f);
    progress("read");
    auto secs = time_reps([&] { g_sink = static_cast<float>(read_sum(b.data(), n, c.threads)); }, budget, opts.min_reps, opts.max_reps);
    c.read_bw_bytes_per_s = rates(secs, static_cast<double>(n) * sizeof(float));
    for (double t : secs) c.read_bw_samples.push_back(static_cast<double>(n) * sizeof(float) / std::max(t, 1e-12));
  }
  if (opts.measure_triad) {
    BandwidthBuffer a(n, c.threads, 0.0f), b(n, c.threads, 1.0f), cc(n, c.threads, 2.0f);
    progress("triad");
    // STREAM convention: 2 arrays read + 1 written; write-allocate traffic is not counted.
    auto secs = time_reps([&] { triad(a.data(), b.data(), cc.data(), 3.0f, n, c.threads); }, budget, opts.min_reps, opts.max_reps);
    c.triad_bw_bytes_per_s = rates(secs, 3.0 * static_cast<double>(n) * sizeof(float));
  }

  if (!opts.measure_gemm) return c;
  const int m = opts.gemm_m, gn = opts.gemm_n, k = opts.gemm_k;
  c.gemm_m = m;
  c.gemm_n = gn;
  c.gemm_k = k;
  const double flops = 2.0 * m * gn * k;
  std::vector<float> act(static_cast<size_t>(m) * k), w(static_cast<size_t>(gn) * k), out(static_cast<size_t>(m) * gn);
  // Small, deterministic values: no denormals, no overflow.
  for (size_t i = 0; i < act.size(); ++i) act[i] = static_cast<float>(static_cast<int>(i % 17) - 8) / 16.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 13) - 6) / 32.0f;
  progress("gemm_fp32");
  auto secs = time_reps([&] { gemm_fp32(act.data(), w.data(), out.data(), m, gn, k, c.threads); }, budget, opts.min_reps, opts.max_reps);
  c.gemm_fp32_flops_per_s = rates(secs, flops);
  c.gemm_fp32_impl = gemm_impl_name();

  std::vector<uint16_t> wb(w.size());
  fp32_to_bf16(w.data(), wb.data(), w.size());
  std::vector<float>().swap(w);
  progress("gemm_bf16");
  secs = time_reps([&] { gemm_bf16_weights(act.data(), wb.data(), out.data(), m, gn, k, c.threads); }, budget, opts.min_reps,
                   opts.max_reps);
  c.gemm_bf16_flops_per_s = rates(secs, flops);
  c.gemm_bf16_impl = std::string("bf16 -> fp32 panels + ") + gemm_impl_name();
  return c;
}

HardwareSpec calibration_hardware(const Calibration& c, const std::string& name) {
  std::string file = "calibration of " + (c.host.empty() ? std::string("this machine") : c.host);
  return parse_hardware(parse_yaml(calibration_yaml(c, name), file), file);
}

std::string default_calibration_name(const Calibration& c) {
  std::string name = (c.backend == "cuda" ? "cuda-" : "cpu-") + (c.host.empty() ? std::string("local") : c.host);
  for (char& ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) ch = '-';
  return name;
}

#ifndef LLMCOST_WITH_CUDA
Calibration calibrate_cuda(const CalibrationOptions&) {
  throw Error("cuda: not available: built without the CUDA backend", ErrorKind::DeviceUnavailable);
}
#endif

namespace {

std::string stats_note(const Stats& s, double scale, const char* unit) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "median of %zu reps; p10 %.2f, p90 %.2f %s", s.n, s.p10 / scale, s.p90 / scale, unit);
  return std::string(buf);
}

// The GPU form of calibration_yaml (backend "cuda"): kind gpu, copy bandwidth and launch latency.
std::string calibration_yaml_gpu(const Calibration& c, const std::string& name) {
  const std::string where = "llmcost calibrate --backend cuda on " + c.host + " (" + c.cpu_model + "), " + c.date_utc;
  const std::string buf_mib = std::to_string(c.buffer_bytes >> 20) + " MiB";
  std::ostringstream y;
  y << "# Measured by `llmcost calibrate --backend cuda`: achievable figures of this GPU, not datasheet peaks.\n"
    << "# GB/s = 1e9 bytes/s. Numbers are medians over repetitions timed with CUDA events after a warm-up.\n"
    << "name: " << yaml_quote(name) << "\n"
    << "description: " << yaml_quote(c.cpu_model + " (" + std::to_string(c.threads) + " SMs), calibrated") << "\n"
    << "kind: gpu\n"
    << "memory_bytes: {value: " << c.memory_bytes << ", source: " << yaml_quote("cudaGetDeviceProperties totalGlobalMem; " + where) << "}\n"
    << "mem_bw_bytes_per_s: {value: " << num(c.read_bw_bytes_per_s.median)
    << ", source: " << yaml_quote("measured HBM read bandwidth (not the datasheet figure); " + where) << "}\n"
    << "peak_flops_per_s:\n"
    << "  fp32: {value: " << num(c.gemm_fp32_flops_per_s.median)
    << ", source: " << yaml_quote("measured " + c.gemm_fp32_impl + " (not the datasheet figure); " + where) << "}\n"
    << "  bf16: {value: " << num(c.gemm_bf16_flops_per_s.median)
    << ", source: " << yaml_quote("measured " + c.gemm_bf16_impl + " (not the datasheet figure); " + where) << "}\n"
    << "calibrated:\n"
    << "  read_bw_bytes_per_s: {value: " << num(c.read_bw_bytes_per_s.median) << ", source: "
    << yaml_quote(where + "; streaming sum over a " + buf_mib + " buffer; " + stats_note(c.read_bw_bytes_per_s, 1e9, "GB/s")) << "}\n"
    << "  copy_bw_bytes_per_s: {value: " << num(c.copy_bw_bytes_per_s.median) << ", source: "
    << yaml_quote(where + "; device-to-device cudaMemcpy of " + buf_mib + ", bytes read + written counted; " +
                  stats_note(c.copy_bw_bytes_per_s, 1e9, "GB/s"))
    << "}\n"
    << "  gemm_flops_per_s:\n"
    << "    fp32: {value: " << num(c.gemm_fp32_flops_per_s.median) << ", source: "
    << yaml_quote(where + "; " + c.gemm_fp32_impl + "; " + stats_note(c.gemm_fp32_flops_per_s, 1e12, "TFLOP/s")) << "}\n"
    << "    bf16: {value: " << num(c.gemm_bf16_flops_per_s.median) << ", source: "
    << yaml_quote(where + "; " + c.gemm_bf16_impl + "; " + stats_note(c.gemm_bf16_flops_per_s, 1e12, "TFLOP/s")) << "}\n"
    << "  launch_latency_s: {value: " << num(c.launch_latency_s.median) << ", source: "
    << yaml_quote(where + "; per empty kernel, 1000 launched back to back; " + stats_note(c.launch_latency_s, 1e-6, "us")) << "}\n"
    << "  measured_on: {host: " << yaml_quote(c.host) << ", gpu: " << yaml_quote(c.cpu_model) << "}\n"
    << "  date: " << yaml_quote(c.date_utc) << "\n";
  return y.str();
}

}  // namespace

std::string calibration_yaml(const Calibration& c, const std::string& name) {
  if (c.backend == "cuda") return calibration_yaml_gpu(c, name);
  const std::string where = "llmcost calibrate on " + c.host + ", " + c.date_utc + ", " + std::to_string(c.threads) + " threads";
  const std::string buf_mib = std::to_string(c.buffer_bytes >> 20) + " MiB";
  std::string shape = std::to_string(c.gemm_m) + "x" + std::to_string(c.gemm_n) + "x" + std::to_string(c.gemm_k);
  std::ostringstream y;
  y << "# Measured by `llmcost calibrate --backend cpu`: achievable figures of this machine, not datasheet peaks.\n"
    << "# GB/s = 1e9 bytes/s. Numbers are medians over timed repetitions after a warm-up.\n"
    << "name: " << yaml_quote(name) << "\n"
    << "description: " << yaml_quote(c.cpu_model + " (" + std::to_string(c.threads) + " threads), calibrated") << "\n"
    << "kind: cpu\n";
  if (c.memory_bytes)
    y << "memory_bytes: {value: " << c.memory_bytes << ", source: " << yaml_quote("/proc/meminfo MemTotal on " + c.host) << "}\n";
  else
    y << "memory_bytes: {value: " << c.buffer_bytes * 3 << ", source: \"unknown: /proc/meminfo unreadable; the calibration buffers' size\"}\n";
  y << "mem_bw_bytes_per_s: {value: " << num(c.read_bw_bytes_per_s.median)
    << ", source: " << yaml_quote("measured read-only bandwidth (no datasheet figure for this machine); " + where) << "}\n"
    << "peak_flops_per_s:\n"
    << "  fp32: {value: " << num(c.gemm_fp32_flops_per_s.median)
    << ", source: " << yaml_quote("measured " + c.gemm_fp32_impl + " " + shape + " (no datasheet figure); " + where) << "}\n"
    << "  bf16: {value: " << num(c.gemm_bf16_flops_per_s.median)
    << ", source: " << yaml_quote("measured " + c.gemm_bf16_impl + " " + shape + " (no datasheet figure); " + where) << "}\n"
    << "calibrated:\n"
    << "  read_bw_bytes_per_s: {value: " << num(c.read_bw_bytes_per_s.median) << ", source: "
    << yaml_quote(where + "; sum over a " + buf_mib + " buffer; " + stats_note(c.read_bw_bytes_per_s, 1e9, "GB/s")) << "}\n";
  if (c.triad_bw_bytes_per_s.n > 0)
    y << "  triad_bw_bytes_per_s: {value: " << num(c.triad_bw_bytes_per_s.median) << ", source: "
      << yaml_quote(where + "; a = b + s*c over 3 x " + buf_mib + ", 12 bytes per element counted; " +
                    stats_note(c.triad_bw_bytes_per_s, 1e9, "GB/s"))
      << "}\n";
  y << "  gemm_flops_per_s:\n"
    << "    fp32: {value: " << num(c.gemm_fp32_flops_per_s.median) << ", source: "
    << yaml_quote(where + "; " + c.gemm_fp32_impl + " m x n x k = " + shape + "; " +
                  stats_note(c.gemm_fp32_flops_per_s, 1e9, "GFLOP/s"))
    << "}\n"
    << "    bf16: {value: " << num(c.gemm_bf16_flops_per_s.median) << ", source: "
    << yaml_quote(where + "; " + c.gemm_bf16_impl + " m x n x k = " + shape + "; " +
                  stats_note(c.gemm_bf16_flops_per_s, 1e9, "GFLOP/s"))
    << "}\n"
    << "  threads: " << c.threads << "\n"
    << "  measured_on: {host: " << yaml_quote(c.host) << ", cpu: " << yaml_quote(c.cpu_model) << "}\n"
    << "  date: " << yaml_quote(c.date_utc) << "\n";
  return y.str();
}

}  // namespace llmcost
