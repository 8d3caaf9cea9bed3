// The CPU backend: executes a ModelIR (or a slice of it) op by op from what the ops say (kind,
// sublayer, post_norm, AttentionSpec, MlpSpec, MoeSpec), never from a family name. Weights bf16
// or fp32 (synthetic seeded, or from safetensors with HF names), fp32 activations, bf16 KV cache.
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
#include "strf.h"

namespace llmcost {

namespace {

using cpu::WeightView;

// ---------------------------------------------------------------- deterministic numbers

inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
// Uniform in [-1, 1) from (stream, index).
inline float unit(uint64_t stream, uint64_t i) {
  return static_cast<float>(static_cast<double>(mix64(stream ^ mix64(i)) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

inline float bf16_round(float f) { return bf16_to_fp32(fp32_to_bf16(f)); }

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

struct Stored {
  std::vector<int64_t> shape;
  WeightDtype dtype = WeightDtype::FP32;
  HugeVec<uint16_t> bf16;
  HugeVec<float> f32;
  int64_t rows = 0, cols = 0;  // 2-D view: [shape[0], rest] (vectors: [1, n])
  int64_t numel() const { return rows * cols; }
  int64_t bytes() const { return numel() * cpu::weight_dtype_bytes(dtype); }
  WeightView view() const {
    return WeightView{dtype == WeightDtype::BF16 ? static_cast<const void*>(bf16.data()) : f32.data(), dtype, rows, cols,
                      cols};
  }
  float at(int64_t i) const { return dtype == WeightDtype::BF16 ? bf16_to_fp32(bf16[static_cast<size_t>(i)]) : f32[static_cast<size_t>(i)]; }
  const float* vec() const { return f32.data(); }  // Vector tensors are always fp32
};

// An op's stored tensors by (role, bias): the runner finds weights by what they are, never by
// checkpoint name.
using RoleKey = std::pair<TensorRole, bool>;
using TensorMap = std::map<RoleKey, Stored>;
inline RoleKey W(TensorRole r) { return {r, false}; }
using TR = TensorRole;

struct OpState {
  OpState() = default;
  explicit OpState(const Op* o) : op(o) {}
  const Op* op = nullptr;
  TensorMap t;                      // this op's tensors (for RoutedExperts: unused)
  std::vector<TensorMap> experts;   // RoutedExperts: one map per expert
  // Attention caches, bf16. Standard: k [B][n_kv][ctx][head_dim], v [B][n_kv][ctx][v_head_dim].
  // MLA: k = compressed c_kv [B][ctx][kv_lora_rank], v = k_pe [B][ctx][qk_rope_head_dim].
  HugeVec<uint16_t> k_cache, v_cache;
  int64_t k_width = 0, v_width = 0;  // per position, all heads
  int64_t kv_heads = 1;              // Standard: [B][kv_heads][ctx][head_dim] so a head's keys are contiguous; MLA: 1
  const Stored* tied = nullptr;     // LmHead with tied embeddings: the embedding table
};

// Rows of a forward pass: row t is sequence seq[t] at position pos[t].
struct Rows {
  int64_t T = 0;
  std::vector<int64_t> seq, pos;
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

int64_t rope_dims(const AttentionSpec& a, int64_t head_dim) {
  int64_t r = static_cast<int64_t>(static_cast<double>(head_dim) * a.partial_rotary_factor);
  return r - (r % 2);
}

void softmax_inplace(float* s, int64_t n) { cpu::softmax_f32(s, n); }

std::string unsupported(const Op& op, const std::string& what) {
  return op.name + ": " + what + " is not supported by the CPU backend";
}


// ---------------------------------------------------------------- the backend

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string device() const override;
  void prepare(const ModelIR& ir, const BackendOptions& opts) override;
  void reset(int64_t batch) override;
  void fill_kv(int64_t batch, int64_t context) override;
  void decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) override;
  void prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits, Profiler* prof) override;
  std::unique_ptr<Profiler> make_profiler() const override { return std::make_unique<CpuProfiler>(); }
  RunCalibration calibrate(int threads, WeightDtype dt,
                           const std::function<void(const std::string&)>& progress) const override;
  FreeMemory free_memory() const override { return FreeMemory{available_memory_bytes(), "/proc/meminfo MemAvailable"}; }
  const StepWork& last_step() const override { return work_; }
  std::vector<float> tensor_values(const std::string& hf_name) const override;

 private:
  void validate(const ModelIR& ir) const;
  void load_op(OpState& st, const SafetensorsCheckpoint* ck);
  void fill_tensor(Stored& s, const Tensor& t, const std::string& full_name, const SafetensorsCheckpoint* ck, bool matmul_dtype);
  void forward(const std::vector<int32_t>& tokens, const Rows& rows, std::vector<float>* logits, Profiler* prof);
  void run_op(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w);
  void mm(const float* x, int64_t M, int64_t ldx, const WeightView& v, float* y, int64_t ldy, OpWork& w);
  void add_bias(const TensorMap& tm, TensorRole role, float* y, int64_t M, int64_t ldy, int64_t n);
  void run_mlp(const TensorMap& tm, const MlpSpec& spec, const float* h, int64_t M, float* out, OpWork& w);
  void run_attention(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w);
  void run_mla(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w);
  void run_router(OpState& st, const float* h, const Rows& rows, OpWork& w);
  void run_experts(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w);
  void norm_rows(const OpState& st, const float* in, float* out, int64_t T, OpWork& w);
  // Cache entry of (sequence, KV head, position); `width` is the whole position's width.
  uint16_t* cache_at(HugeVec<uint16_t>& c, int64_t width, int64_t heads, int64_t seq, int64_t head, int64_t pos) {
    const int64_t hd = width / heads;
    return c.data() + ((seq * heads + head) * max_ctx_ + pos) * hd;
  }

  ModelIR ir_;
  BackendOptions opts_;
  int threads_ = 1;
  int64_t max_ctx_ = 0;
  int64_t batch_ = 0;
  std::vector<int64_t> len_;  // cached positions per sequence
  std::vector<OpState> pre_, post_;
  std::vector<std::vector<OpState>> layers_;
  std::map<std::string, const Stored*> by_name_;
  // Routing of the current layer: per row top_k experts and weights.
  std::vector<int32_t> route_idx_;
  std::vector<float> route_w_;
  uint64_t step_ = 0;
  StepWork work_;
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

RunCalibration CpuBackend::calibrate(int threads, WeightDtype dt,
                                     const std::function<void(const std::string&)>& progress) const {
  CalibrationOptions o;
  o.threads = threads;
  o.seconds = 3.0;
  o.measure_triad = false;
  // Decode streams GBs of weights from DRAM: read at least 1 GiB and 4x the largest cache the
  // kernel (sysfs) or libc (sysconf) reports, so no part of the buffer stays in a large L3.
  uint64_t llc = last_level_cache_bytes();
#ifdef _SC_LEVEL3_CACHE_SIZE
  llc = std::max<uint64_t>(llc, static_cast<uint64_t>(std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE))));
#endif
  o.buffer_bytes = static_cast<size_t>(std::max<uint64_t>(uint64_t{1} << 30, 4 * llc));
  o.progress = progress;
  Calibration c = calibrate_cpu(o);
  RunCalibration r;
  r.read_bw_bytes_per_s = c.read_bw_bytes_per_s.median;
  // GEMM with the runner's own matmul (the code prefill runs), 256 x 4096 x 4096, median of 5.
  if (progress) progress("gemm (runner kernel)");
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t M = 256, N = 4096, K = 4096;
  std::vector<float> x(static_cast<size_t>(M * K), 0.25f), y(static_cast<size_t>(M * N));
  std::vector<uint16_t> wb;
  std::vector<float> wf;
  cpu::WeightView w{nullptr, dt, N, K, K};
  if (dt == WeightDtype::BF16) {
    wb.assign(static_cast<size_t>(N * K), 0x3c00);
    w.data = wb.data();
  } else {
    wf.assign(static_cast<size_t>(N * K), 0.01f);
    w.data = wf.data();
  }
  std::vector<double> rates;
  for (int rep = 0; rep < 6; ++rep) {
    const int64_t t0 = now_ns();
    cpu::matmul(x.data(), M, K, w, y.data(), N, t);
    const double s = static_cast<double>(now_ns() - t0) * 1e-9;
    if (rep > 0) rates.push_back(2.0 * M * N * K / s);  // rep 0: warm-up
  }
  r.gemm_flops_per_s = summarize(rates).median;
  r.source = strf("calibrated in-process: read bandwidth over %llu MiB (%d threads), GEMM with the runner's %s kernel %lldx%lldx%lld",
                  static_cast<unsigned long long>(c.buffer_bytes >> 20), c.threads, weight_dtype_name(dt),
                  (long long)M, (long long)N, (long long)K);
  return r;
}

void CpuBackend::validate(const ModelIR& ir) const {
  auto check = [&](const Op& op) {
    switch (op.kind) {
      case OpKind::Norm:
        if (op.norm == NormType::L2Norm) throw Error(unsupported(op, "an L2 norm"));
        if (op.tensors.empty() && op.norm != NormType::RMSNorm) throw Error(unsupported(op, "a LayerNorm without weight"));
        if (op.tensors.size() > (op.norm_bias ? 2u : 1u))
          throw Error(unsupported(op, "a norm op holding extra tensors (MTP projections)"));
        break;
      case OpKind::Attention: {
        const AttentionSpec& a = op.attn;
        if (a.sinks) throw Error(unsupported(op, "attention sinks"));
        if (a.chunk_size > 0) throw Error(unsupported(op, "chunked attention"));
        if (a.type == AttentionType::MLA) {
          for (TR r : {TR::MlaKvA, TR::MlaKvANorm, TR::MlaKvB, TR::AttnOut})
            if (!find_role(op, r)) throw Error(unsupported(op, std::string("MLA without ") + tensor_role_name(r)));
          if (!find_role(op, TR::AttnQ) && !(find_role(op, TR::MlaQA) && find_role(op, TR::MlaQANorm) && find_role(op, TR::MlaQB)))
            throw Error(unsupported(op, "MLA without attn_q or mla_q_a/mla_q_a_norm/mla_q_b"));
        } else {
          const bool sep = find_role(op, TR::AttnQ) && find_role(op, TR::AttnK) && find_role(op, TR::AttnV);
          if (!sep && !find_role(op, TR::AttnQkv))
            throw Error(unsupported(op, "attention without attn_q/attn_k/attn_v or attn_qkv weights"));
          if (!find_role(op, TR::AttnOut)) throw Error(unsupported(op, "attention without attn_out"));
          if (a.head_dim != a.v_head_dim) throw Error(unsupported(op, "standard attention with v_head_dim != head_dim"));
          for (TR r : {TR::AttnQNorm, TR::AttnKNorm})
            if (const Tensor* t = find_role(op, r)) {
              const int64_t width = r == TR::AttnQNorm ? a.n_heads * a.head_dim : a.n_kv_heads * a.head_dim;
              if (t->numel != a.head_dim && t->numel != width)
                throw Error(unsupported(op, std::string(tensor_role_name(r)) + " of " + shape_string(t->shape) +
                                                " (per-head or full width only)"));
            }
        }
        break;
      }
      case OpKind::RoutedExperts:
        if (op.experts_stacked) throw Error(unsupported(op, "stacked expert tensors ([n_experts, ...])"));
        [[fallthrough]];
      case OpKind::Mlp:
      case OpKind::SharedExperts: {
        if (op.mlp.act == Activation::SwiGLUClamped) throw Error(unsupported(op, "the clamped SwiGLU activation"));
        const bool gate_up = find_role(op, TR::FfnGateUp) || (find_role(op, TR::FfnGate) && find_role(op, TR::FfnUp));
        if (!find_role(op, TR::FfnDown) || (op.mlp.gated ? !gate_up : !find_role(op, TR::FfnUp)))
          throw Error(unsupported(op, op.mlp.gated ? "a gated MLP without ffn_gate + ffn_up (or ffn_gate_up) and ffn_down"
                                                   : "an MLP without ffn_up and ffn_down"));
        break;
      }
      case OpKind::Router:
        if (op.moe.softmax_after_topk && op.moe.scoring == ScoringFunc::Sigmoid && op.moe.n_group > 1)
          throw Error(unsupported(op, "group-limited routing with top-k before scoring"));
        break;
      default: break;
    }
    for (const Tensor& t : op.tensors)
      if (t.use == TensorUse::Matmul && t.shape.size() != 2) throw Error(unsupported(op, "tensor " + t.checkpoint_name + " of rank != 2"));
  };
  for (const Op& op : ir.pre) check(op);
  for (const Layer& L : ir.layers)
    for (const Op& op : L.ops) check(op);
  for (const Op& op : ir.post) check(op);
  if (ir.final_logit_softcap != 0.0) throw Error(ir.name + ": final logit soft-capping is not supported by the CPU backend");
}

void CpuBackend::fill_tensor(Stored& s, const Tensor& t, const std::string& full_name, const SafetensorsCheckpoint* ck,
                             bool matmul_dtype) {
  s.shape = t.shape;
  s.rows = t.shape.size() >= 2 ? t.shape[0] : 1;
  s.cols = s.rows > 0 ? t.numel / std::max<int64_t>(1, s.rows) : 0;
  if (t.shape.size() < 2) s.cols = t.numel;
  s.dtype = matmul_dtype ? opts_.weight_dtype : WeightDtype::FP32;
  const size_t n = static_cast<size_t>(t.numel);
  if (s.dtype == WeightDtype::BF16) s.bf16.resize(n); else s.f32.resize(n);
  // Norm scales multiply as (norm_weight_offset + w): gemma stores w around 0, applies 1 + w.
  const bool is_norm_scale = t.group == ParamGroup::Norm && !t.bias;
  const float norm_offset = is_norm_scale ? static_cast<float>(ir_.norm_weight_offset) : 0.0f;
  if (ck) {
    if (s.dtype == WeightDtype::BF16) ck->read_bf16(full_name, t.shape, s.bf16.data());
    else ck->read_f32(full_name, t.shape, s.f32.data());
  } else {
    // Matmul / gather weights ~ U(-1, 1) / sqrt(in) (tables U(-1, 1)); norm scales 1 + 0.1 U;
    // biases 0.1 U: activations stay O(1) through any depth of slice.
    const uint64_t stream = mix64(opts_.seed) ^ hash_name(full_name);
    float scale = 0.1f, offset = 0.0f;
    if (t.use == TensorUse::Matmul) scale = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(1, t.in_features)));
    else if (t.use == TensorUse::Gather) scale = 1.0f;
    else if (is_norm_scale) offset = 1.0f - norm_offset;  // effective scale 1 + 0.1 U either way
    const int64_t N = t.numel;
    cpu::parallel_for(threads_, N, [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      const float v = offset + scale * unit(stream, static_cast<uint64_t>(i));
      if (s.dtype == WeightDtype::BF16) s.bf16[static_cast<size_t>(i)] = fp32_to_bf16(v);
      else s.f32[static_cast<size_t>(i)] = v;
    }
    });
  }
  if (norm_offset != 0.0f)
    for (float& v : s.f32) v += norm_offset;
  // Conv1D-style [in, out] matmuls are stored transposed to [out, in].
  if (t.use == TensorUse::Matmul && t.shape.size() == 2 && t.in_features == t.shape[0] && t.shape[0] != t.shape[1]) {
    throw Error(full_name + ": [in, out] (Conv1D) weight layout is not supported by the CPU backend");
  }
}

