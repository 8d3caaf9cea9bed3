// `llmcost families` writers (families_report.h).
#include "llmcost/families_report.h"

#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "llmcost/format.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::vector<std::string> config_cells(const FamilyConfigRow& r) {
  if (!r.refused.empty()) return {r.file, "-", "-", "-", "-", "-", "-", family_row_status(r)};
  return {r.file,
          r.family,
          format_thousands(r.total),
          format_thousands(r.active),
          r.mtp > 0 ? format_thousands(r.mtp) : "-",
          format_thousands(r.kv_bytes_per_token),
          r.state_bytes_per_sequence > 0 ? format_thousands(r.state_bytes_per_sequence) : "-",
          family_row_status(r)};
}

const std::vector<std::string> kConfigHeader = {"config", "family", "total params", "active params", "mtp params",
                                                "KV bytes/token", "state bytes/seq", "status"};

}  // namespace

std::string family_row_status(const FamilyConfigRow& r) {
  if (!r.refused.empty()) {
    // The list of supported families an unknown architecture's error carries is the table itself.
    const std::string cut = "; supported: ";
    const size_t at = r.refused.find(cut);
    return "refused: " + (at == std::string::npos ? r.refused : r.refused.substr(0, at));
  }
  if (!r.reference_total) return "counted from the reference implementation";
  if (*r.reference_total == r.total) return "exact: equals the checkpoint count";
  return "DIFFERS from the checkpoint count " + format_thousands(*r.reference_total);
}

std::string families_table(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows) {
  std::string out = "Families (model_type values each builds; configs below built by it)\n";
  TextTable f({"family", "model_type", "configs"}, {true, true, false});
  for (const auto& x : fams) f.add_row({x.name, join(x.model_types), std::to_string(x.configs)});
  out += f.render();
  out += "\nConfigs\n";
  TextTable t(kConfigHeader, {true, true, false, false, false, false, false, true});
  t.set_optional(4, 2).set_optional(6, 1);  // mtp params, state bytes/seq give way in a narrow terminal
  for (const auto& r : rows) t.add_row(config_cells(r));
  out += t.render();
  out += "params: parameters, exact; total excludes MTP layers (mtp column, as stored). KV bytes/token: bf16, all attention "
         "layers, no window cap; state bytes/seq: recurrent layers' constant state per sequence.\n";
  return out;
}

std::string families_markdown(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows) {
  auto esc = [](std::string s) {
    std::string o;
    for (char c : s) o += c == '|' ? std::string("\\|") : std::string(1, c);
    return o;
  };
  std::string out = "| config | family | total params | active params | mtp params | KV bytes/token | state bytes/seq | status |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    std::string line = "|";
    for (const auto& c : config_cells(r)) line += " " + esc(c) + " |";
    out += line + "\n";
  }
  std::string unused;
  for (const auto& x : fams)
    if (x.configs == 0) unused += (unused.empty() ? "" : ", ") + x.name;
  out += fmt::format("\n{} families, {} configs: {} counted, {} refused.", fams.size(), rows.size(),
                     rows.size() - static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [](const auto& r) { return !r.refused.empty(); })),
                     std::count_if(rows.begin(), rows.end(), [](const auto& r) { return !r.refused.empty(); }));
  if (!unused.empty()) out += " Families with no config in this table: " + unused + ".";
  out += "\n";
  return out;
}

std::string families_json(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows) {
  nlohmann::ordered_json j;
  j["families"] = nlohmann::ordered_json::array();
  for (const auto& x : fams) j["families"].push_back({{"name", x.name}, {"model_types", x.model_types}, {"configs", x.configs}});
  j["configs"] = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json c;
    c["file"] = r.file;
    if (!r.refused.empty()) {
      c["refused"] = r.refused;
    } else {
      c["family"] = r.family;
      c["total"] = r.total;
      c["active"] = r.active;
      c["mtp"] = r.mtp;
      c["kv_bytes_per_token"] = r.kv_bytes_per_token;
      c["state_bytes_per_sequence"] = r.state_bytes_per_sequence;
      c["context"] = r.context;
      c["bytes_at_context"] = r.bytes_at_context;
      if (r.reference_total) c["reference_total"] = *r.reference_total;
    }
    c["status"] = family_row_status(r);
    j["configs"].push_back(c);
  }
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

}  // namespace llmcost
