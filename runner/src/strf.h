// printf-style formatting into a std::string for the runner's messages (fmt is not linked here).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace llmcost {

__attribute__((format(printf, 1, 2))) inline std::string strf(const char* f, ...) {
  va_list ap;
  va_start(ap, f);
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  if (n < 0) return f;
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string s(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, f);
  std::vsnprintf(s.data(), s.size(), f, ap);
  va_end(ap);
  s.resize(static_cast<size_t>(n));
  return s;
}

}  // namespace llmcost
