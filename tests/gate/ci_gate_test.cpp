// CI gate logic: exact analytic comparison, declared changes, normalized measured medians with
// noise, and the readers for our records, `llmcost run` JSON and Google Benchmark JSON.
#include "llmcost/ci_gate.h"

#include <gtest/gtest.h>

#include "llmcost/model_loader.h"
#include <nlohmann/json.hpp>
#include "llmcost/version.h"

using namespace llmcost;

namespace {

ci::Record analytic(const std::string& model) {
  ci::Record r;
  r.models.push_back(ci::analytic_record(model, analyze(load_model(model, LLMCOST_CONFIG_DIR))));
  return r;
}

ci::AnalyticValue* find(ci::Record& r, const std::string& key) {
  for (auto& v : r.models[0].metrics)
    if (v.key == key) return &v;
  return nullptr;
}

ci::Measurement meas(const std::string& name, double median_s, double noise_rel, double bw) {
  ci::Measurement m;
  m.name = name;
  m.median_s = median_s;
  m.noise_rel = noise_rel;
  m.read_bw_bytes_per_s = bw;
  return m;
}

ci::Status status_of(const ci::CheckResult& r, const std::string& key) {
  for (const auto& f : r.findings)
    if (f.key == key) return f.status;
  ADD_FAILURE() << "no finding for " << key;
  return ci::Status::Same;
}

}  // namespace

TEST(CiGate, AnalyticRecordHasExactCounts) {
  ci::Record r = analytic("mixtral-8x7b");
  ASSERT_NE(find(r, "params.total"), nullptr);
  EXPECT_EQ(find(r, "params.total")->int_value, 46702792704);
  EXPECT_EQ(find(r, "params.active")->int_value, 12879925248);
  EXPECT_EQ(find(r, "params.breakdown.experts_routed")->unit, "parameters");
}

TEST(CiGate, UnchangedPassesInjectedChangeCaught) {
  ci::Record base = analytic("mixtral-8x7b");
  ci::Record cur = analytic("mixtral-8x7b");
  auto same = ci::check(base, cur, {});
  EXPECT_TRUE(same.clean());
  EXPECT_EQ(same.analytic_compared, static_cast<int64_t>(base.models[0].metrics.size()));

  find(cur, "params.active")->int_value += 1;  // an off-by-one in counting
  auto bad = ci::check(base, cur, {});
  EXPECT_EQ(bad.regressions(), 1);
  EXPECT_EQ(status_of(bad, "params.active"), ci::Status::Changed);

  ci::CheckOptions declared;
  declared.declared = {"mixtral-*:params.act*"};
  auto ok = ci::check(base, cur, declared);
  EXPECT_TRUE(ok.clean());
  EXPECT_EQ(status_of(ok, "params.active"), ci::Status::Declared);
}

TEST(CiGate, MissingAnalyticIsRegressionAddedIsNot) {
  ci::Record base = analytic("llama-3.1-8b");
  ci::Record cur = base;
  cur.models[0].metrics.erase(cur.models[0].metrics.begin());  // params.total gone
  auto r = ci::check(base, cur, {});
  EXPECT_EQ(r.regressions(), 1);
  EXPECT_EQ(status_of(r, "params.total"), ci::Status::Missing);
  ci::Record more = base;
  more.models[0].metrics.push_back({"kv.bytes_per_token", "bytes", true, 131072, 131072.0});
  auto a = ci::check(base, more, {});
  EXPECT_TRUE(a.clean());
  EXPECT_EQ(status_of(a, "kv.bytes_per_token"), ci::Status::Added);
}

TEST(CiGate, MeasuredNormalizedByBandwidthAndNoise) {
  ci::Record base, cur;
  base.measurements = {meas("decode_step", 0.010, 0.01, 20e9), meas("prefill", 0.100, 0.03, 20e9),
                       meas("op:mlp", 0.004, 0.0, 20e9)};
  // Same code on a machine with twice the bandwidth: half the time -> unchanged after normalization.
  // prefill 6% slower, noise sqrt(3^2+3^2)=4.24% + 5% tolerance -> within; op 20% slower -> regression.
  cur.measurements = {meas("decode_step", 0.005, 0.01, 40e9), meas("prefill", 0.053, 0.03, 40e9),
                      meas("op:mlp", 0.0024, 0.0, 40e9)};
  auto r = ci::check(base, cur, {});
  EXPECT_EQ(status_of(r, "decode_step"), ci::Status::Same);
  EXPECT_EQ(status_of(r, "prefill"), ci::Status::Same);
  EXPECT_EQ(status_of(r, "op:mlp"), ci::Status::Slower);
  EXPECT_EQ(r.regressions(), 1);
  EXPECT_EQ(r.measured_compared, 3);
  // Larger tolerance lets it pass.
  ci::CheckOptions loose;
  loose.tolerance_pct = 25;
  EXPECT_TRUE(ci::check(base, cur, loose).clean());
  // Without calibration the raw medians are compared: decode_step looks 2x faster.
  for (auto& m : cur.measurements) m.read_bw_bytes_per_s = 0;
  EXPECT_EQ(status_of(ci::check(base, cur, {}), "decode_step"), ci::Status::Faster);
}

