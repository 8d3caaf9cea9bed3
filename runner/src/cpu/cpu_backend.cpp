// The CPU backend: kernels and buffers for the executor (executor.h walks the model). Weights bf16
// or fp32 as weights.h stages them (into huge-page host arrays), fp32 activations, bf16 KV cache.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <limits>
#include <map>
#include <numeric>
#include <thread>

#include "llmcost/backend.h"
#include "llmcost/calibrate.h"
#include "llmcost/cpu_kernels.h"
#include "llmcost/safetensors.h"
#include "llmcost/value.h"
#include "llmcost/weights.h"
#include "executor.h"
#include "strf.h"

namespace llmcost {

namespace {

using cpu::WeightView;


// ---------------------------------------------------------------- stored tensors

// Weights and KV caches are streamed every step: allocate them 2 MiB-aligned and ask for
// transparent huge pages (MADV_HUGEPAGE; this box's THP mode is "madvise"). With 4 KiB pages the
// TLB misses cost bandwidth: the calibration's read buffer (which asks for huge pages) read 55-62
// GB/s when it got them and ~35 GB/s when it did not.
template <class T>
struct HugePageAlloc {
  using value_type = T;
  HugePageAlloc() = default;
  template <class U>
  HugePageAlloc(const HugePageAlloc<U>&) {}
  static constexpr size_t kAlign = size_t{1} << 21;
  T* allocate(size_t n) {
    if (n > (std::numeric_limits<std::ptrdiff_t>::max() - kAlign) / sizeof(T)) throw std::bad_alloc();
    const size_t bytes = std::max<size_t>(kAlign, (n * sizeof(T) + kAlign - 1) / kAlign * kAlign);
    void* p = std::aligned_alloc(kAlign, bytes);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (bytes >= (size_t{4} << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);  // advisory only
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U>
  bool operator==(const HugePageAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAlloc<U>&) const { return false; }
};
template <class T>
using HugeVec = std::vector<T, HugePageAlloc<T>>;

struct Stored final : DeviceTensor {
  WeightDtype dtype = WeightDtype::FP32;
  HugeVec<uint16_t> bf16;
  HugeVec<float> f32;
  int64_t rows = 0, cols = 0;  // 2-D view: [shape[0], rest] (vectors: [1, n])
  int64_t numel() const { return rows * cols; }
  WeightView view() const {
    return WeightView{dtype == WeightDtype::BF16 ? static_cast<const void*>(bf16.data()) : f32.data(), dtype, rows, cols,
                      cols};
  }
  float at(int64_t i) const { return dtype == WeightDtype::BF16 ? bf16_to_fp32(bf16[static_cast<size_t>(i)]) : f32[static_cast<size_t>(i)]; }
  const float* vec() const { return f32.data(); }  // Vector tensors are always fp32
};

using TR = TensorRole;

// An attention op's caches, bf16. Standard: k [B][n_kv][ctx][head_dim], v [B][n_kv][ctx][v_head_dim]
// (a head's keys contiguous); MLA: k = compressed c_kv [B][ctx][kv_lora_rank], v = k_pe [B][ctx][qk_rope_head_dim].
struct KvCache {
  KvLayout layout;
  HugeVec<uint16_t> k, v;
};

// Staging writes straight into each tensor's huge-page array: one copy of the weights, ever.
class StoreSink final : public WeightSink {
 public:
  explicit StoreSink(WeightTable<Stored>& table) : table_(table) {}
  void* host_buffer(const WeightSlot& slot) override {
    Stored& s = table_.add(slot);
    s.dtype = slot.dtype;
    s.rows = slot.rows;
    s.cols = slot.cols;
    const size_t n = static_cast<size_t>(slot.numel());
    if (s.dtype == WeightDtype::BF16) {
      s.bf16.resize(n);
      return s.bf16.data();
    }
    s.f32.resize(n);
    return s.f32.data();
  }

 private:
  WeightTable<Stored>& table_;
};


// ---------------------------------------------------------------- small math

void rms_norm_rows(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const float* w, double eps) {
  for (int64_t t = 0; t < T; ++t) {
    const float* x = in + t * ld;
    float* y = out + t * ld;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    for (int64_t i = 0; i < d; ++i) y[i] = x[i] * r * (w ? w[i] : 1.0f);
  }
}

void layer_norm_rows(const float* in, float* out, int64_t T, int64_t d, const float* w, const float* b, double eps) {
  for (int64_t t = 0; t < T; ++t) {
    const float* x = in + t * d;
    float* y = out + t * d;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i) mean += x[i];
    mean /= static_cast<double>(d);
    for (int64_t i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
    const double r = 1.0 / std::sqrt(var / static_cast<double>(d) + eps);
    for (int64_t i = 0; i < d; ++i) y[i] = static_cast<float>((x[i] - mean) * r) * w[i] + (b ? b[i] : 0.0f);
  }
}

inline float activate(Activation a, float x) {
  switch (a) {
    case Activation::SiLU: return x / (1.0f + std::exp(-x));
    case Activation::GeLU: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Activation::GeLUTanh:
      return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case Activation::ReLU: return x > 0 ? x : 0.0f;
    case Activation::ReLU2: return x > 0 ? x * x : 0.0f;
    default: return x;
  }
}

// HF rotate_half RoPE on the first `rot` dims of a head vector at position `pos`.
void apply_rope(float* v, int64_t rot, int64_t pos, double theta) {
  const int64_t half = rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double inv = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(rot));
    const double ang = static_cast<double>(pos) * inv;
    const float c = static_cast<float>(std::cos(ang)), s = static_cast<float>(std::sin(ang));
    const float x1 = v[i], x2 = v[i + half];
    v[i] = x1 * c - x2 * s;
    v[i + half] = x2 * c + x1 * s;
  }
}

void softmax_inplace(float* s, int64_t n) { cpu::softmax_f32(s, n); }

const Stored& S(const DeviceTensor& t) { return static_cast<const Stored&>(t); }


// ---------------------------------------------------------------- the backend

class CpuBackend final : public Backend, private Kernels {
 public:
  std::string name() const override { return "cpu"; }
  std::string device() const override;
  void prepare(const ModelIR& ir, const BackendOptions& opts) override;
  void reset(int64_t batch) override;
  void fill_kv(int64_t batch, int64_t context) override;
  void decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) override {
    executor().decode(tokens, logits, prof);
  }
  void prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits, Profiler* prof) override {
    executor().prefill(tokens, seq_len, logits, prof);
  }
  std::unique_ptr<Profiler> make_profiler() const override { return std::make_unique<CpuProfiler>(); }
  std::function<double()> make_read_probe(int threads) const override;
  RunCalibration calibrate(int threads, WeightDtype dt,
                           const std::function<void(const std::string&)>& progress) const override;
  FreeMemory free_memory() const override { return FreeMemory{available_memory_bytes(), "/proc/meminfo MemAvailable"}; }
  const StepWork& last_step() const override { return executor().last_step(); }
  std::vector<float> tensor_values(const std::string& hf_name) const override;

