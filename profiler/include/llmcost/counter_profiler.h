// DRAM bytes per op range from hardware counters: the CUPTI range profiler (CUDA 13,
// cupti_range_profiler.h) with user ranges and user replay. CUPTI is reached only through
// CounterApi (no CUPTI type appears here), so range mapping, aggregation and every refusal
// path are tested with a fake on machines without a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmcost/profiler.h"

namespace llmcost {

// The metrics the counter profiler collects, in this order.
inline const std::vector<std::string>& counter_metrics() {
  static const std::vector<std::string> m = {"dram__bytes_read.sum", "dram__bytes_write.sum", "gpu__time_duration.sum"};
  return m;
}

// Why counters cannot be read.
enum class CounterRefusal {
  None,                    // counters can be read
  NoDevice,                // no CUDA device / driver
  InsufficientPrivileges,  // ERR_NVGPUCTRPERM: not root and NVreg_RestrictProfilingToAdminUsers=1
  Mig,                     // a MIG instance
  VirtualGpu,              // vGPU without profiling enabled
  OtherProfiler,           // another CUPTI client (Nsight Compute/Systems) holds the counters
  Unsupported,             // device or configuration without counter support (arch, SLI, CMP, WSL, CC)
  Error,                   // any other CUPTI failure
};
struct CounterStatus {
  CounterRefusal refusal = CounterRefusal::None;
  std::string detail;  // the CUPTI call and result, e.g. "cuptiRangeProfilerStart: CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"
  bool ok() const { return refusal == CounterRefusal::None; }
};
// The one line a refusal is reported with: "counters: not permitted: insufficient privileges
// ... (<detail>)", "counters: not available: no CUDA device (<detail>)" ...; "" when ok.
std::string counter_refusal_line(const CounterStatus& s);
// CUPTI result codes (CUptiResult, cupti_result.h of CUDA 13.0) to a refusal; codes that are
// not a refusal of counters map to Error.
CounterRefusal counter_refusal_of_cupti_result(int cupti_result);

// One profiled range as decoded: its name and one value per configured metric.
struct CounterRange {
  std::string name;
  std::vector<double> values;
};

// The CUPTI range-profiler calls the counter profiler makes (user ranges, user replay, one
// nesting level). The real implementation wraps libcupti; tests inject a fake.
class CounterApi {
 public:
  virtual ~CounterApi() = default;
  // Device present and supported, counters permitted (counter availability image), range
  // profiler enabled on the current context. ok() or the refusal.
  virtual CounterStatus probe() = 0;
  virtual std::string chip() = 0;  // e.g. "GH100"; valid after a successful probe
  // Host side: config image for `metrics` on chip(), counter data image for up to max_ranges
  // ranges per pass, SetConfig. Returns the passes the metrics need. Throws llmcost::Error
  // naming the metric when one is not valid for the chip.
  virtual int configure(const std::vector<std::string>& metrics, size_t max_ranges) = 0;
  virtual CounterStatus start_pass() = 0;  // cuptiRangeProfilerStart (may refuse: privileges)
  virtual void push_range(const std::string& name) = 0;
  virtual void pop_range() = 0;
  // cuptiRangeProfilerStop; true when every pass of the configuration has been submitted.
  virtual bool end_pass() = 0;
  // Decodes the submitted passes: the ranges in push order with the metric values (in the
  // configured order), *dropped = ranges CUPTI dropped; then re-initializes the counter data
  // image for the next batch of ranges.
  virtual std::vector<CounterRange> decode(size_t* dropped) = 0;
  // Disables the range profiler and deinitializes (best effort, never throws).
  virtual void shutdown() noexcept = 0;
};

// The libcupti implementation when built with CUPTI; nullptr otherwise.
std::unique_ptr<CounterApi> make_counter_api();

// Host-only check through CUPTI's profiler host API (works without a GPU): the passes that
// `metrics` need together on `chip` (e.g. "GH100"). Throws llmcost::Error "counters: metric
// '<name>' is not valid for chip <chip> (<CUPTI result>)" for a bad name, "counters: unknown
// chip ..." for a bad chip, and "counters: not available: llmcost was built without CUPTI"
// without CUPTI.
int counter_metric_passes(const std::string& chip, const std::vector<std::string>& metrics);

// The counter profiler collects in exactly one pass of the work: a caller runs the work it
// wants counted once under it (after, and separately from, its timing runs: replay inflates
// timings). Configurations needing more passes are refused by make_counter_profiler.
inline constexpr int counter_passes_needed() { return 1; }

// Profiler whose records carry the DRAM bytes of each range (dram_read_bytes/dram_write_bytes),
// measured by the CUPTI range profiler. Host times (steady_clock) as CpuProfiler.
//
// Which ranges are counted: CUPTI gets flat, un-nested ranges (one nesting level, so one pass
// suffices): every range of category `counted_category` ("op") that opens while no counted
// range is open. A range that encloses counted ranges (e.g. a "step") gets the sum of theirs;
// ranges inside a counted range, and ranges with no counted range inside, stay -1 (not
// measured). Work between counted ranges is not counted anywhere. A pass holds up to
// max_ranges_per_pass ranges; when it is full it is stopped and decoded once no counted range
// is open, and the next counted range starts a new one.
class CounterProfiler final : public Profiler {
 public:
  // Throws llmcost::Error with counter_refusal_line() when api is null, its probe refuses,
  // the metrics need more than counter_passes_needed() passes or a metric is invalid.
  explicit CounterProfiler(std::unique_ptr<CounterApi> api, size_t max_ranges_per_pass = 2048,
                           std::string counted_category = "op");
  ~CounterProfiler() override;
  CounterProfiler(const CounterProfiler&) = delete;
  CounterProfiler& operator=(const CounterProfiler&) = delete;

  const char* backend() const override { return "cupti-counters"; }
  void push(std::string_view name, std::string_view category = "op", double bytes = 0.0,
            double flops = 0.0) override;
  void pop() override;
  void annotate(double bytes, double flops) override;
  // Ends and decodes an open pass first (when no counted range is open).
  std::vector<RangeRecord> records() const override;
  void clear() override;
  // "counters.chip", "counters.passes", "counters.ranges", "counters.dropped_ranges", and
  // "counters.refused" (the one line) when CUPTI refused mid-run (e.g. at Start).
  ProfilerNotes notes() const override;

  int passes() const;        // passes the metrics need on this chip (1)
  std::string chip() const;  // e.g. "GH100"
  // The counter_metrics() values of range `seq` (empty when the range was not counted).
  std::vector<double> metrics_of(uint64_t seq) const;
  // "" while counters are being read; the refusal line after CUPTI refused mid-run.
  std::string refused() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A CounterProfiler over `api`, or nullptr with *why_not set to one line (the refusal, the
// invalid metric, or "counters: not available: llmcost was built without CUPTI").
std::unique_ptr<Profiler> make_counter_profiler(std::unique_ptr<CounterApi> api, std::string* why_not);
// The same over libcupti (make_counter_api()); call it with the CUDA context current (after
// the backend has prepared its device).
std::unique_ptr<Profiler> make_counter_profiler(std::string* why_not);

}  // namespace llmcost
