// Tests of CounterProfiler (CUPTI range profiler: DRAM bytes per op range) against a fake
// CounterApi: refusal lines, flat ranges handed to CUPTI, values attached and summed up to
// enclosing ranges, full passes, Start refusals, dropped ranges, and the factory of this build.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "llmcost/counter_profiler.h"
#include "llmcost/cupti_profiler.h"
#include "llmcost/trace.h"
#include "profiler/fakes.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

using fake::FakeCounters;
using fake::FakeCounterState;


std::unique_ptr<Profiler> make(FakeCounterState& s, std::string* why) {
  return make_counter_profiler(std::make_unique<FakeCounters>(&s), why);
}

std::map<std::string, RangeRecord> by_name(const std::vector<RangeRecord>& recs) {
  std::map<std::string, RangeRecord> m;
  for (const auto& r : recs) m[r.name] = r;
  return m;
}

TEST(CounterProfiler, RefusalsGiveOneLineAndNoProfiler) {
  struct Case {
    CounterRefusal refusal;
    const char* start;  // how the line must begin
  };
  const Case cases[] = {
      {CounterRefusal::NoDevice, "counters: not available: no CUDA device"},
      {CounterRefusal::InsufficientPrivileges, "counters: not permitted: insufficient privileges"},
      {CounterRefusal::Mig, "counters: not permitted: the device is a MIG instance"},
      {CounterRefusal::VirtualGpu, "counters: not permitted: virtual GPU (vGPU)"},
      {CounterRefusal::OtherProfiler, "counters: not permitted: another profiler"},
      {CounterRefusal::Unsupported, "counters: not supported"},
      {CounterRefusal::Error, "counters: CUPTI error"},
  };
  for (const auto& c : cases) {
    FakeCounterState s;
    s.probe = {c.refusal, "cuptiProfilerGetCounterAvailability: SOME_RESULT"};
    std::string why;
    EXPECT_EQ(make(s, &why), nullptr);
    EXPECT_EQ(why.rfind(c.start, 0), 0u) << why;
    EXPECT_NE(why.find("(cuptiProfilerGetCounterAvailability: SOME_RESULT)"), std::string::npos) << why;
    EXPECT_EQ(why.find('\n'), std::string::npos);
    EXPECT_EQ(s.starts, 0);
  }
  std::string why;
  EXPECT_EQ(make_counter_profiler(nullptr, &why), nullptr);
  EXPECT_EQ(why, "counters: not available: llmcost was built without CUPTI");
  EXPECT_EQ(counter_refusal_line(CounterStatus{}), "");
}

TEST(CounterProfiler, PrivilegesLineSaysHowToGrantThem) {
  CounterStatus st{CounterRefusal::InsufficientPrivileges, "cuptiRangeProfilerStart: CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"};
  const std::string line = counter_refusal_line(st);
  EXPECT_NE(line.find("NVreg_RestrictProfilingToAdminUsers=0"), std::string::npos) << line;
  EXPECT_NE(line.find("CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"), std::string::npos) << line;
}

TEST(CounterProfiler, CuptiResultCodesMapToRefusals) {
  // Numbers from cupti_result.h (CUDA 13.0); the libcupti build static_asserts them.
  EXPECT_EQ(counter_refusal_of_cupti_result(0), CounterRefusal::None);
  EXPECT_EQ(counter_refusal_of_cupti_result(35), CounterRefusal::InsufficientPrivileges);
  EXPECT_EQ(counter_refusal_of_cupti_result(43), CounterRefusal::Mig);
  EXPECT_EQ(counter_refusal_of_cupti_result(33), CounterRefusal::VirtualGpu);
  EXPECT_EQ(counter_refusal_of_cupti_result(40), CounterRefusal::VirtualGpu);
  EXPECT_EQ(counter_refusal_of_cupti_result(39), CounterRefusal::OtherProfiler);
  EXPECT_EQ(counter_refusal_of_cupti_result(26), CounterRefusal::OtherProfiler);
  EXPECT_EQ(counter_refusal_of_cupti_result(15), CounterRefusal::NoDevice);
  EXPECT_EQ(counter_refusal_of_cupti_result(42), CounterRefusal::Unsupported);
  EXPECT_EQ(counter_refusal_of_cupti_result(999), CounterRefusal::Error);
}