 private:
  Executor& executor() const {
    if (!exec_) throw Error("runner: the cpu backend has no prepared model (call prepare first)");
    return *exec_;
  }
  KvCache& kv(const Op& op) { return kv_.at(&op); }
  // Cache entry of (sequence, KV head, position) in keys (`value` false) or values.
  uint16_t* cache_at(KvCache& c, bool value, int64_t seq, int64_t head, int64_t pos) const {
    const int64_t heads = c.layout.kv_heads, hd = value ? c.layout.v_head_dim() : c.layout.k_head_dim();
    return (value ? c.v : c.k).data() + ((seq * heads + head) * max_ctx_ + pos) * hd;
  }

  // ---- Kernels
  const DeviceTensor* weight(const Op& op, TensorRole role, bool bias, int64_t expert) const override;
  std::unique_ptr<DeviceBuffer> alloc(int64_t floats) override;
  void to_host(const float* src, int64_t n, float* dst) override { std::copy_n(src, n, dst); }
  void synchronize() override {}
  void matmul(const float* x, int64_t M, int64_t ldx, const DeviceTensor& w, float* y, int64_t ldy) override {
    cpu::matmul(x, M, ldx, S(w).view(), y, ldy, threads_);
  }
  void add_bias(const DeviceTensor& b, float* y, int64_t M, int64_t ldy) override;
  void rms_norm(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const DeviceTensor* w, double eps) override {
    rms_norm_rows(in, out, T, d, ld, w ? S(*w).vec() : nullptr, eps);
  }
  void layer_norm(const float* in, float* out, int64_t T, int64_t d, const DeviceTensor& w, const DeviceTensor* b,
                  double eps) override {
    layer_norm_rows(in, out, T, d, S(w).vec(), b ? S(*b).vec() : nullptr, eps);
  }
  void rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
            double theta) override;
  void kv_store(const Op& op, const float* k, int64_t ldk, const float* v, int64_t ldv, const Rows& rows) override;
  void attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) override;
  void mla_attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) override;
  void glu(Activation act, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M,
           int64_t n) override;
  void activate(Activation act, float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] = ::llmcost::activate(act, x[i]);
  }
  void scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g) override;
  void route(const float* logits, int64_t T, const MoeSpec& m, const DeviceTensor* correction, int32_t* idx,
             float* w) override;
  void embed_add(const DeviceTensor& table, const int64_t* ids, int64_t T, int64_t d, float mult, float* x) override;
  void add(float* y, const float* x, int64_t n) override {
    for (int64_t j = 0; j < n; ++j) y[j] += x[j];
  }
  void copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) override {
    for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * lds, cols, dst + r * ldd);
  }
  void fill_zero(float* x, int64_t n) override { std::fill(x, x + n, 0.0f); }
  void gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t n, float* dst) override {
    for (int64_t i = 0; i < n; ++i) std::copy_n(src + ids[i] * d, d, dst + i * d);
  }
  void scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t n, float* dst) override {
    for (int64_t i = 0; i < n; ++i) cpu::axpy_f32(w[i], src + i * d, dst + ids[i] * d, d);
  }

  ModelIR ir_;
  BackendOptions opts_;
  int threads_ = 1;
  int64_t max_ctx_ = 0;
  WeightTable<Stored> weights_;
  std::map<const Op*, KvCache> kv_;  // attention ops
  std::unique_ptr<Executor> exec_;
};

