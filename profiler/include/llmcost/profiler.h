// Range profiler: named, nested time ranges (named after IR ops) with bytes/FLOPs annotations,
// a CPU implementation on steady_clock, and repetition statistics (median, p10, p90).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmcost {

// One closed range. Times are steady_clock nanoseconds (same origin for every record of a
// process), so records from different threads line up.
struct RangeRecord {
  std::string name;       // the IR op name, e.g. "layers.0.attn.q_proj", or "decode_step"
  std::string category;   // free-form grouping, e.g. "op", "step", "warmup"; may be empty
  int64_t start_ns = 0;   // steady_clock, ns
  int64_t end_ns = 0;     // steady_clock, ns; >= start_ns
  uint32_t thread_id = 0; // small stable id: 0 for the first thread that pushed a range, 1 ...
  uint32_t depth = 0;     // nesting depth in its thread when pushed (0 = outermost)
  uint64_t seq = 0;       // push order over the whole profiler (0, 1, 2 ...)
  double bytes = 0.0;     // bytes the range must move (annotation; 0 = not given)
  double flops = 0.0;     // floating-point operations of the range (annotation; 0 = not given)
  // Device profilers (CUPTI): kernels/copies attributed to the range or its children. When > 0,
  // start_ns/end_ns are the device span (first start to last end) instead of the host times.
  uint32_t device_ops = 0;
  // Counter profilers (CUPTI range profiler): DRAM bytes read / written inside the range; < 0 = not measured.
  double dram_read_bytes = -1;
  double dram_write_bytes = -1;

  int64_t duration_ns() const { return end_ns - start_ns; }
  double duration_s() const { return static_cast<double>(end_ns - start_ns) * 1e-9; }
};

// steady_clock now, in ns.
int64_t now_ns();

// The range API every backend times through. push/pop pair per thread (LIFO); ranges of
// different threads are independent. Implementations are thread-safe.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual const char* backend() const = 0;  // "cpu", "cupti"

  // Opens a range on the calling thread.
  virtual void push(std::string_view name, std::string_view category = "op", double bytes = 0.0,
                    double flops = 0.0) = 0;
  // Closes the innermost open range of the calling thread. Throws std::logic_error when the
  // thread has none open (a programmer error, not a user error).
  virtual void pop() = 0;
  // Adds to the bytes/flops of the innermost open range of the calling thread (for work only
  // known once the op has run, e.g. experts actually touched). Throws std::logic_error when
  // none is open.
  virtual void annotate(double bytes, double flops) = 0;

  // Closed ranges, in push order (seq). Open ranges are not included.
  virtual std::vector<RangeRecord> records() const = 0;
  // Drops closed records (open ranges stay open).
  virtual void clear() = 0;
};

// The CPU implementation: steady_clock, a per-thread stack, records kept in memory.
class CpuProfiler final : public Profiler {
 public:
  CpuProfiler();
  ~CpuProfiler() override;
  CpuProfiler(const CpuProfiler&) = delete;
  CpuProfiler& operator=(const CpuProfiler&) = delete;

  const char* backend() const override { return "cpu"; }
  void push(std::string_view name, std::string_view category = "op", double bytes = 0.0,
            double flops = 0.0) override;
  void pop() override;
  void annotate(double bytes, double flops) override;
  std::vector<RangeRecord> records() const override;
  void clear() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RAII range: push on construction, pop on destruction. A null profiler makes it a no-op, so
// code can be timed or not without branches.
class ScopedRange {
 public:
  ScopedRange(Profiler* p, std::string_view name, std::string_view category = "op", double bytes = 0.0,
              double flops = 0.0)
      : p_(p) {
    if (p_) p_->push(name, category, bytes, flops);
  }
  ~ScopedRange() {
    if (p_) p_->pop();
  }
  ScopedRange(const ScopedRange&) = delete;
  ScopedRange& operator=(const ScopedRange&) = delete;

 private:
  Profiler* p_;
};

// Summary of repeated measurements (any unit: the caller's samples' unit).
struct Stats {
  size_t n = 0;
  double median = 0.0;
  double p10 = 0.0;
  double p90 = 0.0;
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  // (p90 - p10) / median: relative spread; 0 when median is 0.
  double rel_spread() const { return median != 0.0 ? (p90 - p10) / median : 0.0; }
};

// Percentile p in [0, 100] with linear interpolation between closest ranks (numpy's default).
// Throws std::invalid_argument on an empty sample or p outside [0, 100].
double percentile(std::vector<double> samples, double p);
// n = 0 and all zero for an empty sample.
Stats summarize(const std::vector<double>& samples);

// Per range name: the durations (s) of its occurrences and its annotations, in order of the
// name's first appearance. A name that occurs several times (one per repetition) gives one
// sample per occurrence.
struct RangeSummary {
  std::string name;
  std::string category;
  Stats duration_s;   // over occurrences, seconds
  double bytes = 0.0; // of the first occurrence (annotations of a named op do not change)
  double flops = 0.0;
  size_t count = 0;
};
// Only records whose category equals `category` when it is non-empty.
std::vector<RangeSummary> summarize_ranges(const std::vector<RangeRecord>& records,
                                           const std::string& category = "");

}  // namespace llmcost
