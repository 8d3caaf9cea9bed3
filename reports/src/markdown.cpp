// Markdown writer (GitHub-flavoured pipe tables) for pull-request comments and wikis.
#include <fmt/format.h>

#include "llmcost/report_doc.h"

namespace llmcost {

namespace {

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

std::string table_markdown(const Table& t) {
  std::vector<size_t> shown;
  for (size_t i = 0; i < t.columns.size(); ++i)
    if (!(t.columns[i].hidden_in & kHiddenInMarkdown)) shown.push_back(i);
  std::string out;
  if (!t.caption.empty()) out += "**" + md_escape(t.caption) + "**\n\n";
  out += "|";
  for (size_t i : shown) out += " " + md_escape(t.columns[i].header) + " |";
  out += "\n|";
  for (size_t i : shown) {
    Align a = t.columns[i].align;
    if (a == Align::Auto)
      a = !t.rows.empty() && i < t.rows[0].size() && t.rows[0][i].is_number() ? Align::Right : Align::Left;
    out += a == Align::Right ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (size_t i : shown)
      if (i < r.size()) out += " " + md_escape(r[i].text) + " |";
    out += "\n";
  }
  for (const auto& n : t.notes) out += "\n" + n + "\n";
  return out + "\n";
}

std::string report_markdown(const ReportDoc& d) {
  std::string out = "# " + d.title + "\n\n";
  if (!d.subtitle.empty()) out += d.subtitle + "\n\n";
  if (!d.assumptions.empty()) {
    out += "**Assumptions**\n\n";
    for (const auto& a : d.assumptions) out += "- " + a + "\n";
    out += "\n";
  }
  if (!d.missing.empty()) {
    out += "**Not shown in this report**\n\n";
    for (const auto& a : d.missing) out += "- " + a + "\n";
    out += "\n";
  }
  for (const auto& s : d.sections) {
    out += "## " + s.heading + "\n\n";
    for (const auto& p : s.paragraphs) out += p + "\n\n";
    for (const auto& t : s.tables) out += table_markdown(t);
    for (const auto& c : s.charts) {
      out += "<details><summary>Chart data: " + md_escape(chart_table(c).caption) + "</summary>\n\n";
      out += table_markdown(chart_table(c));
      out += "</details>\n\n";
    }
  }
  out += "_GB = 1e9 bytes, GiB = 2^30 bytes, B = 1e9 parameters. Charts are in the HTML report._\n";
  return out;
}

}  // namespace llmcost