struct HostBuffer final : DeviceBuffer {
  std::unique_ptr<float[]> mem;
};

std::string CpuBackend::device() const {
  std::string model = "CPU";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* c = std::strchr(line, ':');
        if (c) {
          model = c + 1;
          while (!model.empty() && (model.front() == ' ' || model.front() == '\t')) model.erase(model.begin());
          while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.pop_back();
        }
        break;
      }
    std::fclose(f);
  }
  return strf("%s (%d threads, %s, %s)", model.c_str(), threads_, cpu::simd_isa(),
              cpu::have_blas() ? "OpenBLAS sgemm for prefill" : "no BLAS");
}

// The read bandwidth buffer of the calibration: at least 1 GiB and 4x the largest cache the kernel
// (sysfs) or libc (sysconf) reports, so no part of it stays in a large L3.
size_t calibration_buffer_bytes() {
  uint64_t llc = last_level_cache_bytes();
#ifdef _SC_LEVEL3_CACHE_SIZE
  llc = std::max<uint64_t>(llc, static_cast<uint64_t>(std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE))));
#endif
  return static_cast<size_t>(std::max<uint64_t>(uint64_t{1} << 30, 4 * llc));
}

// One read of the calibration's buffer (allocated once, here; none when it would take more than
// a quarter of MemAvailable), the same measurement as each calibration sample.
std::function<double()> CpuBackend::make_read_probe(int threads) const {
  const size_t bytes = calibration_buffer_bytes();
  if (bytes > available_memory_bytes() / 4) return nullptr;
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto buf = std::make_shared<BandwidthBuffer>(bytes / sizeof(float), t, 1.0f);
  return [buf, t] {
    const int64_t t0 = now_ns();
    volatile double sink = read_sum(buf->data(), buf->size(), t);
    (void)sink;
    return static_cast<double>(buf->size_bytes()) / std::max(1e-12, static_cast<double>(now_ns() - t0) * 1e-9);
  };
}

