// The CUDA backend: Kernels for the executor (executor.h walks the model, as for the CPU) on one
// device and one stream. Weights bf16 (or fp32 with --weight-dtype fp32) uploaded tensor by tensor
// from the host staging of weights.h; fp32 activations; bf16 KV cache in the CPU backend's layout
// [seq][kv_head][pos][head_dim] (kernel_math.h kv_offset); fp32 accumulation everywhere.
//
// Matmuls: cuBLAS (cublasGemmEx, and cublasGemmStridedBatchedEx for MLA's per-head absorbed
// projections), one call per weight, per routed expert too (each expert's rows gathered first).
// cuBLAS has no bf16 x fp32 product, so the fp32 activations are converted to bf16 first. With
// up to kSplitRows rows (decode, small prefills) each activation row is split into two bf16 rows
// hi = bf16(x), lo = bf16(x - hi) and the GEMM runs on 2M rows, y = y_hi + y_lo: the product is
// then as exact as the CPU's fp32-activation x bf16-weight kernel (residual 2^-16 |x|) at the
// same weight traffic (decode is bandwidth-bound; the second row costs FLOPs, not bytes). With
// more rows (prefill) the activations are rounded once to bf16 (relative error <= 2^-9 per
// element). fp32 weights: fp32 GEMMs, no conversion.
//
// Host arrays the executor passes (positions, sequences, window starts, token ids, expert rows
// and weights) are copied through a pinned staging ring; route() copies idx/w back and waits
// (the executor dispatches experts on the host). Ops are queued back to back on the stream; the
// executor's per-op synchronize() waits only when a host-timed profiler (CpuProfiler) is attached,
// and each decode()/prefill() ends with one stream synchronization.
// No CUDA graphs yet: host-side routing (MoE) and host arrays staged per op leave no whole decode
// step to capture as one graph.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include "llmcost/backend.h"
#include "llmcost/calibrate.h"
#include "llmcost/counter_profiler.h"
#include "llmcost/cupti_profiler.h"
#include "llmcost/safetensors.h"
#include "llmcost/weights.h"
#include "executor.h"
#include "gemm_args.h"
#include "kernels.h"
#include "staging_ring.h"
#include "strf.h"

namespace llmcost {

namespace {

using TR = TensorRole;

// Rows up to which matmul activations are split into hi + lo bf16 rows (see the header).
constexpr int64_t kSplitRows = 64;

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e),
                e == cudaErrorMemoryAllocation ? ErrorKind::BadInput : ErrorKind::Internal);
}
void ckb(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuda: ") + what + ": cuBLAS status " + std::to_string(static_cast<int>(s)), ErrorKind::Internal);
}

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// cuBLAS takes dimensions and leading dimensions as int: refuse what would wrap.
void blas_dims(const char* what, std::initializer_list<int64_t> dims) {
  for (int64_t d : dims)
    if (d > std::numeric_limits<int>::max())
      throw Error(strf("cuda: %s: dimension %lld exceeds cuBLAS's int range", what, static_cast<long long>(d)),
                  ErrorKind::Unsupported);
}

void* dev_alloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 256));
  if (e != cudaSuccess) {
    cudaGetLastError();  // an allocation failure is not sticky: clear it
    throw Error(strf("cuda: cannot allocate %.3f GB of device memory for %s: %s", static_cast<double>(bytes) / 1e9, what,
                     cudaGetErrorString(e)),
                ErrorKind::BadInput);
  }
  return p;
}

// A weight on the device: [rows, cols] bf16 or fp32 (vectors [1, n], always fp32).
struct DevTensor final : DeviceTensor {
  void* p = nullptr;
  WeightDtype dtype = WeightDtype::FP32;
  int64_t rows = 0, cols = 0;
  int64_t numel() const { return rows * cols; }
  size_t bytes() const { return static_cast<size_t>(numel()) * weight_dtype_bytes(dtype); }
  const float* f32() const { return static_cast<const float*>(p); }
};
const DevTensor& D(const DeviceTensor& t) { return static_cast<const DevTensor&>(t); }

cudaDataType_t cuda_type(WeightDtype d) { return d == WeightDtype::BF16 ? CUDA_R_16BF : CUDA_R_32F; }

