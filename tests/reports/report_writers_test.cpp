// Report writers: the HTML page is self-contained, and JSON/CSV/Markdown carry every number it shows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "llmcost/report_doc.h"

using namespace llmcost;

namespace {

ReportDoc sample_doc() {
  ReportDoc d;
  d.title = "Capacity plan <test>";
  d.assumptions = {"routing: uniform", "weights: bf16"};
  d.missing = {"no run file given: predicted vs measured not shown"};
  Section s;
  s.id = "mem";
  s.heading = "Memory";
  s.paragraphs = {"Memory per device."};
  Table t;
  t.id = "mem-table";
  t.caption = "Memory per device";
  t.columns = {{"device", "device", ""}, {"weight_bytes", "weights (GB)", "bytes"}, {"fits", "fits", ""}};
  t.rows.push_back({Cell::str("h100"), Cell::integer(93405585408, "93.41"), Cell::str("no")});
  t.rows.push_back({Cell::str("h200"), Cell::integer(93405585409, "93.41"), Cell::str("yes, a|b")});
  s.tables.push_back(t);
  svg::BarChart b;
  b.id = "mem-chart";
  b.title = "Memory per device";
  b.y_label = "GB";
  b.categories = {"h100", "h200"};
  b.series = {{"weights", {93.4, 93.4}}, {"kv", {12.5, 12.5}}};
  b.capacity = {80, 141};
  s.charts.push_back(b);
  d.sections.push_back(s);
  Section s2;
  s2.id = "roof";
  s2.heading = "Roofline";
  svg::RooflineChart r;
  r.id = "roof-chart";
  r.roofs = {{"h100", 989e12, 3.35e12}};
  r.groups = {"decode"};
  r.points = {{"lm_head", 1.0, 3.35e12, 0}};
  s2.charts.push_back(r);
  d.sections.push_back(s2);
  return d;
}

}  // namespace

TEST(ReportHtml, SelfContained) {
  std::string h = report_html(sample_doc());
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_EQ(h.find("@import"), std::string::npos);
  EXPECT_EQ(h.find("@font-face"), std::string::npos);
  // The only URL is the SVG namespace identifier (not fetched).
  std::string stripped = std::regex_replace(h, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_EQ(stripped.find("http"), std::string::npos);
  EXPECT_EQ(stripped.find("src="), std::string::npos);
  EXPECT_NE(h.find("Capacity plan &lt;test&gt;"), std::string::npos);
  EXPECT_NE(h.find("routing: uniform"), std::string::npos);
  EXPECT_NE(h.find("class=\"chart chart-stacked-bars\""), std::string::npos);
  EXPECT_NE(h.find("class=\"chart chart-roofline\""), std::string::npos);
  EXPECT_NE(h.find(">93.41<"), std::string::npos);
  EXPECT_NE(h.find("no run file given"), std::string::npos);
}

TEST(ReportJson, EveryNumberRaw) {
  auto j = nlohmann::json::parse(report_json(sample_doc()));
  EXPECT_EQ(j["assumptions"].size(), 2u);
  const auto& t = j["sections"][0]["tables"][0];
  EXPECT_EQ(t["columns"][1]["unit"], "bytes");
  EXPECT_EQ(t["rows"][1]["weight_bytes"].get<int64_t>(), 93405585409);
  EXPECT_EQ(t["rows"][1]["fits"], "yes, a|b");
  const auto& chart = j["sections"][0]["charts"][0];
  EXPECT_EQ(chart["id"], "mem-chart-data");
  EXPECT_DOUBLE_EQ(chart["rows"][1]["capacity"].get<double>(), 141);
  EXPECT_DOUBLE_EQ(chart["rows"][0]["kv"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(j["sections"][1]["charts"][0]["rows"][0]["flops_per_s"].get<double>(), 989e12);
}

TEST(ReportCsv, LongFormatOneRowPerNumber) {
  std::string c = report_csv(sample_doc());
  EXPECT_EQ(c.rfind("table,row,column,unit,value,text\n", 0), 0u);
  EXPECT_NE(c.find("mem-table,h200,weight_bytes,bytes,93405585409,93.41\n"), std::string::npos);
  EXPECT_NE(c.find("mem-chart-data,h200,capacity,GB,141,141\n"), std::string::npos);
  // 2 table numbers + 6 bar-chart numbers + 2 roof + 2 point numbers.
  size_t lines = std::count(c.begin(), c.end(), '\n');
  EXPECT_EQ(lines, 1u + 2 + 6 + 4);
}

TEST(ReportMarkdown, PipeTables) {
  std::string m = report_markdown(sample_doc());
  EXPECT_EQ(m.rfind("# Capacity plan <test>\n", 0), 0u);
  EXPECT_NE(m.find("| device | weights (GB) | fits |\n| --- | ---: | --- |\n"), std::string::npos);
  EXPECT_NE(m.find("| h200 | 93.41 | yes, a\\|b |"), std::string::npos);
  EXPECT_NE(m.find("- routing: uniform"), std::string::npos);
  EXPECT_NE(m.find("| h100 | 93.4 | 12.5 | 80 |"), std::string::npos);  // chart data
}