RunCalibration CpuBackend::calibrate(int threads, WeightDtype dt,
                                     const std::function<void(const std::string&)>& progress) const {
  CalibrationOptions o;
  o.threads = threads;
  o.seconds = 1.5;
  o.measure_triad = false;
  o.measure_gemm = false;  // the runner's own matmul is timed below
  // Decode streams GBs of weights from DRAM: the buffer is past every cache.
  o.buffer_bytes = calibration_buffer_bytes();
  o.progress = progress;
  Calibration c = calibrate_cpu(o);
  RunCalibration r;
  r.read_bw_samples = c.read_bw_samples;
  summarize_read_bw(r);
  // The runner's own matmul at the row counts decode and prefill use (M = 1, 8, 64, 256), on
  // weights of N x K = 4096 x 8192 cut from a buffer as large as the read buffer: each timed
  // matmul reads a weight no cache holds, as a decode step reads a layer's. The best of 5 after a
  // warm-up: a ceiling, as a neighbour on a shared machine only ever slows a repetition down.
  if (progress) progress("gemm (runner kernel, 5 timed runs at each of M = 1, 8, 64, 256 rows x 4096 x 8192)");
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t N = 4096, K = 8192;
  const size_t wbytes = static_cast<size_t>(N * K) * (dt == WeightDtype::BF16 ? 2 : 4);
  const size_t n_weights = std::max<size_t>(2, o.buffer_bytes / wbytes);
  BandwidthBuffer weights(n_weights * wbytes / sizeof(float), t, dt == WeightDtype::BF16 ? 0.5f : 0.01f);  // as bf16: 0 and 0.5 alternating
  size_t next = 0;
  for (int64_t M : {int64_t{1}, int64_t{8}, int64_t{64}, int64_t{256}}) {
    std::vector<float> x(static_cast<size_t>(M * K), 0.25f), y(static_cast<size_t>(M * N));
    double best = 0;
    for (int rep = 0; rep < 6; ++rep) {
      cpu::WeightView w{reinterpret_cast<const char*>(weights.data()) + (next++ % n_weights) * wbytes, dt, N, K, K};
      const int64_t t0 = now_ns();
      cpu::matmul(x.data(), M, K, w, y.data(), N, t);
      const double s = static_cast<double>(now_ns() - t0) * 1e-9;
      if (rep > 0) best = std::max(best, 2.0 * static_cast<double>(M * N * K) / std::max(s, 1e-12));  // rep 0: warm-up
    }
    r.gemm_rate_by_rows.emplace_back(static_cast<double>(M), best);
  }
  r.gemm_flops_per_s = r.gemm_rate_by_rows.back().second;
  r.source = strf("calibrated in-process: read bandwidth over %llu MiB (%d threads, best of %zu), the runner's %s matmul "
                  "at M = 1, 8, 64, 256 rows on a %lldx%lld weight (best of 5)",
                  static_cast<unsigned long long>(c.buffer_bytes >> 20), c.threads, r.read_bw_samples.size(),
                  weight_dtype_name(dt), (long long)N, (long long)K);
  return r;
}

void CpuBackend::prepare(const ModelIR& ir, const BackendOptions& opts) {
  Executor::validate(ir);
  opts_ = opts;
  threads_ = host_threads(opts.threads);
  if (opts.max_batch < 1 || opts.max_context < 1)
    throw Error(strf("runner: max batch and max context must be >= 1, got %lld and %lld", (long long)opts.max_batch,
                     (long long)opts.max_context));
  if (opts.check_memory) check_slice_fits(ir, predict_slice_memory(ir, opts), free_memory());
  exec_.reset();
  weights_.clear();
  kv_.clear();
  ir_ = ir;
  max_ctx_ = opts.max_context;
  StoreSink sink(weights_);
  stage_weights(ir_, opts_, sink);
  weights_.tie(ir_);
  for (const Layer& L : ir_.layers)
    for (const Op& op : L.ops) {
      if (op.kind != OpKind::Attention) continue;
      KvCache& c = kv_[&op];
      c.layout = kv_layout(op);
      c.k.assign(static_cast<size_t>(opts.max_batch * max_ctx_ * c.layout.k_width), 0);
      c.v.assign(static_cast<size_t>(opts.max_batch * max_ctx_ * c.layout.v_width), 0);
    }
  exec_ = std::make_unique<Executor>(ir_, static_cast<Kernels&>(*this), opts_);
  exec_->reset(opts.max_batch);
}

void CpuBackend::reset(int64_t batch) { executor().reset(batch); }

void CpuBackend::fill_kv(int64_t batch, int64_t context) {
  executor().reset(batch);
  executor().set_lengths(context);  // checks the context before the caches are written
  for (auto& [op, c] : kv_)
    for (bool value : {false, true}) {
      const int64_t n = context * (value ? c.layout.v_head_dim() : c.layout.k_head_dim());
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t g = 0; g < c.layout.kv_heads; ++g)
          synthetic_kv(opts_.seed, *op, b, g, value, n, cache_at(c, value, b, g, 0), threads_);
    }
}