void CpuBackend::load_op(OpState& st, const SafetensorsCheckpoint* ck) {
  const Op& op = *st.op;
  auto matmul_like = [](const Tensor& t) { return t.use != TensorUse::Vector; };
  if (op.kind == OpKind::RoutedExperts) {
    st.experts.resize(static_cast<size_t>(op.moe.n_experts));
    for (int64_t e = 0; e < op.moe.n_experts; ++e)
      for (const Tensor& t : op.tensors) {
        const std::string full = expert_checkpoint_name(t, e);
        Stored& s = st.experts[static_cast<size_t>(e)][{t.role, t.bias}];
        fill_tensor(s, t, full, ck, matmul_like(t));
        by_name_[full] = &s;
      }
  } else {
    for (const Tensor& t : op.tensors) {
      const std::string& full = t.checkpoint_name;
      if (t.tied) continue;  // the embedding table, resolved below
      Stored& s = st.t[{t.role, t.bias}];
      fill_tensor(s, t, full, ck, matmul_like(t));
      by_name_[full] = &s;
    }
  }
}

void CpuBackend::prepare(const ModelIR& ir, const BackendOptions& opts) {
  validate(ir);
  opts_ = opts;
  threads_ = opts.threads > 0 ? opts.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (opts.max_batch < 1 || opts.max_context < 1)
    throw Error(strf("runner: max batch and max context must be >= 1, got %lld and %lld", (long long)opts.max_batch,
                     (long long)opts.max_context));
  if (opts.check_memory) check_slice_fits(ir, predict_slice_memory(ir, opts), free_memory());
  ir_ = ir;
  max_ctx_ = opts.max_context;
  by_name_.clear();
  std::unique_ptr<SafetensorsCheckpoint> ck;
  if (!opts.weights_path.empty()) {
    ck = std::make_unique<SafetensorsCheckpoint>(opts.weights_path);
    std::vector<int> idx;
    for (const Layer& L : ir_.layers) idx.push_back(L.index);
    verify_checkpoint(*ck, expected_checkpoint_tensors(ir_, idx), &ir_);
  }
  pre_.clear();
  post_.clear();
  layers_.clear();
  for (const Op& op : ir_.pre) pre_.emplace_back(&op);
  for (const Layer& L : ir_.layers) {
    layers_.emplace_back();
    for (const Op& op : L.ops) layers_.back().emplace_back(&op);
  }
  for (const Op& op : ir_.post) post_.emplace_back(&op);
  for (auto& st : pre_) load_op(st, ck.get());
  for (auto& L : layers_)
    for (auto& st : L) {
      load_op(st, ck.get());
      if (st.op->kind == OpKind::Attention) {
        const AttentionSpec& a = st.op->attn;
        if (a.type == AttentionType::MLA) {
          st.k_width = a.kv_lora_rank;
          st.v_width = a.qk_rope_head_dim;
        } else {
          st.k_width = a.n_kv_heads * a.head_dim;
          st.v_width = a.n_kv_heads * a.v_head_dim;
          st.kv_heads = a.n_kv_heads;
        }
        st.k_cache.assign(static_cast<size_t>(opts.max_batch * max_ctx_ * st.k_width), 0);
        st.v_cache.assign(static_cast<size_t>(opts.max_batch * max_ctx_ * st.v_width), 0);
      }
    }
  for (auto& st : post_) {
    load_op(st, ck.get());
    for (const Tensor& t : st.op->tensors)
      if (t.tied) {
        for (auto& p : pre_)
          if (p.op->kind == OpKind::TokenEmbedding && !p.t.empty()) st.tied = &p.t.begin()->second;
        if (!st.tied) throw Error(st.op->name + ": tied lm_head without a token embedding in the slice");
      }
  }
  reset(opts.max_batch);
}

