// Formatting helpers shared by the writers: units, plain-text tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llmcost/parallel.h"

namespace llmcost {

// A parallel layout in words: "1 device", "tp=4", "tp=2, pp=2".
std::string format_layout(const ParallelConfig& c);

// 7241732096 -> "7.242 B" (B = 1e9 parameters); small counts in M or K.
std::string format_count(int64_t n);
// 7241732096 -> "7,241,732,096"
std::string format_thousands(int64_t n);
// Bytes in decimal GB (1e9) with 2 decimals: "14.48 GB".
std::string format_gb(double bytes);
// Bytes in GiB (2^30): "13.49 GiB".
std::string format_gib(double bytes);

// The width plain-text tables are fitted to, in columns; 0 = no limit (the default, and what a
// pipe or file gets). The CLI sets it once (--width / LLMCOST_WIDTH, else the terminal's width
// when stdout is a terminal: cli/app.cpp); TextTable::render() reads it.
size_t text_width();
void set_text_width(size_t columns);
// The width for stdout: `forced` (>= 0: --width N; 0 = no limit) wins, then $LLMCOST_WIDTH; when
// stdout is a terminal, $COLUMNS, else the terminal's size (TIOCGWINSZ); else 0.
size_t terminal_text_width(long forced = -1);

// What a column holds, for fitting a table to a width: numbers are never cut; a path is first
// shortened to its last component(s); free text may be abbreviated with "...".
enum class CellKind { Number, Text, Path };

struct TextColumn {
  std::string header;  // never cut (it names the unit)
  bool left = false;   // left-aligned (default right)
  CellKind kind = CellKind::Number;
  // 0: always shown; > 0: may be left out to fit a width, highest first (ties: rightmost first).
  int drop_priority = 0;
};

struct TextStyle {
  bool rule = true;            // a line of '-' under the header
  bool trim_trailing = false;  // strip spaces at the end of each line
};

// A plain-text table: header row, rule, rows; columns right-aligned unless marked left. The one
// renderer of every terminal table (TextTable, report_doc's table_text, check_report's tables).
// Fitting to a width (render(width), width > 0), in this order until it fits: paths shortened to
// their last component(s) (a footnote names the common directory; equal names get [k] marks and a
// footnote each), free-text cells abbreviated with "...", optional columns left out (a footer
// names them), and last the columns wrapped into blocks that repeat the first column.
// Within the width nothing changes: the output is the unfitted table, byte for byte.
class TextTable {
 public:
  // Left-aligned columns are free text, right-aligned ones numbers.
  explicit TextTable(std::vector<std::string> header, std::vector<bool> left_aligned = {});
  explicit TextTable(std::vector<TextColumn> columns, TextStyle style = {});
  void add_row(std::vector<std::string> row);
  // Marks for fitting (by column index).
  TextTable& set_kind(size_t column, CellKind kind);
  TextTable& set_optional(size_t column, int drop_priority = 1);
  std::string render() const;              // fitted to text_width()
  std::string render(size_t width) const;  // 0 = no limit

 private:
  std::vector<TextColumn> cols_;
  TextStyle style_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace llmcost