TEST(CiGate, ReadsGoogleBenchmarkJson) {
  std::string text = R"({
    "context": {"date": "x", "llmcost_read_bw_bytes_per_s": "2.5e10"},
    "benchmarks": [
      {"name": "BM_Gemv/4096", "run_name": "BM_Gemv/4096", "run_type": "iteration", "real_time": 120.0, "time_unit": "us"},
      {"name": "BM_Gemv/4096", "run_name": "BM_Gemv/4096", "run_type": "iteration", "real_time": 100.0, "time_unit": "us"},
      {"name": "BM_Gemv/4096", "run_name": "BM_Gemv/4096", "run_type": "iteration", "real_time": 110.0, "time_unit": "us"},
      {"name": "BM_Gemm_median", "run_name": "BM_Gemm", "run_type": "aggregate", "aggregate_name": "median", "real_time": 2.0, "time_unit": "ms"},
      {"name": "BM_Gemm_stddev", "run_name": "BM_Gemm", "run_type": "aggregate", "aggregate_name": "stddev", "real_time": 0.1, "time_unit": "ms"}
    ]})";
  ci::Record r = ci::parse_record(parse_json(text, "bench.json"), "bench.json");
  ASSERT_EQ(r.measurements.size(), 2u);
  EXPECT_EQ(r.measurements[0].name, "BM_Gemv/4096");
  EXPECT_DOUBLE_EQ(r.measurements[0].median_s, 110e-6);
  EXPECT_NEAR(r.measurements[0].noise_rel, 20.0 / 220.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.measurements[0].read_bw_bytes_per_s, 2.5e10);
  EXPECT_DOUBLE_EQ(r.measurements[1].median_s, 2e-3);
  EXPECT_NEAR(r.measurements[1].noise_rel, 0.05, 1e-12);

  std::string bad = R"({"benchmarks": [{"name": "a", "real_time": 1.0, "time_unit": "fortnights"}]})";
  try {
    ci::parse_record(parse_json(bad, "b.json"), "b.json");
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "b.json: /benchmarks/0/time_unit must be one of ns, us, ms, s, got \"fortnights\"");
  }
}

TEST(CiGate, ReadsRunJson) {
  std::string text = R"({"backend": "cpu", "device": "x", "model": "llama-3.1-8b",
    "slice": {"layers": 2, "params": 1000, "weight_bytes": 2000},
    "calibration": {"read_bw_bytes_per_s": 1.5e10, "gemm_flops_per_s": 1e11},
    "predicted": {"decode_step_s": 0.01, "prefill_s": 0.2},
    "measured": {"decode_step_s": 0.012, "decode_step_s_p10": 0.011, "decode_step_s_p90": 0.0134,
                 "achieved_bw_bytes_per_s": 1.2e10, "prefill_s": 0.25},
    "ops": [{"name": "layers.0.self_attn", "predicted_s": 0.001, "measured_s": 0.0012, "bytes": 1000,
             "achieved_bw_bytes_per_s": 8e8, "error_pct": 20}]})";
  auto ms = ci::parse_measurements(parse_json(text, "run.json"), "run.json");
  ASSERT_EQ(ms.size(), 3u);
  EXPECT_EQ(ms[0].name, "llama-3.1-8b/decode_step");
  EXPECT_NEAR(ms[0].noise_rel, 0.0024 / 0.024, 1e-12);
  EXPECT_EQ(ms[0].bytes, 2000);
  EXPECT_EQ(ms[1].name, "llama-3.1-8b/prefill");
  EXPECT_EQ(ms[2].name, "llama-3.1-8b/op:layers.0.self_attn");
  EXPECT_DOUBLE_EQ(ms[2].read_bw_bytes_per_s, 1.5e10);
}

TEST(CiGate, RecordRoundTrip) {
  ci::Record r = analytic("deepseek-v3");
  r.measurements.push_back(meas("decode_step", 0.0123, 0.02, 2e10));
  ci::Record back = ci::parse_record(parse_json(ci::record_json(r), "r.json"), "r.json");
  ASSERT_EQ(back.models.size(), 1u);
  EXPECT_EQ(back.models[0].model, "deepseek-v3");
  ASSERT_EQ(back.models[0].metrics.size(), r.models[0].metrics.size());
  EXPECT_TRUE(ci::check(r, back, {}).clean());
  ASSERT_EQ(back.measurements.size(), 1u);
  EXPECT_DOUBLE_EQ(back.measurements[0].median_s, 0.0123);
  EXPECT_DOUBLE_EQ(back.measurements[0].noise_rel, 0.02);
  // Stamped with the llmcost that wrote it; a record from before the field still loads.
  EXPECT_EQ(back.llmcost_version, version_stamp());
  nlohmann::json old = nlohmann::json::parse(ci::record_json(r));
  old.erase("llmcost_version");
  ci::Record older = ci::parse_record(parse_json(old.dump(), "old.json"), "old.json");
  EXPECT_EQ(older.llmcost_version, "");
  EXPECT_TRUE(ci::check(older, back, {}).clean());
  old["llmcost_version"] = 7;
  try {
    ci::parse_record(parse_json(old.dump(), "bad.json"), "bad.json");
    FAIL() << "a non-string version must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: /llmcost_version"), std::string::npos) << e.what();
  }
}

TEST(CiGate, Glob) {
  EXPECT_TRUE(ci::glob_match("*", "anything"));
  EXPECT_TRUE(ci::glob_match("a*:params.*", "abc:params.total"));
  EXPECT_FALSE(ci::glob_match("a*:params.*", "abc:flops"));
  EXPECT_TRUE(ci::glob_match("exact", "exact"));
  EXPECT_FALSE(ci::glob_match("exact", "exactly"));
}

// --min-samples: a median over fewer repetitions than asked is not compared (neither a regression
// nor a pass); where a file does not say how many (samples 0) it is compared as before. The
// repetition counts come from Google Benchmark's iteration entries and our record's "samples".
TEST(CiGate, MinSamplesSkipsThinMedians) {
  ci::Record base, cur;
  base.measurements = {meas("a", 0.010, 0.0, 0), meas("b", 0.010, 0.0, 0), meas("c", 0.010, 0.0, 0)};
  cur.measurements = {meas("a", 0.020, 0.0, 0), meas("b", 0.020, 0.0, 0), meas("c", 0.020, 0.0, 0)};
  base.measurements[0].samples = 3;   // too few in the baseline
  cur.measurements[1].samples = 50;   // enough
  base.measurements[1].samples = 20;
  ci::CheckOptions o;
  o.min_samples = 10;
  auto r = ci::check(base, cur, o);
  EXPECT_EQ(status_of(r, "a"), ci::Status::NotCompared);
  EXPECT_EQ(status_of(r, "b"), ci::Status::Slower);
  EXPECT_EQ(status_of(r, "c"), ci::Status::Slower);  // unknown counts are compared
  EXPECT_EQ(r.regressions(), 2);
  EXPECT_EQ(r.measured_compared, 2);
  for (const auto& f : r.findings)
    if (f.key == "a") EXPECT_EQ(f.note, "too few samples: baseline 3, current ? (--min-samples 10)");
  EXPECT_EQ(ci::check(base, cur, {}).regressions(), 3);  // off by default

  std::string text = R"({"benchmarks": [
      {"name": "g", "run_name": "g", "run_type": "iteration", "real_time": 1.0, "time_unit": "ms"},
      {"name": "g", "run_name": "g", "run_type": "iteration", "real_time": 1.2, "time_unit": "ms"},
      {"name": "h_median", "run_name": "h", "run_type": "aggregate", "aggregate_name": "median", "repetitions": 7,
       "real_time": 2.0, "time_unit": "ms"}]})";
  ci::Record g = ci::parse_record(parse_json(text, "bench.json"), "bench.json");
  ASSERT_EQ(g.measurements.size(), 2u);
  EXPECT_EQ(g.measurements[0].samples, 2);
  EXPECT_EQ(g.measurements[1].samples, 7);
  base.measurements[0].samples = 4;
  ci::Record back = ci::parse_record(parse_json(ci::record_json(base), "r.json"), "r.json");
  EXPECT_EQ(back.measurements[0].samples, 4);
  EXPECT_EQ(back.measurements[2].samples, 0);
}