// Activation buffers of the executor: blocks kept for reuse (the walk asks for the same sizes
// every step). Reuse is safe on one stream: a block's next user is queued after its last one.
class DevicePool {
 public:
  ~DevicePool() {
    for (void* p : all_) cudaFree(p);
  }
  void* get(size_t bytes, size_t* block) {
    bytes = round_up(std::max<size_t>(bytes, 1), 256);
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first <= 2 * bytes) {
      void* p = it->second;
      *block = it->first;
      free_.erase(it);
      return p;
    }
    void* p = dev_alloc(bytes, "activations");
    all_.push_back(p);
    *block = bytes;
    return p;
  }
  void put(void* p, size_t block) { free_.emplace(block, p); }

 private:
  std::multimap<size_t, void*> free_;
  std::vector<void*> all_;
};

struct PoolBuffer final : DeviceBuffer {
  DevicePool* pool = nullptr;
  size_t block = 0;
  ~PoolBuffer() override {
    if (pool && data) pool->put(data, block);
  }
};

// Device scratch that grows (after the stream drained) when a call needs more.
class Scratch {
 public:
  ~Scratch() { cudaFree(p_); }
  void* get(size_t bytes, cudaStream_t s) {
    if (bytes > cap_) {
      ck(cudaStreamSynchronize(s), "scratch resize");
      cudaFree(p_);
      p_ = nullptr;
      cap_ = 0;
      const size_t want = round_up(bytes + bytes / 2, 1 << 20);
      p_ = dev_alloc(want, "scratch");
      cap_ = want;
    }
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

// Host arrays -> device through pinned memory (staging_ring.h: no region reused or freed before
// the stream drained).
class StagingMem {
 public:
  explicit StagingMem(cudaStream_t* s) : s_(s) {}
  char* alloc_host(size_t bytes) {
    void* p = nullptr;
    ck(cudaMallocHost(&p, bytes), "pinned staging");
    return static_cast<char*>(p);
  }
  char* alloc_dev(size_t bytes) { return static_cast<char*>(dev_alloc(bytes, "staging")); }
  void free_host(char* p) { cudaFreeHost(p); }
  void free_dev(char* p) { cudaFree(p); }
  void copy(char* dev, const char* host, size_t bytes) {
    ck(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, *s_), "staging copy");
  }

 private:
  cudaStream_t* s_;
};

struct KvCache {
  KvLayout layout;
  uint16_t* k = nullptr;
  uint16_t* v = nullptr;
};

cudak::Act kernel_act(Activation a) {
  switch (a) {
    case Activation::SiLU: return cudak::Act::SiLU;
    case Activation::GeLU: return cudak::Act::GeLU;
    case Activation::GeLUTanh: return cudak::Act::GeLUTanh;
    case Activation::ReLU: return cudak::Act::ReLU;
    case Activation::ReLU2: return cudak::Act::ReLU2;
    default: return cudak::Act::Identity;  // the executor refuses the others (as the CPU backend's default)
  }
}

cudak::RouteSpec route_spec(const MoeSpec& m) {
  cudak::RouteSpec r;
  r.n_experts = m.n_experts;
  r.top_k = m.top_k;
  r.scoring = m.scoring == ScoringFunc::Softmax ? 0 : m.scoring == ScoringFunc::Sigmoid ? 1 : 2;
  r.softmax_after_topk = m.softmax_after_topk;
  r.n_group = m.n_group;
  r.topk_group = m.topk_group;
  r.norm_topk_prob = m.norm_topk_prob;
  r.routed_scaling_factor = m.routed_scaling_factor;
  return r;
}

std::string cuda_unavailable(cudaError_t e) {
  return std::string("cuda: not available: ") + cudaGetErrorString(e);
}

// ---------------------------------------------------------------- the backend

class CudaBackend final : public Backend, private Kernels {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  std::string name() const override { return "cuda"; }
  std::string device() const override;
  void prepare(const ModelIR& ir, const BackendOptions& opts) override;
  void reset(int64_t batch) override { executor().reset(batch); }
  void fill_kv(int64_t batch, int64_t context) override;
  // The step is complete on the device when these return (one stream synchronization per step).
  void decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof) override {
    sync_ops_ = host_timed(prof);
    executor().decode(tokens, logits, prof);
    drain();
  }
  void prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits, Profiler* prof) override {
    sync_ops_ = host_timed(prof);
    executor().prefill(tokens, seq_len, logits, prof);
    drain();
  }
  std::unique_ptr<Profiler> make_profiler() const override;
  // DRAM bytes per op from the CUPTI range profiler (profiler/counter_profiler.h), or nullptr
  // with the one-line reason (not permitted, MIG, another profiler, built without CUPTI ...).
  std::unique_ptr<Profiler> make_counter_profiler(std::string* why_not) const override {
    return llmcost::make_counter_profiler(why_not);
  }
  RunCalibration calibrate(int threads, WeightDtype dt, const std::function<void(const std::string&)>& progress) const override;
  FreeMemory free_memory() const override;
  const StepWork& last_step() const override { return executor().last_step(); }
  std::vector<float> tensor_values(const std::string& hf_name) const override;

 private:
  friend class DevSink;
  Executor& executor() const {
    if (!exec_) throw Error("runner: the cuda backend has no prepared model (call prepare first)");
    return *exec_;
  }
  void release();
  template <class T>
  const T* stage(const T* host, int64_t n) {
    return reinterpret_cast<const T*>(staging_.put(host, static_cast<size_t>(std::max<int64_t>(n, 0)) * sizeof(T)));
  }
  // y [M, N] (ldy) = x [M, K] (ldx) W^T, see the header for the bf16 split.
  void gemm(const float* x, int64_t M, int64_t ldx, const DevTensor& w, float* y, int64_t ldy);
  // Per-head batched product for MLA (gemm_args.h), see mla_attention.
  void gemm_heads(const cudak::GemmCall& call, const DevTensor& w, const float* x, int64_t rows, int64_t width, float* c,
                  int64_t out_width);
  // One cuBLAS call (GemmEx, or StridedBatchedEx for batch > 1), fp32 output, fp32 compute.
  void blas(const cudak::GemmCall& c, const void* w, cudaDataType_t tw, const void* x, cudaDataType_t tx, float* y,
            const char* what);

  // ---- Kernels
  const DeviceTensor* weight(const Op& op, TensorRole role, bool bias, int64_t expert) const override {
    return weights_.find(op, role, bias, expert);
  }
  std::unique_ptr<DeviceBuffer> alloc(int64_t floats) override {
    auto b = std::make_unique<PoolBuffer>();
    b->pool = &pool_;
    b->data = static_cast<float*>(pool_.get(static_cast<size_t>(std::max<int64_t>(floats, 1)) * sizeof(float), &b->block));
    b->size = floats;
    return b;
  }
  void to_host(const float* src, int64_t n, float* dst) override {
    ck(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost, stream_), "to_host");
    drain();
  }
  // The executor calls this at the end of every op. Only a host-timed profiler needs the op
  // finished there; without a profiler, or with CUPTI (device timestamps), the ops stay queued
  // back to back and the step ends with one drain().
  void synchronize() override {
    if (sync_ops_) drain();
  }
  void drain() {
    ck(cudaStreamSynchronize(stream_), "synchronize");
    staging_.recycle();
  }
  static bool host_timed(const Profiler* prof) { return prof && std::strcmp(prof->backend(), "cupti") != 0; }
  void matmul(const float* x, int64_t M, int64_t ldx, const DeviceTensor& w, float* y, int64_t ldy) override {
    gemm(x, M, ldx, D(w), y, ldy);
  }
  void add_bias(const DeviceTensor& b, float* y, int64_t M, int64_t ldy) override {
    cudak::add_bias(D(b).f32(), D(b).numel(), y, M, ldy, stream_);
  }
  void rms_norm(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const DeviceTensor* w, double eps) override {
    cudak::rms_norm(in, out, T, d, ld, w ? D(*w).f32() : nullptr, eps, stream_);
  }
  void layer_norm(const float* in, float* out, int64_t T, int64_t d, const DeviceTensor& w, const DeviceTensor* b,
                  double eps) override {
    cudak::layer_norm(in, out, T, d, D(w).f32(), b ? D(*b).f32() : nullptr, eps, stream_);
  }
  void rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
            double theta) override {
    cudak::rope(x, T, ld, heads, head_stride, rot, stage(pos, T), theta, stream_);
  }
  void kv_store(const Op& op, const float* k, int64_t ldk, const float* v, int64_t ldv, const Rows& rows) override;
  void attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) override;
  void mla_attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) override;
  void glu(Activation act, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M,
           int64_t n) override {
    cudak::glu(kernel_act(act), gate, ldg, up, ldu, out, M, n, stream_);
  }
  void activate(Activation act, float* x, int64_t n) override { cudak::activate(kernel_act(act), x, n, stream_); }
  void scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g) override {
    cudak::scale_rows_sigmoid(y, M, d, g, stream_);
  }
  void route(const float* logits, int64_t T, const MoeSpec& m, const DeviceTensor* correction, int32_t* idx,
             float* w) override;
  void embed_add(const DeviceTensor& table, const int64_t* ids, int64_t T, int64_t d, float mult, float* x) override {
    cudak::embed_add(D(table).p, D(table).dtype == WeightDtype::BF16, stage(ids, T), T, d, mult, x, stream_);
  }
  void add(float* y, const float* x, int64_t n) override { cudak::add(y, x, n, stream_); }
  void copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) override {
    cudak::copy2d(dst, ldd, src, lds, rows, cols, stream_);
  }
  void fill_zero(float* x, int64_t n) override {
    ck(cudaMemsetAsync(x, 0, static_cast<size_t>(n) * sizeof(float), stream_), "fill_zero");
  }
  void gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t n, float* dst) override {
    cudak::gather_rows(src, d, stage(ids, n), n, dst, stream_);
  }
  void scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t n, float* dst) override {
    const int64_t* di = stage(ids, n);
    cudak::scatter_add_rows(src, d, di, stage(w, n), n, dst, stream_);
  }

  int device_ = 0;
  bool sync_ops_ = true;  // synchronize() waits (a host-timed profiler is attached)
  int64_t sms_ = 1;       // multiprocessors (attention split-K)
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  ModelIR ir_;
  BackendOptions opts_;
  int64_t max_ctx_ = 0;
  WeightTable<DevTensor> weights_;
  std::vector<void*> weight_mem_;  // every weight's device allocation
  std::map<const Op*, KvCache> kv_;
  DevicePool pool_;
  Scratch conv_, tmp_, route_scratch_;
  StagingMem staging_mem_{&stream_};
  cudak::StagingRing<StagingMem> staging_{staging_mem_};
  int32_t* route_host_ = nullptr;  // pinned: idx then w of the last route()
  size_t route_host_bytes_ = 0;
  std::unique_ptr<Executor> exec_;
};