void CpuBackend::reset(int64_t batch) {
  if (batch < 1 || batch > opts_.max_batch)
    throw Error(strf("runner: batch must be 1..%lld (prepared max), got %lld", (long long)opts_.max_batch, (long long)batch));
  batch_ = batch;
  len_.assign(static_cast<size_t>(batch), 0);
  step_ = 0;
}

void CpuBackend::fill_kv(int64_t batch, int64_t context) {
  reset(batch);
  if (context < 0 || context > max_ctx_)
    throw Error(strf("runner: context must be 0..%lld (prepared max), got %lld", (long long)max_ctx_, (long long)context));
  for (auto& L : layers_)
    for (auto& st : L) {
      if (st.op->kind != OpKind::Attention) continue;
      const uint64_t stream = mix64(opts_.seed + 7) ^ hash_name(st.op->name);
      for (int which = 0; which < 2; ++which) {
        HugeVec<uint16_t>& c = which ? st.v_cache : st.k_cache;
        const int64_t width = which ? st.v_width : st.k_width;
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t g = 0; g < st.kv_heads; ++g) {
            uint16_t* base = cache_at(c, width, st.kv_heads, b, g, 0);
            const int64_t n = context * (width / st.kv_heads);
            const uint64_t s2 = stream ^ mix64(static_cast<uint64_t>((b * st.kv_heads + g) * 2 + which));
            cpu::parallel_for(threads_, n, [&](int64_t i_begin, int64_t i_end) {
              for (int64_t i = i_begin; i < i_end; ++i) base[i] = fp32_to_bf16(unit(s2, static_cast<uint64_t>(i)));
            });
          }
      }
    }
  std::fill(len_.begin(), len_.end(), context);
}

