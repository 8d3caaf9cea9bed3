// Finding and loading a model: a path to a config (JSON or YAML), a directory holding a
// config.json, or a bundled model by file stem, Hugging Face id or short alias.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmcost/model_ir.h"

namespace llmcost {

struct BundledModel {
  std::string path;                  // configs/models/<stem>.json
  std::string stem;                  // "mistralai__Mixtral-8x7B-v0.1"
  std::string hf_id;                 // "mistralai/Mixtral-8x7B-v0.1"
  std::vector<std::string> aliases;  // "mixtral-8x7b-v0.1", "mixtral-8x7b"
};

// configs/ directory: $LLMCOST_CONFIG_DIR, else the directory set_default_config_dir() set, else
// <exe>/../configs, else the source tree's.
std::string default_config_dir();
// Sets the configs/ directory default_config_dir() gives when $LLMCOST_CONFIG_DIR is unset (the
// Python package sets its bundled copy: its executable is python, not llmcost). "" unsets it.
void set_default_config_dir(const std::string& dir);

// Bundled models under <config_dir>/models, sorted by stem.
std::vector<BundledModel> list_bundled_models(const std::string& config_dir);

// Short aliases of a model name ("Mixtral-8x7B-v0.1" -> "mixtral-8x7b-v0.1", "mixtral-8x7b").
std::vector<std::string> model_aliases(const std::string& name);

// The local Hugging Face cache (huggingface_hub's layout): $HF_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hf_cache_dir();
// The snapshot directory of hub id `repo_id` ("Org/Name") in the cache:
// <cache>/models--Org--Name/snapshots/<rev>, <rev> read from refs/main, or the only snapshot when
// there is no refs/main. nullopt when `repo_id` is not an "Org/Name" id or is not in the cache;
// throws Error when it is there but no snapshot can be chosen (several, no refs/main) or refs/main
// names one that is not a plain revision or is missing.
std::optional<std::string> hf_cache_snapshot(const std::string& repo_id);

// Resolve MODEL to a config file path: an existing path (a config, or a directory holding
// config.json), then a Hugging Face id found in the local cache (its snapshot's config.json),
// then a bundled model by stem, HF id or alias, then a fine-tuned variant of a bundled model
// (meta-llama/Llama-3.1-8B-Instruct, Kimi-K2-Instruct-0905: -Instruct, -Chat, -it, -Base, -hf and
// four-digit release tails taken off until a bundled model is named) as that model, with `note`
// saying so. Throws Error with the closest bundled ids ("did you mean") when unknown.
struct ResolvedModel {
  std::string path;
  std::string note;  // "" when MODEL named the config itself
};
ResolvedModel resolve_model(const std::string& spec, const std::string& config_dir);
std::string resolve_model_path(const std::string& spec, const std::string& config_dir);

// Resolve MODEL named inside a file someone else may have written (a CI baseline from a pull
// request): a bundled model, or a config path (relative to `dir`, or absolute) whose target, with
// ".." and symlinks resolved, lies inside `dir`. Anything else throws Error "WHERE names model ...".
std::string resolve_model_path_within(const std::string& spec, const std::string& config_dir, const std::string& dir,
                                      const std::string& where);

// Resolve, parse and build. The IR's name is the HF id for bundled models, else the stem. `note`,
// when given, gets resolve_model's note (for the caller to print on stderr).
ModelIR load_model(const std::string& spec, const std::string& config_dir, std::string* note = nullptr);

}  // namespace llmcost
