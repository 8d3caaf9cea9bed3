// TextTable fitted to a width (reports/src/text_table.cpp): each step in order (paths, abbreviation,
// optional columns, wrapping), numbers and headers never cut, and no change within the width.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "llmcost/format.h"
#include "llmcost/report_doc.h"

using namespace llmcost;

namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

size_t widest(const std::string& s) {
  size_t w = 0;
  for (const auto& l : lines(s)) w = std::max(w, l.size());
  return w;
}

TextTable runs_table() {
  TextTable t({{"run", true, CellKind::Path, 0},
               {"engine", true, CellKind::Text, 1},
               {"TTFT (s)", false, CellKind::Number, 0},
               {"note", true, CellKind::Text, 0}});
  t.add_row({"data/serving/long-directory-name/run_a.json", "vllm", "0.06526", "short"});
  t.add_row({"data/serving/long-directory-name/run_b.json", "vllm", "1234.5678", "a long free-text note that can be cut"});
  return t;
}

TEST(TextTable, WithinTheWidthIsTheUnfittedTable) {
  TextTable t = runs_table();
  const std::string full = t.render(0);
  EXPECT_EQ(t.render(widest(full)), full);
  EXPECT_EQ(t.render(1000), full);
  // Hand-checked layout: widths 43, 6, 9, 37; header, rule of 43+6+9+37+6 = 101 dashes.
  auto l = lines(full);
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[1], std::string(101, '-'));
  EXPECT_EQ(l[2], "data/serving/long-directory-name/run_a.json  vllm      0.06526  short");
}

TEST(TextTable, PathsShortenToTheirLastComponentWithTheDirectoryInAFootnote) {
  // 10 + 2 + 6 + 2 + 9 + 2 + 37 = 68 after shortening.
  const std::string out = runs_table().render(70);
  auto l = lines(out);
  EXPECT_EQ(l[2], "run_a.json  vllm      0.06526  short");
  EXPECT_EQ(l[3], "run_b.json  vllm    1234.5678  a long free-text note that can be cut");
  EXPECT_EQ(l[4], "run: files in data/serving/long-directory-name/");
  EXPECT_LE(widest(out), 70u);
}

TEST(TextTable, EqualFileNamesGetAMarkAndAFootnoteEach) {
  TextTable t({{"run", true, CellKind::Path, 0}, {"n", false, CellKind::Number, 0}});
  t.add_row({"a/long-directory/x.json", "1"});
  t.add_row({"b/long-directory/x.json", "2"});
  const std::string out = t.render(20);
  EXPECT_NE(out.find("x.json [1]"), std::string::npos) << out;
  EXPECT_NE(out.find("[1] a/long-directory/x.json\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[2] b/long-directory/x.json\n"), std::string::npos) << out;
}

TEST(TextTable, NamesWithoutADirectoryGetNoFootnote) {
  TextTable t({{"run", true, CellKind::Path, 0}, {"n", false, CellKind::Number, 0}});
  t.add_row({"x.json", "123456789012345"});
  const std::string out = t.render(10);
  EXPECT_EQ(out.find("files in"), std::string::npos) << out;
  EXPECT_EQ(out.find("file names only"), std::string::npos) << out;
  EXPECT_NE(out.find("123456789012345"), std::string::npos) << out;  // a number is never cut, even past the width
}

TEST(TextTable, FreeTextIsAbbreviatedNumbersAndHeadersAreNot) {
  // After paths: 68; at 60 the note is cut to 60 - (10 + 6 + 9 + 3 x 2) = 29 characters.
  const std::string out = runs_table().render(60);
  auto l = lines(out);
  EXPECT_EQ(l[3], "run_b.json  vllm    1234.5678  a long free-text note that...");
  EXPECT_EQ(l[0].substr(0, 29), "run         engine   TTFT (s)");
  EXPECT_LE(widest(out), 60u);
  EXPECT_EQ(out.find("columns left out"), std::string::npos);
}

TEST(TextTable, OptionalColumnsAreLeftOutAndNamed) {
  // Floors: run 24 (the row's name, here 10), engine 10 (6), note 10: 10+6+9+10+6 = 41 > 40.
  const std::string out = runs_table().render(40);
  auto l = lines(out);
  EXPECT_EQ(l[0].find("engine"), std::string::npos);
  EXPECT_NE(out.find("1234.5678"), std::string::npos);
  EXPECT_NE(out.find("columns left out to fit 40: engine (all vllm) (use --width 0 or --format json for all)\n"),
            std::string::npos)
      << out;
  for (size_t i = 0; i + 2 < l.size(); ++i) EXPECT_LE(l[i].size(), 40u) << l[i];
}

TEST(TextTable, LastTheColumnsWrapIntoBlocksRepeatingTheFirst) {
  TextTable t({"name", "first count", "second count", "third count"}, {true});
  t.add_row({"a", "111111111", "222222222", "333333333"});
  const std::string out = t.render(30);
  auto l = lines(out);
  // name + first, second, third each in its own block: 3 blocks of header, rule, row, blank between.
  ASSERT_EQ(l.size(), 11u) << out;
  EXPECT_EQ(l[0], "name  first count");
  EXPECT_EQ(l[2], "a       111111111");
  EXPECT_EQ(l[4], "name  second count");
  EXPECT_EQ(l[10], "a       333333333");
  for (const auto& x : l) EXPECT_LE(x.size(), 30u);
}

TEST(TextTable, DocTablesDropTheirOptionalColumns) {
  Table d;
  d.columns = {{"hw", "hardware", ""}, {"bw", "bandwidth (TB/s)", "bytes/s"}, {"n", "devices", "devices"}};
  d.columns[0].text_left = true;
  d.columns[1].drop_priority = 1;
  d.rows.push_back({Cell::str("h100-sxm"), Cell::number(3.35e12, "3.35"), Cell::integer(8, "8")});
  d.notes = {"a note"};
  const std::string full = table_text(d);
  set_text_width(20);
  const std::string narrow = table_text(d);
  set_text_width(0);
  EXPECT_EQ(table_text(d), full);
  EXPECT_EQ(narrow,
            "hardware  devices\n"
            "-----------------\n"
            "h100-sxm        8\n"
            "columns left out to fit 20: bandwidth (TB/s) (all 3.35) (use --width 0 or --format json for all)\n"
            "a note\n");
}

}  // namespace