void CpuBackend::decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) {
  if (static_cast<int64_t>(tokens.size()) != batch_)
    throw Error(strf("runner: decode needs one token per sequence (%lld), got %zu", (long long)batch_, tokens.size()));
  Rows rows;
  rows.T = batch_;
  for (int64_t b = 0; b < batch_; ++b) {
    if (len_[static_cast<size_t>(b)] >= max_ctx_)
      throw Error(strf("runner: sequence %lld is full (%lld positions prepared)", (long long)b, (long long)max_ctx_));
    rows.seq.push_back(b);
    rows.pos.push_back(len_[static_cast<size_t>(b)]);
  }
  forward(tokens, rows, logits, prof);
  for (auto& l : len_) ++l;
}

void CpuBackend::prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits,
                         Profiler* prof) {
  if (seq_len < 1 || static_cast<int64_t>(tokens.size()) != batch_ * seq_len)
    throw Error(strf("runner: prefill needs batch x seq_len = %lld x %lld tokens, got %zu", (long long)batch_,
                     (long long)seq_len, tokens.size()));
  Rows rows;
  rows.T = batch_ * seq_len;
  for (int64_t b = 0; b < batch_; ++b) {
    if (len_[static_cast<size_t>(b)] + seq_len > max_ctx_)
      throw Error(strf("runner: prefill of %lld tokens overflows sequence %lld (%lld of %lld positions used)",
                       (long long)seq_len, (long long)b, (long long)len_[static_cast<size_t>(b)], (long long)max_ctx_));
    for (int64_t s = 0; s < seq_len; ++s) {
      rows.seq.push_back(b);
      rows.pos.push_back(len_[static_cast<size_t>(b)] + s);
    }
  }
  forward(tokens, rows, logits, prof);
  for (auto& l : len_) l += seq_len;
}

std::vector<float> CpuBackend::tensor_values(const std::string& hf_name) const {
  auto it = by_name_.find(hf_name);
  if (it == by_name_.end()) throw Error("runner: no tensor " + hf_name + " in the prepared slice");
  const Stored& s = *it->second;
  std::vector<float> out(static_cast<size_t>(s.numel()));
  for (int64_t i = 0; i < s.numel(); ++i) out[static_cast<size_t>(i)] = s.at(i);
  return out;
}

// ---------------------------------------------------------------- execution

void CpuBackend::mm(const float* x, int64_t M, int64_t ldx, const WeightView& v, float* y, int64_t ldy, OpWork& w) {
  cpu::matmul(x, M, ldx, v, y, ldy, threads_);
  w.weight_bytes += static_cast<double>(v.rows * v.cols * cpu::weight_dtype_bytes(v.dtype));
  w.flops += 2.0 * static_cast<double>(M) * static_cast<double>(v.rows) * static_cast<double>(v.cols);
}

void CpuBackend::add_bias(const TensorMap& tm, TensorRole role, float* y, int64_t M, int64_t ldy, int64_t n) {
  auto it = tm.find({role, true});
  if (it == tm.end()) return;
  const float* b = it->second.vec();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < n; ++i) y[m * ldy + i] += b[i];
}

void CpuBackend::norm_rows(const OpState& st, const float* in, float* out, int64_t T, OpWork& w) {
  const Op& op = *st.op;
  const int64_t d = ir_.d_model;
  auto wt = st.t.find(W(TR::Norm));
  const float* g = wt != st.t.end() ? wt->second.vec() : nullptr;
  if (op.norm == NormType::LayerNorm) {
    auto bt = st.t.find({TR::Norm, true});
    layer_norm_rows(in, out, T, d, g, bt != st.t.end() ? bt->second.vec() : nullptr, op.eps);
  } else {
    rms_norm_rows(in, out, T, d, d, g, op.eps);
  }
  for (const auto& kv : st.t) w.weight_bytes += static_cast<double>(kv.second.bytes());
}

