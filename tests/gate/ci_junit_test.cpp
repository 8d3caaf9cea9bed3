// The JSON verdict of `ci check --format json` (every finding, counts), and the JUnit XML verdict of `llmcost ci check --junit`: counts, one case per measurement, the
// analytic numbers as one case that fails listing each undeclared change, XML escaping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "llmcost/ci_report.h"

using namespace llmcost;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(CiJunit, CasesFailuresAndSkips) {
  ci::CheckResult r;
  r.analytic_compared = 120;
  r.measured_compared = 2;
  r.tolerance_pct = 5;
  r.findings.push_back({"llama-3.1-8b", "params.total", ci::Status::Changed, "8030261248", "8030261249", 0.0, ""});
  r.findings.push_back({"llama-3.1-8b", "kv.<odd>", ci::Status::Declared, "1", "2", 0.0, "declared"});
  r.findings.push_back({"measured", "decode_step & co", ci::Status::Slower, "10 ms", "12 ms", 20.0, "threshold 5%"});
  r.findings.push_back({"measured", "prefill", ci::Status::Same, "1 s", "1 s", 0.0, ""});
  r.findings.push_back({"measured", "op:x", ci::Status::NotCompared, "1 s", "-", 0.0, "too few samples"});
  const std::string x = ci_check_junit(r, "base<1>.json");
  EXPECT_EQ(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"4\" failures=\"2\" skipped=\"1\">", 0), 0u) << x;
  EXPECT_NE(x.find("name=\"120 analytic numbers\""), std::string::npos);
  EXPECT_NE(x.find("llama-3.1-8b params.total: CHANGED (baseline 8030261248, current 8030261249)"), std::string::npos) << x;
  EXPECT_EQ(x.find("kv.&lt;odd&gt;"), std::string::npos);  // a declared change does not fail
  EXPECT_NE(x.find("name=\"decode_step &amp; co\""), std::string::npos);
  EXPECT_NE(x.find("value=\"base&lt;1&gt;.json\""), std::string::npos);
  EXPECT_EQ(count(x, "<testcase "), 4u);
  EXPECT_EQ(count(x, "<failure "), 2u);
  EXPECT_EQ(count(x, "<skipped "), 1u);
  EXPECT_EQ(count(x, "</testcase>"), 4u);

  ci::CheckResult clean;
  clean.analytic_compared = 3;
  const std::string c = ci_check_junit(clean, "b.json");
  EXPECT_NE(c.find("<testsuites tests=\"1\" failures=\"0\" skipped=\"0\">"), std::string::npos) << c;
}

TEST(CiJson, VerdictCountsAndEveryFinding) {
  ci::CheckResult r;
  r.analytic_compared = 120;
  r.measured_compared = 2;
  r.tolerance_pct = 5;
  r.findings.push_back({"llama-3.1-8b", "params.total", ci::Status::Changed, "8030261248", "8030261249", 1.25e-8, ""});
  r.findings.push_back({"llama-3.1-8b", "params.embed", ci::Status::Same, "525336576", "525336576", 0.0, ""});
  r.findings.push_back({"measured", "decode_step", ci::Status::Slower, "10 ms", "12 ms", 20.0, "threshold 5%"});
  r.findings.push_back({"measured", "op:x", ci::Status::NotCompared, "1 s", "-", 0.0, "too few samples"});
  const auto j = nlohmann::json::parse(ci_check_json(r, "base.json", "this build's analytic numbers"));
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["regressions"], 2);
  EXPECT_EQ(j["baseline"], "base.json");
  EXPECT_EQ(j["current"], "this build's analytic numbers");
  EXPECT_EQ(j["analytic_compared"], 120);
  EXPECT_EQ(j["measured_compared"], 2);
  EXPECT_EQ(j["tolerance_pct"], 5.0);
  EXPECT_EQ(j["counts"]["same"], 1);
  EXPECT_EQ(j["counts"]["changed"], 1);
  EXPECT_EQ(j["counts"]["slower"], 1);
  EXPECT_EQ(j["counts"]["not_compared"], 1);
  EXPECT_EQ(j["counts"]["declared"], 0);
  ASSERT_EQ(j["findings"].size(), 4u);  // the same ones too
  const auto& f = j["findings"][0];
  EXPECT_EQ(f["subject"], "llama-3.1-8b");
  EXPECT_EQ(f["key"], "params.total");
  EXPECT_EQ(f["status"], "changed");
  EXPECT_EQ(f["regression"], true);
  EXPECT_EQ(f["baseline"], "8030261248");
  EXPECT_EQ(f["current"], "8030261249");
  EXPECT_DOUBLE_EQ(f["change_pct"].get<double>(), 1.25e-8);
  EXPECT_EQ(j["findings"][1]["regression"], false);
  EXPECT_EQ(j["findings"][2]["note"], "threshold 5%");
  EXPECT_EQ(j["findings"][2]["change_pct"], 20.0);
  EXPECT_TRUE(j["findings"][3]["change_pct"].is_null());  // nothing to compare with

  ci::CheckResult clean;
  clean.analytic_compared = 3;
  const auto c = nlohmann::json::parse(ci_check_json(clean, "b.json", "`c.json`"));
  EXPECT_EQ(c["verdict"], "pass");
  EXPECT_EQ(c["regressions"], 0);
  EXPECT_TRUE(c["findings"].empty());
}
