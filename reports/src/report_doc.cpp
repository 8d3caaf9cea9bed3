// Charts as tables (so JSON, CSV and Markdown carry the numbers the HTML draws), chart dispatch,
// and the terminal rendering of a table.
#include "llmcost/report_doc.h"

#include <fmt/format.h>

#include <algorithm>

#include "llmcost/format.h"

namespace llmcost {

namespace {
Cell num_cell(double v) { return Cell::number(v, svg::format_tick(v)); }
}  // namespace

std::string table_text(const Table& t) {
  std::vector<size_t> shown;
  std::vector<TextColumn> cols;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    if (c.hidden_in & kHiddenInText) continue;
    shown.push_back(i);
    cols.push_back({c.header, c.text_left, c.text_left ? CellKind::Text : CellKind::Number, c.drop_priority});
  }
  TextTable text(cols);
  for (const auto& r : t.rows) {
    std::vector<std::string> cells;
    for (size_t i : shown) cells.push_back(i < r.size() ? r[i].text : std::string());
    text.add_row(std::move(cells));
  }
  std::string out = t.caption.empty() ? "" : t.caption + "\n";
  out += text.render();
  for (const auto& n : t.notes) out += n + "\n";
  return out;
}

const std::string& chart_id(const Chart& c) {
  return std::visit([](const auto& x) -> const std::string& { return x.id; }, c);
}

std::string render_chart(const Chart& c) {
  return std::visit([](const auto& x) { return svg::render(x); }, c);
}

Table chart_table(const Chart& c) {
  Table t;
  t.id = chart_id(c) + "-data";
  if (const auto* b = std::get_if<svg::BarChart>(&c)) {
    t.caption = b->title + " (chart data)";
    t.columns.push_back({"category", b->x_label.empty() ? "category" : b->x_label, ""});
    for (const auto& s : b->series) t.columns.push_back({s.name, s.name, b->y_label});
    bool cap = std::any_of(b->capacity.begin(), b->capacity.end(), [](double v) { return v > 0; });
    if (cap) t.columns.push_back({b->capacity_label, b->capacity_label, b->y_label});
    for (size_t k = 0; k < b->categories.size(); ++k) {
      std::vector<Cell> row{Cell::str(b->categories[k])};
      for (const auto& s : b->series) row.push_back(k < s.values.size() ? num_cell(s.values[k]) : Cell::str(""));
      if (cap) row.push_back(k < b->capacity.size() && b->capacity[k] > 0 ? num_cell(b->capacity[k]) : Cell::str(""));
      t.rows.push_back(std::move(row));
    }
  } else if (const auto* l = std::get_if<svg::LineChart>(&c)) {
    t.caption = l->title + " (chart data)";
    t.columns = {{"series", "series", ""}, {"x", l->x_label, l->x_label}, {"y", l->y_label, l->y_label}};
    for (const auto& s : l->series)
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        t.rows.push_back({Cell::str(s.name), num_cell(s.x[i]), num_cell(s.y[i])});
  } else if (const auto* r = std::get_if<svg::RooflineChart>(&c)) {
    t.caption = r->title + " (chart data)";
    t.columns = {{"kind", "kind", ""},
                 {"name", "name", ""},
                 {"intensity_flops_per_byte", "arithmetic intensity (FLOP/byte)", "FLOP/byte"},
                 {"flops_per_s", "FLOP/s", "FLOP/s"},
                 {"mem_bw_bytes_per_s", "memory bandwidth (B/s)", "bytes/s"}};
    for (const auto& roof : r->roofs)
      t.rows.push_back({Cell::str("roof"), Cell::str(roof.name), Cell::str(""), num_cell(roof.peak_flops_per_s),
                        num_cell(roof.mem_bw_bytes_per_s)});
    for (const auto& p : r->points)
      t.rows.push_back({Cell::str(p.group < r->groups.size() ? r->groups[p.group] : "point"), Cell::str(p.label),
                        num_cell(p.intensity_flops_per_byte), num_cell(p.flops_per_s), Cell::str("")});
  }
  return t;
}

}  // namespace llmcost