// Staging writes into one pinned host buffer (grown to the largest tensor); staged() uploads it.
class DevSink final : public WeightSink {
 public:
  explicit DevSink(CudaBackend& be) : be_(be) {}
  ~DevSink() override { cudaFreeHost(host_); }
  void* host_buffer(const WeightSlot& slot) override {
    const size_t bytes = static_cast<size_t>(slot.numel()) * weight_dtype_bytes(slot.dtype);
    if (bytes > cap_) {
      cudaFreeHost(host_);
      host_ = nullptr;
      cap_ = 0;
      ck(cudaMallocHost(&host_, std::max<size_t>(bytes, 1)), "pinned weight staging");
      cap_ = bytes;
    }
    return host_;
  }
  void staged(const WeightSlot& slot) override {
    DevTensor& t = be_.weights_.add(slot);
    t.dtype = slot.dtype;
    t.rows = slot.rows;
    t.cols = slot.cols;
    t.p = dev_alloc(t.bytes(), slot.name.c_str());
    be_.weight_mem_.push_back(t.p);
    ck(cudaMemcpy(t.p, host_, t.bytes(), cudaMemcpyHostToDevice), "weight upload");
  }

 private:
  CudaBackend& be_;
  void* host_ = nullptr;
  size_t cap_ = 0;
};

