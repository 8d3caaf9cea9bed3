// Tests of the CPU range profiler, the statistics helpers and the Chrome trace writer.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "llmcost/profiler.h"
#include "llmcost/trace.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

void spin_for_us(int us) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(CpuProfiler, NestingOrderingAndAnnotations) {
  CpuProfiler p;
  {
    ScopedRange step(&p, "decode_step", "step");
    {
      ScopedRange a(&p, "layers.0.attn.q_proj", "op", 1024.0, 2048.0);
      spin_for_us(200);
    }
    {
      ScopedRange b(&p, "layers.0.mlp.up_proj", "op");
      p.annotate(100.0, 7.0);
      p.annotate(28.0, 0.0);
      spin_for_us(200);
    }
  }
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 3u);
  // records() is in push order.
  EXPECT_EQ(recs[0].name, "decode_step");
  EXPECT_EQ(recs[1].name, "layers.0.attn.q_proj");
  EXPECT_EQ(recs[2].name, "layers.0.mlp.up_proj");
  EXPECT_EQ(recs[0].depth, 0u);
  EXPECT_EQ(recs[1].depth, 1u);
  EXPECT_EQ(recs[2].depth, 1u);
  EXPECT_EQ(recs[0].category, "step");
  EXPECT_EQ(recs[0].seq, 0u);
  EXPECT_EQ(recs[2].seq, 2u);
  // Children lie inside the parent and do not overlap each other.
  EXPECT_LE(recs[0].start_ns, recs[1].start_ns);
  EXPECT_LE(recs[1].end_ns, recs[2].start_ns);
  EXPECT_LE(recs[2].end_ns, recs[0].end_ns);
  EXPECT_GE(recs[1].duration_ns(), 200000);
  EXPECT_GE(recs[0].duration_ns(), recs[1].duration_ns() + recs[2].duration_ns());
  EXPECT_DOUBLE_EQ(recs[1].bytes, 1024.0);
  EXPECT_DOUBLE_EQ(recs[1].flops, 2048.0);
  EXPECT_DOUBLE_EQ(recs[2].bytes, 128.0);
  EXPECT_DOUBLE_EQ(recs[2].flops, 7.0);
  for (const auto& r : recs) EXPECT_EQ(r.thread_id, 0u);
}

TEST(CpuProfiler, OpenRangesAreNotReportedAndClearKeepsThem) {
  CpuProfiler p;
  p.push("outer");
  p.push("inner");
  p.pop();
  EXPECT_EQ(p.records().size(), 1u);
  p.clear();
  EXPECT_TRUE(p.records().empty());
  p.pop();  // "outer" is still open after clear()
  ASSERT_EQ(p.records().size(), 1u);
  EXPECT_EQ(p.records()[0].name, "outer");
}

TEST(CpuProfiler, UnbalancedPopIsAProgrammerError) {
  CpuProfiler p;
  EXPECT_THROW(p.pop(), std::logic_error);
  EXPECT_THROW(p.annotate(1, 1), std::logic_error);
}

TEST(CpuProfiler, NullProfilerScopedRangeIsANoOp) {
  ScopedRange r(nullptr, "nothing");
  SUCCEED();
}

TEST(CpuProfiler, ThreadsHaveIndependentStacksAndIds) {
  CpuProfiler p;
  p.push("main.outer");
  std::thread t([&] {
    ScopedRange a(&p, "worker.outer");
    ScopedRange b(&p, "worker.inner");
  });
  t.join();
  p.pop();
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 3u);
  std::map<std::string, RangeRecord> by;
  for (const auto& r : recs) by[r.name] = r;
  EXPECT_EQ(by["main.outer"].thread_id, 0u);
  EXPECT_EQ(by["worker.outer"].thread_id, 1u);
  EXPECT_EQ(by["worker.inner"].thread_id, 1u);
  EXPECT_EQ(by["worker.outer"].depth, 0u);  // not nested under the main thread's range
  EXPECT_EQ(by["worker.inner"].depth, 1u);
}

TEST(Stats, PercentilesInterpolateLikeNumpy) {
  std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 3.0);
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 5.0);
  EXPECT_DOUBLE_EQ(percentile(v, 10), 1.4);  // numpy.percentile([1..5], 10) = 1.4
  EXPECT_DOUBLE_EQ(percentile(v, 90), 4.6);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_THROW(percentile({}, 50), std::invalid_argument);
  EXPECT_THROW(percentile({1}, 101), std::invalid_argument);
  Stats s = summarize(v);
  EXPECT_EQ(s.n, 5u);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.rel_spread(), (4.6 - 1.4) / 3.0);
  EXPECT_EQ(summarize({}).n, 0u);
}

