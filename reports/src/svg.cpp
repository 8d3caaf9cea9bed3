// SVG chart drawing: tick computation, layouts (pure geometry, unit-tested) and rendering.
#include "llmcost/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace llmcost::svg {

namespace {

// Okabe-Ito colour-blind-safe palette; patterns and markers carry the distinction in print.
const char* const kColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"};
constexpr size_t kNumStyles = 8;
const char* const kDashes[] = {"", "9 4", "3 3", "12 3 3 3", "6 6", "2 6", "14 4 2 4 2 4", "1 3"};
constexpr double kCharW = 7.0;  // approximate advance of a 13 px sans-serif glyph
constexpr double kCapacityRange = 2.5;  // capacity lines above this x the tallest bar are clipped

std::string num(double v) { return fmt::format("{:.2f}", v); }

// "989 T" / "3.35 T" / "12": a number with its SI prefix separated, to be followed by a unit.
std::string si(double v) {
  std::string t = format_tick(v);
  if (!t.empty() && std::isalpha(static_cast<unsigned char>(t.back()))) t.insert(t.size() - 1, " ");
  else if (t.size() > 2 && t.compare(t.size() - 2, 2, "µ") == 0) t.insert(t.size() - 2, " ");
  else t += " ";
  return t;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "start", int size = 13,
                 const std::string& extra = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\"{}>{}</text>\n", num(x), num(y), size,
                     anchor, extra, xml_escape(s));
}

// <pattern> for bar series i: a colour background and black strokes of a series-specific kind.
std::string pattern_def(const std::string& cid, size_t i) {
  const char* color = kColors[i % kNumStyles];
  std::string strokes;
  switch (i % kNumStyles) {
    case 0: break;  // solid
    case 1: strokes = "<path d=\"M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6\" stroke=\"#000\" stroke-width=\"1.3\"/>"; break;
    case 2: strokes = "<circle cx=\"4\" cy=\"4\" r=\"1.6\" fill=\"#000\"/>"; break;
    case 3: strokes = "<path d=\"M0,8 L8,0 M0,0 L8,8\" stroke=\"#000\" stroke-width=\"1\"/>"; break;
    case 4: strokes = "<path d=\"M0,4 L8,4\" stroke=\"#000\" stroke-width=\"1.3\"/>"; break;
    case 5: strokes = "<path d=\"M0,0 L8,8 M-2,6 L2,10 M6,-2 L10,2\" stroke=\"#000\" stroke-width=\"1.3\"/>"; break;
    case 6: strokes = "<path d=\"M4,0 L4,8\" stroke=\"#000\" stroke-width=\"1.3\"/>"; break;
    default: strokes = "<path d=\"M0,0 L8,0 M0,0 L0,8\" stroke=\"#000\" stroke-width=\"1\"/>"; break;
  }
  return fmt::format(
      "<pattern id=\"{}-p{}\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\">"
      "<rect width=\"8\" height=\"8\" fill=\"{}\"/>{}</pattern>\n",
      cid, i, color, strokes);
}

std::string fill_ref(const std::string& cid, size_t i) { return fmt::format("url(#{}-p{})", cid, i); }

