// Tests of CuptiProfiler's attribution logic (device work -> ranges, nesting, clearing, trace
// tracks) against a fake CuptiApi, so they run without a GPU.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "llmcost/cupti_profiler.h"
#include "llmcost/trace.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

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
};

class FakeCupti : public CuptiApi {
 public:
  explicit FakeCupti(FakeState* s) : s_(s) {}
  std::string probe() override { return s_->probe_result; }
  void start() override { s_->started = true; }
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
void launch(FakeState& s, const std::string& name, int64_t dur_ns, uint32_t stream = 7,
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

TEST(CuptiProfiler, RefusesWithTheProbeReason) {
  FakeState s;
  s.probe_result = "no CUDA device (cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version)";
  try {
    CuptiProfiler p(std::make_unique<FakeCupti>(&s));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "CUPTI unavailable: " + s.probe_result);
  }
  EXPECT_FALSE(s.started);
  EXPECT_THROW(CuptiProfiler(nullptr), Error);
}

TEST(CuptiProfiler, DeviceWorkIsAttributedToRangesAndTheirAncestors) {
  FakeState s;
  {
    CuptiProfiler p(std::make_unique<FakeCupti>(&s));
    EXPECT_TRUE(s.started);
    EXPECT_STREQ(p.backend(), "cupti");
    launch(s, "outside_any_range", 50);
    p.push("decode_step", "step");
    p.push("layers.0.attn.q_proj", "op", 4096, 8192);
    EXPECT_EQ(s.ext_stack, (std::vector<uint64_t>{1, 2}));
    launch(s, "gemv_bf16", 300);
    launch(s, "gemv_bf16_tail", 200);
    p.pop();
    p.push("layers.0.norm");  // host-only range: no kernels
    p.pop();
    p.push("layers.0.mlp");
    launch(s, "copy", 40, 8, DeviceActivity::Kind::Memcpy, 1 << 20);
    p.pop();
    p.pop();
    EXPECT_TRUE(s.ext_stack.empty());

    auto recs = p.records();
    ASSERT_EQ(recs.size(), 4u);
    std::map<std::string, RangeRecord> by;
    for (const auto& r : recs) by[r.name] = r;
    const RangeRecord& q = by["layers.0.attn.q_proj"];
    EXPECT_EQ(q.device_ops, 2u);
    EXPECT_EQ(q.start_ns, 5150);              // first kernel start (after "outside" 5000..5050 + gap)
    EXPECT_EQ(q.end_ns, 5150 + 300 + 100 + 200);  // last kernel end
    EXPECT_DOUBLE_EQ(q.bytes, 4096);
    EXPECT_EQ(q.depth, 1u);
    const RangeRecord& step = by["decode_step"];
    EXPECT_EQ(step.device_ops, 3u);           // its children's kernels and copy
    EXPECT_EQ(step.start_ns, q.start_ns);
    EXPECT_EQ(step.end_ns, by["layers.0.mlp"].end_ns);
    EXPECT_EQ(by["layers.0.mlp"].device_ops, 1u);
    EXPECT_EQ(by["layers.0.mlp"].duration_ns(), 40);
    // The host-only range keeps host (CUPTI clock) times.
    EXPECT_EQ(by["layers.0.norm"].device_ops, 0u);
    EXPECT_EQ(by["layers.0.norm"].duration_ns(), 10);
    EXPECT_EQ(p.unattributed_activities(), 1u);

    auto host = p.host_records();
    ASSERT_EQ(host.size(), 4u);
    for (const auto& r : host) EXPECT_EQ(r.device_ops, 0u);

    // Device activity as trace tracks: one per stream, all valid complete events.
    auto acts = p.activity_records();
    ASSERT_EQ(acts.size(), 4u);
    std::vector<RangeRecord> all = recs;
    all.insert(all.end(), acts.begin(), acts.end());
    auto doc = nlohmann::json::parse(chrome_trace_json(all));
    std::map<int, int> per_tid;
    for (const auto& e : doc["traceEvents"])
      if (e["ph"] == "X") per_tid[e["tid"].get<int>()]++;
    EXPECT_EQ(per_tid[CuptiProfiler::kDeviceTrackBase + 7], 3);
    EXPECT_EQ(per_tid[CuptiProfiler::kDeviceTrackBase + 8], 1);
    EXPECT_EQ(per_tid[0], 4);
    bool copy_bytes = false;
    for (const auto& a : acts)
      if (a.category == "memcpy") copy_bytes = a.bytes == double(1 << 20);
    EXPECT_TRUE(copy_bytes);

    s.dropped = 3;
    EXPECT_EQ(p.dropped_records(), 3u);
  }
  EXPECT_TRUE(s.stopped);
}

TEST(CuptiProfiler, ClearDropsOldWorkButKeepsOpenRanges) {
  FakeState s;
  CuptiProfiler p(std::make_unique<FakeCupti>(&s));
  p.push("warmup");
  launch(s, "k", 10);
  p.pop();
  p.push("outer");
  p.clear();
  EXPECT_TRUE(p.records().empty());
  EXPECT_TRUE(p.activity_records().empty());
  p.push("inner");
  launch(s, "k2", 70);
  p.pop();
  p.pop();
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].name, "outer");
  EXPECT_EQ(recs[0].device_ops, 1u);  // still aggregates the child launched after clear()
  EXPECT_EQ(recs[0].duration_ns(), 70);
  EXPECT_EQ(recs[1].device_ops, 1u);
}

TEST(CuptiProfiler, UnbalancedPopIsAProgrammerError) {
  FakeState s;
  CuptiProfiler p(std::make_unique<FakeCupti>(&s));
  EXPECT_THROW(p.pop(), std::logic_error);
  EXPECT_THROW(p.annotate(1, 1), std::logic_error);
}

TEST(CuptiProfiler, FactoryMatchesTheBuild) {
#ifdef LLMCOST_WITH_CUPTI
  auto api = make_cupti_api();
  ASSERT_NE(api, nullptr);
  // With a GPU: usable (""); without one: a one-line reason, never a crash.
  std::string why = api->probe();
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
#else
  EXPECT_EQ(make_cupti_api(), nullptr);
#endif
}

}  // namespace
}  // namespace llmcost
