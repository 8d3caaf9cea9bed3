// Tests of CuptiProfiler's attribution logic (device work -> ranges, nesting, clearing, trace
// tracks) against a fake CuptiApi, so they run without a GPU.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "llmcost/cupti_profiler.h"
#include "profiler/fakes.h"
#include "llmcost/trace.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

using fake::FakeCupti;
using fake::FakeState;
using fake::launch;


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

TEST(CuptiProfiler, ActivityKindsThatCannotBeEnabledMakeItUnavailable) {
  FakeState s;
  s.start_error = "cuptiActivityEnable: CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED (another CUPTI client, e.g. Nsight, is attached)";
  try {
    CuptiProfiler p(std::make_unique<FakeCupti>(&s), nullptr);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "CUPTI unavailable: " + s.start_error);
    EXPECT_EQ(e.kind(), ErrorKind::DeviceUnavailable);
  }
}

// Counts NVTX calls by name (registered strings are the names themselves).
struct NvtxLog : NvtxApi {
  explicit NvtxLog(std::vector<std::string>* ev) : ev_(ev) {}
  Handle register_name(const std::string& name) override {
    names_.push_back(std::make_unique<std::string>(name));
    ev_->push_back("register " + name);
    return names_.back().get();
  }
  void push(Handle h) override { ev_->push_back("push " + *static_cast<const std::string*>(h)); }
  void pop() override { ev_->push_back("pop"); }
  std::vector<std::string>* ev_;
  std::vector<std::unique_ptr<std::string>> names_;
};

TEST(CuptiProfiler, RangesAreAlsoNvtxRangesOfTheSameName) {
  FakeState s;
  std::vector<std::string> ev;
  CuptiProfiler p(std::make_unique<FakeCupti>(&s), std::make_unique<NvtxLog>(&ev));
  for (int i = 0; i < 2; ++i) {
    p.push("decode_step", "step");
    p.push("layers.0.attn.o_proj");
    p.pop();
    p.pop();
  }
  EXPECT_EQ(ev, (std::vector<std::string>{"register decode_step", "push decode_step", "register layers.0.attn.o_proj",
                                          "push layers.0.attn.o_proj", "pop", "pop", "push decode_step",
                                          "push layers.0.attn.o_proj", "pop", "pop"}));
}

TEST(CuptiProfiler, PerRangeGpuTimeKernelListAndCopies) {
  FakeState s;
  CuptiProfiler p(std::make_unique<FakeCupti>(&s), nullptr);
  p.push("decode_step", "step");
  p.push("layers.0.attn");
  launch(s, "rmsnorm", 100);                                                  // 5000..5100
  launch(s, "qkv_gemv", 300);                                                 // 5200..5500
  p.push("layers.0.attn.kv_append");
  launch(s, "memcpy DtoD", 50, 7, DeviceActivity::Kind::Memcpy, 4096);        // 5600..5650
  launch(s, "memset", 20, 7, DeviceActivity::Kind::Memset, 512);              // 5750..5770
  p.pop();
  p.pop();
  p.pop();
  launch(s, "stray", 10);  // after every range: unattributed
  s.dropped = 2;

  auto sum = p.device_summary();
  ASSERT_EQ(sum.size(), 3u);
  std::map<std::string, DeviceRangeSummary> by;
  for (const auto& d : sum) by[d.name] = d;
  const auto& attn = by["layers.0.attn"];
  EXPECT_EQ(attn.kernels, 2u);
  EXPECT_EQ(attn.kernel_ns, 400);
  EXPECT_EQ(attn.memcpys, 1u);
  EXPECT_EQ(attn.memsets, 1u);
  EXPECT_EQ(attn.memcpy_bytes, 4096u);
  EXPECT_EQ(attn.memset_bytes, 512u);
  EXPECT_EQ(attn.busy_ns, 100 + 300 + 50 + 20);
  EXPECT_EQ(attn.span_ns, 5770 - 5000);
  const auto& kv = by["layers.0.attn.kv_append"];
  EXPECT_EQ(kv.kernels, 0u);
  EXPECT_EQ(kv.busy_ns, 70);
  EXPECT_EQ(kv.span_ns, 170);
  EXPECT_EQ(by["decode_step"].busy_ns, attn.busy_ns);

  // The kernel list of a range is its own launches, not its children's.
  std::vector<std::string> names;
  for (const auto& a : p.activities_of(attn.seq)) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"rmsnorm", "qkv_gemv"}));
  EXPECT_EQ(p.activities_of(kv.seq).size(), 2u);
  EXPECT_TRUE(p.activities_of(by["decode_step"].seq).empty());
  EXPECT_TRUE(p.activities_of(12345).empty());

  const ProfilerNotes notes = p.notes();
  std::map<std::string, std::string> n(notes.begin(), notes.end());
  EXPECT_EQ(n["cupti.activities"], "5");
  EXPECT_EQ(n["cupti.unattributed_activities"], "1");
  EXPECT_EQ(n["cupti.dropped_records"], "2");
}

