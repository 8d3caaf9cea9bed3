// The quantization a checkpoint ships with: read from config.json's quantization_config (fp8
// block-wise, compressed-tensors, GPTQ, AWQ, bitsandbytes, mxfp4, ModelOpt-shaped) or from a ModelOpt
// hf_quant_config.json beside it, and resolved into each tensor's Tensor::stored format.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "llmcost/config_reader.h"
#include "llmcost/model_ir.h"

namespace llmcost {

// Sets every tensor of `ir` (main layers and MTP layers) to the format the checkpoint stores it in:
// the format `quant` (a /quantization_config object, or an hf_quant_config.json root) gives it, else
// the plain dtype of ir.torch_dtype. `quant` null: every tensor plain. `wrapped`: the model was read
// from text_config, so its checkpoint names may carry the wrapper's "model.language_model." prefix.
// Sets ir.shipped_quant. Throws ConfigError (file + JSON path + what was expected) for a malformed
// description of a known method; an unknown quant_method leaves the tensors plain and
// ShippedQuant::understood false (as-shipped figures then refuse, naming the method).
void resolve_shipped_quant(ModelIR& ir, const ConfigReader* quant, bool wrapped);

// The hf_quant_config.json that sits beside `config_path` (X.hf_quant_config.json beside X.json, or
// hf_quant_config.json beside config.json); empty when there is none.
std::string hf_quant_config_beside(const std::string& config_path);

// THE module-name matching of every method's lists (modules_to_not_convert, ignore, exclude_modules,
// targets, quantized_layers). `module` is a module path ("model.layers.3.mlp.experts.0.up_proj"). A
// pattern "re:REGEX" matches when REGEX matches from the start of the path (Python re.match); any
// other pattern is a wildcard ('*' = any run of characters, dots included, as fnmatch) that
// matches the path or one of its parent modules ("model.layers.0.mlp.experts" covers its experts),
// or, when it has no '.', the path's last components ("gate" names "model.layers.3.mlp.gate", as
// transformers' modules_to_not_convert does).
class ModulePatterns {
 public:
  ModulePatterns() = default;
  // Throws ConfigError at file/pointer/<i> for a bad regex.
  ModulePatterns(const std::vector<std::string>& patterns, const std::string& file, const std::string& pointer);
  // Movable, not copyable: exact_set_ views the strings of exact_ (a moved vector keeps its buffer).
  ModulePatterns(ModulePatterns&&) = default;
  ModulePatterns& operator=(ModulePatterns&&) = default;
  ModulePatterns(const ModulePatterns&) = delete;
  ModulePatterns& operator=(const ModulePatterns&) = delete;
  bool empty() const { return exact_.empty() && prefix_globs_.empty() && globs_.empty() && regexes_.empty(); }
  bool matches(const std::string& module) const;

 private:
  std::vector<std::string> exact_;  // no wildcard
  std::unordered_set<std::string_view> exact_set_;  // views of exact_ (not resized after construction)
  std::vector<std::string> prefix_globs_;  // "X*" patterns, as X
  std::vector<std::string> globs_;         // other patterns with '*'
  struct Regex;
  std::vector<std::shared_ptr<const Regex>> regexes_;
};

}  // namespace llmcost