CudaBackend::CudaBackend(int device) : device_(device) {
  ck(cudaSetDevice(device_), "cudaSetDevice");
  ck(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  int sms = 1;
  ck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_), "cudaDeviceGetAttribute");
  sms_ = sms;
  ckb(cublasCreate(&blas_), "cublasCreate");
  ckb(cublasSetStream(blas_, stream_), "cublasSetStream");
  // fp32 GEMMs stay fp32 (no TF32): the fp32-weight runs are the exact reference.
  ckb(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
}

CudaBackend::~CudaBackend() {
  release();
  cudaFreeHost(route_host_);
  if (blas_) cublasDestroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::release() {
  exec_.reset();
  if (stream_) cudaStreamSynchronize(stream_);
  for (auto& [op, c] : kv_) {
    cudaFree(c.k);
    cudaFree(c.v);
  }
  kv_.clear();
  for (void* p : weight_mem_) cudaFree(p);
  weight_mem_.clear();
  weights_.clear();
}

std::string CudaBackend::device() const {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device_) != cudaSuccess) return "CUDA device " + std::to_string(device_);
  return strf("%s (device %d, sm_%d%d, %d SMs, %.1f GB, cuBLAS GEMMs)", p.name, device_, p.major, p.minor,
              p.multiProcessorCount, static_cast<double>(p.totalGlobalMem) / 1e9);
}

