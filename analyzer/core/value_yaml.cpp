// YAML front end: yaml-cpp nodes converted to a Value tree (plain scalars typed the way
// YAML 1.2 core schema types them; quoted scalars stay strings).
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>

#include "llmcost/value.h"

namespace llmcost {
namespace {

constexpr int kMaxDepth = 64;

Value scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return Value::string(s);  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value::null();
  if (s == "true" || s == "True" || s == "TRUE") return Value::boolean(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value::boolean(false);
  {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (end && *end == '\0' && errno == 0 && s.find_first_of("0123456789") != std::string::npos)
      return Value::integer(v);
  }
  {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    bool looks_numeric = s.find_first_not_of("0123456789+-.eE_") == std::string::npos;
    if (end && *end == '\0' && looks_numeric) return Value::number(d);
  }
  return Value::string(s);
}

// Aliases share nodes in yaml-cpp, so a small document can expand to billions of values
// ("billion laughs"); the converted tree is capped at max_values values.
Value convert(const YAML::Node& n, int depth, int64_t& budget, int64_t max_values, const std::string& file) {
  if (depth > kMaxDepth) throw ConfigError(file, "", "is nested deeper than 64 levels");
  if (--budget < 0)
    throw ConfigError(file, "", "expands to more than " + std::to_string(max_values) + " values (YAML aliases?)");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Value::null();
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      Value v = Value::array();
      for (const auto& item : n) v.push(convert(item, depth + 1, budget, max_values, file));
      return v;
    }
    case YAML::NodeType::Map: {
      std::vector<std::pair<std::string, Value>> members;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw ConfigError(file, "", "has a mapping key that is not a plain string");
        members.emplace_back(kv.first.Scalar(), convert(kv.second, depth + 1, budget, max_values, file));
      }
      return Value::object_from(std::move(members));
    }
  }
  return Value::null();
}

}  // namespace

Value parse_yaml(const std::string& text, const std::string& file, int64_t max_values) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& ex) {
    throw ConfigError(file, "", "is not valid YAML: line " + std::to_string(ex.mark.line + 1) +
                                    ": nested too deeply");
  } catch (const YAML::Exception& ex) {
    throw ConfigError(file, "", "is not valid YAML: line " + std::to_string(ex.mark.line + 1) + ", column " +
                                    std::to_string(ex.mark.column + 1) + ": " + ex.msg);
  } catch (const std::exception& ex) {
    throw ConfigError(file, "", std::string("is not valid YAML: ") + ex.what());
  }
  int64_t budget = max_values;
  return convert(root, 0, budget, max_values, file);
}

}  // namespace llmcost
