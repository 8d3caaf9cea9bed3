// `llmcost calibrate --backend cuda` and CudaBackend::calibrate(): what the device achieves, timed
// with CUDA events after a warm-up (see calibrate.h calibrate_cuda for the four measurements).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "kernels.h"
#include "llmcost/calibrate.h"
#include "llmcost/error.h"

namespace llmcost {

namespace {

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("cuda: calibrate: ") + what + ": " + cudaGetErrorString(e), ErrorKind::Internal);
}
void ckb(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuda: calibrate: ") + what + ": cuBLAS status " + std::to_string(static_cast<int>(s)),
                ErrorKind::Internal);
}

struct DevMem {
  void* p = nullptr;
  explicit DevMem(size_t bytes) {
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw Error("cuda: calibrate: cannot allocate " + std::to_string(bytes >> 20) + " MiB on the device: " + cudaGetErrorString(e),
                  ErrorKind::BadInput);
    }
  }
  ~DevMem() { cudaFree(p); }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
};

struct Events {
  cudaEvent_t a = nullptr, b = nullptr;
  Events() {
    ck(cudaEventCreate(&a), "cudaEventCreate");
    ck(cudaEventCreate(&b), "cudaEventCreate");
  }
  ~Events() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
};

// Runs `work` once to warm up, then repeatedly, each timed by events around it, until min_reps
// are done and `budget_s` has passed (or max_reps): rate = amount / seconds per repetition.
Stats measure(cudaStream_t s, double amount, double budget_s, int min_reps, int max_reps, const std::function<void()>& work) {
  Events ev;
  work();
  ck(cudaStreamSynchronize(s), "warm-up");
  std::vector<double> rates;
  const auto t0 = std::chrono::steady_clock::now();
  for (int rep = 0; rep < max_reps; ++rep) {
    ck(cudaEventRecord(ev.a, s), "cudaEventRecord");
    work();
    ck(cudaEventRecord(ev.b, s), "cudaEventRecord");
    ck(cudaEventSynchronize(ev.b), "cudaEventSynchronize");
    float ms = 0;
    ck(cudaEventElapsedTime(&ms, ev.a, ev.b), "cudaEventElapsedTime");
    rates.push_back(amount / (static_cast<double>(ms) * 1e-3));
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep + 1 >= min_reps && spent >= budget_s) break;
  }
  return summarize(rates);
}

