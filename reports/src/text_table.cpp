// The one plain-text table renderer, and fitting a table to the terminal's width
// (llmcost/format.h: TextTable, text_width, terminal_text_width).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "llmcost/format.h"

namespace llmcost {

namespace {

size_t g_width = 0;

// A width from an environment variable: digits only; anything else is ignored.
long env_width(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  long n = 0;
  for (const char* p = v; *p; ++p) {
    if (*p < '0' || *p > '9' || n > 100000) return -1;
    n = n * 10 + (*p - '0');
  }
  return n;
}

constexpr size_t kGap = 2;         // spaces between columns
constexpr size_t kMinText = 10;    // a free-text column is not abbreviated below this (nor below its header)
constexpr size_t kMinName = 24;    // nor the first column (the row's name), unless the table would wrap
const char* const kEllipsis = "...";

struct Grid {
  std::vector<size_t> cols;                      // indexes into the table's columns, in order
  std::vector<std::vector<std::string>> cells;   // all columns, possibly shortened
};

size_t total_width(const std::vector<size_t>& w) {
  size_t t = 0;
  for (size_t i = 0; i < w.size(); ++i) t += w[i] + (i ? kGap : 0);
  return t;
}

// "a/b/c.json" -> components.
std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= p.size(); ++i)
    if (i == p.size() || p[i] == '/') {
      parts.push_back(p.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

// Cuts `s` to `w` characters with an ellipsis: at the end for text, in the middle for a path
// (its end tells rows apart).
std::string abbreviate(const std::string& s, size_t w, CellKind kind) {
  if (s.size() <= w) return s;
  const size_t e = std::string(kEllipsis).size();
  if (w <= e) return s.substr(0, w);
  if (kind == CellKind::Path) {
    size_t tail = (w - e + 1) / 2, head = w - e - tail;
    return s.substr(0, head) + kEllipsis + s.substr(s.size() - tail);
  }
  return s.substr(0, w - e) + kEllipsis;
}

}  // namespace

size_t text_width() { return g_width; }
void set_text_width(size_t columns) { g_width = columns; }

size_t terminal_text_width(long forced) {
  if (forced >= 0) return static_cast<size_t>(forced);
  long env = env_width("LLMCOST_WIDTH");
  if (env >= 0) return static_cast<size_t>(env);
  if (!isatty(STDOUT_FILENO)) return 0;
  long cols = env_width("COLUMNS");
  if (cols > 0) return static_cast<size_t>(cols);
  struct winsize ws {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

TextTable::TextTable(std::vector<std::string> header, std::vector<bool> left_aligned) {
  left_aligned.resize(header.size(), false);
  for (size_t i = 0; i < header.size(); ++i)
    cols_.push_back({std::move(header[i]), left_aligned[i], left_aligned[i] ? CellKind::Text : CellKind::Number, 0});
}

TextTable::TextTable(std::vector<TextColumn> columns, TextStyle style) : cols_(std::move(columns)), style_(style) {}

void TextTable::add_row(std::vector<std::string> row) {
  row.resize(cols_.size());
  rows_.push_back(std::move(row));
}

TextTable& TextTable::set_kind(size_t column, CellKind kind) {
  if (column < cols_.size()) cols_[column].kind = kind;
  return *this;
}

TextTable& TextTable::set_optional(size_t column, int drop_priority) {
  if (column < cols_.size()) cols_[column].drop_priority = drop_priority;
  return *this;
}

std::string TextTable::render() const { return render(g_width); }

std::string TextTable::render(size_t width) const {
  const size_t n = cols_.size();
  // Lines of the columns `shown` (indexes), each column cut to w[k] (cells longer are abbreviated).
  auto block = [&](const std::vector<std::vector<std::string>>& cells, const std::vector<size_t>& shown,
                   const std::vector<size_t>& w) {
    auto line = [&](auto cell_of) {
      std::string s;
      for (size_t k = 0; k < shown.size(); ++k) {
        const TextColumn& c = cols_[shown[k]];
        std::string v = abbreviate(cell_of(shown[k]), w[k], c.kind);
        if (k) s += std::string(kGap, ' ');
        std::string pad(w[k] - v.size(), ' ');
        s += c.left ? v + (k + 1 == shown.size() ? "" : pad) : pad + v;
      }
      if (style_.trim_trailing)
        while (!s.empty() && s.back() == ' ') s.pop_back();
      return s + "\n";
    };
    std::string out = line([&](size_t i) { return cols_[i].header; });
    if (style_.rule) out += std::string(total_width(w), '-') + "\n";
    for (const auto& r : cells) out += line([&](size_t i) { return r[i]; });
    return out;
  };
  auto natural = [&](const std::vector<std::vector<std::string>>& cells, size_t i) {
    size_t w = cols_[i].header.size();
    for (const auto& r : cells) w = std::max(w, r[i].size());
    return w;
  };

  std::vector<std::vector<std::string>> cells = rows_;
  std::vector<size_t> shown(n);
  for (size_t i = 0; i < n; ++i) shown[i] = i;
  auto widths = [&](const std::vector<size_t>& s) {
    std::vector<size_t> w;
    for (size_t i : s) w.push_back(natural(cells, i));
    return w;
  };
  if (width == 0 || total_width(widths(shown)) <= width) return block(cells, shown, widths(shown));

  std::vector<std::string> footer;
  // 1. Paths to their last component; equal last components get a [k] mark and a footnote.
  for (size_t i = 0; i < n; ++i) {
    if (cols_[i].kind != CellKind::Path) continue;
    std::map<std::string, std::set<std::string>> by_name;  // last component -> full paths
    std::set<std::string> dirs;
    for (const auto& r : cells) {
      auto parts = split_path(r[i]);
      by_name[parts.back()].insert(r[i]);
      dirs.insert(r[i].substr(0, r[i].size() - parts.back().size()));
    }
    std::map<std::string, std::string> shorter;
    bool changed = false;
    int mark = 0;
    std::vector<std::string> marks;
    for (auto& r : cells) {
      if (shorter.count(r[i])) {
        r[i] = shorter[r[i]];
        continue;
      }
      std::string name = split_path(r[i]).back();
      std::string s = name;
      if (by_name[name].size() > 1) {
        s = name + " [" + std::to_string(++mark) + "]";
        marks.push_back("[" + std::to_string(mark) + "] " + r[i]);
      }
      shorter[r[i]] = s;
      changed = changed || s != r[i];
      r[i] = s;
    }
    if (!changed) continue;
    if (dirs.size() == 1 && !dirs.begin()->empty() && marks.empty())
      footer.push_back(cols_[i].header + ": files in " + *dirs.begin());
    else if (mark == 0)
      footer.push_back(cols_[i].header + ": file names only (full paths with --width 0)");
    footer.insert(footer.end(), marks.begin(), marks.end());
  }

  // 2. Abbreviate free text (and shortened paths) to the widest cap that fits; 3. else leave out
  // optional columns, highest priority first, and try again.
  size_t name_floor = kMinName;
  auto fitted = [&](const std::vector<size_t>& s, std::vector<size_t>& w) {
    w = widths(s);
    if (total_width(w) <= width) return true;
    std::vector<size_t> floor_w(s.size());
    bool any = false;
    for (size_t k = 0; k < s.size(); ++k) {
      floor_w[k] = w[k];
      if (cols_[s[k]].kind == CellKind::Number) continue;
      floor_w[k] = std::min(w[k], std::max(cols_[s[k]].header.size(), k == 0 ? name_floor : kMinText));
      any = any || floor_w[k] < w[k];
    }
    if (total_width(floor_w) > width) {
      w = floor_w;
      return false;
    }
    // Largest cap (same for every text column) with sum(max(floor, min(w, cap))) <= width.
    size_t lo = 0, hi = *std::max_element(w.begin(), w.end());
    auto at = [&](size_t cap) {
      std::vector<size_t> c(s.size());
      for (size_t k = 0; k < s.size(); ++k) c[k] = cols_[s[k]].kind == CellKind::Number ? w[k] : std::max(floor_w[k], std::min(w[k], cap));
      return c;
    };
    while (lo < hi) {
      size_t mid = (lo + hi + 1) / 2;
      if (total_width(at(mid)) <= width) lo = mid;
      else hi = mid - 1;
    }
    w = at(lo);
    return true;
  };

  std::vector<size_t> w;
  std::vector<std::string> dropped;
  bool fits = fitted(shown, w);
  while (!fits) {
    size_t victim = n;
    for (size_t k = 0; k < shown.size(); ++k) {
      const int p = cols_[shown[k]].drop_priority;
      if (p > 0 && (victim == n || p >= cols_[shown[victim]].drop_priority)) victim = k;
    }
    if (victim == n) break;
    const size_t i = shown[victim];
    // A column with one value in every row is still said in the footer.
    std::set<std::string> values;
    for (const auto& r : rows_) values.insert(r[i]);
    dropped.push_back(cols_[i].header + (values.size() == 1 && !rows_.empty() && !values.begin()->empty()
                                             ? " (all " + *values.begin() + ")"
                                             : ""));
    shown.erase(shown.begin() + static_cast<std::ptrdiff_t>(victim));
    fits = fitted(shown, w);
  }

  if (!fits) {  // before wrapping, the row's name may be cut like any text
    name_floor = kMinText;
    fits = fitted(shown, w);
  }
  std::string out;
  if (fits) {
    out = block(cells, shown, w);
  } else {
    // 4. Wrap: blocks of columns that fit, each repeating the first column.
    size_t k = 1;
    while (true) {
      std::vector<size_t> s{shown[0]}, bw{w[0]};
      while (k < shown.size() && (s.size() == 1 || total_width(bw) + kGap + w[k] <= width)) {
        s.push_back(shown[k]);
        bw.push_back(w[k]);
        ++k;
      }
      // Room left in this block goes back to its abbreviated cells.
      for (size_t j = 0, room = width > total_width(bw) ? width - total_width(bw) : 0; j < s.size() && room; ++j) {
        size_t add = std::min(room, natural(cells, s[j]) - bw[j]);
        bw[j] += add;
        room -= add;
      }
      out += block(cells, s, bw);
      if (k >= shown.size()) break;
      out += "\n";
    }
  }
  for (const auto& f : footer) out += f + "\n";
  if (!dropped.empty()) {
    std::string names;
    for (const auto& d : dropped) names += (names.empty() ? "" : ", ") + d;
    out += "columns left out to fit " + std::to_string(width) + ": " + names + " (use --width 0 or --format json for all)\n";
  }
  return out;
}

}  // namespace llmcost