TEST(Stats, SummarizeRangesGroupsRepetitionsByName) {
  std::vector<RangeRecord> recs;
  auto add = [&](const std::string& name, const std::string& cat, int64_t dur_ns, double bytes) {
    RangeRecord r;
    r.name = name;
    r.category = cat;
    r.start_ns = 1000 * static_cast<int64_t>(recs.size());
    r.end_ns = r.start_ns + dur_ns;
    r.bytes = bytes;
    recs.push_back(r);
  };
  for (int rep = 0; rep < 3; ++rep) {
    add("step", "step", 900 + rep * 10, 0);
    add("b", "op", 100 * (rep + 1), 64);
    add("a", "op", 50, 32);
  }
  auto all = summarize_ranges(recs);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "step");
  auto ops = summarize_ranges(recs, "op");
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].name, "b");  // first appearance order
  EXPECT_EQ(ops[0].count, 3u);
  EXPECT_DOUBLE_EQ(ops[0].duration_s.median, 200e-9);
  EXPECT_DOUBLE_EQ(ops[0].duration_s.min, 100e-9);
  EXPECT_DOUBLE_EQ(ops[0].bytes, 64.0);
  EXPECT_DOUBLE_EQ(ops[1].duration_s.median, 50e-9);
}

TEST(Trace, OneCompleteEventPerRangeValidJson) {
  CpuProfiler p;
  for (int rep = 0; rep < 2; ++rep) {
    ScopedRange s(&p, "decode_step", "step");
    ScopedRange a(&p, "layers.0.attn \"quoted\"\\name", "op", 4096.0, 8192.0);
  }
  std::thread t([&] { ScopedRange w(&p, "worker"); });
  t.join();
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 5u);
  auto doc = nlohmann::json::parse(chrome_trace_json(recs, {"llmcost run", {{"model", "tiny"}}}));
  ASSERT_TRUE(doc["traceEvents"].is_array());
  EXPECT_EQ(doc["otherData"]["model"], "tiny");
  size_t n_x = 0;
  double prev_ts = -1;
  std::map<std::string, int> names;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] == "M") continue;
    ASSERT_EQ(e["ph"], "X");
    ++n_x;
    names[e["name"].get<std::string>()]++;
    EXPECT_GE(e["ts"].get<double>(), 0.0);
    EXPECT_GE(e["ts"].get<double>(), prev_ts);  // sorted by start
    prev_ts = e["ts"].get<double>();
    EXPECT_GE(e["dur"].get<double>(), 0.0);
    EXPECT_EQ(e["pid"], 1);
    EXPECT_TRUE(e["tid"].is_number_integer());
  }
  EXPECT_EQ(n_x, recs.size());
  EXPECT_EQ(names["decode_step"], 2);
  EXPECT_EQ(names["layers.0.attn \"quoted\"\\name"], 2);
  EXPECT_EQ(names["worker"], 1);
  // The earliest event starts at 0 and the annotations are carried as args.
  bool saw_bytes = false;
  for (const auto& e : doc["traceEvents"])
    if (e["ph"] == "X" && e["args"].contains("bytes")) {
      EXPECT_DOUBLE_EQ(e["args"]["bytes"].get<double>(), 4096.0);
      EXPECT_DOUBLE_EQ(e["args"]["flops"].get<double>(), 8192.0);
      saw_bytes = true;
    }
  EXPECT_TRUE(saw_bytes);
}

TEST(Trace, EmptyRecordsGiveAValidEmptyTrace) {
  auto doc = nlohmann::json::parse(chrome_trace_json({}));
  size_t n_x = 0;
  for (const auto& e : doc["traceEvents"]) n_x += e["ph"] == "X";
  EXPECT_EQ(n_x, 0u);
}

TEST(Trace, WriteIsAtomicAndFailsWithOneLine) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("llmcost_trace_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" + std::to_string(reinterpret_cast<uintptr_t>(&dir)));
  fs::create_directories(dir);
  CpuProfiler p;
  { ScopedRange r(&p, "op"); }
  std::string path = (dir / "t.json").string();
  write_chrome_trace(path, p.records());
  std::ifstream in(path);
  auto doc = nlohmann::json::parse(in);
  EXPECT_TRUE(doc.contains("traceEvents"));
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temp file left

  std::string bad = (dir / "no_such_dir" / "t.json").string();
  try {
    write_chrome_trace(bad, p.records());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(bad + ": cannot write trace file", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(bad));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace llmcost