void CpuBackend::run_mlp(const TensorMap& tm, const MlpSpec& spec, const float* h, int64_t M, float* out, OpWork& w) {
  const int64_t d = ir_.d_model, ff = spec.d_ff;
  std::vector<float> a(static_cast<size_t>(M * ff * 2)), u(static_cast<size_t>(M * ff));
  if (tm.count(W(TR::FfnGateUp))) {
    mm(h, M, d, tm.at(W(TR::FfnGateUp)).view(), a.data(), 2 * ff, w);
    add_bias(tm, TR::FfnGateUp, a.data(), M, 2 * ff, 2 * ff);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < ff; ++i) u[static_cast<size_t>(m * ff + i)] = activate(spec.act, a[static_cast<size_t>(m * 2 * ff + i)]) * a[static_cast<size_t>(m * 2 * ff + ff + i)];
  } else if (tm.count(W(TR::FfnGate))) {
    mm(h, M, d, tm.at(W(TR::FfnGate)).view(), a.data(), ff, w);
    add_bias(tm, TR::FfnGate, a.data(), M, ff, ff);
    mm(h, M, d, tm.at(W(TR::FfnUp)).view(), u.data(), ff, w);
    add_bias(tm, TR::FfnUp, u.data(), M, ff, ff);
    for (int64_t i = 0; i < M * ff; ++i) u[static_cast<size_t>(i)] *= activate(spec.act, a[static_cast<size_t>(i)]);
  } else {
    mm(h, M, d, tm.at(W(TR::FfnUp)).view(), u.data(), ff, w);
    add_bias(tm, TR::FfnUp, u.data(), M, ff, ff);
    for (int64_t i = 0; i < M * ff; ++i) u[static_cast<size_t>(i)] = activate(spec.act, u[static_cast<size_t>(i)]);
  }
  mm(u.data(), M, ff, tm.at(W(TR::FfnDown)).view(), out, d, w);
  add_bias(tm, TR::FfnDown, out, M, d, d);
  if (tm.count(W(TR::FfnOutGate))) {  // sigmoid gate on the whole output (qwen2_moe shared expert)
    std::vector<float> g(static_cast<size_t>(M));
    mm(h, M, d, tm.at(W(TR::FfnOutGate)).view(), g.data(), 1, w);
    for (int64_t m = 0; m < M; ++m) {
      const float s = 1.0f / (1.0f + std::exp(-g[static_cast<size_t>(m)]));
      for (int64_t i = 0; i < d; ++i) out[m * d + i] *= s;
    }
  }
}

void CpuBackend::run_attention(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w) {
  const AttentionSpec& a = st.op->attn;
  const int64_t d = ir_.d_model, T = rows.T, H = a.n_heads, G = a.n_kv_heads, hd = a.head_dim;
  const int64_t qw = H * hd, kw = G * hd;
  const TensorMap& tm = st.t;
  std::vector<float> q(static_cast<size_t>(T * qw)), k(static_cast<size_t>(T * kw)), v(static_cast<size_t>(T * kw)),
      att(static_cast<size_t>(T * qw));
  if (tm.count(W(TR::AttnQkv))) {
    std::vector<float> qkv(static_cast<size_t>(T * (qw + 2 * kw)));
    const int64_t ld = qw + 2 * kw;
    mm(h, T, d, tm.at(W(TR::AttnQkv)).view(), qkv.data(), ld, w);
    add_bias(tm, TR::AttnQkv, qkv.data(), T, ld, ld);
    for (int64_t t = 0; t < T; ++t) {
      std::copy_n(&qkv[static_cast<size_t>(t * ld)], qw, &q[static_cast<size_t>(t * qw)]);
      std::copy_n(&qkv[static_cast<size_t>(t * ld + qw)], kw, &k[static_cast<size_t>(t * kw)]);
      std::copy_n(&qkv[static_cast<size_t>(t * ld + qw + kw)], kw, &v[static_cast<size_t>(t * kw)]);
    }
  } else {
    mm(h, T, d, tm.at(W(TR::AttnQ)).view(), q.data(), qw, w);
    add_bias(tm, TR::AttnQ, q.data(), T, qw, qw);
    mm(h, T, d, tm.at(W(TR::AttnK)).view(), k.data(), kw, w);
    add_bias(tm, TR::AttnK, k.data(), T, kw, kw);
    mm(h, T, d, tm.at(W(TR::AttnV)).view(), v.data(), kw, w);
    add_bias(tm, TR::AttnV, v.data(), T, kw, kw);
  }
  // q/k norms: per head ([head_dim]) or over the full projection width.
  for (int which = 0; which < 2; ++which) {
    auto it = tm.find(W(which ? TR::AttnKNorm : TR::AttnQNorm));
    if (it == tm.end()) continue;
    float* p = which ? k.data() : q.data();
    const int64_t width = which ? kw : qw;
    const int64_t n = it->second.numel();
    rms_norm_rows(p, p, T * (width / n), n, n, it->second.vec(), ir_.norm_eps);
    w.weight_bytes += static_cast<double>(it->second.bytes());
  }
  const int64_t rot = a.use_rope ? rope_dims(a, hd) : 0;
  for (int64_t t = 0; t < T; ++t) {
    if (rot > 0) {
      for (int64_t hh = 0; hh < H; ++hh) apply_rope(&q[static_cast<size_t>(t * qw + hh * hd)], rot, rows.pos[static_cast<size_t>(t)], a.rope_theta);
      for (int64_t g = 0; g < G; ++g) apply_rope(&k[static_cast<size_t>(t * kw + g * hd)], rot, rows.pos[static_cast<size_t>(t)], a.rope_theta);
    }
    for (int64_t g = 0; g < G; ++g) {
      const int64_t seq = rows.seq[static_cast<size_t>(t)], pos = rows.pos[static_cast<size_t>(t)];
      fp32_to_bf16(&k[static_cast<size_t>(t * kw + g * hd)], cache_at(st.k_cache, st.k_width, G, seq, g, pos), static_cast<size_t>(hd));
      fp32_to_bf16(&v[static_cast<size_t>(t * kw + g * hd)], cache_at(st.v_cache, st.v_width, G, seq, g, pos), static_cast<size_t>(hd));
    }
  }
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(hd)));
  const int64_t qpg = H / G;
  double kv_bytes = 0, core_flops = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t pos = rows.pos[static_cast<size_t>(t)];
    const int64_t lo = a.sliding_window > 0 ? std::max<int64_t>(0, pos - a.sliding_window + 1) : 0;
    kv_bytes += static_cast<double>((pos - lo + 1) * (st.k_width + st.v_width) * 2);
    core_flops += 4.0 * static_cast<double>(H * hd * (pos - lo + 1));
  }
  cpu::parallel_for(threads_, T * G, [&](int64_t item_begin, int64_t item_end) {
  for (int64_t item = item_begin; item < item_end; ++item) {
    const int64_t t = item / G, g = item % G;
    const int64_t seq = rows.seq[static_cast<size_t>(t)], pos = rows.pos[static_cast<size_t>(t)];
    const int64_t lo = a.sliding_window > 0 ? std::max<int64_t>(0, pos - a.sliding_window + 1) : 0;
    const int64_t n = pos - lo + 1;
    thread_local std::vector<float> sc, row;
    sc.resize(static_cast<size_t>(qpg * n));
    row.resize(static_cast<size_t>(hd));
    const float* qg = &q[static_cast<size_t>(t * qw + g * qpg * hd)];
    // scores [qpg, n] = q_g [qpg, hd] x K[lo..pos, g]^T: the cached keys are a bf16 "weight" of n rows.
    const cpu::WeightView keys{cache_at(st.k_cache, st.k_width, G, seq, g, lo), WeightDtype::BF16, n, hd, hd};
    cpu::matmul(qg, qpg, hd, keys, sc.data(), n, 1, cpu::MatmulImpl::Gemv);
    for (int64_t i = 0; i < qpg * n; ++i) {
      float& s = sc[static_cast<size_t>(i)];
      s *= scale;
      if (a.logit_softcap > 0) s = static_cast<float>(a.logit_softcap * std::tanh(s / a.logit_softcap));
    }
    for (int64_t i = 0; i < qpg; ++i) softmax_inplace(&sc[static_cast<size_t>(i * n)], n);
    float* og = &att[static_cast<size_t>(t * qw + g * qpg * hd)];
    std::fill(og, og + qpg * hd, 0.0f);
    for (int64_t j = 0; j < n; ++j) {  // each value row converted once, used by the group's qpg heads
      cpu::bf16_row_to_f32(cache_at(st.v_cache, st.v_width, G, seq, g, lo + j), row.data(), hd);
      for (int64_t i = 0; i < qpg; ++i) cpu::axpy_f32(sc[static_cast<size_t>(i * n + j)], row.data(), og + i * hd, hd);
    }
  }
  });
  w.kv_bytes += kv_bytes;
  w.flops += core_flops;
  mm(att.data(), T, qw, tm.at(W(TR::AttnOut)).view(), out, d, w);
  add_bias(tm, TR::AttnOut, out, T, d, d);
}