// A filled marker of shape `kind` centred on (x, y), black outline.
std::string marker(size_t kind, double x, double y, const char* color, const std::string& tip = "") {
  std::string title = tip.empty() ? "" : "<title>" + xml_escape(tip) + "</title>";
  const double r = 5.5;
  std::string shape;
  switch (kind % kNumStyles) {
    case 0: shape = fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"", num(x), num(y), num(r)); break;
    case 1: shape = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", num(x - r), num(y - r), num(2 * r), num(2 * r)); break;
    case 2:
      shape = fmt::format("<path d=\"M{},{} L{},{} L{},{} Z\"", num(x), num(y - r - 1), num(x + r + 1), num(y + r),
                          num(x - r - 1), num(y + r));
      break;
    case 3:
      shape = fmt::format("<path d=\"M{},{} L{},{} L{},{} L{},{} Z\"", num(x), num(y - r - 1), num(x + r + 1), num(y),
                          num(x), num(y + r + 1), num(x - r - 1), num(y));
      break;
    case 4:
      shape = fmt::format("<path d=\"M{},{} L{},{} L{},{} Z\"", num(x), num(y + r + 1), num(x + r + 1), num(y - r),
                          num(x - r - 1), num(y - r));
      break;
    case 5:  // x cross: stroked only
      return fmt::format("<path d=\"M{},{} L{},{} M{},{} L{},{}\" stroke=\"{}\" stroke-width=\"3\">{}</path>\n", num(x - r),
                         num(y - r), num(x + r), num(y + r), num(x - r), num(y + r), num(x + r), num(y - r), color, title);
    case 6:  // plus
      return fmt::format("<path d=\"M{},{} L{},{} M{},{} L{},{}\" stroke=\"{}\" stroke-width=\"3\">{}</path>\n", num(x - r),
                         num(y), num(x + r), num(y), num(x), num(y - r), num(x), num(y + r), color, title);
    default: shape = fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill-opacity=\"0.25\"", num(x), num(y), num(r)); break;
  }
  if (kind % kNumStyles == 7)
    return shape + fmt::format(" fill=\"{}\" stroke=\"#000\" stroke-width=\"1.5\">{}</circle>\n", color, title);
  std::string close = shape.rfind("<circle", 0) == 0 ? "</circle>" : shape.rfind("<rect", 0) == 0 ? "</rect>" : "</path>";
  return shape + fmt::format(" fill=\"{}\" stroke=\"#000\" stroke-width=\"1\">{}{}\n", color, title, close);
}

struct LegendItem {
  enum Kind { Swatch, Line, Marker, Dashed, RoofLine } kind = Swatch;
  size_t style = 0;
  std::string label;
};

// Legend rows under the title; wraps at the plot's right edge.
std::string legend(const std::string& cid, const Frame& f, const std::vector<LegendItem>& items) {
  std::string out = "<g class=\"legend\">\n";
  double x = f.plot_left(), y = 50;
  for (const auto& it : items) {
    double w = 30 + it.label.size() * kCharW + 18;
    if (x + w > f.plot_right() && x > f.plot_left()) {
      x = f.plot_left();
      y += 18;
    }
    switch (it.kind) {
      case LegendItem::Swatch:
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"22\" height=\"13\" fill=\"{}\" stroke=\"#222\"/>\n", num(x),
                           num(y - 10), fill_ref(cid, it.style));
        break;
      case LegendItem::Line:
        out += fmt::format("<path d=\"M{},{} L{},{}\" stroke=\"{}\" stroke-width=\"2.5\" stroke-dasharray=\"{}\"/>\n", num(x),
                           num(y - 4), num(x + 22), num(y - 4), kColors[it.style % kNumStyles], kDashes[it.style % kNumStyles]);
        out += marker(it.style, x + 11, y - 4, kColors[it.style % kNumStyles]);
        break;
      case LegendItem::RoofLine:
        out += fmt::format("<path d=\"M{},{} L{},{}\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"{}\"/>\n",
                           num(x), num(y - 4), num(x + 22), num(y - 4), it.style == 0 ? "" : kDashes[it.style % kNumStyles]);
        break;
      case LegendItem::Marker: out += marker(it.style, x + 11, y - 4, kColors[it.style % kNumStyles]); break;
      case LegendItem::Dashed:
        out += fmt::format("<path d=\"M{},{} L{},{}\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"7 4\"/>\n",
                           num(x), num(y - 4), num(x + 22), num(y - 4));
        break;
    }
    out += text(x + 28, y + 1, it.label);
    x += w;
  }
  return out + "</g>\n";
}

std::string open_svg(const std::string& cid, const std::string& kind, const Frame& f, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-{}\" id=\"{}\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\">\n"
      "<title>{}</title>\n<rect width=\"{}\" height=\"{}\" fill=\"#fff\"/>\n{}",
      kind, xml_escape(cid), num(f.width), num(f.height), num(f.width), num(f.height), xml_escape(title), num(f.width),
      num(f.height), text(f.plot_left(), 26, title, "start", 17, " font-weight=\"bold\""));
}