TEST(CounterProfiler, InvalidMetricAndTooManyPassesAreRefused) {
  FakeCounterState s;
  s.bad_metric = "dram__bytes_write.sum";
  std::string why;
  EXPECT_EQ(make(s, &why), nullptr);
  EXPECT_EQ(why, "counters: metric 'dram__bytes_write.sum' is not valid for chip GH100 (CUPTI_ERROR_INVALID_PARAMETER)");

  FakeCounterState t;
  t.passes = 3;
  EXPECT_EQ(make(t, &why), nullptr);
  EXPECT_NE(why.find("need 3 passes on chip GH100"), std::string::npos) << why;
  EXPECT_TRUE(t.shut_down);
}

TEST(CounterProfiler, OpRangesAreCountedFlatAndStepsGetTheirSum) {
  FakeCounterState s;
  std::string why;
  auto p = make(s, &why);
  ASSERT_NE(p, nullptr) << why;
  EXPECT_STREQ(p->backend(), "cupti-counters");
  EXPECT_EQ(s.metrics, counter_metrics());
  EXPECT_EQ(counter_passes_needed(), 1);
  p->push("decode_step", "step");
  p->push("layers.0.attn.q_proj");              // op 1: read 1000, write 10
  p->push("inner_kernel_group", "op");          // nested in a counted op: not handed to CUPTI
  p->pop();
  p->pop();
  p->push("layers.0.norm", "host");             // not an op: not counted
  p->pop();
  p->push("layers.0.mlp");                      // op 2: read 2000, write 20
  p->pop();
  p->pop();
  p->push("lm_head");                           // op 3 outside any step: read 3000, write 30
  p->pop();
  EXPECT_EQ(s.max_depth, 1);  // CUPTI saw flat ranges only
  auto recs = p->records();
  ASSERT_EQ(recs.size(), 6u);
  auto by = by_name(recs);
  EXPECT_DOUBLE_EQ(by["layers.0.attn.q_proj"].dram_read_bytes, 1000);
  EXPECT_DOUBLE_EQ(by["layers.0.attn.q_proj"].dram_write_bytes, 10);
  EXPECT_DOUBLE_EQ(by["layers.0.mlp"].dram_read_bytes, 2000);
  EXPECT_DOUBLE_EQ(by["decode_step"].dram_read_bytes, 3000);
  EXPECT_DOUBLE_EQ(by["decode_step"].dram_write_bytes, 30);
  EXPECT_DOUBLE_EQ(by["lm_head"].dram_read_bytes, 3000);
  EXPECT_LT(by["inner_kernel_group"].dram_read_bytes, 0);
  EXPECT_LT(by["layers.0.norm"].dram_read_bytes, 0);
  EXPECT_LT(by["layers.0.norm"].dram_write_bytes, 0);
  EXPECT_EQ(s.starts, 1);
  EXPECT_EQ(s.stops, 1);
  // gpu__time_duration.sum of a counted range.
  auto* cp = dynamic_cast<CounterProfiler*>(p.get());
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->metrics_of(by["layers.0.mlp"].seq), (std::vector<double>{2000, 20, 2}));
  EXPECT_TRUE(cp->metrics_of(by["decode_step"].seq).empty());
  const ProfilerNotes nv = cp->notes();
  std::map<std::string, std::string> notes(nv.begin(), nv.end());
  EXPECT_EQ(notes["counters.chip"], "GH100");
  EXPECT_EQ(notes["counters.passes"], "1");
  EXPECT_EQ(notes["counters.ranges"], "3");
  EXPECT_EQ(notes["counters.dropped_ranges"], "0");
  EXPECT_EQ(notes.count("counters.refused"), 0u);
  p.reset();
  EXPECT_TRUE(s.shut_down);
}

TEST(CounterProfiler, AFullPassIsDecodedAndANewOneStarted) {
  FakeCounterState s;
  CounterProfiler p(std::make_unique<FakeCounters>(&s), /*max_ranges_per_pass=*/2);
  EXPECT_EQ(s.max_ranges, 2u);
  p.push("step", "step");
  for (int i = 0; i < 5; ++i) {
    p.push("op" + std::to_string(i));
    p.pop();
  }
  p.pop();
  EXPECT_EQ(s.decodes, 2);  // two full passes decoded while running
  auto recs = p.records();  // the last, partial one now
  EXPECT_EQ(s.starts, 3);
  EXPECT_EQ(s.decodes, 3);
  auto by = by_name(recs);
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(by["op" + std::to_string(i)].dram_read_bytes, 1000.0 * (i + 1));
  EXPECT_DOUBLE_EQ(by["step"].dram_read_bytes, 1000.0 * (1 + 2 + 3 + 4 + 5));
}

