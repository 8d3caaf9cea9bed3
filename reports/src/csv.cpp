// CSV writers: long format, one row per number (table, row, column, unit, value, text), and
// wide format for a single table (one line per row).
#include <fmt/format.h>

#include "llmcost/report_doc.h"

namespace llmcost {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  return out + "\"";
}

void table_csv(const Table& t, std::string& out) {
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    // Row label: the text cells before the first number ("model / hardware"), else the row index.
    std::string label;
    for (const auto& cell : row) {
      if (cell.is_number()) break;
      label += (label.empty() ? "" : " / ") + cell.text;
    }
    if (label.empty()) label = std::to_string(r);
    for (size_t c = 0; c < row.size() && c < t.columns.size(); ++c) {
      const Cell& cell = row[c];
      if (!cell.is_number()) continue;
      std::string value = cell.int_value ? std::to_string(*cell.int_value) : fmt::format("{:.17g}", *cell.num_value);
      out += fmt::format("{},{},{},{},{},{}\n", csv_field(t.id), csv_field(label), csv_field(t.columns[c].key),
                         csv_field(t.columns[c].unit), value, csv_field(cell.text));
    }
  }
}

}  // namespace

std::string table_csv_wide(const Table& t) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) out += (c ? "," : "") + csv_field(t.columns[c].key);
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size() && c < t.columns.size(); ++c) out += (c ? "," : "") + csv_field(row[c].csv());
    out += "\n";
  }
  return out;
}

std::string report_csv(const ReportDoc& d) {
  std::string out = "table,row,column,unit,value,text\n";
  for (const auto& s : d.sections) {
    for (const auto& t : s.tables) table_csv(t, out);
    for (const auto& c : s.charts) table_csv(chart_table(c), out);
  }
  return out;
}

}  // namespace llmcost