// Gridlines, tick labels and the axis label of the y axis.
std::string y_axis(const Frame& f, const Scale& s, const std::vector<Tick>& ticks, const std::string& label) {
  std::string out;
  for (const auto& t : ticks) {
    double y = s(t.value);
    out += fmt::format("<path d=\"M{},{} L{},{}\" stroke=\"#ccc\" stroke-width=\"1\"/>\n", num(f.plot_left()), num(y),
                       num(f.plot_right()), num(y));
    out += text(f.plot_left() - 8, y + 4, t.label, "end");
  }
  double cy = (f.plot_top() + f.plot_bottom()) / 2;
  out += text(22, cy, label, "middle", 14, fmt::format(" transform=\"rotate(-90 22 {})\"", num(cy)));
  return out;
}

std::string x_axis_ticks(const Frame& f, const Scale& s, const std::vector<Tick>& ticks, const std::string& label) {
  std::string out;
  for (const auto& t : ticks) {
    double x = s(t.value);
    out += fmt::format("<path d=\"M{},{} L{},{}\" stroke=\"#ddd\" stroke-width=\"1\"/>\n", num(x), num(f.plot_top()), num(x),
                       num(f.plot_bottom()));
    out += text(x, f.plot_bottom() + 20, t.label, "middle");
  }
  out += text((f.plot_left() + f.plot_right()) / 2, f.height - 16, label, "middle", 14);
  return out;
}

std::string frame_box(const Frame& f) {
  return fmt::format("<path d=\"M{},{} L{},{} L{},{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.3\"/>\n",
                     num(f.plot_left()), num(f.plot_top()), num(f.plot_left()), num(f.plot_bottom()), num(f.plot_right()),
                     num(f.plot_bottom()));
}

// Clip path so lines never leave the plot area.
std::string clip_def(const std::string& cid, const Frame& f) {
  return fmt::format("<clipPath id=\"{}-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", cid,
                     num(f.plot_left()), num(f.plot_top()), num(f.plot_right() - f.plot_left()),
                     num(f.plot_bottom() - f.plot_top()));
}

