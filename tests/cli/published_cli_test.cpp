// `llmcost validate` on the bundled published measurements: the README's table is its current
// output, the derated model stays within the stated bounds, and a malformed row is refused.
#include <gtest/gtest.h>

#include "cli_fixture.h"

namespace llmcost_test {

namespace {
const std::string kPublished = std::string(LLMCOST_TEST_DATA) + "/published";
const std::string kReadme = std::string(LLMCOST_TEST_DATA) + "/../../README.md";
}  // namespace

class PublishedCli : public CliTest {};

TEST_F(PublishedCli, ReadmeTableIsCurrent) {
  CliRun r = run("validate '" + kPublished + "' --format markdown");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string readme = slurp(kReadme);
  const std::string begin = "<!-- published-validation:begin -->\n", end = "<!-- published-validation:end -->";
  size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(readme.substr(b + begin.size(), e - b - begin.size()), r.out)
      << "README.md's published-validation table is stale: regenerate it with "
         "`llmcost validate tests/data/published --format markdown`";
}

// The stated bounds: derated median |error| <= 20 % per class, no case off by more than 2.5x.
TEST_F(PublishedCli, DeratedWithinStatedBounds) {
  CliRun r = run("validate '" + kPublished + "' --max-median-error 0.2 --max-ratio 2.5");
  EXPECT_EQ(r.code, 0) << r.err;
}

// The datasheet roofline is far off the same cases: the gate can fail.
TEST_F(PublishedCli, DatasheetFailsTheSameBounds) {
  CliRun r = run("validate '" + kPublished + "' --efficiency datasheet --max-median-error 0.2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("median |error|"), std::string::npos) << r.err;
}

TEST_F(PublishedCli, MalformedRowNamesFileLineAndColumn) {
  std::ofstream(path("bad.tsv")) << "model\tprecision\tkv_dtype\tgpu\tcount\tparallelism\tengine\tinput_len\toutput_len\t"
                                    "concurrency\tmetric\tvalue\trole\tsource\n"
                                    "meta-llama/Llama-3.1-8B\tbf16\tbf16\th100-sxm\t2\ttp1\tvLLM\t128\t128\t1\ttpot_s\t0.01\tfit\t"
                                    "https://example.org 2025 table 1\n";
  CliRun r = run("validate bad.tsv");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.tsv:2: column count"), std::string::npos) << r.err;
}

}  // namespace llmcost_test