FreeMemory CudaBackend::free_memory() const {
  size_t free_b = 0, total = 0;
  ck(cudaMemGetInfo(&free_b, &total), "cudaMemGetInfo");
  return FreeMemory{free_b, strf("cudaMemGetInfo on device %d", device_)};
}

std::unique_ptr<Profiler> CudaBackend::make_profiler() const {
  try {
    return std::make_unique<CuptiProfiler>(make_cupti_api());
  } catch (const Error& e) {
    static std::once_flag once;
    std::call_once(once, [&] {
      std::fprintf(stderr, "llmcost: note: %s; timing each op on the host after synchronizing the device\n", e.what());
    });
    return std::make_unique<CpuProfiler>();
  }
}

RunCalibration CudaBackend::calibrate(int threads, WeightDtype dt,
                                      const std::function<void(const std::string&)>& progress) const {
  (void)threads;
  CalibrationOptions o;
  o.seconds = 2.0;
  o.measure_triad = false;
  o.progress = progress;
  const Calibration c = calibrate_cuda(o);
  RunCalibration r;
  r.read_bw_bytes_per_s = c.read_bw_bytes_per_s.median;
  r.gemm_flops_per_s = dt == WeightDtype::BF16 ? c.gemm_bf16_flops_per_s.median : c.gemm_fp32_flops_per_s.median;
  r.source = strf("calibrated in-process on %s: read bandwidth over %llu MiB, %s %dx%dx%d", c.cpu_model.c_str(),
                  static_cast<unsigned long long>(c.buffer_bytes >> 20),
                  (dt == WeightDtype::BF16 ? c.gemm_bf16_impl : c.gemm_fp32_impl).c_str(), c.gemm_m, c.gemm_n, c.gemm_k);
  return r;
}

void CudaBackend::prepare(const ModelIR& ir, const BackendOptions& opts) {
  Executor::validate(ir);
  if (opts.cuda_graph)
    throw Error("cuda: --cuda-graph on is not implemented: the executor hands host arrays (positions, routing) to every op, "
                "so a decode step cannot be captured as one graph yet",
                ErrorKind::Unsupported);
  if (opts.max_batch < 1 || opts.max_context < 1)
    throw Error(strf("runner: max batch and max context must be >= 1, got %lld and %lld", (long long)opts.max_batch,
                     (long long)opts.max_context));
  if (opts.check_memory) check_slice_fits(ir, predict_slice_memory(ir, opts), free_memory());
  release();
  ir_ = ir;
  opts_ = opts;
  max_ctx_ = opts.max_context;
  {
    DevSink sink(*this);
    stage_weights(ir_, opts_, sink);
  }
  weights_.tie(ir_);
  for (const Layer& L : ir_.layers)
    for (const Op& op : L.ops) {
      if (op.kind != OpKind::Attention) continue;
      KvCache& c = kv_[&op];
      c.layout = kv_layout(op);
      const size_t kb = static_cast<size_t>(opts.max_batch * max_ctx_ * c.layout.k_width) * 2;
      const size_t vb = static_cast<size_t>(opts.max_batch * max_ctx_ * c.layout.v_width) * 2;
      c.k = static_cast<uint16_t*>(dev_alloc(kb, "the KV cache"));
      c.v = static_cast<uint16_t*>(dev_alloc(vb, "the KV cache"));
      ck(cudaMemset(c.k, 0, kb), "KV cache clear");
      ck(cudaMemset(c.v, 0, vb), "KV cache clear");
    }
  // Uploads and clears ran on the legacy default stream, which the non-blocking stream_ does
  // not wait for.
  ck(cudaDeviceSynchronize(), "prepare");
  exec_ = std::make_unique<Executor>(ir_, static_cast<Kernels&>(*this), opts_);
  exec_->reset(opts.max_batch);
}

