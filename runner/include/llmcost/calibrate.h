// Calibration of the CPU: achievable read-only and triad memory bandwidth and fp32 / bf16-weight
// GEMM FLOP/s, measured with warm-up and repetitions, and written as a hardware YAML with a
// `calibrated:` section that the hardware loader (llmcost/hardware.h) reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "llmcost/hardware.h"
#include "llmcost/profiler.h"

namespace llmcost {

struct CalibrationOptions {
  int threads = 0;             // 0 = every hardware thread (std::thread::hardware_concurrency)
  double seconds = 3.0;        // approximate total measuring time, shared by the four measurements
  size_t buffer_bytes = 0;     // per bandwidth array; 0 = max(8 x last-level cache, 256 MiB)
  int gemm_m = 256;            // GEMM shape: [m, k] activations x [k, n] weights (prefill-like)
  int gemm_n = 2048;
  int gemm_k = 2048;
  int min_reps = 5;            // repetitions at least (after one warm-up), budget permitting more
  int max_reps = 100;
  bool measure_triad = true;   // false: skip triad (llmcost run needs only read bandwidth and GEMM)
  bool measure_gemm = true;    // false: skip the fp32/bf16 GEMMs (llmcost run times its own matmul)
  // Called before each measurement with its name ("read", "triad", "gemm_fp32", "gemm_bf16").
  std::function<void(const std::string&)> progress;
};

struct Calibration {
  std::string backend = "cpu";
  std::string host;              // hostname
  std::string cpu_model;         // /proc/cpuinfo "model name"
  std::string date_utc;          // ISO 8601, e.g. "2026-11-24T10:00:00Z"
  int threads = 0;               // threads used
  uint64_t memory_bytes = 0;     // physical memory (/proc/meminfo MemTotal), 0 if unknown
  uint64_t llc_bytes = 0;        // last-level cache, 0 if unknown
  uint64_t buffer_bytes = 0;     // per bandwidth array
  // Samples are per repetition; units in the names.
  Stats read_bw_bytes_per_s;     // sum over one buffer: bytes read / time (what decode streams)
  std::vector<double> read_bw_samples;  // bytes/s of each timed repetition, in order
  Stats triad_bw_bytes_per_s;    // a[i] = b[i] + s*c[i]: 3 x buffer bytes (2 read + 1 written) / time; n = 0 if skipped
  Stats gemm_fp32_flops_per_s;   // 2*m*n*k / time
  Stats gemm_bf16_flops_per_s;   // bf16 weights converted to fp32 on the fly, fp32 accumulate
  std::string gemm_fp32_impl;    // "openblas sgemm" or "blocked loop"
  std::string gemm_bf16_impl;
  int gemm_m = 0, gemm_n = 0, gemm_k = 0;
  // backend "cuda" only (n = 0 otherwise): cpu_model holds the GPU's name, threads its SM count.
  Stats copy_bw_bytes_per_s;     // device-to-device cudaMemcpy: (bytes read + bytes written) / time
  Stats launch_latency_s;        // per empty kernel, 1000 launched back to back on one stream
};

// Runs the four measurements. Throws llmcost::Error when the buffers cannot be allocated.
Calibration calibrate_cpu(const CalibrationOptions& opts = {});

// The CUDA device's calibration (runner/src/cuda/calibrate_cuda.cu, device 0): HBM read bandwidth
// (a streaming-sum kernel over opts.buffer_bytes, default max(1 GiB, 16 x L2)), device-to-device
// copy bandwidth over the same size, cuBLAS GEMM FLOP/s with fp32 accumulation (bf16 inputs
// 8192^3 and fp32 4096^3; fp32 output as the backend's matmuls) and kernel launch latency;
// medians with p10/p90 over timed repetitions after a warm-up (CUDA events). Throws
// Error(DeviceUnavailable) "cuda: not available: <reason>" without a device, and "cuda: not
// available: built without the CUDA backend" in a build without it.
Calibration calibrate_cuda(const CalibrationOptions& opts = {});

// A complete hardware YAML (name, description, kind: cpu, memory_bytes, mem_bw_bytes_per_s,
// peak_flops_per_s, calibrated: {read_bw_bytes_per_s, triad_bw_bytes_per_s, gemm_flops_per_s:
// {fp32, bf16}, threads, measured_on: {host, cpu}, date}), every number with a `source:`
// (triad is left out when it was not measured). backend "cuda": kind gpu, calibrated also holds
// copy_bw_bytes_per_s and launch_latency_s, measured_on {host, gpu}, no threads.
// The datasheet fields hold the measured medians too (this box has no datasheet entry) and
// their sources say so. `name` is what --hw takes.
std::string calibration_yaml(const Calibration& c, const std::string& name);
// calibration_yaml() parsed back by the hardware loader: the spec a calibrated prediction uses
// (effective_rates() then takes the measured figures), identical to what the file would give.
HardwareSpec calibration_hardware(const Calibration& c, const std::string& name);
// "cpu-<hostname>" ("cuda-<hostname>" for backend cuda) with characters other than [A-Za-z0-9._-] replaced by '-'.
std::string default_calibration_name(const Calibration& c);

// ---- the kernels (also used by bench/bench_memory.cpp) ----

// Buffer of n floats, 64-byte aligned, first touched by `threads` threads in the same split the
// kernels use; filled with small values. Throws llmcost::Error when allocation fails.
class BandwidthBuffer {
 public:
  BandwidthBuffer(size_t n_floats, int threads, float fill);
  ~BandwidthBuffer();
  BandwidthBuffer(const BandwidthBuffer&) = delete;
  BandwidthBuffer& operator=(const BandwidthBuffer&) = delete;
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }
  size_t size_bytes() const { return n_ * sizeof(float); }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
  size_t mapped_bytes_ = 0;
};

// Sum of a[0..n) with `threads` threads (each a contiguous slice): reads 4n bytes.
double read_sum(const float* a, size_t n, int threads);
// a[i] = b[i] + s * c[i] with `threads` threads: reads 8n bytes, writes 4n bytes.
void triad(float* a, const float* b, const float* c, float s, size_t n, int threads);
// C[m, n] = A[m, k] x W^T where W is [n, k] fp32 row-major (nn.Linear layout).
void gemm_fp32(const float* a, const float* w, float* c, int m, int n, int k, int threads);
// Same with W in bf16: converted to fp32 panel by panel, then multiplied.
void gemm_bf16_weights(const float* a, const uint16_t* w, float* c, int m, int n, int k, int threads);
// "openblas sgemm" when built with BLAS, else "blocked loop".
const char* gemm_impl_name();

// Last-level cache size in bytes (sysconf / sysfs), 0 when unknown.
uint64_t last_level_cache_bytes();

}  // namespace llmcost
