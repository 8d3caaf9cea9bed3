// JSON front end: nlohmann's SAX parser builds a Value tree directly (bounded depth and value
// count, so hostile input can exhaust neither the stack nor memory). Python's json module writes
// non-finite floats as the bare words Infinity, -Infinity and NaN (Nemotron-H configs carry
// `"time_step_limit": [0.0, Infinity]`); they are read as non-finite numbers, and the config
// readers refuse them wherever a finite value is required.
#include <nlohmann/json.hpp>

#include <cmath>
#include <deque>
#include <limits>
#include <optional>

#include "llmcost/value.h"

namespace llmcost {
namespace {

constexpr size_t kMaxDepth = 64;

// nlohmann has no spelling for non-finite numbers, so each bare Infinity / -Infinity / NaN is
// rewritten to a float of the same length (columns in later error messages stay right). Every
// float token spelled like one of those stand-ins, rewritten or not, gets one entry, in text
// order, telling the SAX builder the value it really has (nullopt: the token as written).
const char* stand_in(const std::string& word) {
  if (word == "NaN") return "0.0";
  if (word == "Infinity") return "0.000000";
  if (word == "-Infinity") return "-0.000000";
  return nullptr;
}
bool is_stand_in(const std::string& tok) { return tok == "0.0" || tok == "0.000000" || tok == "-0.000000"; }

struct NonFinite {
  std::string text;                            // the input with the bare words rewritten
  std::deque<std::optional<double>> overrides;  // one per stand-in-spelled float token
};

NonFinite rewrite_non_finite(const std::string& in) {
  NonFinite out;
  if (in.find("Infinity") == std::string::npos && in.find("NaN") == std::string::npos) return out;  // the common case
  out.text = in;
  std::string& s = out.text;
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  auto num_char = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'; };
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == '"') {  // skip a string, escapes included
      for (++i; i < n && s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
      ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '/') {  // comments (the parser ignores them)
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t e = s.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
    } else if (c == '-' && i + 1 < n && std::isalpha(static_cast<unsigned char>(s[i + 1]))) {
      size_t j = i + 1;
      while (j < n && word_char(s[j])) ++j;
      if (const char* r = stand_in(s.substr(i, j - i))) {
        s.replace(i, j - i, r);
        out.overrides.push_back(-std::numeric_limits<double>::infinity());
      }
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < n && word_char(s[j])) ++j;
      std::string w = s.substr(i, j - i);
      if (const char* r = stand_in(w)) {
        s.replace(i, j - i, r);
        out.overrides.push_back(w == "NaN" ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity());
      }
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t j = i;
      while (j < n && num_char(s[j])) ++j;
      if (is_stand_in(s.substr(i, j - i))) out.overrides.push_back(std::nullopt);
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Builder(std::string file, int64_t max_values, std::deque<std::optional<double>> overrides)
      : file_(std::move(file)), budget_(max_values), max_values_(max_values), overrides_(std::move(overrides)) {}

  bool null() override { return spend() && add(Value::null()); }
  bool boolean(bool v) override { return spend() && add(Value::boolean(v)); }
  bool number_integer(number_integer_t v) override { return spend() && add(Value::integer(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (!spend()) return false;
    if (v > static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max()))
      return add(Value::number(static_cast<double>(v)));
    return add(Value::integer(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t& raw) override {
    if (!spend()) return false;
    if (!overrides_.empty() && is_stand_in(raw)) {
      if (overrides_.front()) v = *overrides_.front();
      overrides_.pop_front();
    }
    return add(Value::number(v));
  }
  bool string(string_t& v) override { return spend() && add(Value::string(v)); }
  bool binary(binary_t&) override { return spend() && add(Value::null()); }
  bool start_object(std::size_t) override { return open(Value::object()); }
  bool key(string_t& k) override {
    keys_.back() = k;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Value::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string msg = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> keep the human part.
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    error_ = "is not valid JSON: " + msg;
    return false;
  }

  Value take_root() { return std::move(root_); }
  const std::string& error() const { return error_; }

 private:
  // Every value, containers included, spends one unit: the tree's memory is bounded before it grows.
  bool spend() {
    if (--budget_ >= 0) return true;
    error_ = "holds more than " + std::to_string(max_values_) + " values (the limit for this kind of file)";
    return false;
  }
  bool add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.is_array())
      top.push(std::move(v));
    else
      members_.back().emplace_back(keys_.back(), std::move(v));
    return true;
  }
  bool open(Value v) {
    if (!spend()) return false;
    if (stack_.size() >= kMaxDepth) {
      error_ = "is nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    stack_.push_back(std::move(v));
    keys_.emplace_back();
    members_.emplace_back();
    return true;
  }
  bool close() {
    Value v = std::move(stack_.back());
    if (v.is_object()) v = Value::object_from(std::move(members_.back()));
    stack_.pop_back();
    keys_.pop_back();
    members_.pop_back();
    return add(std::move(v));
  }

  std::string file_;
  int64_t budget_, max_values_;
  Value root_;
  std::vector<Value> stack_;
  std::vector<std::string> keys_;
  std::vector<std::vector<std::pair<std::string, Value>>> members_;  // of each open object
  std::string error_;
  std::deque<std::optional<double>> overrides_;
};

}  // namespace

Value parse_json(const std::string& text, const std::string& file, int64_t max_values) {
  NonFinite nf = rewrite_non_finite(text);
  const std::string& input = nf.overrides.empty() ? text : nf.text;
  Builder b(file, max_values, std::move(nf.overrides));
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(input, &b, nlohmann::json::input_format_t::json, true, true);
  } catch (const std::exception& ex) {
    throw ConfigError(file, "", std::string("is not valid JSON: ") + ex.what());
  }
  if (!ok) throw ConfigError(file, "", b.error().empty() ? "is not valid JSON" : b.error());
  return b.take_root();
}

}  // namespace llmcost