// MLA in the absorbed form: the cache holds c_kv (kv_lora_rank) and the shared rope key; q_nope is
// mapped into the latent space by kv_b_proj's key rows and the latent output back by its value rows.
void CpuBackend::run_mla(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w) {
  const AttentionSpec& a = st.op->attn;
  const int64_t d = ir_.d_model, T = rows.T, H = a.n_heads;
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, vd = a.v_head_dim, L = a.kv_lora_rank;
  const int64_t qhd = nope + rope;
  const TensorMap& tm = st.t;
  std::vector<float> q(static_cast<size_t>(T * H * qhd));
  if (tm.count(W(TR::MlaQB))) {
    const int64_t ql = a.q_lora_rank;
    std::vector<float> cq(static_cast<size_t>(T * ql));
    mm(h, T, d, tm.at(W(TR::MlaQA)).view(), cq.data(), ql, w);
    add_bias(tm, TR::MlaQA, cq.data(), T, ql, ql);
    rms_norm_rows(cq.data(), cq.data(), T, ql, ql, tm.at(W(TR::MlaQANorm)).vec(), ir_.norm_eps);
    mm(cq.data(), T, ql, tm.at(W(TR::MlaQB)).view(), q.data(), H * qhd, w);
  } else {
    mm(h, T, d, tm.at(W(TR::AttnQ)).view(), q.data(), H * qhd, w);
  }
  std::vector<float> kva(static_cast<size_t>(T * (L + rope)));
  mm(h, T, d, tm.at(W(TR::MlaKvA)).view(), kva.data(), L + rope, w);
  add_bias(tm, TR::MlaKvA, kva.data(), T, L + rope, L + rope);
  rms_norm_rows(kva.data(), kva.data(), T, L, L + rope, tm.at(W(TR::MlaKvANorm)).vec(), ir_.norm_eps);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t pos = rows.pos[static_cast<size_t>(t)], seq = rows.seq[static_cast<size_t>(t)];
    float* kp = &kva[static_cast<size_t>(t * (L + rope) + L)];
    apply_rope(kp, rope, pos, a.rope_theta);
    for (int64_t hh = 0; hh < H; ++hh) apply_rope(&q[static_cast<size_t>(t * H * qhd + hh * qhd + nope)], rope, pos, a.rope_theta);
    fp32_to_bf16(&kva[static_cast<size_t>(t * (L + rope))], cache_at(st.k_cache, L, 1, seq, 0, pos), static_cast<size_t>(L));
    fp32_to_bf16(kp, cache_at(st.v_cache, rope, 1, seq, 0, pos), static_cast<size_t>(rope));
  }
  const Stored& kvb = tm.at(W(TR::MlaKvB));  // [H * (nope + vd), L]
  const WeightView kvbv = kvb.view();
  // q_lat[t, h, :] = sum_i q_nope[t, h, i] * W_uk_h[i, :]
  std::vector<float> qlat(static_cast<size_t>(T * H * L), 0.0f);
  cpu::parallel_for(threads_, H, [&](int64_t hh_begin, int64_t hh_end) {
  for (int64_t hh = hh_begin; hh < hh_end; ++hh) {
    for (int64_t i = 0; i < nope; ++i) {
      const int64_t r = hh * (nope + vd) + i;
      for (int64_t t = 0; t < T; ++t) {
        const float qv = q[static_cast<size_t>(t * H * qhd + hh * qhd + i)];
        float* dst = &qlat[static_cast<size_t>((t * H + hh) * L)];
        if (kvb.dtype == WeightDtype::BF16) cpu::axpy_bf16(qv, kvb.bf16.data() + r * L, dst, L);
        else cpu::axpy_f32(qv, kvb.f32.data() + r * L, dst, L);
      }
    }
  }
  });
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(qhd)));
  std::vector<float> olat(static_cast<size_t>(T * H * L), 0.0f);
  double kv_bytes = 0, core_flops = 2.0 * static_cast<double>(T * H * nope * L);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t pos = rows.pos[static_cast<size_t>(t)], seq = rows.seq[static_cast<size_t>(t)];
    const int64_t lo = a.sliding_window > 0 ? std::max<int64_t>(0, pos - a.sliding_window + 1) : 0;
    const int64_t n = pos - lo + 1;
    std::vector<float> sc(static_cast<size_t>(H * n)), sr(static_cast<size_t>(H * n));
    WeightView ckv{cache_at(st.k_cache, L, 1, seq, 0, lo), WeightDtype::BF16, n, L, L};
    WeightView kpe{cache_at(st.v_cache, rope, 1, seq, 0, lo), WeightDtype::BF16, n, rope, rope};
    cpu::matmul(&qlat[static_cast<size_t>(t * H * L)], H, L, ckv, sc.data(), n, threads_);
    cpu::matmul(&q[static_cast<size_t>(t * H * qhd + nope)], H, qhd, kpe, sr.data(), n, threads_);
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
        cpu::bf16_row_to_f32(cache_at(st.k_cache, L, 1, seq, 0, lo + j), row.data(), L);
        for (int64_t hh = h0; hh < h1; ++hh)
          cpu::axpy_f32(sc[static_cast<size_t>(hh * n + j)], row.data(), &olat[static_cast<size_t>((t * H + hh) * L)], L);
      }
    });
    kv_bytes += static_cast<double>(n * (L + rope) * 2);
    core_flops += 2.0 * static_cast<double>(H * n * (2 * L + rope));
  }
  // o[t, h, :] = W_uv_h @ o_lat[t, h, :]
  std::vector<float> att(static_cast<size_t>(T * H * vd));
  cpu::parallel_for(threads_, H, [&](int64_t hh_begin, int64_t hh_end) {
  for (int64_t hh = hh_begin; hh < hh_end; ++hh) {
    WeightView uv = kvbv.sub_rows(hh * (nope + vd) + nope, vd);
    cpu::matmul(&olat[static_cast<size_t>(hh * L)], T, H * L, uv, &att[static_cast<size_t>(hh * vd)], H * vd, 1,
                cpu::MatmulImpl::Gemv);
  }
  });
  core_flops += 2.0 * static_cast<double>(T * H * vd * L);
  w.weight_bytes += static_cast<double>(kvb.bytes());
  w.kv_bytes += kv_bytes;
  w.flops += core_flops;
  mm(att.data(), T, H * vd, tm.at(W(TR::AttnOut)).view(), out, d, w);
  add_bias(tm, TR::AttnOut, out, T, d, d);
  for (TR r : {TR::MlaKvANorm, TR::MlaQANorm})
    if (tm.count(W(r))) w.weight_bytes += static_cast<double>(tm.at(W(r)).bytes());
}