void CudaBackend::fill_kv(int64_t batch, int64_t context) {
  drain();  // no queued step may still read the caches
  executor().reset(batch);
  executor().set_lengths(context);
  // Generated on the device (the same values as the CPU's synthetic_kv): an 8k context of a
  // whole model is tens of GB, too much to generate on the host and upload.
  for (auto& [op, c] : kv_)
    for (bool value : {false, true})
      cudak::synthetic_kv(value ? c.v : c.k, batch, c.layout.kv_heads, context,
                          value ? c.layout.v_head_dim() : c.layout.k_head_dim(), max_ctx_,
                          synthetic_kv_stream(opts_.seed, *op), value, stream_);
  drain();
}

std::vector<float> CudaBackend::tensor_values(const std::string& hf_name) const {
  const DevTensor* t = weights_.by_name(hf_name);
  if (!t) throw Error("runner: no tensor " + hf_name + " in the prepared slice");
  std::vector<float> out(static_cast<size_t>(t->numel()));
  if (t->dtype == WeightDtype::BF16) {
    std::vector<uint16_t> b(out.size());
    ck(cudaMemcpy(b.data(), t->p, t->bytes(), cudaMemcpyDeviceToHost), "tensor_values");
    for (size_t i = 0; i < b.size(); ++i) out[i] = bf16_to_fp32(b[i]);
  } else {
    ck(cudaMemcpy(out.data(), t->p, t->bytes(), cudaMemcpyDeviceToHost), "tensor_values");
  }
  return out;
}

// ---------------------------------------------------------------- matmuls

