// Fakes of the CUPTI seams (CuptiApi: activity records; CounterApi: range profiler) for tests
// without a GPU. Header-only so tests of other modules (e.g. an end-to-end run with a fake
// device profiler) can include "profiler/fakes.h".
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "llmcost/counter_profiler.h"
#include "llmcost/cupti_profiler.h"
#include "llmcost/value.h"

namespace llmcost::fake {

// A deterministic stand-in for CUPTI: a clock that advances 10 ns per read, an external-id
// stack, and "kernels" the test launches, queued until flush().
struct FakeState {
  std::string probe_result;
  int64_t clock = 1000;
  std::vector<uint64_t> ext_stack;
  std::vector<DeviceActivity> pending;
  int64_t device_clock = 5000;
  bool started = false, stopped = false;
  int flushes = 0;
  uint64_t dropped = 0;
  std::string start_error;  // start() throws this when set
};

class FakeCupti : public CuptiApi {
 public:
  explicit FakeCupti(FakeState* s) : s_(s) {}
  std::string probe() override { return s_->probe_result; }
  void start() override {
    if (!s_->start_error.empty()) throw Error(s_->start_error);
    s_->started = true;
  }
  void stop() override { s_->stopped = true; }
  void push_external_id(uint64_t id) override { s_->ext_stack.push_back(id); }
  void pop_external_id() override { s_->ext_stack.pop_back(); }
  std::vector<DeviceActivity> flush() override {
    ++s_->flushes;
    auto out = std::move(s_->pending);
    s_->pending.clear();
    return out;
  }
  uint64_t dropped_records() override { return s_->dropped; }
  int64_t timestamp_ns() override { return s_->clock += 10; }

 private:
  FakeState* s_;
};

// "Launches" a kernel of dur_ns on the device, attributed like CUPTI would: to the innermost
// pushed external id.
inline void launch(FakeState& s, const std::string& name, int64_t dur_ns, uint32_t stream = 7,
            DeviceActivity::Kind kind = DeviceActivity::Kind::Kernel, uint64_t bytes = 0) {
  DeviceActivity a;
  a.kind = kind;
  a.name = name;
  a.start_ns = s.device_clock;
  a.end_ns = s.device_clock + dur_ns;
  s.device_clock = a.end_ns + 100;  // a gap between kernels
  a.external_id = s.ext_stack.empty() ? 0 : s.ext_stack.back();
  a.stream_id = stream;
  a.bytes = bytes;
  s.pending.push_back(a);
}

// A stand-in for the range profiler: records what it is asked, "measures" each range as
// read = 1000 * (k + 1), write = 10 * (k + 1), time = k + 1 for the k-th range ever pushed.
struct FakeCounterState {
  CounterStatus probe;
  CounterStatus start;
  int passes = 1;
  std::string bad_metric;  // configure() throws for this one
  size_t max_ranges = 0;
  std::vector<std::string> metrics;
  int depth = 0, max_depth = 0;
  bool in_pass = false;
  int starts = 0, stops = 0, decodes = 0;
  bool shut_down = false;
  size_t pushed = 0;
  std::vector<CounterRange> submitted;
  size_t drop_next_decode = 0;  // ranges the next decode loses
  bool rename_first = false;    // the next decode reports its first range under another name
};

class FakeCounters : public CounterApi {
 public:
  explicit FakeCounters(FakeCounterState* s) : s_(s) {}
  CounterStatus probe() override { return s_->probe; }
  std::string chip() override { return "GH100"; }
  int configure(const std::vector<std::string>& metrics, size_t max_ranges) override {
    for (const auto& m : metrics)
      if (m == s_->bad_metric) throw Error("counters: metric '" + m + "' is not valid for chip GH100 (CUPTI_ERROR_INVALID_PARAMETER)");
    s_->metrics = metrics;
    s_->max_ranges = max_ranges;
    return s_->passes;
  }
  CounterStatus start_pass() override {
    if (s_->start.ok()) {
      EXPECT_FALSE(s_->in_pass);
      s_->in_pass = true;
      ++s_->starts;
    }
    return s_->start;
  }
  void push_range(const std::string& name) override {
    EXPECT_TRUE(s_->in_pass);
    s_->max_depth = std::max(s_->max_depth, ++s_->depth);
    const double k = static_cast<double>(++s_->pushed);
    s_->submitted.push_back({name, {1000 * k, 10 * k, k}});
  }
  void pop_range() override { --s_->depth; }
  bool end_pass() override {
    EXPECT_TRUE(s_->in_pass);
    EXPECT_EQ(s_->depth, 0);
    s_->in_pass = false;
    ++s_->stops;
    return true;
  }
  std::vector<CounterRange> decode(size_t* dropped) override {
    ++s_->decodes;
    std::vector<CounterRange> out = std::move(s_->submitted);
    s_->submitted.clear();
    *dropped = std::min(s_->drop_next_decode, out.size());
    out.resize(out.size() - *dropped);
    s_->drop_next_decode = 0;
    if (s_->rename_first && !out.empty()) out[0].name += "_other";
    s_->rename_first = false;
    return out;
  }
  void shutdown() noexcept override { s_->shut_down = true; }

 private:
  FakeCounterState* s_;
};

}  // namespace llmcost::fake