TEST(CounterProfiler, StartRefusedMidRunLeavesBytesUnmeasuredAndSaysWhy) {
  FakeCounterState s;
  s.start = {CounterRefusal::InsufficientPrivileges, "cuptiRangeProfilerStart: CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"};
  CounterProfiler p(std::make_unique<FakeCounters>(&s));
  p.push("op_a");
  p.pop();
  p.push("op_b");
  p.pop();
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& r : recs) EXPECT_LT(r.dram_read_bytes, 0);
  EXPECT_EQ(p.refused(), counter_refusal_line(s.start));
  bool noted = false;
  const ProfilerNotes nv = p.notes();
  for (const auto& [k, v] : nv) noted |= k == "counters.refused" && v == p.refused();
  EXPECT_TRUE(noted);
}

TEST(CounterProfiler, LostRangesAreCountedNotMisattributed) {
  FakeCounterState s;
  CounterProfiler p(std::make_unique<FakeCounters>(&s));
  s.drop_next_decode = 1;
  p.push("op_a");
  p.pop();
  p.push("op_b");
  p.pop();
  auto recs = p.records();
  for (const auto& r : recs) EXPECT_LT(r.dram_read_bytes, 0) << r.name;
  const ProfilerNotes nv = p.notes();
  std::map<std::string, std::string> notes(nv.begin(), nv.end());
  EXPECT_EQ(notes["counters.dropped_ranges"], "2");
}

TEST(CounterProfiler, ARangeDecodedUnderAnotherNameIsNotAttributed) {
  FakeCounterState s;
  CounterProfiler p(std::make_unique<FakeCounters>(&s));
  s.rename_first = true;
  p.push("op_a");
  p.pop();
  p.push("op_b");
  p.pop();
  auto by = by_name(p.records());
  EXPECT_LT(by["op_a"].dram_read_bytes, 0);
  EXPECT_DOUBLE_EQ(by["op_b"].dram_read_bytes, 2000);
  const ProfilerNotes nv = p.notes();
  std::map<std::string, std::string> notes(nv.begin(), nv.end());
  EXPECT_EQ(notes["counters.dropped_ranges"], "1");
}

TEST(CounterProfiler, TraceArgsCarryMeasuredDramBytesOnly) {
  FakeCounterState s;
  CounterProfiler p(std::make_unique<FakeCounters>(&s));
  p.push("op_a");
  p.pop();
  p.push("host_only", "host");
  p.pop();
  auto doc = nlohmann::json::parse(chrome_trace_json(p.records()));
  int seen = 0;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++seen;
    if (e["name"] == "op_a") {
      EXPECT_DOUBLE_EQ(e["args"]["dram_read_bytes"].get<double>(), 1000);
      EXPECT_DOUBLE_EQ(e["args"]["dram_write_bytes"].get<double>(), 10);
    } else {
      EXPECT_FALSE(e["args"].contains("dram_read_bytes"));
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST(CounterProfiler, ClearKeepsOpenRangesAndTheirSums) {
  FakeCounterState s;
  CounterProfiler p(std::make_unique<FakeCounters>(&s));
  p.push("warmup_op");
  p.pop();
  p.push("step", "step");
  p.clear();
  EXPECT_TRUE(p.records().empty());
  p.push("op");  // 2nd range ever: read 2000
  p.pop();
  p.pop();
  auto by = by_name(p.records());
  EXPECT_DOUBLE_EQ(by["step"].dram_read_bytes, 2000);
  EXPECT_THROW(p.pop(), std::logic_error);
  EXPECT_THROW(p.annotate(1, 1), std::logic_error);
}

TEST(CounterProfiler, FactoryMatchesTheBuild) {
  std::string why;
  auto p = make_counter_profiler(&why);
#ifdef LLMCOST_WITH_CUPTI
  // With a permitted GPU: a profiler; otherwise one line saying why (here: no device).
  if (!p) {
    EXPECT_EQ(why.rfind("counters: ", 0), 0u) << why;
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
  }
#else
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(why, "counters: not available: llmcost was built without CUPTI");
  EXPECT_EQ(make_counter_api(), nullptr);
#endif
}

}  // namespace
}  // namespace llmcost