void CudaBackend::blas(const cudak::GemmCall& c, const void* w, cudaDataType_t tw, const void* x, cudaDataType_t tx, float* y,
                       const char* what) {
  blas_dims(what, {c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.batch});
  if (!cudak::gemm_call_valid(c)) throw Error(std::string("cuda: ") + what + ": invalid cuBLAS arguments", ErrorKind::Internal);
  const float one = 1.0f, zero = 0.0f;
  const void* A = static_cast<const char*>(w) + static_cast<size_t>(c.a_offset) * (tw == CUDA_R_16BF ? 2 : 4);
  const cublasOperation_t ta = c.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (c.batch == 1) {
    ckb(cublasGemmEx(blas_, ta, CUBLAS_OP_N, static_cast<int>(c.m), static_cast<int>(c.n), static_cast<int>(c.k), &one, A, tw,
                     static_cast<int>(c.lda), x, tx, static_cast<int>(c.ldb), &zero, y, CUDA_R_32F, static_cast<int>(c.ldc),
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        what);
  } else {
    ckb(cublasGemmStridedBatchedEx(blas_, ta, CUBLAS_OP_N, static_cast<int>(c.m), static_cast<int>(c.n), static_cast<int>(c.k), &one,
                                   A, tw, static_cast<int>(c.lda), c.stride_a, x, tx, static_cast<int>(c.ldb), c.stride_b, &zero, y,
                                   CUDA_R_32F, static_cast<int>(c.ldc), c.stride_c, static_cast<int>(c.batch),
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        what);
  }
}

void CudaBackend::gemm(const float* x, int64_t M, int64_t ldx, const DevTensor& w, float* y, int64_t ldy) {
  const int64_t N = w.rows, K = w.cols;
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    ck(cudaMemset2DAsync(y, static_cast<size_t>(ldy) * 4, 0, static_cast<size_t>(N) * 4, static_cast<size_t>(M), stream_), "matmul");
    return;
  }
  // fp32 weights: fp32 GEMM straight on the activations (no TF32: CUBLAS_COMPUTE_32F).
  if (w.dtype == WeightDtype::FP32) {
    blas(cudak::linear_call(M, N, K, ldx, ldy), w.p, CUDA_R_32F, x, CUDA_R_32F, y, "cublasGemmEx fp32");
    return;
  }
  const bool split = M <= kSplitRows;
  const int64_t Mx = split ? 2 * M : M;
  auto* xb = static_cast<uint16_t*>(conv_.get(static_cast<size_t>(Mx * K) * 2, stream_));
  cudak::to_bf16(x, M, ldx, K, xb, split, stream_);
  float* out = split ? static_cast<float*>(tmp_.get(static_cast<size_t>(Mx * N) * 4, stream_)) : y;
  blas(cudak::linear_call_bf16(M, N, K, ldy, split), w.p, CUDA_R_16BF, xb, CUDA_R_16BF, out, "cublasGemmEx bf16");
  if (split) cudak::combine_split(out, M, N, y, ldy, stream_);
}

// One strided-batched product per head: `call` is gemm_args.h's mla_q_call / mla_v_call unsplit.
// B is the fp32 activations x [rows, width] (every head's columns); C [rows, out_width].
void CudaBackend::gemm_heads(const cudak::GemmCall& call, const DevTensor& w, const float* x, int64_t rows, int64_t width,
                             float* c, int64_t out_width) {
  if (rows <= 0) return;
  if (w.dtype == WeightDtype::FP32) {
    blas(call, w.p, CUDA_R_32F, x, CUDA_R_32F, c, "cublasGemmStridedBatchedEx fp32");
    return;
  }
  // The activation rows are whole [rows, width] rows (every head): convert them all; the split's
  // hi and lo rows keep the row width, so the call only doubles n (as mla_*_call with split).
  const bool split = rows <= kSplitRows;
  cudak::GemmCall cx = call;
  if (split) cx.n = 2 * call.n;
  const int64_t Rx = split ? 2 * rows : rows;
  auto* xb = static_cast<uint16_t*>(conv_.get(static_cast<size_t>(Rx * width) * 2, stream_));
  cudak::to_bf16(x, rows, width, width, xb, split, stream_);
  float* out = split ? static_cast<float*>(tmp_.get(static_cast<size_t>(Rx * out_width) * 4, stream_)) : c;
  blas(cx, w.p, CUDA_R_16BF, xb, CUDA_R_16BF, out, "cublasGemmStridedBatchedEx bf16");
  if (split) cudak::combine_split(out, rows, out_width, c, out_width, stream_);
}

// ---------------------------------------------------------------- attention, routing

void CudaBackend::kv_store(const Op& op, const float* k, int64_t ldk, const float* v, int64_t ldv, const Rows& rows) {
  KvCache& c = kv_.at(&op);
  const int64_t* seq = stage(rows.seq.data(), rows.T);
  const int64_t* pos = stage(rows.pos.data(), rows.T);
  cudak::kv_store(k, ldk, rows.T, c.layout.kv_heads, c.layout.k_head_dim(), seq, pos, c.k, max_ctx_, stream_);
  cudak::kv_store(v, ldv, rows.T, c.layout.kv_heads, c.layout.v_head_dim(), seq, pos, c.v, max_ctx_, stream_);
}

void CudaBackend::attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) {
  KvCache& c = kv_.at(&op);
  const AttentionSpec& a = op.attn;
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  int64_t max_n = 1;
  for (int64_t t = 0; t < rows.T; ++t) max_n = std::max(max_n, rows.pos[static_cast<size_t>(t)] - lo[t] + 1);
  const int64_t splits = cudak::attention_splits(rows.T, a.n_heads, max_n, sms_);
  float* part = nullptr;
  if (splits > 1)
    part = static_cast<float*>(tmp_.get(static_cast<size_t>(rows.T * a.n_heads * splits * (a.head_dim + 2)) * 4, stream_));
  cudak::attention(q, c.k, c.v, stage(rows.seq.data(), rows.T), stage(rows.pos.data(), rows.T), stage(lo, rows.T), rows.T,
                   a.n_heads, a.n_kv_heads, a.head_dim, max_ctx_, scale, a.logit_softcap, out, splits, part,
                   part ? part + rows.T * a.n_heads * splits * a.head_dim : nullptr, stream_);
}

