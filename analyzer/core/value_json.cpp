// JSON front end: nlohmann's SAX parser builds a Value tree directly (bounded depth and value
// count, so hostile input can exhaust neither the stack nor memory).
#include <nlohmann/json.hpp>

#include <limits>

#include "llmcost/value.h"

namespace llmcost {
namespace {

constexpr size_t kMaxDepth = 64;

class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Builder(std::string file, int64_t max_values) : file_(std::move(file)), budget_(max_values), max_values_(max_values) {}

  bool null() override { return spend() && add(Value::null()); }
  bool boolean(bool v) override { return spend() && add(Value::boolean(v)); }
  bool number_integer(number_integer_t v) override { return spend() && add(Value::integer(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (!spend()) return false;
    if (v > static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max()))
      return add(Value::number(static_cast<double>(v)));
    return add(Value::integer(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override { return spend() && add(Value::number(v)); }
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
};

}  // namespace

Value parse_json(const std::string& text, const std::string& file, int64_t max_values) {
  Builder b(file, max_values);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &b, nlohmann::json::input_format_t::json, true, true);
  } catch (const std::exception& ex) {
    throw ConfigError(file, "", std::string("is not valid JSON: ") + ex.what());
  }
  if (!ok) throw ConfigError(file, "", b.error().empty() ? "is not valid JSON" : b.error());
  return b.take_root();
}

}  // namespace llmcost