std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Calibration calibrate_cuda(const CalibrationOptions& o) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) throw Error(std::string("cuda: not available: ") + cudaGetErrorString(e), ErrorKind::DeviceUnavailable);
  if (n < 1) throw Error("cuda: not available: no CUDA device", ErrorKind::DeviceUnavailable);
  ck(cudaSetDevice(0), "cudaSetDevice");
  cudaDeviceProp prop{};
  ck(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  Calibration c;
  c.backend = "cuda";
  c.cpu_model = prop.name;
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) c.host = host;
  c.date_utc = utc_now();
  c.threads = prop.multiProcessorCount;
  c.memory_bytes = prop.totalGlobalMem;
  c.llc_bytes = static_cast<uint64_t>(prop.l2CacheSize);
  size_t free_b = 0, total_b = 0;
  ck(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  size_t buf = o.buffer_bytes > 0 ? o.buffer_bytes : std::max<size_t>(size_t{1} << 30, 16 * c.llc_bytes);
  buf = std::min(buf, free_b / 4) / 16 * 16;  // two buffers plus the GEMMs' operands must fit
  if (buf < 16) throw Error("cuda: calibrate: no device memory free for the bandwidth buffers", ErrorKind::BadInput);
  c.buffer_bytes = buf;
  const double share = std::max(0.01, o.seconds) / 5.0;  // five measurements share the time
  const int min_reps = std::max(1, o.min_reps), max_reps = std::max(min_reps, o.max_reps);

  cudaStream_t s = nullptr;
  ck(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  struct StreamGuard {
    cudaStream_t s;
    ~StreamGuard() { cudaStreamDestroy(s); }
  } sg{s};
  {
    DevMem a(buf), b(buf);
    // On `s` itself: a plain cudaMemset runs on the legacy default stream, which the non-blocking
    // `s` does not wait for, so the 1 GB clears could overlap the first timed repetitions.
    ck(cudaMemsetAsync(a.p, 0, buf, s), "cudaMemsetAsync");
    ck(cudaMemsetAsync(b.p, 0, buf, s), "cudaMemsetAsync");
    const int blocks = prop.multiProcessorCount * 8;
    DevMem partial(static_cast<size_t>(blocks) * sizeof(float));
    if (o.progress) o.progress("read (HBM)");
    c.read_bw_bytes_per_s = measure(s, static_cast<double>(buf), share, min_reps, max_reps, [&] {
      ck(cudaMemsetAsync(partial.p, 0, static_cast<size_t>(blocks) * sizeof(float), s), "cudaMemsetAsync");
      cudak::read_sum(static_cast<const float4*>(a.p), static_cast<int64_t>(buf / 16), static_cast<float*>(partial.p), blocks, s);
    });
    if (o.progress) o.progress("copy (device to device)");
    c.copy_bw_bytes_per_s = measure(s, 2.0 * static_cast<double>(buf), share, min_reps, max_reps, [&] {
      ck(cudaMemcpyAsync(b.p, a.p, buf, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
    });
  }
  {
    if (o.progress) o.progress("launch latency");
    constexpr int kLaunches = 1000;
    Stats per_s = measure(s, static_cast<double>(kLaunches), share, min_reps, max_reps, [&] {
      for (int i = 0; i < kLaunches; ++i) cudak::empty_kernel(s);
    });
    // launches/s -> seconds per launch (p10 of the rate is p90 of the latency).
    c.launch_latency_s = per_s;
    c.launch_latency_s.median = 1.0 / per_s.median;
    c.launch_latency_s.p10 = 1.0 / per_s.p90;
    c.launch_latency_s.p90 = 1.0 / per_s.p10;
    c.launch_latency_s.min = 1.0 / per_s.max;
    c.launch_latency_s.max = 1.0 / per_s.min;
    c.launch_latency_s.mean = 1.0 / per_s.mean;
  }
  cublasHandle_t h = nullptr;
  ckb(cublasCreate(&h), "cublasCreate");
  struct BlasGuard {
    cublasHandle_t h;
    ~BlasGuard() { cublasDestroy(h); }
  } bg{h};
  ckb(cublasSetStream(h, s), "cublasSetStream");
  auto gemm = [&](int dim, cudaDataType_t in, size_t in_bytes, const char* progress) {
    if (o.progress) o.progress(progress);
    const size_t nn = static_cast<size_t>(dim) * dim;
    DevMem A(nn * in_bytes), B(nn * in_bytes), C(nn * 4);
    if (in == CUDA_R_16BF) {
      // Random bf16 operands (the synthetic-KV fill: U(-1, 1)): all-zero operands draw less power,
      // so the clocks, and the rate, would be higher than on real weights.
      cudak::synthetic_kv(static_cast<uint16_t*>(A.p), 1, 1, dim, dim, dim, 1, false, s);
      cudak::synthetic_kv(static_cast<uint16_t*>(B.p), 1, 1, dim, dim, dim, 2, true, s);
    } else {
      ck(cudaMemsetAsync(A.p, 0, nn * in_bytes, s), "cudaMemsetAsync");
      ck(cudaMemsetAsync(B.p, 0, nn * in_bytes, s), "cudaMemsetAsync");
    }
    const float one = 1.0f, zero = 0.0f;
    return measure(s, 2.0 * dim * static_cast<double>(dim) * dim, share, min_reps, max_reps, [&] {
      ckb(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, dim, dim, dim, &one, A.p, in, dim, B.p, in, dim, &zero, C.p, CUDA_R_32F, dim,
                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
    });
  };
  // Square shapes large enough to reach the tensor cores' plateau.
  const int bf16_dim = free_b > (size_t{3} << 30) ? 8192 : 4096;
  c.gemm_bf16_flops_per_s = gemm(bf16_dim, CUDA_R_16BF, 2, "gemm bf16 (cuBLAS)");
  c.gemm_fp32_flops_per_s = gemm(4096, CUDA_R_32F, 4, "gemm fp32 (cuBLAS)");
  c.gemm_m = c.gemm_n = c.gemm_k = bf16_dim;
  c.gemm_bf16_impl = "cuBLAS cublasGemmEx bf16 x bf16 -> fp32, fp32 accumulate, " + std::to_string(bf16_dim) + "^3";
  c.gemm_fp32_impl = "cuBLAS cublasGemmEx fp32 (no TF32), 4096^3";
  ck(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  return c;
}

}  // namespace llmcost