void CudaBackend::mla_attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) {
  KvCache& c = kv_.at(&op);
  const AttentionSpec& a = op.attn;
  const int64_t T = rows.T, H = a.n_heads, nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, vd = a.v_head_dim;
  const int64_t L = a.kv_lora_rank, qhd = nope + rope;
  const DevTensor* kvb = weights_.find(op, TR::MlaKvB, false, -1);
  if (!kvb) throw Error(op.name + ": MLA attention without mla_kv_b");
  // q_lat[t, h, :] = W_uk_h^T q_nope[t, h]: W_uk_h = rows h (nope + vd) .. + nope of kv_b, [nope, L]
  // row-major = column-major L x nope (lda L), not transposed.
  auto qlat = alloc(T * H * L), olat = alloc(T * H * L);
  gemm_heads(cudak::mla_q_call(T, H, nope, rope, vd, L, false), *kvb, q, T, H * qhd, qlat->data, H * L);
  const float scale = static_cast<float>(a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(qhd)));
  cudak::mla_core(qlat->data, q, qhd, nope, rope, c.k, c.v, stage(rows.seq.data(), T), stage(rows.pos.data(), T), stage(lo, T),
                  T, H, L, max_ctx_, scale, olat->data, stream_);
  // out[t, h, :vd] = W_uv_h o_lat[t, h]: W_uv_h = rows h (nope + vd) + nope .. + vd, [vd, L] row-major =
  // column-major L x vd (lda L), transposed.
  gemm_heads(cudak::mla_v_call(T, H, nope, vd, L, false), *kvb, olat->data, T, H * L, out, H * vd);
}

void CudaBackend::route(const float* logits, int64_t T, const MoeSpec& m, const DeviceTensor* correction, int32_t* idx,
                        float* w) {
  const cudak::RouteSpec spec = route_spec(m);
  const int64_t K = m.top_k;
  const size_t scratch = static_cast<size_t>(T * (2 * m.n_experts + std::max<int64_t>(1, m.n_group))) * sizeof(double);
  auto* s = static_cast<double*>(route_scratch_.get(scratch + static_cast<size_t>(T * K) * 8 + 512, stream_));
  auto* di = reinterpret_cast<int32_t*>(reinterpret_cast<char*>(s) + round_up(scratch, 256));
  auto* dw = reinterpret_cast<float*>(di + T * K);
  cudak::route(logits, T, spec, correction ? D(*correction).f32() : nullptr, s, di, dw, stream_);
  const size_t bytes = static_cast<size_t>(T * K) * 8;
  if (bytes > route_host_bytes_) {
    cudaFreeHost(route_host_);
    route_host_ = nullptr;
    route_host_bytes_ = 0;
    ck(cudaMallocHost(reinterpret_cast<void**>(&route_host_), bytes), "pinned routing");
    route_host_bytes_ = bytes;
  }
  ck(cudaMemcpyAsync(route_host_, di, bytes, cudaMemcpyDeviceToHost, stream_), "routing copy");
  drain();  // the executor dispatches experts on the host
  std::memcpy(idx, route_host_, static_cast<size_t>(T * K) * 4);
  std::memcpy(w, route_host_ + T * K, static_cast<size_t>(T * K) * 4);
}

}  // namespace

// The registry's entry: throws "cuda: not available: <reason>" (DeviceUnavailable) without a
// usable device or driver.
std::unique_ptr<Backend> make_cuda_backend() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) throw Error(cuda_unavailable(e), ErrorKind::DeviceUnavailable);
  if (n < 1) throw Error("cuda: not available: no CUDA device", ErrorKind::DeviceUnavailable);
  return std::make_unique<CudaBackend>(0);
}

}  // namespace llmcost
