// SVG chart geometry: ticks, bar heights proportional to values, capacity lines, log axes.
#include "llmcost/svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

namespace svg = llmcost::svg;

namespace {
std::vector<double> values(const std::vector<svg::Tick>& t) {
  std::vector<double> v;
  for (const auto& x : t) v.push_back(x.value);
  return v;
}
size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}
}  // namespace

TEST(SvgTicks, LinearNiceSteps) {
  EXPECT_EQ(values(svg::linear_ticks(0, 95, 5)), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(values(svg::linear_ticks(0, 1, 5)), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  auto t = svg::linear_ticks(0, 141.3, 6);  // step 50 would give 4 intervals; 6 max -> step 50? 141.3/6=23.5 -> 50
  EXPECT_EQ(values(t), (std::vector<double>{0, 50, 100, 150}));
  EXPECT_EQ(t.back().label, "150");
  // Covers the range even when it does not start at zero.
  auto u = svg::linear_ticks(13, 27, 4);
  EXPECT_LE(u.front().value, 13);
  EXPECT_GE(u.back().value, 27);
  EXPECT_EQ(values(u), (std::vector<double>{10, 15, 20, 25, 30}));
}

TEST(SvgTicks, LogDecades) {
  auto t = svg::log_ticks(3, 2000);
  EXPECT_EQ(values(t), (std::vector<double>{1, 10, 100, 1000, 10000}));
  EXPECT_EQ(t[4].label, "10k");
  auto f = svg::log_ticks(2e11, 9.9e14);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f.front().label, "100G");
  EXPECT_EQ(f.back().label, "1P");
  // An exact power of ten is its own bound.
  EXPECT_EQ(values(svg::log_ticks(10, 100)), (std::vector<double>{10, 100}));
}

TEST(SvgTicks, Labels) {
  EXPECT_EQ(svg::format_tick(0), "0");
  EXPECT_EQ(svg::format_tick(1500), "1500");
  EXPECT_EQ(svg::format_tick(25000), "25k");
  EXPECT_EQ(svg::format_tick(3.35e12), "3.35T");
  EXPECT_EQ(svg::format_tick(0.5), "0.5");
  EXPECT_EQ(svg::format_tick(0.002), "2m");
}

TEST(SvgScale, LinearAndLog) {
  svg::Scale lin(0, 100, 400, 0);
  EXPECT_DOUBLE_EQ(lin(0), 400);
  EXPECT_DOUBLE_EQ(lin(25), 300);
  svg::Scale lg(1, 1000, 0, 300, true);
  EXPECT_NEAR(lg(10), 100, 1e-9);
  EXPECT_NEAR(lg(100), 200, 1e-9);
}

TEST(SvgBars, StackedHeightsProportionalAndCapacity) {
  svg::BarChart c;
  c.id = "mem";
  c.categories = {"A", "B"};
  c.series = {{"weights", {40, 10}}, {"kv cache", {20, 5}}};
  c.capacity = {80, 0};
  auto L = svg::layout_bars(c);
  EXPECT_EQ(L.y_min, 0);
  EXPECT_GE(L.y_max, 80);  // capacity is on the axis
  ASSERT_EQ(L.rects.size(), 4u);
  double px_per_unit = (c.frame.plot_bottom() - c.frame.plot_top()) / (L.y_max - L.y_min);
  for (const auto& r : L.rects) EXPECT_NEAR(r.h, r.value * px_per_unit, 1e-9) << r.series << "," << r.category;
  // Stacking: the second segment sits on top of the first.
  EXPECT_NEAR(L.rects[1].y + L.rects[1].h, L.rects[0].y, 1e-9);
  EXPECT_NEAR(L.rects[0].y + L.rects[0].h, c.frame.plot_bottom(), 1e-9);
  // Same bar position for segments of one category.
  EXPECT_EQ(L.rects[0].x, L.rects[1].x);
  ASSERT_EQ(L.capacity.size(), 1u);  // category B has none
  EXPECT_NEAR(c.frame.plot_bottom() - L.capacity[0].y, 80 * px_per_unit, 1e-9);
  std::string s = svg::render(c);
  EXPECT_EQ(count(s, "class=\"bar\""), 4u);
  EXPECT_EQ(count(s, "class=\"capacity\""), 1u);
  EXPECT_NE(s.find("id=\"mem-p1\""), std::string::npos);  // a pattern per series
  EXPECT_NE(s.find("url(#mem-p1)"), std::string::npos);
}

TEST(SvgBars, GroupedSideBySideAndLog) {
  svg::BarChart c;
  c.id = "pm";
  c.stacked = false;
  c.log_y = true;
  c.categories = {"attn", "mlp", "lm_head"};
  c.series = {{"predicted", {1e-4, 1e-3, 5e-5}}, {"measured", {2e-4, 8e-4, 6e-5}}};
  auto L = svg::layout_bars(c);
  EXPECT_EQ(values(L.y_ticks), (std::vector<double>{1e-5, 1e-4, 1e-3}));
  ASSERT_EQ(L.rects.size(), 6u);
  // Side by side, non-overlapping.
  EXPECT_NEAR(L.rects[0].x + L.rects[0].w, L.rects[1].x, 1e-9);
  // Log: a value ten times larger is one decade higher.
  double decade = (c.frame.plot_bottom() - c.frame.plot_top()) / 2;
  EXPECT_NEAR(L.rects[0].y - L.rects[2].y, decade, 1e-6);  // 1e-4 vs 1e-3
}

TEST(SvgLines, PointsOnScale) {
  svg::LineChart c;
  c.id = "tps";
  c.log_x = true;
  c.series = {{"H100", {1, 10, 100}, {50, 400, 2000}}, {"CPU", {1, 10, 100}, {5, 30, 90}}};
  auto L = svg::layout_lines(c);
  EXPECT_EQ(values(L.x_ticks), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(L.y_min, 0);
  EXPECT_GE(L.y_max, 2000);
  ASSERT_EQ(L.points.size(), 2u);
  EXPECT_NEAR(L.points[0][0].first, c.frame.plot_left(), 1e-9);
  EXPECT_NEAR(L.points[0][2].first, c.frame.plot_right(), 1e-9);
  EXPECT_NEAR(L.points[0][1].first, (c.frame.plot_left() + c.frame.plot_right()) / 2, 1e-9);
  std::string s = svg::render(c);
  EXPECT_EQ(count(s, "class=\"series\""), 2u);
  EXPECT_NE(s.find("stroke-dasharray=\"9 4\""), std::string::npos);  // second series dashed
}

TEST(SvgRoofline, RidgeAndPoints) {
  svg::RooflineChart c;
  c.id = "roof";
  c.roofs = {{"H100", 989e12, 3.35e12}};
  c.groups = {"decode", "prefill"};
  c.points = {{"decode lm_head", 1.0, 3.35e12, 0}, {"prefill mlp", 1000, 989e12, 1}};
  auto L = svg::layout_roofline(c);
  EXPECT_LE(L.x_min, 1.0);
  EXPECT_GE(L.x_max, 1000);
  EXPECT_GE(L.y_max, 989e12);
  ASSERT_EQ(L.roofs.size(), 1u);
  ASSERT_EQ(L.roofs[0].size(), 3u);  // slope, ridge, flat
  svg::Scale xs(L.x_min, L.x_max, c.frame.plot_left(), c.frame.plot_right(), true);
  svg::Scale ys(L.y_min, L.y_max, c.frame.plot_bottom(), c.frame.plot_top(), true);
  EXPECT_NEAR(L.roofs[0][1].first, xs(989e12 / 3.35e12), 1e-9);
  EXPECT_NEAR(L.roofs[0][1].second, ys(989e12), 1e-9);
  // The bandwidth slope is 45 degrees in decades: equal decades in x and y per pixel ratio.
  double dx_dec = (c.frame.plot_right() - c.frame.plot_left()) / std::log10(L.x_max / L.x_min);
  double dy_dec = (c.frame.plot_bottom() - c.frame.plot_top()) / std::log10(L.y_max / L.y_min);
  double slope = (L.roofs[0][0].second - L.roofs[0][1].second) / (L.roofs[0][1].first - L.roofs[0][0].first);
  EXPECT_NEAR(slope, dy_dec / dx_dec, 1e-6);
  // The decode point at intensity 1 sits on the bandwidth roof.
  EXPECT_NEAR(L.points[0].first, xs(1.0), 1e-9);
  EXPECT_NEAR(L.points[0].second, ys(3.35e12), 1e-9);
  std::string s = svg::render(c);
  EXPECT_EQ(count(s, "class=\"roof\""), 1u);
  EXPECT_NE(s.find("decode lm_head"), std::string::npos);
}

TEST(SvgText, Escaped) {
  svg::BarChart c;
  c.id = "e";
  c.title = "a < b & \"c\"";
  c.categories = {"<x>"};
  c.series = {{"s", {1}}};
  std::string s = svg::render(c);
  EXPECT_EQ(s.find("<x>"), std::string::npos);
  EXPECT_NE(s.find("a &lt; b &amp; &quot;c&quot;"), std::string::npos);
}

TEST(SvgLines, TicksAtData) {
  svg::LineChart c;
  c.id = "b";
  c.log_x = true;
  c.x_ticks_at_data = true;
  c.series = {{"a", {1, 4, 64, 256}, {1, 2, 3, 4}}};
  auto L = svg::layout_lines(c);
  EXPECT_EQ(values(L.x_ticks), (std::vector<double>{1, 4, 64, 256}));
  EXPECT_NEAR(L.points[0].back().first, c.frame.plot_right(), 1e-9);
}

TEST(SvgBars, LogAxisStartsBelowSmallestBar) {
  svg::BarChart c;
  c.id = "l";
  c.stacked = false;
  c.log_y = true;
  c.categories = {"a"};
  c.series = {{"p", {1e-5}}, {"m", {1e-3}}};
  auto L = svg::layout_bars(c);
  EXPECT_LT(L.y_min, 1e-5);
  EXPECT_GT(L.rects[0].h, 0);
}

TEST(SvgRoofline, LegendUnits) {
  svg::RooflineChart c;
  c.id = "r";
  c.roofs = {{"h100", 989e12, 3.35e12}};
  std::string s = svg::render(c);
  EXPECT_NE(s.find("h100 roof (989 TFLOP/s, 3.35 TB/s)"), std::string::npos);
}

TEST(SvgBars, FarCapacityIsClippedNotSquashingBars) {
  svg::BarChart c;
  c.id = "cap";
  c.categories = {"gpu", "cpu host"};
  c.series = {{"weights", {60, 60}}};
  c.capacity = {80, 1100};
  auto L = svg::layout_bars(c);
  EXPECT_LT(L.y_max, 200);  // the axis follows the bars and the 80 GB line, not 1100
  ASSERT_EQ(L.capacity.size(), 2u);
  EXPECT_FALSE(L.capacity[0].clipped);
  EXPECT_TRUE(L.capacity[1].clipped);
  EXPECT_DOUBLE_EQ(L.capacity[1].y, c.frame.plot_top());
  EXPECT_NE(svg::render(c).find("\u2191 1100"), std::string::npos);
}

TEST(SvgBars, RotatedLabelsGetRoom) {
  svg::BarChart c;
  c.id = "rot";
  for (int i = 0; i < 12; ++i) c.categories.push_back("a-rather-long-hardware-name-" + std::to_string(i));
  c.series = {{"s", std::vector<double>(12, 1.0)}};
  svg::Frame f = svg::bar_frame(c);
  EXPECT_GT(f.bottom, c.frame.bottom);
  EXPECT_DOUBLE_EQ(f.plot_bottom(), c.frame.plot_bottom());  // the plot keeps its height
  auto L = svg::layout_bars(c);
  EXPECT_NEAR(L.rects[0].y + L.rects[0].h, f.plot_bottom(), 1e-9);
}

TEST(SvgBars, IntegerAxisForCounts) {
  svg::BarChart c;
  c.id = "n";
  c.stacked = false;
  c.integer_y = true;
  c.categories = {"a", "b"};
  c.series = {{"devices", {2, 1}}};
  EXPECT_EQ(values(svg::layout_bars(c).y_ticks), (std::vector<double>{0, 1, 2}));
  c.series = {{"devices", {16, 8}}};  // nice steps are already whole
  EXPECT_EQ(values(svg::layout_bars(c).y_ticks), (std::vector<double>{0, 5, 10, 15, 20}));
}
