// NVTX ranges named after the IR ops, in one "llmcost" domain, so Nsight Systems shows the same
// names as llmcost's own trace. NVTX is reached only through NvtxApi (no NVTX type appears
// here), so the range bookkeeping is tested with a fake on machines without CUDA.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "llmcost/profiler.h"

namespace llmcost {

// The NVTX calls llmcost makes, all in the "llmcost" domain.
class NvtxApi {
 public:
  using Handle = const void*;  // a registered string (nvtxStringHandle_t); may be null
  virtual ~NvtxApi() = default;
  // nvtxDomainRegisterStringA: called once per distinct range name.
  virtual Handle register_name(const std::string& name) = 0;
  // nvtxDomainRangePushEx with the registered string as the message.
  virtual void push(Handle name) = 0;
  // nvtxDomainRangePop.
  virtual void pop() = 0;
};

// The nvtx3 implementation (domain "llmcost") when built with CUDA; nullptr otherwise.
// Without a tool (Nsight) attached every NVTX call is a cheap no-op.
std::unique_ptr<NvtxApi> make_nvtx_api();
inline constexpr const char* kNvtxDomain = "llmcost";

// Named NVTX ranges with each name registered once. Thread-safe: NVTX range stacks are per
// thread, like profiler ranges. A null api makes every call a no-op.
class NvtxRanges {
 public:
  explicit NvtxRanges(std::unique_ptr<NvtxApi> api);
  ~NvtxRanges();
  NvtxRanges(const NvtxRanges&) = delete;
  NvtxRanges& operator=(const NvtxRanges&) = delete;

  void push(std::string_view name);
  void pop();
  bool enabled() const;
  size_t registered_names() const;  // distinct names registered so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Any profiler plus NVTX ranges of the same names (for timing without CUPTI, e.g. a
// CpuProfiler after synchronizing per op, that should still show up in Nsight Systems).
class NvtxProfiler final : public Profiler {
 public:
  // Throws std::invalid_argument when inner is null; a null api only forwards.
  NvtxProfiler(std::unique_ptr<Profiler> inner, std::unique_ptr<NvtxApi> api);
  ~NvtxProfiler() override;

  const char* backend() const override { return inner_->backend(); }
  void push(std::string_view name, std::string_view category = "op", double bytes = 0.0,
            double flops = 0.0) override;
  void pop() override;
  void annotate(double bytes, double flops) override { inner_->annotate(bytes, flops); }
  std::vector<RangeRecord> records() const override { return inner_->records(); }
  void clear() override { inner_->clear(); }
  std::vector<RangeRecord> trace_records() const override { return inner_->trace_records(); }
  ProfilerNotes notes() const override { return inner_->notes(); }

 private:
  std::unique_ptr<Profiler> inner_;
  NvtxRanges nvtx_;
};

}  // namespace llmcost
