// Device profiling through CUPTI: kernel/copy activity attributed to profiler ranges by external
// correlation ids. CUPTI is reached only through CuptiApi, so the attribution logic is tested
// with a fake on machines without a GPU (no CUPTI type appears in this header).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmcost/counter_profiler.h"
#include "llmcost/nvtx.h"
#include "llmcost/profiler.h"

namespace llmcost {

// One device activity record, decoded from CUPTI.
struct DeviceActivity {
  enum class Kind { Kernel, Memcpy, Memset };
  Kind kind = Kind::Kernel;
  std::string name;          // kernel name; "memcpy HtoD", "memset" ...
  int64_t start_ns = 0;      // CUPTI timestamps (same clock as CuptiApi::timestamp_ns)
  int64_t end_ns = 0;
  uint64_t external_id = 0;  // id pushed by the profiler when the work was launched; 0 = none
  uint32_t device_id = 0;
  uint32_t stream_id = 0;
  uint64_t bytes = 0;        // copy/set bytes; 0 for kernels
};

// The CUPTI calls CuptiProfiler makes. The real implementation wraps libcupti (built with
// CUDA); tests inject a fake.
class CuptiApi {
 public:
  virtual ~CuptiApi() = default;
  // "" when CUPTI can be used; otherwise one line saying why (no GPU, driver too old, another
  // CUPTI subscriber such as Nsight attached ...).
  virtual std::string probe() = 0;
  // Enables CONCURRENT_KERNEL, MEMCPY, MEMSET, EXTERNAL_CORRELATION; throws llmcost::Error
  // with the CUPTI reason when one cannot be enabled (nothing stays enabled then).
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual void push_external_id(uint64_t id) = 0;  // per calling thread, like CUPTI's own stack
  virtual void pop_external_id() = 0;
  // Waits for the device, flushes CUPTI's buffers and returns the records completed since the
  // last call, with external_id resolved from the EXTERNAL_CORRELATION records.
  virtual std::vector<DeviceActivity> flush() = 0;
  // Records CUPTI dropped (no buffer space) since start(), cumulative; > 0 = incomplete.
  virtual uint64_t dropped_records() = 0;
  virtual int64_t timestamp_ns() = 0;      // cuptiGetTimestamp
};

// The libcupti implementation when built with CUPTI (LLMCOST_WITH_CUPTI); nullptr otherwise.
// CUPTI's activity buffers are per process: while one instance is started, another's probe()
// says so.
std::unique_ptr<CuptiApi> make_cupti_api();

// The device work of one closed range (its own and its children's), for per-op GPU time.
struct DeviceRangeSummary {
  uint64_t seq = 0;           // RangeRecord::seq of the range
  std::string name;           // the range's name
  int64_t busy_ns = 0;        // sum of the kernels'/copies' own durations, ns (overlaps counted twice)
  int64_t span_ns = 0;        // first start to last end, ns
  int64_t kernel_ns = 0;      // kernels only, ns
  uint32_t kernels = 0;       // kernel launches
  uint32_t memcpys = 0;       // copies
  uint32_t memsets = 0;       // sets
  uint64_t memcpy_bytes = 0;  // bytes copied
  uint64_t memset_bytes = 0;  // bytes set
};

// Profiler whose ranges are timed on the device: records() gives each range the span of the
// kernels and copies launched inside it (or inside its children); ranges without device work
// keep their host times (CUPTI clock). Every range is also an NVTX range of the same name in
// the "llmcost" domain. Thread-safe like CpuProfiler.
class CuptiProfiler final : public Profiler {
 public:
  // Throws llmcost::Error "CUPTI unavailable: <reason>" when api is null, its probe fails or
  // its activity kinds cannot be enabled. nvtx may be null (no NVTX ranges).
  explicit CuptiProfiler(std::unique_ptr<CuptiApi> api, std::unique_ptr<NvtxApi> nvtx = make_nvtx_api());
  ~CuptiProfiler() override;
  CuptiProfiler(const CuptiProfiler&) = delete;
  CuptiProfiler& operator=(const CuptiProfiler&) = delete;

  const char* backend() const override { return "cupti"; }
  void push(std::string_view name, std::string_view category = "op", double bytes = 0.0,
            double flops = 0.0) override;
  void pop() override;
  void annotate(double bytes, double flops) override;
  // Flushes the device activity first (synchronizes the device).
  std::vector<RangeRecord> records() const override;
  void clear() override;

  // Host-timed view of the same ranges (CUPTI clock), device_ops = 0.
  std::vector<RangeRecord> host_records() const;
  // Every device activity since the last clear() as records for the trace: category "kernel",
  // "memcpy" or "memset", thread_id = kDeviceTrackBase + stream id, depth 0.
  std::vector<RangeRecord> activity_records() const;
  static constexpr uint32_t kDeviceTrackBase = llmcost::kDeviceTrackBase;
  // The trace: host ranges (host times, CUPTI clock) on their threads, and per device stream
  // a track with each range's device span on that stream (same name, category and depth) and
  // its kernels/copies nested one level below the innermost range that launched them.
  std::vector<RangeRecord> trace_records() const override;
  // "cupti.dropped_records", "cupti.unattributed_activities", "cupti.activities".
  ProfilerNotes notes() const override;
  // Per closed range (push order): the device work launched inside it or its children.
  std::vector<DeviceRangeSummary> device_summary() const;
  // The kernels and copies launched directly inside range `seq` (not its children), in
  // completion order; empty for an unknown seq.
  std::vector<DeviceActivity> activities_of(uint64_t seq) const;
  // Activities whose external id matched no range (launched outside any range).
  size_t unattributed_activities() const;
  uint64_t dropped_records() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmcost
