// `llmcost ci record / check` end to end: the bundled baseline passes, an injected regression
// fails with exit 1, bad input exits 2 with one line on stderr, and nothing is half-written.
#include <gtest/gtest.h>

#include "cli/cli_fixture.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using Result = llmcost_test::CliRun;
using llmcost_test::CliTest;

class CiCli : public CliTest {
 protected:
  void write(const std::string& name, const std::string& text) { write_file(name, text); }
};

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

}  // namespace

TEST_F(CiCli, BundledBaselinePasses) {
  Result r = run(std::string("ci check --baseline '") + LLMCOST_TEST_DATA + "/ci_baseline.json'");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("**PASS**"), std::string::npos);
  EXPECT_NE(r.out.find("All analytic numbers identical"), std::string::npos);
}

TEST_F(CiCli, RecordThenCheckThenInjectedRegression) {
  Result rec = run("ci record --models mixtral-8x7b,qwen3-30b-a3b -o '" + path("base.json") + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  EXPECT_TRUE(rec.out.empty());
  std::string base = slurp(path("base.json"));
  ASSERT_NE(base.find("\"params.total\""), std::string::npos);
  EXPECT_EQ(run("ci check --baseline '" + path("base.json") + "'").code, 0);

  // Inject: the baseline says Mixtral has one parameter more than this build computes.
  std::string bad = base;
  size_t p = bad.find("46702792704");
  ASSERT_NE(p, std::string::npos);
  bad.replace(p, 11, "46702792705");
  write("bad.json", bad);
  Result r = run("ci check --baseline '" + path("bad.json") + "' --summary '" + path("summary.md") + "'");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("**FAIL**: 1 regression."), std::string::npos);
  EXPECT_NE(r.out.find("| mixtral-8x7b | params.total | CHANGED |"), std::string::npos);
  EXPECT_EQ(slurp(path("summary.md")), r.out);
  EXPECT_EQ(lines(r.err), 1u) << r.err;

  // The same verdict as JSON on stdout; --summary stays Markdown.
  Result js = run("ci check --baseline '" + path("bad.json") + "' --format json --summary '" + path("summary2.md") + "'");
  EXPECT_EQ(js.code, 1) << js.err;
  EXPECT_EQ(slurp(path("summary2.md")), r.out);
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["regressions"], 1);
  EXPECT_EQ(j["counts"]["changed"], 1);
  EXPECT_EQ(j["findings"].size(), j["counts"]["same"].get<size_t>() + 1);
  bool seen = false;
  for (const auto& f : j["findings"])
    if (f["status"] == "changed") {
      seen = true;
      EXPECT_EQ(f["subject"], "mixtral-8x7b");
      EXPECT_EQ(f["key"], "params.total");
      EXPECT_EQ(f["baseline"], "46702792705 parameters");
      EXPECT_EQ(f["current"], "46702792704 parameters");
    }
  EXPECT_TRUE(seen);
  EXPECT_EQ(run("ci check --baseline '" + path("bad.json") + "' --format html").code, 2);

  // Declared: passes, and says so.
  Result d = run("ci check --baseline '" + path("bad.json") + "' --declare 'mixtral-8x7b:params.total'");
  EXPECT_EQ(d.code, 0) << d.out;
  EXPECT_NE(d.out.find("changed (declared)"), std::string::npos);
}