std::pair<double, double> extend_log(double lo, double hi) {
  if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
  if (!(hi > 0)) hi = lo * 10;
  if (hi <= lo) hi = lo * 10;
  return {lo, hi};
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_tick(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  static const struct {
    double f;
    const char* p;
  } kPrefixes[] = {{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  if (a >= 1e4) {
    for (const auto& p : kPrefixes)
      if (a >= p.f) return fmt::format("{:.4g}{}", v / p.f, p.p);
  }
  if (a < 1e-2) {
    if (a >= 1e-3) return fmt::format("{:.4g}m", v * 1e3);
    if (a >= 1e-6) return fmt::format("{:.4g}µ", v * 1e6);
    return fmt::format("{:.4g}n", v * 1e9);
  }
  return fmt::format("{:.6g}", v);
}

std::vector<Tick> linear_ticks(double lo, double hi, int max_ticks) {
  if (max_ticks < 1) max_ticks = 1;
  if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : std::fabs(lo));
  double raw = (hi - lo) / max_ticks;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  long long first = static_cast<long long>(std::floor(lo / step + 1e-9));
  long long last = static_cast<long long>(std::ceil(hi / step - 1e-9));
  std::vector<Tick> out;
  for (long long i = first; i <= last; ++i) {
    double v = static_cast<double>(i) * step;
    if (std::fabs(v) < step * 1e-9) v = 0;
    out.push_back({v, format_tick(v)});
  }
  return out;
}

std::vector<Tick> log_ticks(double lo, double hi) {
  std::tie(lo, hi) = extend_log(lo, hi);
  int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (e1 <= e0) e1 = e0 + 1;
  std::vector<Tick> out;
  for (int e = e0; e <= e1; ++e) {
    double v = std::pow(10.0, e);
    out.push_back({v, format_tick(v)});
  }
  return out;
}

Scale::Scale(double d0, double d1, double r0, double r1, bool log) : d0_(d0), d1_(d1), r0_(r0), r1_(r1), log_(log) {}

double Scale::operator()(double v) const {
  double a = d0_, b = d1_;
  if (log_) {
    a = std::log10(a);
    b = std::log10(b);
    v = v > 0 ? std::log10(v) : a;
  }
  if (b == a) return r0_;
  return r0_ + (v - a) / (b - a) * (r1_ - r0_);
}

// ---- bars ---------------------------------------------------------------------------------

namespace {
// Category labels are drawn rotated when the longest does not fit its slot.
bool rotate_labels(const BarChart& c) {
  if (c.categories.empty()) return false;
  double group_w = (c.frame.plot_right() - c.frame.plot_left()) / static_cast<double>(c.categories.size());
  size_t longest = 0;
  for (const auto& s : c.categories) longest = std::max(longest, s.size());
  return longest * kCharW > group_w * 0.95;
}
}  // namespace

Frame bar_frame(const BarChart& c) {
  Frame f = c.frame;
  if (rotate_labels(c)) {
    size_t longest = 0;
    for (const auto& s : c.categories) longest = std::max(longest, s.size());
    double need = 24 + longest * kCharW * std::sin(20.0 * 3.14159265358979 / 180.0) + 44;
    if (need > f.bottom) {
      f.height += need - f.bottom;
      f.bottom = need;
    }
  }
  return f;
}

BarLayout layout_bars(const BarChart& c) {
  const Frame f = bar_frame(c);
  BarLayout L;
  size_t nc = c.categories.size(), ns = c.series.size();
  double top = 0, min_pos = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < nc; ++k) {
    double sum = 0;
    for (const auto& s : c.series) {
      double v = k < s.values.size() ? s.values[k] : 0;
      sum += v;
      top = std::max(top, v);
      if (v > 0) min_pos = std::min(min_pos, v);
    }
    if (c.stacked) top = std::max(top, sum);
  }
  // Capacities extend the axis unless they would squash the bars (a 1 TB CPU host beside
  // 80 GB GPUs): beyond kCapacityRange x the tallest bar they are drawn clipped at the top.
  const double bars_top = top;
  for (size_t k = 0; k < nc && k < c.capacity.size(); ++k)
    if (c.capacity[k] > 0 && (bars_top <= 0 || c.capacity[k] <= kCapacityRange * bars_top)) top = std::max(top, c.capacity[k]);
  bool log_y = c.log_y && !c.stacked;
  if (log_y) {
    // The axis starts below the smallest bar so that every bar has a visible height.
    L.y_ticks = log_ticks(std::isfinite(min_pos) ? min_pos * 0.9 : 1, top);
  } else {
    L.y_ticks = linear_ticks(0, top > 0 ? top : 1, 6);
    if (c.integer_y && L.y_ticks.size() > 1 && L.y_ticks[1].value - L.y_ticks[0].value < 1) {
      L.y_ticks.clear();
      for (double v = 0; v < top + 1 - 1e-9 || L.y_ticks.size() < 2; v += 1) L.y_ticks.push_back({v, format_tick(v)});
    }
  }
  L.y_min = L.y_ticks.front().value;
  L.y_max = L.y_ticks.back().value;
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), log_y);
  double group_w = nc ? (f.plot_right() - f.plot_left()) / static_cast<double>(nc) : 0;
  for (size_t k = 0; k < nc; ++k) {
    double cx = f.plot_left() + group_w * (k + 0.5);
    L.category_center_x.push_back(cx);
    double bar_w = c.stacked ? std::min(group_w * 0.55, 140.0) : std::min(group_w * 0.8 / std::max<size_t>(ns, 1), 70.0);
    double span = c.stacked ? bar_w : bar_w * ns;
    double x0 = cx - span / 2;
    double cum = 0;
    for (size_t i = 0; i < ns; ++i) {
      double v = k < c.series[i].values.size() ? c.series[i].values[k] : 0;
      BarRect r;
      r.series = i;
      r.category = k;
      r.value = v;
      if (c.stacked) {
        r.x = x0;
        r.w = bar_w;
        r.y = ys(cum + v);
        r.h = ys(cum) - r.y;
        cum += v;
      } else {
        r.x = x0 + bar_w * i;
        r.w = bar_w;
        double base = log_y ? L.y_min : 0;
        r.y = v > 0 ? ys(v) : ys(base);
        r.h = ys(base) - r.y;
      }
      L.rects.push_back(r);
    }
    if (k < c.capacity.size() && c.capacity[k] > 0) {
      double pad = std::min(group_w * 0.08, 16.0);
      bool clipped = c.capacity[k] > L.y_max;
      L.capacity.push_back({k, c.capacity[k], x0 - pad, x0 + span + pad, clipped ? f.plot_top() : ys(c.capacity[k]), clipped});
    }
  }
  return L;
}

