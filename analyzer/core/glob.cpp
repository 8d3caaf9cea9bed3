// Wildcard matching for patterns read from input files (linear-bounded, see glob.h).
#include "llmcost/glob.h"

namespace llmcost {

bool wildcard_match(std::string_view p, std::string_view t) {
  // On a mismatch, only the last '*' seen is retried, one character further: earlier stars can
  // never do better, since the last one can already absorb anything they would.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool module_glob_match(std::string_view p, std::string_view t) {
  // '*' cannot cross '.', so every '.' of the path must meet a '.' of the pattern in order:
  // match component by component.
  for (;;) {
    size_t pd = p.find('.'), td = t.find('.');
    if ((pd == std::string_view::npos) != (td == std::string_view::npos)) return false;
    if (!wildcard_match(p.substr(0, pd), t.substr(0, td))) return false;
    if (pd == std::string_view::npos) return true;
    p.remove_prefix(pd + 1);
    t.remove_prefix(td + 1);
  }
}

}  // namespace llmcost