std::vector<float> CpuBackend::tensor_values(const std::string& hf_name) const {
  const Stored* s = weights_.by_name(hf_name);
  if (!s) throw Error("runner: no tensor " + hf_name + " in the prepared slice");
  std::vector<float> out(static_cast<size_t>(s->numel()));
  for (int64_t i = 0; i < s->numel(); ++i) out[static_cast<size_t>(i)] = s->at(i);
  return out;
}

// ---------------------------------------------------------------- kernels

const DeviceTensor* CpuBackend::weight(const Op& op, TensorRole role, bool bias, int64_t expert) const {
  return weights_.find(op, role, bias, expert);
}

std::unique_ptr<DeviceBuffer> CpuBackend::alloc(int64_t floats) {
  auto b = std::make_unique<HostBuffer>();
  b->mem.reset(new float[static_cast<size_t>(std::max<int64_t>(1, floats))]);
  b->data = b->mem.get();
  b->size = floats;
  return b;
}

void CpuBackend::add_bias(const DeviceTensor& bias, float* y, int64_t M, int64_t ldy) {
  const Stored& s = S(bias);
  const float* b = s.vec();
  const int64_t n = s.numel();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < n; ++i) y[m * ldy + i] += b[i];
}

void CpuBackend::rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
                      double theta) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t hh = 0; hh < heads; ++hh) apply_rope(x + t * ld + hh * head_stride, rot, pos[t], theta);
}

void CpuBackend::kv_store(const Op& op, const float* k, int64_t ldk, const float* v, int64_t ldv, const Rows& rows) {
  KvCache& c = kv(op);
  const int64_t G = c.layout.kv_heads, kd = c.layout.k_head_dim(), vd = c.layout.v_head_dim();
  for (int64_t t = 0; t < rows.T; ++t) {
    const int64_t seq = rows.seq[static_cast<size_t>(t)], pos = rows.pos[static_cast<size_t>(t)];
    for (int64_t g = 0; g < G; ++g) {
      fp32_to_bf16(k + t * ldk + g * kd, cache_at(c, false, seq, g, pos), static_cast<size_t>(kd));
      fp32_to_bf16(v + t * ldv + g * vd, cache_at(c, true, seq, g, pos), static_cast<size_t>(vd));
    }
  }
}

void CpuBackend::attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* att) {
  KvCache& c = kv(op);
  const AttentionSpec& a = op.attn;
  const int64_t T = rows.T, H = a.n_heads, G = a.n_kv_heads, hd = a.head_dim, qw = H * hd, qpg = H / G;
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(hd)));
  cpu::parallel_for(threads_, T * G, [&](int64_t item_begin, int64_t item_end) {
  for (int64_t item = item_begin; item < item_end; ++item) {
    const int64_t t = item / G, g = item % G;
    const int64_t seq = rows.seq[static_cast<size_t>(t)], pos = rows.pos[static_cast<size_t>(t)];
    const int64_t n = pos - lo[t] + 1;
    thread_local std::vector<float> sc, row;
    sc.resize(static_cast<size_t>(qpg * n));
    row.resize(static_cast<size_t>(hd));
    const float* qg = q + t * qw + g * qpg * hd;
    // scores [qpg, n] = q_g [qpg, hd] x K[lo..pos, g]^T: the cached keys are a bf16 "weight" of n rows.
    const cpu::WeightView keys{cache_at(c, false, seq, g, lo[t]), WeightDtype::BF16, n, hd, hd};
    cpu::matmul(qg, qpg, hd, keys, sc.data(), n, 1, cpu::MatmulImpl::Gemv);
    for (int64_t i = 0; i < qpg * n; ++i) {
      float& s = sc[static_cast<size_t>(i)];
      s *= scale;
      if (a.logit_softcap > 0) s = static_cast<float>(a.logit_softcap * std::tanh(s / a.logit_softcap));
    }
    for (int64_t i = 0; i < qpg; ++i) softmax_inplace(&sc[static_cast<size_t>(i * n)], n);
    float* og = att + t * qw + g * qpg * hd;
    std::fill(og, og + qpg * hd, 0.0f);
    for (int64_t j = 0; j < n; ++j) {  // each value row converted once, used by the group's qpg heads
      cpu::bf16_row_to_f32(cache_at(c, true, seq, g, lo[t] + j), row.data(), hd);
      for (int64_t i = 0; i < qpg; ++i) cpu::axpy_f32(sc[static_cast<size_t>(i * n + j)], row.data(), og + i * hd, hd);
    }
  }
  });
}