TEST_F(CiCli, MeasuredFromBenchmarkJson) {
  auto bench = [](double t_us) {
    return "{\"context\": {}, \"benchmarks\": [{\"name\": \"BM_Gemv\", \"run_type\": \"iteration\", \"real_time\": " +
           std::to_string(t_us) + ", \"time_unit\": \"us\"}]}";
  };
  write("b0.json", bench(100));
  write("b1.json", bench(103));
  write("b2.json", bench(130));
  EXPECT_EQ(run("ci check --baseline '" + path("b0.json") + "' --current '" + path("b1.json") + "'").code, 0);
  Result r = run("ci check --baseline '" + path("b0.json") + "' --current '" + path("b2.json") + "' --tolerance 10");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("| BM_Gemv | SLOWER |"), std::string::npos) << r.out;
  // The same verdict as JUnit XML; one sample each, so --min-samples 2 compares nothing and passes.
  Result j = run("ci check --baseline '" + path("b0.json") + "' --current '" + path("b2.json") + "' --tolerance 10 --junit '" +
                 path("junit.xml") + "'");
  EXPECT_EQ(j.code, 1);
  const std::string xml = slurp(path("junit.xml"));
  EXPECT_NE(xml.find("<testsuites tests=\"1\" failures=\"1\" skipped=\"0\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"llmcost.ci.measured\" name=\"BM_Gemv\">"), std::string::npos) << xml;
  Result thin = run("ci check --baseline '" + path("b0.json") + "' --current '" + path("b2.json") + "' --tolerance 10 --min-samples 2");
  EXPECT_EQ(thin.code, 0) << thin.out;
  EXPECT_NE(thin.out.find("too few samples: baseline 1, current 1 (--min-samples 2)"), std::string::npos) << thin.out;
  // Recorded into our format, then checked against itself.
  ASSERT_EQ(run("ci record --models gpt2 --measured '" + path("b0.json") + "' -o '" + path("rec.json") + "'").code, 0);
  EXPECT_EQ(run("ci check --baseline '" + path("rec.json") + "' --current '" + path("b1.json") + "'").code, 0);
}

TEST_F(CiCli, CalibrationNormalizesBenchmarkJson) {
  auto bench = [](double t_us) {
    return "{\"context\": {}, \"benchmarks\": [{\"name\": \"BM_Gemv\", \"run_type\": \"iteration\", \"real_time\": " +
           std::to_string(t_us) + ", \"time_unit\": \"us\"}]}";
  };
  auto machine = [](double bw) {
    return "name: box\nkind: cpu\nmemory_bytes: {value: 1e11, source: t}\nmem_bw_bytes_per_s: {value: 1e11, source: t}\n"
           "peak_flops_per_s:\n  fp32: {value: 1e12, source: t}\n"
           "calibrated:\n  read_bw_bytes_per_s: {value: " + std::to_string(bw) + ", source: t}\n";
  };
  write("old.json", bench(100));
  write("old.yaml", machine(20e9));
  ASSERT_EQ(run("ci record --models gpt2 --measured '" + path("old.json") + "' --calibration '" + path("old.yaml") +
                "' -o '" + path("base.json") + "'").code, 0);
  // 40% slower on a machine with half the bandwidth: 30% faster after normalization.
  write("new.json", bench(140));
  write("new.yaml", machine(10e9));
  Result r = run("ci check --baseline '" + path("base.json") + "' --current '" + path("new.json") + "' --calibration '" +
                 path("new.yaml") + "'");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("| BM_Gemv | faster |"), std::string::npos) << r.out;
  // Without the current machine's calibration the raw medians are compared: a regression.
  EXPECT_EQ(run("ci check --baseline '" + path("base.json") + "' --current '" + path("new.json") + "'").code, 1);
  // A hardware YAML without calibrated: is bad input.
  write("plain.yaml", "name: box\nkind: cpu\nmemory_bytes: {value: 1e11, source: t}\nmem_bw_bytes_per_s: {value: 1e11, source: t}\n"
           "peak_flops_per_s:\n  fp32: {value: 1e12, source: t}\n");
  r = run("ci check --baseline '" + path("base.json") + "' --current '" + path("new.json") + "' --calibration '" +
          path("plain.yaml") + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("plain.yaml: /calibrated/read_bw_bytes_per_s is required"), std::string::npos) << r.err;
}

TEST_F(CiCli, BadInputExitsTwoWithOneLine) {
  write("junk.json", "{\"x\": 1}");
  Result r = run("ci check --baseline '" + path("junk.json") + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("junk.json: / must be a record from `llmcost ci record`"), std::string::npos) << r.err;

  write("broken.json", "{\"llmcost_ci_record\": 1, \"models\": [{\"model\": \"gpt2\", \"metrics\": {\"a\": \"x\"}}]}");
  r = run("ci check --baseline '" + path("broken.json") + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("broken.json: /models/0/metrics/a must be a number"), std::string::npos) << r.err;

  r = run("ci check --baseline '" + path("missing.json") + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1u);

  r = run("ci check");  // usage
  EXPECT_EQ(r.code, 2);

  // A failing record leaves no file behind.
  r = run("ci record --models no-such-model -o '" + path("never.json") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(fs::exists(path("never.json")));
  EXPECT_FALSE(fs::exists(path("never.json.tmp")));
}
