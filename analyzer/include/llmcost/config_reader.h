// Typed, path-tracking reads from a config Value: every failure names the file, the JSON
// pointer and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/value.h"

namespace llmcost {

// A config string quoted for a one-line message: control characters escaped, long values cut.
std::string quote_for_message(const std::string& s);

// Untrusted text with its control characters shown escaped (\n, \t, \xNN) so that nothing read
// from a file reaches a terminal raw (an escape sequence in a model_type); keep_line_breaks leaves
// '\n' and '\t' as they are, for multi-line output.
std::string escape_control_chars(const std::string& s, bool keep_line_breaks = false);

class ConfigReader {
 public:
  static constexpr int64_t kMaxSize = int64_t(1) << 32;

  ConfigReader(const Value& node, std::string file, std::string pointer = "");

  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }
  std::string pointer_of(const std::string& key) const;
  const Value& node() const { return *node_; }

  // Present and not null.
  bool has(const std::string& key) const;
  const Value* raw(const std::string& key) const;

  // Integers: JSON integers, or numbers with an integral value. Checked against [min, max].
  int64_t req_int(const std::string& key, int64_t min = 1, int64_t max = kMaxSize) const;
  std::optional<int64_t> opt_int(const std::string& key, int64_t min = 1, int64_t max = kMaxSize) const;
  int64_t int_or(const std::string& key, int64_t def, int64_t min = 1, int64_t max = kMaxSize) const;

  double num_or(const std::string& key, double def) const;
  std::optional<double> opt_num(const std::string& key) const;
  bool bool_or(const std::string& key, bool def) const;
  std::string str_or(const std::string& key, const std::string& def) const;
  std::string req_str(const std::string& key) const;
  std::vector<int64_t> int_list(const std::string& key, int64_t min = 0, int64_t max = kMaxSize) const;
  std::vector<std::string> str_list(const std::string& key) const;

  // A nested object; nullopt when absent or null; error when present with another type.
  std::optional<ConfigReader> child(const std::string& key) const;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  // Fails on the first member whose key is not in `allowed`, listing the allowed keys.
  void check_keys(const std::vector<std::string>& allowed) const;

 private:
  int64_t to_int(const Value& v, const std::string& pointer, int64_t min, int64_t max) const;

  const Value* node_;
  std::string file_;
  std::string pointer_;
};

}  // namespace llmcost