std::string render(const BarChart& c) {
  const Frame f = bar_frame(c);
  BarLayout L = layout_bars(c);
  std::string out = open_svg(c.id, c.stacked ? "stacked-bars" : "grouped-bars", f, c.title);
  out += "<defs>\n";
  for (size_t i = 0; i < c.series.size(); ++i) out += pattern_def(c.id, i);
  out += "</defs>\n";
  std::vector<LegendItem> items;
  for (size_t i = 0; i < c.series.size(); ++i) items.push_back({LegendItem::Swatch, i, c.series[i].name});
  if (!L.capacity.empty()) items.push_back({LegendItem::Dashed, 0, c.capacity_label});
  out += legend(c.id, f, items);
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), c.log_y && !c.stacked);
  out += y_axis(f, ys, L.y_ticks, c.y_label);
  for (const auto& r : L.rects) {
    if (r.h <= 0) continue;
    out += fmt::format(
        "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#222\" stroke-width=\"0.8\">"
        "<title>{}</title></rect>\n",
        num(r.x), num(r.y), num(r.w), num(r.h), fill_ref(c.id, r.series),
        xml_escape(fmt::format("{} / {}: {}", c.categories[r.category], c.series[r.series].name, format_tick(r.value))));
  }
  for (const auto& cl : L.capacity) {
    out += fmt::format(
        "<path class=\"capacity\" d=\"M{},{} L{},{}\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"7 4\">"
        "<title>{}</title></path>\n",
        num(cl.x0), num(cl.y), num(cl.x1), num(cl.y),
        xml_escape(fmt::format("{} {}: {}", c.categories[cl.category], c.capacity_label, format_tick(cl.value))));
    if (cl.clipped)  // off the scale: say so and give the value
      out += text((cl.x0 + cl.x1) / 2, cl.y - 5, "\u2191 " + format_tick(cl.value), "middle", 12);
  }
  out += frame_box(f);
  bool rotate = rotate_labels(c);
  for (size_t k = 0; k < c.categories.size(); ++k) {
    double x = L.category_center_x[k], y = f.plot_bottom() + 20;
    if (rotate)
      out += text(x, y, c.categories[k], "end", 12, fmt::format(" transform=\"rotate(-20 {} {})\"", num(x), num(y)));
    else
      out += text(x, y, c.categories[k], "middle");
  }
  out += text((f.plot_left() + f.plot_right()) / 2, f.height - 12, c.x_label, "middle", 14);
  return out + "</svg>\n";
}

// ---- lines --------------------------------------------------------------------------------

LineLayout layout_lines(const LineChart& c) {
  const Frame& f = c.frame;
  LineLayout L;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : c.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if ((c.log_x && !(s.x[i] > 0)) || (c.log_y && !(s.y[i] > 0))) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  if (!std::isfinite(x0)) x0 = c.log_x ? 1 : 0, x1 = c.log_x ? 10 : 1, y0 = c.log_y ? 1 : 0, y1 = c.log_y ? 10 : 1;
  if (c.x_ticks_at_data) {
    std::vector<double> xs_all;
    for (const auto& s : c.series)
      for (double x : s.x)
        if (!c.log_x || x > 0) xs_all.push_back(x);
    std::sort(xs_all.begin(), xs_all.end());
    xs_all.erase(std::unique(xs_all.begin(), xs_all.end()), xs_all.end());
    for (double x : xs_all) L.x_ticks.push_back({x, format_tick(x)});
    if (L.x_ticks.size() < 2) L.x_ticks = c.log_x ? log_ticks(x0, x1) : linear_ticks(x0, x1, 8);
  } else {
    L.x_ticks = c.log_x ? log_ticks(x0, x1) : linear_ticks(std::min(x0, 0.0), x1, 8);
  }
  L.y_ticks = c.log_y ? log_ticks(y0, y1) : linear_ticks(std::min(y0, 0.0), y1, 6);
  L.x_min = L.x_ticks.front().value;
  L.x_max = L.x_ticks.back().value;
  L.y_min = L.y_ticks.front().value;
  L.y_max = L.y_ticks.back().value;
  Scale xs(L.x_min, L.x_max, f.plot_left(), f.plot_right(), c.log_x);
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), c.log_y);
  for (const auto& s : c.series) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if ((c.log_x && !(s.x[i] > 0)) || (c.log_y && !(s.y[i] > 0))) continue;
      pts.emplace_back(xs(s.x[i]), ys(s.y[i]));
    }
    L.points.push_back(std::move(pts));
  }
  return L;
}