TEST(CuptiProfiler, TraceNestsKernelsUnderOpRangesOnDeviceTracks) {
  FakeState s;
  CuptiProfiler p(std::make_unique<FakeCupti>(&s), nullptr);
  p.push("decode_step", "step");
  p.push("layers.0.attn.q_proj");
  launch(s, "gemv_bf16", 300, 7);
  launch(s, "gemv_bf16_tail", 200, 7);
  p.pop();
  p.push("layers.0.mlp");
  launch(s, "copy", 40, 8, DeviceActivity::Kind::Memcpy, 1 << 20);
  p.pop();
  p.pop();

  TraceMeta meta;
  meta.other = p.notes();
  auto doc = nlohmann::json::parse(chrome_trace_json(p.trace_records(), meta));
  std::map<int, std::string> thread_names;
  struct Ev {
    std::string name, cat;
    double ts, dur;
    int tid, depth;
  };
  std::vector<Ev> evs;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") thread_names[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] == "X")
      evs.push_back({e["name"], e["cat"], e["ts"].get<double>(), e["dur"].get<double>(), e["tid"].get<int>(),
                     e["args"]["depth"].get<int>()});
  }
  EXPECT_EQ(thread_names[0], "main");
  EXPECT_EQ(thread_names[kDeviceTrackBase + 7], "GPU stream 7");
  EXPECT_EQ(thread_names[kDeviceTrackBase + 8], "GPU stream 8");
  EXPECT_EQ(doc["otherData"]["cupti.dropped_records"], "0");
  auto find = [&](const std::string& name, int tid) -> const Ev* {
    for (const auto& e : evs)
      if (e.name == name && e.tid == tid) return &e;
    return nullptr;
  };
  // Host track: the three ranges with host times.
  ASSERT_NE(find("decode_step", 0), nullptr);
  ASSERT_NE(find("layers.0.mlp", 0), nullptr);
  // Stream 7: decode_step > q_proj > its two kernels, each inside its parent.
  const int t7 = kDeviceTrackBase + 7, t8 = kDeviceTrackBase + 8;
  const Ev* step7 = find("decode_step", t7);
  const Ev* q = find("layers.0.attn.q_proj", t7);
  const Ev* k1 = find("gemv_bf16", t7);
  const Ev* k2 = find("gemv_bf16_tail", t7);
  ASSERT_TRUE(step7 && q && k1 && k2);
  auto inside = [](const Ev* in, const Ev* out) {
    return in->ts >= out->ts && in->ts + in->dur <= out->ts + out->dur + 1e-9 && in->depth > out->depth;
  };
  EXPECT_TRUE(inside(q, step7));
  EXPECT_TRUE(inside(k1, q));
  EXPECT_TRUE(inside(k2, q));
  EXPECT_EQ(k1->cat, "kernel");
  EXPECT_DOUBLE_EQ(q->dur, (300 + 100 + 200) / 1e3);  // device span in us
  EXPECT_EQ(find("layers.0.mlp", t7), nullptr);        // no mlp work on stream 7
  // Stream 8: decode_step > mlp > the copy.
  const Ev* step8 = find("decode_step", t8);
  const Ev* mlp = find("layers.0.mlp", t8);
  const Ev* cp = find("copy", t8);
  ASSERT_TRUE(step8 && mlp && cp);
  EXPECT_TRUE(inside(mlp, step8));
  EXPECT_TRUE(inside(cp, mlp));
  EXPECT_EQ(cp->cat, "memcpy");
  // Nothing else: 3 host ranges; stream 7: 2 ranges + 2 kernels; stream 8: 2 ranges + 1 copy.
  EXPECT_EQ(evs.size(), 3u + 2u + 2u + 3u);
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
