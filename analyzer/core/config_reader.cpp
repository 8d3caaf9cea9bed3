// ConfigReader: typed reads with errors of the form "file: /json/pointer must be ..., got ...".
#include "llmcost/config_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace llmcost {

namespace {
std::string describe(const Value& v) {
  std::ostringstream ss;
  switch (v.type()) {
    case Value::Type::Null: return "null";
    case Value::Type::Bool: return v.as_bool() ? "true" : "false";
    case Value::Type::Int: return std::to_string(v.as_int());
    case Value::Type::Float: ss << v.as_double(); return ss.str();
    case Value::Type::String: return quote_for_message(v.as_string());
    case Value::Type::Array: return "an array";
    case Value::Type::Object: return "an object";
  }
  return "?";
}

// Control characters (a key could hold a newline) are shown escaped so the message stays one line.
void append_escaped(std::string& out, char c) {
  const auto u = static_cast<unsigned char>(c);
  if (c == '\n') {
    out += "\\n";
  } else if (c == '\t') {
    out += "\\t";
  } else if (u < 0x20 || u == 0x7f) {
    static const char* kHex = "0123456789abcdef";
    out += "\\x";
    out += kHex[u >> 4];
    out += kHex[u & 15];
  } else {
    out += c;
  }
}

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      append_escaped(out, c);
  }
  return out;
}
}  // namespace

std::string escape_control_chars(const std::string& s, bool keep_line_breaks) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (keep_line_breaks && (c == '\n' || c == '\t'))
      out += c;
    else
      append_escaped(out, c);
  }
  return out;
}

std::string quote_for_message(const std::string& s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (++n > 40) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') out += '\\';
    append_escaped(out, c);
  }
  return out + "\"";
}

ConfigReader::ConfigReader(const Value& node, std::string file, std::string pointer)
    : node_(&node), file_(std::move(file)), pointer_(std::move(pointer)) {
  if (!node_->is_object()) throw ConfigError(file_, pointer_, "must be an object, got " + describe(*node_));
}

std::string ConfigReader::pointer_of(const std::string& key) const {
  return pointer_ + "/" + escape_pointer_token(key);
}

void ConfigReader::fail(const std::string& key, const std::string& what) const {
  throw ConfigError(file_, key.empty() ? pointer_ : pointer_of(key), what);
}

void ConfigReader::check_keys(const std::vector<std::string>& allowed) const {
  for (const auto& member : node_->members()) {
    if (std::find(allowed.begin(), allowed.end(), member.first) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(member.first, "is not a known key (expected one of: " + list + ")");
    }
  }
}

const Value* ConfigReader::raw(const std::string& key) const {
  const Value* v = node_->find(key);
  if (!v || v->is_null()) return nullptr;
  return v;
}

bool ConfigReader::has(const std::string& key) const { return raw(key) != nullptr; }

int64_t ConfigReader::to_int(const Value& v, const std::string& ptr, int64_t min, int64_t max) const {
  int64_t i = 0;
  if (v.is_int()) {
    i = v.as_int();
  } else if (v.type() == Value::Type::Float && std::isfinite(v.as_double()) && std::floor(v.as_double()) == v.as_double() &&
             std::fabs(v.as_double()) < 9.0e15) {
    i = static_cast<int64_t>(v.as_double());
  } else {
    throw ConfigError(file_, ptr, "must be an integer, got " + describe(v));
  }
  if (i < min || i > max) {
    std::string range;
    if (min == 1 && max == kMaxSize)
      range = "a positive integer";
    else if (min == 0 && max == kMaxSize)
      range = "a non-negative integer";
    else
      range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    throw ConfigError(file_, ptr, "must be " + range + ", got " + std::to_string(i));
  }
  return i;
}

int64_t ConfigReader::req_int(const std::string& key, int64_t min, int64_t max) const {
  const Value* v = raw(key);
  if (!v) fail(key, "is required (an integer) but is missing");
  return to_int(*v, pointer_of(key), min, max);
}

std::optional<int64_t> ConfigReader::opt_int(const std::string& key, int64_t min, int64_t max) const {
  const Value* v = raw(key);
  if (!v) return std::nullopt;
  return to_int(*v, pointer_of(key), min, max);
}

int64_t ConfigReader::int_or(const std::string& key, int64_t def, int64_t min, int64_t max) const {
  auto v = opt_int(key, min, max);
  return v ? *v : def;
}

std::optional<double> ConfigReader::opt_num(const std::string& key) const {
  const Value* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_number() || !std::isfinite(v->as_double())) fail(key, "must be a number, got " + describe(*v));
  return v->as_double();
}

double ConfigReader::num_or(const std::string& key, double def) const {
  auto v = opt_num(key);
  return v ? *v : def;
}

bool ConfigReader::bool_or(const std::string& key, bool def) const {
  const Value* v = raw(key);
  if (!v) return def;
  if (!v->is_bool()) fail(key, "must be true or false, got " + describe(*v));
  return v->as_bool();
}

std::string ConfigReader::str_or(const std::string& key, const std::string& def) const {
  const Value* v = raw(key);
  if (!v) return def;
  if (!v->is_string()) fail(key, "must be a string, got " + describe(*v));
  return v->as_string();
}

std::string ConfigReader::req_str(const std::string& key) const {
  const Value* v = raw(key);
  if (!v) fail(key, "is required (a string) but is missing");
  if (!v->is_string()) fail(key, "must be a string, got " + describe(*v));
  return v->as_string();
}

std::vector<int64_t> ConfigReader::int_list(const std::string& key, int64_t min, int64_t max) const {
  std::vector<int64_t> out;
  const Value* v = raw(key);
  if (!v) return out;
  if (!v->is_array()) fail(key, "must be an array of integers, got " + describe(*v));
  for (size_t i = 0; i < v->items().size(); ++i)
    out.push_back(to_int(v->items()[i], pointer_of(key) + "/" + std::to_string(i), min, max));
  return out;
}

std::vector<std::string> ConfigReader::str_list(const std::string& key) const {
  std::vector<std::string> out;
  const Value* v = raw(key);
  if (!v) return out;
  if (!v->is_array()) fail(key, "must be an array of strings, got " + describe(*v));
  for (size_t i = 0; i < v->items().size(); ++i) {
    const Value& item = v->items()[i];
    if (!item.is_string())
      throw ConfigError(file_, pointer_of(key) + "/" + std::to_string(i), "must be a string, got " + describe(item));
    out.push_back(item.as_string());
  }
  return out;
}

std::optional<ConfigReader> ConfigReader::child(const std::string& key) const {
  const Value* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) fail(key, "must be an object, got " + describe(*v));
  return ConfigReader(*v, file_, pointer_of(key));
}

}  // namespace llmcost