// q_nope is mapped into the latent space by kv_b's key rows; the latent output back by its value rows.
void CpuBackend::mla_attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* att) {
  KvCache& c = kv(op);
  const AttentionSpec& a = op.attn;
  const int64_t T = rows.T, H = a.n_heads;
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, vd = a.v_head_dim, L = a.kv_lora_rank;
  const int64_t qhd = nope + rope;
  const Stored* kvb_w = weights_.find(op, TR::MlaKvB, false, -1);
  if (!kvb_w) throw Error(op.name + ": MLA attention without mla_kv_b");
  const Stored& kvb = *kvb_w;  // [H * (nope + vd), L]
  const WeightView kvbv = kvb.view();
  // q_lat[t, h, :] = sum_i q_nope[t, h, i] * W_uk_h[i, :]
  std::vector<float> qlat(static_cast<size_t>(T * H * L), 0.0f);
  cpu::parallel_for(threads_, H, [&](int64_t hh_begin, int64_t hh_end) {
  for (int64_t hh = hh_begin; hh < hh_end; ++hh) {
    for (int64_t i = 0; i < nope; ++i) {
      const int64_t r = hh * (nope + vd) + i;
      for (int64_t t = 0; t < T; ++t) {
        const float qv = q[t * H * qhd + hh * qhd + i];
        float* dst = &qlat[static_cast<size_t>((t * H + hh) * L)];
        if (kvb.dtype == WeightDtype::BF16) cpu::axpy_bf16(qv, kvb.bf16.data() + r * L, dst, L);
        else cpu::axpy_f32(qv, kvb.f32.data() + r * L, dst, L);
      }
    }
  }
  });
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(qhd)));
  std::vector<float> olat(static_cast<size_t>(T * H * L), 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t seq = rows.seq[static_cast<size_t>(t)], pos = rows.pos[static_cast<size_t>(t)];
    const int64_t n = pos - lo[t] + 1;
    std::vector<float> sc(static_cast<size_t>(H * n)), sr(static_cast<size_t>(H * n));
    WeightView ckv{cache_at(c, false, seq, 0, lo[t]), WeightDtype::BF16, n, L, L};
    WeightView kpe{cache_at(c, true, seq, 0, lo[t]), WeightDtype::BF16, n, rope, rope};
    cpu::matmul(&qlat[static_cast<size_t>(t * H * L)], H, L, ckv, sc.data(), n, threads_);
    cpu::matmul(q + t * H * qhd + nope, H, qhd, kpe, sr.data(), n, threads_);
    cpu::parallel_for(threads_, H, [&](int64_t hh_begin, int64_t hh_end) {
    for (int64_t hh = hh_begin; hh < hh_end; ++hh) {
      float* s = &sc[static_cast<size_t>(hh * n)];
      for (int64_t j = 0; j < n; ++j) s[j] = (s[j] + sr[static_cast<size_t>(hh * n + j)]) * scale;
      softmax_inplace(s, n);
    }
    });
    cpu::parallel_for(threads_, H, [&](int64_t h0, int64_t h1) {
      std::vector<float> row(static_cast<size_t>(L));
      for (int64_t j = 0; j < n; ++j) {
        cpu::bf16_row_to_f32(cache_at(c, false, seq, 0, lo[t] + j), row.data(), L);
        for (int64_t hh = h0; hh < h1; ++hh)
          cpu::axpy_f32(sc[static_cast<size_t>(hh * n + j)], row.data(), &olat[static_cast<size_t>((t * H + hh) * L)], L);
      }
    });
  }
  // o[t, h, :] = W_uv_h @ o_lat[t, h, :]
  cpu::parallel_for(threads_, H, [&](int64_t hh_begin, int64_t hh_end) {
  for (int64_t hh = hh_begin; hh < hh_end; ++hh) {
    WeightView uv = kvbv.sub_rows(hh * (nope + vd) + nope, vd);
    cpu::matmul(&olat[static_cast<size_t>(hh * L)], T, H * L, uv, att + hh * vd, H * vd, 1, cpu::MatmulImpl::Gemv);
  }
  });
}

