// CI gate against hostile records (issue 14): noise and times must be real, byte counts must fit
// int64, and a check is linear in the number of measurements.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "llmcost/ci_gate.h"

using namespace llmcost;

namespace {

std::string error_of(const std::string& json, const std::string& file = "b.json") {
  try {
    ci::parse_record(parse_json(json, file), file);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << json;
  return "";
}

std::string measurement(const std::string& fields) {
  return R"({"llmcost_ci_record": 1, "measurements": [{"name": "decode_step", )" + fields + "}]}";
}

TEST(CiGateHostile, NoiseMustBeFiniteAndPlausible) {
  EXPECT_EQ(error_of(measurement(R"("median_s": 0.01, "noise_rel": 1e300)")),
            "b.json: /measurements/0/noise_rel gives a relative noise of 1e+300, outside 0..10");
  EXPECT_EQ(error_of(measurement(R"("median_s": 0.01, "noise_rel": -0.1)")),
            "b.json: /measurements/0/noise_rel gives a relative noise of -0.1, outside 0..10");
  EXPECT_EQ(error_of(measurement(R"("median_s": -1)")),
            "b.json: /measurements/0/median_s must be a non-negative number of seconds, got -1");
  EXPECT_EQ(error_of(measurement(R"("median_s": 1, "read_bw_bytes_per_s": -3)")),
            "b.json: /measurements/0/read_bw_bytes_per_s must be a non-negative number of bytes/s, got -3");
  EXPECT_EQ(error_of(measurement(R"("median_s": 1, "bytes": 1e30)")).rfind("b.json: /measurements/0/bytes must be", 0), 0u);
  // A plausible record still reads.
  ci::Record ok = ci::parse_record(parse_json(measurement(R"("median_s": 0.01, "noise_rel": 0.5)"), "b.json"), "b.json");
  EXPECT_DOUBLE_EQ(ok.measurements.at(0).noise_rel, 0.5);
}

TEST(CiGateHostile, GoogleBenchmarkFiguresMustBeReal) {
  auto gb = [](const std::string& entries) { return R"({"benchmarks": [)" + entries + "]}"; };
  // bytes_per_second x time past int64 once wrote -9223372036854775808 into the baseline.
  EXPECT_EQ(error_of(gb(R"({"name": "a", "real_time": 1.0, "time_unit": "s", "bytes_per_second": 1e300})")),
            "b.json: /benchmarks/0/bytes_per_second x real_time gives 1e+300 bytes, past what a record holds (2^63)");
  EXPECT_EQ(error_of(gb(R"({"name": "a", "real_time": -1000.0, "time_unit": "ms"})")),
            "b.json: /benchmarks/0/real_time must be a non-negative number, got -1000");
  EXPECT_EQ(error_of(gb(R"({"name": "a", "real_time": 1.0, "bytes_per_second": -5})")),
            "b.json: /benchmarks/0/bytes_per_second must be a non-negative number of bytes/s, got -5");
  EXPECT_EQ(error_of(gb(R"({"name": "a", "run_name": "a", "run_type": "aggregate", "aggregate_name": "cv", "real_time": 50})")),
            "b.json: /benchmarks/0/real_time gives a relative noise of 50, outside 0..10");
  EXPECT_EQ(error_of(gb(R"({"name": "a_median", "run_name": "a", "run_type": "aggregate", "aggregate_name": "median", "real_time": 1},
                          {"name": "a_stddev", "run_name": "a", "run_type": "aggregate", "aggregate_name": "stddev", "real_time": 1e6})")),
            "b.json: /benchmarks/1/real_time gives benchmark \"a\" a relative noise of 1e+06, outside 0..10");
  EXPECT_EQ(error_of(R"({"context": {"llmcost_read_bw_bytes_per_s": "-inf"}, "benchmarks": []})"),
            "b.json: /context/llmcost_read_bw_bytes_per_s must be a non-negative number of bytes/s, got -inf");
  // A byte count that fits is kept exactly.
  auto ms = ci::parse_measurements(
      parse_json(gb(R"({"name": "a", "real_time": 2.0, "time_unit": "s", "bytes_per_second": 1e9})"), "b.json"), "b.json");
  EXPECT_EQ(ms.at(0).bytes, 2000000000);
}

TEST(CiGateHostile, RunFilesWithImpossibleFiguresAreRefused) {
  auto run = [](const std::string& measured, const std::string& ops = "[]") {
    return R"({"model": "m", "measured": )" + measured + R"(, "ops": )" + ops + "}";
  };
  EXPECT_EQ(error_of(run(R"({"decode_step_s": -1.0})")),
            "b.json: /measured/decode_step_s must be a non-negative number of seconds, got -1");
  EXPECT_EQ(error_of(run(R"({"decode_step_s": 1.0})", R"([{"name": "x", "measured_s": 1, "bytes": 1e30}])")),
            "b.json: /ops/0/bytes must be below 2^63 (9.2e18), got 1e+30");
  EXPECT_EQ(error_of(run(R"({"decode_step_s": 1.0, "decode_step_s_p10": 0, "decode_step_s_p90": 1e300})")),
            "b.json: /measured/decode_step_s_p90 gives a relative noise of 5e+299 ((p90 - p10) / 2 median), outside 0..10");
}

// Build a record of n measurements (and one model with n metrics) named distinctly.
ci::Record many(int n, double median_s) {
  ci::Record r;
  ci::ModelRecord m;
  m.model = "m";
  for (int i = 0; i < n; ++i) {
    ci::Measurement x;
    x.name = "op:layers." + std::to_string(i) + ".mlp";
    x.median_s = median_s;
    r.measurements.push_back(x);
    ci::AnalyticValue v;
    v.key = "k" + std::to_string(i);
    v.int_value = i;
    m.metrics.push_back(v);
  }
  r.models.push_back(m);
  return r;
}

TEST(CiGateHostile, CheckIsLinearInTheNumberOfMeasurements) {
  // 100,000 measurements and metrics each side: the quadratic scan took minutes at this size.
  ci::Record base = many(100000, 1.0), cur = many(100000, 1.0);
  std::reverse(cur.measurements.begin(), cur.measurements.end());
  auto t0 = std::chrono::steady_clock::now();
  ci::CheckResult r = ci::check(base, cur, {});
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.measured_compared, 100000);
  EXPECT_EQ(r.analytic_compared, 100000);
  EXPECT_LT(s, 5.0);
}

TEST(CiGateHostile, DuplicateNamesResolveAsBefore) {
  // First current measurement of a name, last current metric of a key.
  ci::Record base = many(1, 1.0), cur = many(1, 1.0);
  ci::Measurement slow = cur.measurements[0];
  slow.median_s = 100.0;
  cur.measurements.push_back(slow);  // a later duplicate is ignored
  ci::AnalyticValue v = cur.models[0].metrics[0];
  v.int_value = 7;
  cur.models[0].metrics.push_back(v);  // the later metric wins
  ci::CheckResult r = ci::check(base, cur, {});
  for (const auto& f : r.findings) {
    if (f.subject == "measured") EXPECT_EQ(f.status, ci::Status::Same);
    else EXPECT_EQ(f.status, ci::Status::Changed) << f.key;
  }
}

// Found by fuzz_records (tests/fuzz): a baseline naming a model twice was accepted, and checking it
// against itself reported a regression (the second entry compared against the first). Repeated
// model ids and measurement names are refused, naming both places.
TEST(CiGateHostile, RepeatedModelsAndMeasurementsAreRefused) {
  EXPECT_EQ(error_of(R"({"llmcost_ci_record":1,"models":[{"model":"M","metrics":{}},{"model":"M","metrics":{"":1}}]})"),
            "b.json: /models/1/model must name each model once, but repeats /models/0/model \"M\"");
  EXPECT_EQ(error_of(R"({"llmcost_ci_record":1,"measurements":[{"name":"a","median_s":1},{"name":"b","median_s":1},)"
                     R"({"name":"a","median_s":2}]})"),
            "b.json: /measurements/2/name must name each measurement once, but repeats /measurements/0/name \"a\"");
}

}  // namespace

// A microsecond op preempted once on a shared machine: its spread is kept at the bound (it
// cannot be gated) instead of refusing the run file; the step's own spread is still checked.
TEST(CiGateHostile, NoisyTinyOpIsKeptAtTheBound) {
  const std::string doc = R"({"model": "m", "measured": {"decode_step_s": 0.001},
    "ops": [{"name": "x", "measured_s": 1e-5, "measured_s_p10": 1e-5, "measured_s_p90": 7e-4, "bytes": 10}]})";
  auto ms = ci::parse_measurements(parse_json(doc, "b.json"), "b.json");
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[1].name, "m/op:x");
  EXPECT_DOUBLE_EQ(ms[1].noise_rel, 10.0);
}
