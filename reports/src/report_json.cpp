// JSON writer: the whole document, with raw numbers in their stated units (exact integers kept).
#include <nlohmann/json.hpp>

#include "llmcost/report_doc.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {

using json = nlohmann::ordered_json;

json table_json(const Table& t) {
  json j;
  j["id"] = t.id;
  j["caption"] = t.caption;
  json cols = json::array();
  for (const auto& c : t.columns) cols.push_back({{"key", c.key}, {"header", c.header}, {"unit", c.unit}});
  j["columns"] = cols;
  json rows = json::array();
  for (const auto& r : t.rows) {
    json row;
    for (size_t i = 0; i < r.size() && i < t.columns.size(); ++i) {
      const Cell& c = r[i];
      if (c.int_value) row[t.columns[i].key] = *c.int_value;
      else if (c.num_value) row[t.columns[i].key] = *c.num_value;
      else row[t.columns[i].key] = c.text;
    }
    rows.push_back(row);
  }
  j["rows"] = rows;
  if (!t.notes.empty()) j["notes"] = t.notes;
  return j;
}

}  // namespace

std::string report_json(const ReportDoc& d) {
  json j;
  j["title"] = d.title;
  j["subtitle"] = d.subtitle;
  j["assumptions"] = d.assumptions;
  j["missing"] = d.missing;
  json secs = json::array();
  for (const auto& s : d.sections) {
    json sj;
    sj["id"] = s.id;
    sj["heading"] = s.heading;
    sj["paragraphs"] = s.paragraphs;
    json tables = json::array();
    for (const auto& t : s.tables) tables.push_back(table_json(t));
    sj["tables"] = tables;
    json charts = json::array();
    for (const auto& c : s.charts) charts.push_back(table_json(chart_table(c)));
    sj["charts"] = charts;
    secs.push_back(sj);
  }
  j["sections"] = secs;
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

}  // namespace llmcost
