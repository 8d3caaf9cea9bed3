// A parsed configuration document (JSON or YAML) as a small typed tree, so that no
// parser library type leaks past the parsing boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "llmcost/error.h"       // Error and ConfigError, which the readers throw
#include "llmcost/input_file.h"  // InputLimits

namespace llmcost {

class Value {
 public:
  enum class Type { Null, Bool, Int, Float, String, Array, Object };

  Value() = default;
  static Value null() { return Value(); }
  static Value boolean(bool b) { Value v; v.type_ = Type::Bool; v.b_ = b; return v; }
  static Value integer(int64_t i) { Value v; v.type_ = Type::Int; v.i_ = i; return v; }
  static Value number(double d) { Value v; v.type_ = Type::Float; v.d_ = d; return v; }
  static Value string(std::string s) { Value v; v.type_ = Type::String; v.s_ = std::move(s); return v; }
  static Value array() { Value v; v.type_ = Type::Array; return v; }
  static Value object() { Value v; v.type_ = Type::Object; return v; }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Float; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_double() const { return type_ == Type::Int ? static_cast<double>(i_) : d_; }
  const std::string& as_string() const { return s_; }
  const std::vector<Value>& items() const { return arr_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return obj_; }

  // Object lookup; nullptr when absent (or when this is not an object).
  const Value* find(const std::string& key) const;

  void push(Value v) { arr_.push_back(std::move(v)); }
  // Later duplicates replace earlier ones, as JSON parsers conventionally do.
  void set(const std::string& key, Value v);
  // An object from members in document order, duplicates resolved as set() does, in
  // O(n log n) (set() alone is quadratic on objects with very many keys).
  static Value object_from(std::vector<std::pair<std::string, Value>> members);

  static const char* type_name(Type t);

 private:
  Type type_ = Type::Null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0.0;
  std::string s_;
  std::vector<Value> arr_;
  std::vector<std::pair<std::string, Value>> obj_;
};

// Parse a document. `file` is only used in error messages. Throws ConfigError, also when the
// tree would hold more than `max_values` values.
Value parse_json(const std::string& text, const std::string& file, int64_t max_values = kConfigInput.max_values);
Value parse_yaml(const std::string& text, const std::string& file, int64_t max_values = kYamlInput.max_values);

// Read a whole file (regular files only, size capped before reading); throws Error naming the path.
std::string read_text_file(const std::string& path, const InputLimits& limits = kConfigInput);

// Parse by extension: .yaml/.yml as YAML, everything else as JSON, under the config/YAML limits.
Value parse_config_file(const std::string& path);
// A run, benchmark or CI record JSON file, under the run/CI limits.
Value parse_record_file(const std::string& path);

}  // namespace llmcost
