// Units and plain-text tables for the terminal writers.
#include "llmcost/format.h"

#include <fmt/format.h>

#include <algorithm>

namespace llmcost {

std::string format_count(int64_t n) {
  double v = static_cast<double>(n);
  if (n >= 1000000000LL) return fmt::format("{:.3f} B", v / 1e9);
  if (n >= 1000000LL) return fmt::format("{:.3f} M", v / 1e6);
  if (n >= 1000LL) return fmt::format("{:.3f} K", v / 1e3);
  return fmt::format("{}", n);
}

std::string format_thousands(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  std::string out;
  int c = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (c && c % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++c;
  }
  if (n < 0) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

std::string format_layout(const ParallelConfig& c) {
  if (c.tp == 1 && c.ep == 1 && c.pp == 1) return "1 device";
  std::string s;
  auto add = [&](const char* k, int64_t v) {
    if (v > 1) s += (s.empty() ? "" : ", ") + fmt::format("{}={}", k, v);
  };
  add("tp", c.tp);
  add("ep", c.ep);
  add("pp", c.pp);
  return s;
}

std::string format_gb(double bytes) { return fmt::format("{:.2f} GB", bytes / 1e9); }
std::string format_gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / 1073741824.0); }

}  // namespace llmcost