std::string render(const LineChart& c) {
  const Frame& f = c.frame;
  LineLayout L = layout_lines(c);
  std::string out = open_svg(c.id, "lines", f, c.title);
  out += "<defs>\n" + clip_def(c.id, f) + "</defs>\n";
  std::vector<LegendItem> items;
  for (size_t i = 0; i < c.series.size(); ++i) items.push_back({LegendItem::Line, i, c.series[i].name});
  out += legend(c.id, f, items);
  Scale xs(L.x_min, L.x_max, f.plot_left(), f.plot_right(), c.log_x);
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), c.log_y);
  out += y_axis(f, ys, L.y_ticks, c.y_label);
  out += x_axis_ticks(f, xs, L.x_ticks, c.x_label);
  out += frame_box(f);
  for (size_t i = 0; i < c.series.size(); ++i) {
    const auto& pts = L.points[i];
    if (pts.empty()) continue;
    std::string d;
    for (size_t j = 0; j < pts.size(); ++j) d += fmt::format("{}{},{} ", j ? "L" : "M", num(pts[j].first), num(pts[j].second));
    if (!c.series[i].markers_only)
      out += fmt::format(
        "<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" stroke-dasharray=\"{}\" "
        "clip-path=\"url(#{}-clip)\"/>\n",
        d, kColors[i % kNumStyles], kDashes[i % kNumStyles], c.id);
    const auto& s = c.series[i];
    size_t j = 0;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if ((c.log_x && !(s.x[k] > 0)) || (c.log_y && !(s.y[k] > 0))) continue;
      out += marker(i, pts[j].first, pts[j].second, kColors[i % kNumStyles],
                    fmt::format("{}: x={}, y={}", s.name, format_tick(s.x[k]), format_tick(s.y[k])));
      ++j;
    }
  }
  return out + "</svg>\n";
}

// ---- roofline -----------------------------------------------------------------------------

