// The metric names and pass counts of the counter profiler, checked through libcupti's profiler
// host API for chip GH100 (H100/H200). It needs no GPU, only libcupti and libnvperf_host.
#include <gtest/gtest.h>

#include "llmcost/counter_profiler.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

#ifdef LLMCOST_WITH_CUPTI
TEST(CounterHostApi, DramAndTimeMetricsAreValidForGH100AndNeedOnePass) {
  EXPECT_EQ(counter_metric_passes("GH100", counter_metrics()), 1);
  for (const auto& m : counter_metrics()) EXPECT_EQ(counter_metric_passes("GH100", {m}), 1) << m;
}

TEST(CounterHostApi, ASmThroughputMetricNeedsSeveralPasses) {
  // Not every metric fits one pass: the pass count really comes from CUPTI.
  EXPECT_GT(counter_metric_passes("GH100", {"sm__throughput.avg.pct_of_peak_sustained_elapsed"}), 1);
}

TEST(CounterHostApi, AnInvalidMetricNameIsNamed) {
  try {
    counter_metric_passes("GH100", {"dram__bytes_read.sum", "dram__bytes_reed.sum"});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("counters: metric 'dram__bytes_reed.sum' is not valid for chip GH100 (", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(CounterHostApi, AnUnknownChipIsNamed) {
  try {
    counter_metric_passes("NOSUCHCHIP", counter_metrics());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("counters: unknown chip 'NOSUCHCHIP'", 0), 0u) << e.what();
  }
}
#else
TEST(CounterHostApi, WithoutCuptiTheCheckSaysSo) {
  try {
    counter_metric_passes("GH100", counter_metrics());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "counters: not available: llmcost was built without CUPTI");
    EXPECT_EQ(e.kind(), ErrorKind::DeviceUnavailable);
  }
}
#endif

}  // namespace
}  // namespace llmcost
