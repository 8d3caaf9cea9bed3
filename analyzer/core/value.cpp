// Value tree helpers and file reading shared by the JSON and YAML front ends.
#include "llmcost/value.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
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

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": cannot read file (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
  // Configs are kilobytes; the cap keeps /dev/zero or a mistaken multi-GB file from hanging us.
  constexpr size_t kMaxBytes = size_t(64) << 20;
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxBytes) throw Error(path + ": cannot read file (larger than 64 MiB; is it really a config?)");
  }
  if (in.bad()) throw Error(path + ": cannot read file");
  return text;
}

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Value parse_config_file(const std::string& path) {
  std::string text = read_text_file(path);
  if (ends_with(path, ".yaml") || ends_with(path, ".yml")) return parse_yaml(text, path);
  return parse_json(text, path);
}

}  // namespace llmcost