RooflineLayout layout_roofline(const RooflineChart& c) {
  const Frame& f = c.frame;
  RooflineLayout L;
  double x0 = std::numeric_limits<double>::infinity(), x1 = 0, y0 = std::numeric_limits<double>::infinity(), y1 = 0;
  for (const auto& r : c.roofs) {
    if (!(r.peak_flops_per_s > 0) || !(r.mem_bw_bytes_per_s > 0)) continue;
    double ridge = r.peak_flops_per_s / r.mem_bw_bytes_per_s;
    x0 = std::min(x0, ridge / 10);
    x1 = std::max(x1, ridge * 10);
    y1 = std::max(y1, r.peak_flops_per_s);
  }
  for (const auto& p : c.points) {
    if (!(p.intensity_flops_per_byte > 0) || !(p.flops_per_s > 0)) continue;
    x0 = std::min(x0, p.intensity_flops_per_byte);
    x1 = std::max(x1, p.intensity_flops_per_byte);
    y0 = std::min(y0, p.flops_per_s);
    y1 = std::max(y1, p.flops_per_s);
  }
  if (!std::isfinite(x0)) x0 = 0.1, x1 = 1000;
  L.x_ticks = log_ticks(x0, x1);
  L.x_min = L.x_ticks.front().value;
  L.x_max = L.x_ticks.back().value;
  for (const auto& r : c.roofs)  // the roof's left end must be on the chart
    if (r.mem_bw_bytes_per_s > 0 && r.peak_flops_per_s > 0)
      y0 = std::min(y0, std::min(r.peak_flops_per_s, r.mem_bw_bytes_per_s * L.x_min));
  if (!std::isfinite(y0)) y0 = 1e9, y1 = 1e15;
  L.y_ticks = log_ticks(y0, y1);
  L.y_min = L.y_ticks.front().value;
  L.y_max = L.y_ticks.back().value;
  Scale xs(L.x_min, L.x_max, f.plot_left(), f.plot_right(), true);
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), true);
  for (const auto& r : c.roofs) {
    std::vector<std::pair<double, double>> poly;
    if (r.mem_bw_bytes_per_s > 0 && r.peak_flops_per_s > 0) {
      double ridge = r.peak_flops_per_s / r.mem_bw_bytes_per_s;
      if (ridge > L.x_min) {
        poly.emplace_back(xs(L.x_min), ys(r.mem_bw_bytes_per_s * L.x_min));
        poly.emplace_back(xs(std::min(ridge, L.x_max)), ys(std::min(r.peak_flops_per_s, r.mem_bw_bytes_per_s * L.x_max)));
      } else {
        poly.emplace_back(xs(L.x_min), ys(r.peak_flops_per_s));
      }
      if (ridge < L.x_max) poly.emplace_back(xs(L.x_max), ys(r.peak_flops_per_s));
    }
    L.roofs.push_back(std::move(poly));
  }
  for (const auto& p : c.points) L.points.emplace_back(xs(p.intensity_flops_per_byte), ys(p.flops_per_s));
  return L;
}

std::string render(const RooflineChart& c) {
  const Frame& f = c.frame;
  RooflineLayout L = layout_roofline(c);
  std::string out = open_svg(c.id, "roofline", f, c.title);
  out += "<defs>\n" + clip_def(c.id, f) + "</defs>\n";
  std::vector<LegendItem> items;
  for (size_t i = 0; i < c.roofs.size(); ++i) {
    const auto& r = c.roofs[i];
    items.push_back({LegendItem::RoofLine, i,
                     fmt::format("{} roof ({}FLOP/s, {}B/s)", r.name, si(r.peak_flops_per_s),
                                 si(r.mem_bw_bytes_per_s))});
  }
  for (size_t g = 0; g < c.groups.size(); ++g) items.push_back({LegendItem::Marker, g, c.groups[g]});
  out += legend(c.id, f, items);
  Scale xs(L.x_min, L.x_max, f.plot_left(), f.plot_right(), true);
  Scale ys(L.y_min, L.y_max, f.plot_bottom(), f.plot_top(), true);
  out += y_axis(f, ys, L.y_ticks, c.y_label);
  out += x_axis_ticks(f, xs, L.x_ticks, c.x_label);
  out += frame_box(f);
  for (size_t i = 0; i < L.roofs.size(); ++i) {
    const auto& poly = L.roofs[i];
    if (poly.empty()) continue;
    std::string d;
    for (size_t j = 0; j < poly.size(); ++j) d += fmt::format("{}{},{} ", j ? "L" : "M", num(poly[j].first), num(poly[j].second));
    out += fmt::format(
        "<path class=\"roof\" d=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"{}\" "
        "clip-path=\"url(#{}-clip)\"><title>{}</title></path>\n",
        d, i == 0 ? "" : kDashes[i % kNumStyles], c.id, xml_escape(c.roofs[i].name));
    out += text(poly.back().first - 4, poly.back().second - 7, c.roofs[i].name, "end", 12);
  }
  for (size_t i = 0; i < c.points.size(); ++i) {
    const auto& p = c.points[i];
    if (!(p.intensity_flops_per_byte > 0) || !(p.flops_per_s > 0)) continue;
    out += marker(p.group, L.points[i].first, L.points[i].second, kColors[p.group % kNumStyles],
                  fmt::format("{}: {} FLOP/byte, {}FLOP/s", p.label, format_tick(p.intensity_flops_per_byte),
                              si(p.flops_per_s)));
  }
  return out + "</svg>\n";
}

}  // namespace llmcost::svg
