// Name matching for lookups of bundled things: case-folding, edit distance, "did you mean".
#include "llmcost/names.h"

#include <algorithm>

namespace llmcost {

std::string lower_ascii(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_names_shown(const std::string& given, const std::vector<std::pair<std::string, std::string>>& candidates) {
  const std::string g = lower_ascii(given);
  if (g.empty()) return "";
  // A candidate that contains the text (or is contained in it), else those within a third of the
  // text's length in single-character edits (at least 1): "h10" -> h100-sxm, "mi300" -> mi300x,
  // "h10o-sxm" -> h100-sxm.
  std::vector<std::pair<size_t, std::string>> hits;
  const size_t limit = std::max<size_t>(1, g.size() / 3);
  for (const auto& [name, shown] : candidates) {
    const std::string lc = lower_ascii(name);
    size_t d = edit_distance(g, lc);
    bool contains = lc.find(g) != std::string::npos || (g.size() >= 3 && g.find(lc) != std::string::npos);
    if (contains || d <= limit) hits.emplace_back(contains ? 0 : d, shown);
  }
  std::stable_sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::string out;
  std::vector<std::string> seen;
  for (const auto& h : hits) {
    if (std::find(seen.begin(), seen.end(), h.second) != seen.end()) continue;
    seen.push_back(h.second);
    if (seen.size() > 5) break;
    out += (out.empty() ? "" : ", ") + h.second;
  }
  return out;
}

std::string closest_names(const std::string& given, const std::vector<std::string>& candidates) {
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& c : candidates) named.emplace_back(c, c);
  return closest_names_shown(given, named);
}

}  // namespace llmcost
