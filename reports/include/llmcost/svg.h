// SVG charts drawn by llmcost (no JavaScript, no external fonts): scales and ticks, bar /
// stacked-bar charts with capacity lines, line charts, log-log roofline charts. Every series
// gets a colour AND a pattern or marker, so a chart still reads printed in black and white.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace llmcost::svg {

// ---- scales and ticks ---------------------------------------------------------------------

struct Tick {
  double value = 0;
  std::string label;
};

// "Nice" 1-2-5 ticks covering [lo, hi] with at most about max_ticks intervals; the first
// tick is <= lo and the last >= hi (so an axis drawn from first to last holds every value).
std::vector<Tick> linear_ticks(double lo, double hi, int max_ticks = 6);
// Powers of ten from floor(log10(lo)) to ceil(log10(hi)); lo, hi > 0.
std::vector<Tick> log_ticks(double lo, double hi);
// Tick label: SI-prefixed when large or small ("1.5k", "20M", "1T", "500m"), plain otherwise.
std::string format_tick(double v);

// Maps a data interval onto a pixel interval, linearly or in log10.
class Scale {
 public:
  Scale(double d0, double d1, double r0, double r1, bool log = false);
  double operator()(double v) const;
  double d0() const { return d0_; }
  double d1() const { return d1_; }
  bool log() const { return log_; }

 private:
  double d0_, d1_, r0_, r1_;
  bool log_;
};

// Plot area inside the SVG's viewBox.
struct Frame {
  double width = 1160, height = 440;
  double left = 96, right = 24, top = 78, bottom = 72;
  double plot_left() const { return left; }
  double plot_right() const { return width - right; }
  double plot_top() const { return top; }
  double plot_bottom() const { return height - bottom; }
};

// ---- bar charts ---------------------------------------------------------------------------

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category, in the axis unit; must be >= 0 (> 0 when log_y)
};

struct BarChart {
  std::string id;       // unique within a page (SVG ids are page-global)
  std::string title;
  std::string x_label;  // e.g. "device"
  std::string y_label;  // with its unit, e.g. "memory per device (GB, 1e9 bytes)"
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  bool stacked = true;  // false: grouped side by side (e.g. predicted vs measured)
  bool log_y = false;   // grouped bars only
  bool integer_y = false;  // counts (devices): ticks at whole numbers only
  // Per-category horizontal line (e.g. device memory capacity); empty or <= 0: none.
  std::vector<double> capacity;
  std::string capacity_label = "capacity";
  Frame frame;
};

struct BarRect {
  size_t series = 0, category = 0;
  double value = 0;
  double x = 0, y = 0, w = 0, h = 0;  // pixels, y down
};

struct CapacityLine {
  size_t category = 0;
  double value = 0;
  double x0 = 0, x1 = 0, y = 0;
  bool clipped = false;  // beyond 2.5x the tallest bar: drawn at the top with its value
};

struct BarLayout {
  std::vector<Tick> y_ticks;
  double y_min = 0, y_max = 0;  // axis domain
  std::vector<BarRect> rects;
  std::vector<CapacityLine> capacity;
  std::vector<double> category_center_x;
};

// The chart's frame, with the bottom margin grown for rotated category labels.
Frame bar_frame(const BarChart& c);
BarLayout layout_bars(const BarChart& c);
std::string render(const BarChart& c);

// ---- line charts --------------------------------------------------------------------------

struct LineSeries {
  std::string name;
  std::vector<double> x, y;  // same length; > 0 on a log axis
  bool markers_only = false;  // a scatter: markers, no line between the points
};

struct LineChart {
  std::string id, title, x_label, y_label;
  std::vector<LineSeries> series;
  bool log_x = false, log_y = false;
  bool x_ticks_at_data = false;  // one tick per distinct x (e.g. batch sizes 1, 2, 4 ... 256)
  Frame frame;
};

struct LineLayout {
  std::vector<Tick> x_ticks, y_ticks;
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  std::vector<std::vector<std::pair<double, double>>> points;  // pixels per series
};

LineLayout layout_lines(const LineChart& c);
std::string render(const LineChart& c);

// ---- roofline -----------------------------------------------------------------------------

// One hardware roof: attainable = min(peak_flops_per_s, mem_bw_bytes_per_s * intensity).
struct Roof {
  std::string name;
  double peak_flops_per_s = 0;
  double mem_bw_bytes_per_s = 0;
};

struct RooflinePoint {
  std::string label;                   // op name, shown in a tooltip (<title>)
  double intensity_flops_per_byte = 0; // x
  double flops_per_s = 0;              // y: where the op sits (its predicted attained rate)
  size_t group = 0;                    // index into RooflineChart::groups (marker shape)
};

struct RooflineChart {
  std::string id, title;
  std::string x_label = "arithmetic intensity (FLOP/byte)";
  std::string y_label = "attainable FLOP/s";
  std::vector<Roof> roofs;
  std::vector<std::string> groups;  // e.g. {"decode ops", "prefill ops"}
  std::vector<RooflinePoint> points;
  Frame frame;
};

struct RooflineLayout {
  std::vector<Tick> x_ticks, y_ticks;
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  // Per roof: polyline (bandwidth slope then flat peak), pixels.
  std::vector<std::vector<std::pair<double, double>>> roofs;
  std::vector<std::pair<double, double>> points;  // pixels, same order as chart.points
};

RooflineLayout layout_roofline(const RooflineChart& c);
std::string render(const RooflineChart& c);

// XML text escaping for attribute values and text nodes.
std::string xml_escape(const std::string& s);

}  // namespace llmcost::svg