void CpuBackend::run_router(OpState& st, const float* h, const Rows& rows, OpWork& w) {
  const MoeSpec& m = st.op->moe;
  const int64_t T = rows.T, E = m.n_experts, K = m.top_k, d = ir_.d_model;
  const TensorMap& tm = st.t;
  std::vector<float> logits(static_cast<size_t>(T * E));
  mm(h, T, d, tm.at(W(TR::Router)).view(), logits.data(), E, w);
  add_bias(tm, TR::Router, logits.data(), T, E, E);
  const float* corr = tm.count(W(TR::RouterCorrectionBias)) ? tm.at(W(TR::RouterCorrectionBias)).vec() : nullptr;
  route_idx_.assign(static_cast<size_t>(T * K), 0);
  route_w_.assign(static_cast<size_t>(T * K), 0.0f);
  ++step_;
  std::vector<double> score(static_cast<size_t>(E)), sel(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    int32_t* idx = &route_idx_[static_cast<size_t>(t * K)];
    float* wt = &route_w_[static_cast<size_t>(t * K)];
    const float* lg = &logits[static_cast<size_t>(t * E)];
    if (opts_.routing.kind != RoutingOverride::Router) {
      const uint64_t stream = mix64(opts_.seed * 31 + step_) ^ hash_name(st.op->name);
      std::vector<double> p(static_cast<size_t>(E));
      for (int64_t e = 0; e < E; ++e)
        p[static_cast<size_t>(e)] = opts_.routing.kind == RoutingOverride::Zipf ? std::pow(static_cast<double>(e + 1), -opts_.routing.zipf_s) : 1.0;
      for (int64_t k = 0; k < K; ++k) {
        if (opts_.routing.kind == RoutingOverride::Fixed) {
          idx[k] = static_cast<int32_t>(k);
        } else {  // weighted draw without replacement
          double total = 0;
          for (double x : p) total += x;
          double r = (unit(stream, static_cast<uint64_t>(t * K + k)) * 0.5 + 0.5) * total;
          int64_t e = 0;
          for (; e < E - 1; ++e) {
            if (p[static_cast<size_t>(e)] > 0 && r < p[static_cast<size_t>(e)]) break;
            r -= p[static_cast<size_t>(e)];
          }
          while (p[static_cast<size_t>(e)] == 0) e = (e + E - 1) % E;  // rounding at the end: last live expert
          idx[k] = static_cast<int32_t>(e);
          p[static_cast<size_t>(e)] = 0;
        }
        wt[k] = 1.0f / static_cast<float>(K);
      }
      continue;
    }
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
  if (corr) w.weight_bytes += static_cast<double>(tm.at(W(TR::RouterCorrectionBias)).bytes());
}

void CpuBackend::run_experts(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w) {
  const MoeSpec& m = st.op->moe;
  const int64_t T = rows.T, K = m.top_k, d = ir_.d_model;
  if (static_cast<int64_t>(route_idx_.size()) != T * K)
    throw Error(st.op->name + ": routed experts without a router before them in the same sublayer");
  std::vector<std::vector<std::pair<int64_t, float>>> by_expert(static_cast<size_t>(m.n_experts));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      by_expert[static_cast<size_t>(route_idx_[static_cast<size_t>(t * K + k)])].push_back({t, route_w_[static_cast<size_t>(t * K + k)]});
  std::fill(out, out + T * d, 0.0f);
  std::vector<float> hx, y;
  for (int64_t e = 0; e < m.n_experts; ++e) {
    const auto& list = by_expert[static_cast<size_t>(e)];
    if (list.empty()) continue;
    ++w.distinct_experts;
    const int64_t n = static_cast<int64_t>(list.size());
    hx.resize(static_cast<size_t>(n * d));
    y.resize(static_cast<size_t>(n * d));
    for (int64_t i = 0; i < n; ++i) std::copy_n(h + list[static_cast<size_t>(i)].first * d, d, &hx[static_cast<size_t>(i * d)]);
    run_mlp(st.experts[static_cast<size_t>(e)], st.op->mlp, hx.data(), n, y.data(), w);
    for (int64_t i = 0; i < n; ++i) cpu::axpy_f32(list[static_cast<size_t>(i)].second, &y[static_cast<size_t>(i * d)], out + list[static_cast<size_t>(i)].first * d, d);
  }
  work_.distinct_experts_per_layer.push_back(w.distinct_experts);
}

void CpuBackend::run_op(OpState& st, const float* h, float* out, const Rows& rows, OpWork& w) {
  const Op& op = *st.op;
  switch (op.kind) {
    case OpKind::Attention:
      if (op.attn.type == AttentionType::MLA) run_mla(st, h, out, rows, w);
      else run_attention(st, h, out, rows, w);
      break;
    case OpKind::Mlp:
    case OpKind::SharedExperts: run_mlp(st.t, op.mlp, h, rows.T, out, w); break;
    case OpKind::RoutedExperts: run_experts(st, h, out, rows, w); break;
    default: break;
  }
}

void CpuBackend::forward(const std::vector<int32_t>& tokens, const Rows& rows, std::vector<float>* logits, Profiler* prof) {
  const int64_t T = rows.T, d = ir_.d_model;
  work_ = StepWork{};
  work_.tokens = T;
  for (int32_t tok : tokens)
    if (tok < 0 || tok >= ir_.vocab_size)
      throw Error(strf("runner: token id %d outside the vocabulary (0..%lld)", tok, (long long)ir_.vocab_size - 1));
  std::vector<float> x(static_cast<size_t>(T * d), 0.0f), h(static_cast<size_t>(T * d)), acc(static_cast<size_t>(T * d)),
      part(static_cast<size_t>(T * d));
  auto begin = [&](const Op& op) -> OpWork& {
    work_.ops.push_back(OpWork{op.name, op.kind, op.layer});
    if (prof) prof->push(op.name, "op");
    return work_.ops.back();
  };
  auto end = [&](const OpWork& w) {
    if (prof) {
      prof->annotate(w.weight_bytes + w.kv_bytes, w.flops);
      prof->pop();
    }
  };
  for (OpState& st : pre_) {
    OpWork& w = begin(*st.op);
    const Stored& table = st.t.begin()->second;  // [rows, d]
    for (int64_t t = 0; t < T; ++t) {
      const int64_t r = st.op->kind == OpKind::TokenEmbedding ? tokens[static_cast<size_t>(t)] : rows.pos[static_cast<size_t>(t)];
      if (r >= table.rows) throw Error(strf("%s: row %lld outside the table (%lld rows)", st.op->name.c_str(), (long long)r, (long long)table.rows));
      for (int64_t i = 0; i < d; ++i)
        x[static_cast<size_t>(t * d + i)] += table.at(r * d + i) * static_cast<float>(ir_.embedding_multiplier);
      w.weight_bytes += static_cast<double>(d * cpu::weight_dtype_bytes(table.dtype));
    }
    end(w);
  }
  for (auto& L : layers_) {
    size_t i = 0;
    while (i < L.size()) {
      const int sub = L[i].op->sublayer;
      std::copy(x.begin(), x.end(), h.begin());
      std::fill(acc.begin(), acc.end(), 0.0f);
      bool computed = false;
      for (; i < L.size() && L[i].op->sublayer == sub; ++i) {
        OpState& st = L[i];
        OpWork& w = begin(*st.op);
        if (st.op->kind == OpKind::Norm) {
          if (st.op->post_norm) norm_rows(st, acc.data(), acc.data(), T, w);
          else if (!computed) norm_rows(st, h.data(), h.data(), T, w);
          else throw Error(unsupported(*st.op, "a pre-norm after the sublayer's compute ops"));
        } else if (st.op->kind == OpKind::Router) {
          run_router(st, h.data(), rows, w);
        } else {
          run_op(st, h.data(), part.data(), rows, w);
          for (int64_t j = 0; j < T * d; ++j) acc[static_cast<size_t>(j)] += part[static_cast<size_t>(j)];
          computed = true;
        }
        end(w);
      }
      for (int64_t j = 0; j < T * d; ++j) x[static_cast<size_t>(j)] += acc[static_cast<size_t>(j)];
    }
  }
  for (OpState& st : post_) {
    OpWork& w = begin(*st.op);
    if (st.op->kind == OpKind::Norm) {
      norm_rows(st, x.data(), x.data(), T, w);
    } else if (st.op->kind == OpKind::LmHead) {
      const Stored& head = st.tied ? *st.tied : st.t.at(W(TR::LmHead));
      std::vector<float> local;
      std::vector<float>& lg = logits ? *logits : local;
      lg.resize(static_cast<size_t>(T * ir_.vocab_size));
      mm(x.data(), T, d, head.view(), lg.data(), ir_.vocab_size, w);
      if (!st.tied) add_bias(st.t, TR::LmHead, lg.data(), T, ir_.vocab_size, ir_.vocab_size);
    }
    end(w);
  }
}

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace llmcost
