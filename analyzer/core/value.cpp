// Value tree helpers and file reading shared by the JSON and YAML front ends.
#include "llmcost/value.h"

#include <unordered_map>

namespace llmcost {

const Value* Value::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& kv : obj_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (auto& kv : obj_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  obj_.emplace_back(key, std::move(v));
}

Value Value::object_from(std::vector<std::pair<std::string, Value>> members) {
  Value v = object();
  if (members.size() <= 16) {
    for (auto& kv : members) v.set(kv.first, std::move(kv.second));
    return v;
  }
  std::unordered_map<std::string, size_t> first;  // key -> position in v.obj_
  first.reserve(members.size());
  for (auto& kv : members) {
    auto it = first.find(kv.first);
    if (it != first.end()) {
      v.obj_[it->second].second = std::move(kv.second);
    } else {
      first.emplace(kv.first, v.obj_.size());
      v.obj_.emplace_back(std::move(kv.first), std::move(kv.second));
    }
  }
  return v;
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Int: return "an integer";
    case Type::Float: return "a number";
    case Type::String: return "a string";
    case Type::Array: return "an array";
    case Type::Object: return "an object";
  }
  return "?";
}

std::string read_text_file(const std::string& path, const InputLimits& limits) { return read_input_file(path, limits); }

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Value parse_config_file(const std::string& path) {
  if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
    return parse_yaml(read_input_file(path, kYamlInput), path, kYamlInput.max_values);
  return parse_json(read_input_file(path, kConfigInput), path, kConfigInput.max_values);
}

Value parse_record_file(const std::string& path) {
  return parse_json(read_input_file(path, kRecordInput), path, kRecordInput.max_values);
}

}  // namespace llmcost