void CpuBackend::glu(Activation act, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M,
                     int64_t n) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < n; ++i) out[m * n + i] = ::llmcost::activate(act, gate[m * ldg + i]) * up[m * ldu + i];
}

void CpuBackend::scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g) {
  for (int64_t m = 0; m < M; ++m) {
    const float s = 1.0f / (1.0f + std::exp(-g[m]));
    for (int64_t i = 0; i < d; ++i) y[m * d + i] *= s;
  }
}

void CpuBackend::embed_add(const DeviceTensor& table, const int64_t* ids, int64_t T, int64_t d, float mult, float* x) {
  const Stored& tb = S(table);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < d; ++i) x[t * d + i] += tb.at(ids[t] * d + i) * mult;
}

void CpuBackend::route(const float* logits, int64_t T, const MoeSpec& m, const DeviceTensor* correction, int32_t* idx_all,
                       float* w_all) {
  const int64_t E = m.n_experts, K = m.top_k;
  const float* corr = correction ? S(*correction).vec() : nullptr;
  std::vector<double> score(static_cast<size_t>(E)), sel(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    int32_t* idx = idx_all + t * K;
    float* wt = w_all + t * K;
    const float* lg = logits + t * E;
    if (m.scoring == ScoringFunc::Softmax && !m.softmax_after_topk) {
      double mx = -1e300, sum = 0;
      for (int64_t e = 0; e < E; ++e) mx = std::max(mx, static_cast<double>(lg[e]));
      for (int64_t e = 0; e < E; ++e) sum += (score[static_cast<size_t>(e)] = std::exp(lg[e] - mx));
      for (auto& s : score) s /= sum;
    } else if (m.scoring == ScoringFunc::Sigmoid) {
      for (int64_t e = 0; e < E; ++e) score[static_cast<size_t>(e)] = 1.0 / (1.0 + std::exp(-static_cast<double>(lg[e])));
    } else {
      for (int64_t e = 0; e < E; ++e) score[static_cast<size_t>(e)] = lg[e];
    }
    for (int64_t e = 0; e < E; ++e) sel[static_cast<size_t>(e)] = score[static_cast<size_t>(e)] + (corr ? corr[e] : 0.0);
    if (m.n_group > 1) {  // keep the topk_group best groups (by top-2 sum with a correction bias, else by max)
      const int64_t per = E / m.n_group;
      std::vector<std::pair<double, int64_t>> gs;
      for (int64_t g = 0; g < m.n_group; ++g) {
        std::vector<double> v(sel.begin() + g * per, sel.begin() + (g + 1) * per);
        std::sort(v.begin(), v.end(), std::greater<double>());
        gs.push_back({corr ? v[0] + (per > 1 ? v[1] : 0.0) : v[0], g});
      }
      std::stable_sort(gs.begin(), gs.end(), [](auto& x, auto& y) { return x.first > y.first; });
      for (int64_t r = m.topk_group; r < m.n_group; ++r)
        for (int64_t e = gs[static_cast<size_t>(r)].second * per; e < (gs[static_cast<size_t>(r)].second + 1) * per; ++e)
          sel[static_cast<size_t>(e)] = -std::numeric_limits<double>::infinity();
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](int32_t x, int32_t y) {
      return sel[static_cast<size_t>(x)] > sel[static_cast<size_t>(y)] || (sel[static_cast<size_t>(x)] == sel[static_cast<size_t>(y)] && x < y);
    });
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      idx[k] = order[static_cast<size_t>(k)];
      sum += score[static_cast<size_t>(idx[k])];
    }
    if (m.softmax_after_topk && m.scoring == ScoringFunc::Softmax) {
      double mx = -1e300, z = 0;
      for (int64_t k = 0; k < K; ++k) mx = std::max(mx, score[static_cast<size_t>(idx[k])]);
      for (int64_t k = 0; k < K; ++k) z += std::exp(score[static_cast<size_t>(idx[k])] - mx);
      for (int64_t k = 0; k < K; ++k) wt[k] = static_cast<float>(std::exp(score[static_cast<size_t>(idx[k])] - mx) / z * m.routed_scaling_factor);
      continue;
    }
    const double denom = m.norm_topk_prob ? sum + 1e-20 : 1.0;
    for (int64_t k = 0; k < K; ++k)
      wt[k] = static_cast<float>(score[static_cast<size_t>(idx[k])] / denom * m.routed_scaling_factor);
  }
}

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace llmcost
