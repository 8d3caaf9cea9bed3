// A report as a document (sections of text, charts and tables) that the HTML, Markdown, JSON
// and CSV writers all render, so every number shown on the page is in every format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "llmcost/svg.h"

namespace llmcost {

// One table cell: the text shown to people and, for numbers, the raw value in the column's
// unit (exact integers stay integers in JSON/CSV).
struct Cell {
  std::string text;
  std::optional<int64_t> int_value;
  std::optional<double> num_value;
  // Machine text for the wide CSV when it differs from `text` ("true" for "yes", a raw
  // value at the column's precision for a rounded one); empty = `text`.
  std::optional<std::string> csv_text = std::nullopt;

  static Cell str(std::string s) { return Cell{std::move(s), std::nullopt, std::nullopt, std::nullopt}; }
  static Cell integer(int64_t v, std::string shown) { return Cell{std::move(shown), v, std::nullopt, std::nullopt}; }
  static Cell number(double v, std::string shown) { return Cell{std::move(shown), std::nullopt, v, std::nullopt}; }
  static Cell shown_raw(std::string shown, std::string raw) {
    return Cell{std::move(shown), std::nullopt, std::nullopt, std::move(raw)};
  }
  bool is_number() const { return int_value.has_value() || num_value.has_value(); }
  const std::string& csv() const { return csv_text ? *csv_text : text; }
};

enum class Align { Auto, Left, Right };

// Formats that leave a column out (bit set), e.g. a wide terminal table dropping detail columns.
enum HiddenIn : unsigned { kHiddenInText = 1u, kHiddenInMarkdown = 2u };

struct Column {
  std::string key;     // machine name in JSON/CSV: "weight_bytes"
  std::string header;  // shown to people, with the display unit: "weights (GB)"
  std::string unit;    // unit of the raw value in JSON/CSV: "bytes", "s", "tokens/s"; "" for text
  // Markdown alignment; Auto: right when the first row's cell is a number. The terminal table
  // has its own rule (text_left): Markdown left-aligns only the columns naming the row, the
  // terminal also left-aligns prose (bound, note).
  Align align = Align::Auto;
  bool text_left = false;
  unsigned hidden_in = 0;  // HiddenIn bits
  // Terminal table fitted to a width (TextTable): > 0 = may be left out, highest first.
  int drop_priority = 0;
};

struct Table {
  std::string id;  // unique in the document
  std::string caption;
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;
  std::vector<std::string> notes;  // footnotes shown under the table
};

using Chart = std::variant<svg::BarChart, svg::LineChart, svg::RooflineChart>;

struct Section {
  std::string id;
  std::string heading;
  std::vector<std::string> paragraphs;
  std::vector<Chart> charts;
  std::vector<Table> tables;
};

struct ReportDoc {
  std::string title;
  std::string subtitle;
  std::vector<std::string> assumptions;  // stated on the page: routing, quantization policy, efficiency
  std::vector<std::string> missing;      // what this report could not show, and why
  std::vector<Section> sections;
};

// The numbers a chart draws, as a table (id "<chart id>-data"): bar charts by category x
// series, line charts by series and x, rooflines as roofs and points.
Table chart_table(const Chart& c);

const std::string& chart_id(const Chart& c);
std::string render_chart(const Chart& c);

// Writers.
std::string report_html(const ReportDoc& d);
std::string report_markdown(const ReportDoc& d);
std::string report_json(const ReportDoc& d);
// Long format, one row per number: table,row,column,unit,value,text. `row` is the row's text
// cells before its first number, joined with " / " (e.g. "model / hardware").
std::string report_csv(const ReportDoc& d);

// One table alone, for commands whose whole output is a table between a header line and notes
// (plan, compare). Caption and notes are rendered as in the document writers.
std::string table_markdown(const Table& t);  // GitHub pipe table, as in report_markdown
std::string table_text(const Table& t);      // terminal: padded columns under a rule
// Wide CSV: a header of column keys, then one line per row of Cell::csv() values.
std::string table_csv_wide(const Table& t);

}  // namespace llmcost
