// `llmcost families`: the README's family table is what the command writes (scripts/family-table
// regenerates it), a reference count that differs fails, and bad inputs are one error line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

using FamiliesCli = CliTest;

const std::string kSrc = std::string(LLMCOST_CONFIG_DIR) + "/..";

TEST_F(FamiliesCli, ReadmeTableIsCurrent) {
  CliRun r = run("families '" + kSrc + "/configs/models' '" + kSrc + "/tests/data/models-2026' --reference '" + kSrc +
                 "/tests/data/reference_params.tsv' --format md");
  ASSERT_EQ(r.code, 0) << r.err;  // every reference total matches
  std::ifstream in(kSrc + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const size_t a = readme.find("<!-- families:begin");
  const size_t b = readme.find("<!-- families:end -->");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  const size_t body = readme.find('\n', a) + 1;
  EXPECT_EQ(readme.substr(body, b - body), r.out) << "README's family table is stale: run scripts/family-table";
  EXPECT_NE(r.out.find("| qwen3_next |"), std::string::npos);
  EXPECT_NE(r.out.find("exact: equals the checkpoint count"), std::string::npos);
}

TEST_F(FamiliesCli, DifferingReferenceExitsOne) {
  const std::string ref = write_file("ref.tsv", "file\ttotal_params\nopenai-community__gpt2.json\t124439809\n");
  CliRun r = run("families '" + kSrc + "/configs/models/openai-community__gpt2.json' --reference '" + ref + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("DIFFERS from the checkpoint count 124,439,809"), std::string::npos) << r.out;
  const std::string ok = write_file("ok.tsv", "file\ttotal_params\nopenai-community__gpt2.json\t124439808\n");
  CliRun j = run("families '" + kSrc + "/configs/models/openai-community__gpt2.json' --reference '" + ok + "' --format json");
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_NE(j.out.find("\"reference_total\": 124439808"), std::string::npos) << j.out;
}

TEST_F(FamiliesCli, RefusedConfigIsARowNotAFailure) {
  const std::string cfg = write_file("odd.json", R"({"model_type": "no_such_arch", "hidden_size": 8})");
  CliRun r = run("families '" + cfg + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("refused: /model_type \"no_such_arch\" is not a supported architecture"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("supported: "), std::string::npos) << "the family list belongs to the table, not each row";
}

TEST_F(FamiliesCli, BadInputsAreOneLine) {
  CliRun missing = run("families no/such/dir");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no/such/dir: no such config file or directory"), std::string::npos) << missing.err;
  const std::string no_col = write_file("a.tsv", "file\tcount\nx.json\t1\n");
  CliRun a = run("families --reference '" + no_col + "'");
  EXPECT_EQ(a.code, 1);
  EXPECT_NE(a.err.find("line 1 must name a \"total_params\" column"), std::string::npos) << a.err;
  const std::string bad = write_file("b.tsv", "file\ttotal_params\nx.json\t12x\n");
  CliRun b = run("families --reference '" + bad + "'");
  EXPECT_EQ(b.code, 1);
  EXPECT_NE(b.err.find("line 2: total_params must be a non-negative integer, got \"12x\""), std::string::npos) << b.err;
  for (const CliRun* x : {&missing, &a, &b}) EXPECT_EQ(x->err.find('\n'), x->err.size() - 1) << x->err;
}

}  // namespace
}  // namespace llmcost_test
