// HTML writer: one self-contained page (inline CSS and SVG; no script, no network, no web fonts).
#include <fmt/format.h>

#include "llmcost/report_doc.h"

namespace llmcost {

namespace {

using svg::xml_escape;

const char* const kCss = R"(
*{box-sizing:border-box}
body{margin:0;background:#f6f6f4;color:#111;font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:15px;line-height:1.45}
main{max-width:1220px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #111;padding-bottom:3px}
.subtitle{color:#444;margin:0 0 16px}
.box{border:1px solid #999;border-left:5px solid #111;padding:8px 14px;margin:12px 0;background:#fafafa}
.box.missing{border-left-color:#D55E00}
.box h3{margin:2px 0 4px;font-size:15px}
.box ul{margin:4px 0;padding-left:20px}
nav ol{columns:2;margin:6px 0}
figure{margin:14px 0}
figure svg{display:block;max-width:100%;height:auto;border:1px solid #ddd}
table{border-collapse:collapse;margin:10px 0 4px;font-size:13.5px}
caption{text-align:left;font-weight:bold;padding:4px 0}
th,td{border:1px solid #bbb;padding:3px 8px}
th{background:#eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.note{font-size:13px;color:#333;margin:2px 0}
details{margin:2px 0 12px}
summary{cursor:pointer;color:#333;font-size:13px}
footer{margin-top:30px;font-size:12.5px;color:#444;border-top:1px solid #bbb;padding-top:8px}
@media print{body{background:#fff}main{max-width:none;padding:0}details{display:block}figure{break-inside:avoid}}
)";

std::string table_html(const Table& t) {
  std::string out = fmt::format("<table id=\"{}\">\n", xml_escape(t.id));
  if (!t.caption.empty()) out += "<caption>" + xml_escape(t.caption) + "</caption>\n";
  out += "<thead><tr>";
  for (const auto& c : t.columns) out += "<th>" + xml_escape(c.header) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& r : t.rows) {
    out += "<tr>";
    for (const auto& c : r) out += (c.is_number() ? "<td class=\"num\">" : "<td>") + xml_escape(c.text) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
  for (const auto& n : t.notes) out += "<p class=\"note\">" + xml_escape(n) + "</p>\n";
  return out;
}

std::string list_box(const char* cls, const char* heading, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = fmt::format("<div class=\"box {}\"><h3>{}</h3><ul>\n", cls, heading);
  for (const auto& s : items) out += "<li>" + xml_escape(s) + "</li>\n";
  return out + "</ul></div>\n";
}

}  // namespace

std::string report_html(const ReportDoc& d) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + xml_escape(d.title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
  out += "<h1>" + xml_escape(d.title) + "</h1>\n";
  if (!d.subtitle.empty()) out += "<p class=\"subtitle\">" + xml_escape(d.subtitle) + "</p>\n";
  out += list_box("assumptions", "Assumptions", d.assumptions);
  out += list_box("missing", "Not shown in this report", d.missing);
  if (d.sections.size() > 1) {
    out += "<nav><ol>\n";
    for (const auto& s : d.sections)
      out += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", xml_escape(s.id), xml_escape(s.heading));
    out += "</ol></nav>\n";
  }
  for (const auto& s : d.sections) {
    out += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", xml_escape(s.id), xml_escape(s.heading));
    for (const auto& p : s.paragraphs) out += "<p>" + xml_escape(p) + "</p>\n";
    for (const auto& c : s.charts) {
      out += "<figure>\n" + render_chart(c) + "</figure>\n";
      out += "<details><summary>numbers in this chart</summary>\n" + table_html(chart_table(c)) + "</details>\n";
    }
    for (const auto& t : s.tables) out += table_html(t);
    out += "</section>\n";
  }
  out += "<footer>Written by llmcost. GB = 1e9 bytes, GiB = 2^30 bytes; B = 1e9 parameters; "
         "FLOP/s and bytes/s use SI prefixes (k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15). "
         "The JSON and CSV versions of this report carry every number shown here.</footer>\n";
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace llmcost
