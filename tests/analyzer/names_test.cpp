// Name lookups shared by hardware and models: edit distance, "did you mean", and a fine-tuned
// variant of a bundled model taken as that model (with a note) unless its exact config exists.
#include "llmcost/names.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "llmcost/error.h"
#include "llmcost/model_loader.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;
const std::string kConfigs = LLMCOST_CONFIG_DIR;

std::string error_of(const std::string& spec) {
  try {
    resolve_model(spec, kConfigs);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Names, EditDistanceAndClosest) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_names("b20", {"b200", "b300", "h200", "l4"}), "b200");  // b300, h200: 2 edits from a 3-letter name
  EXPECT_EQ(closest_names("h10", {"h200", "h100-sxm", "h100-pcie"}), "h100-sxm, h100-pcie");
  EXPECT_EQ(closest_names("l40", {"l40s", "l4"}), "l40s, l4");  // contains, and contained in it
  // Matched by an alias, shown by the id, once.
  EXPECT_EQ(closest_names_shown("lama-3", {{"llama-3", "org/Llama-3"}, {"org/Llama-3", "org/Llama-3"}}), "org/Llama-3");
}

TEST(Names, FineTunedVariantTakenAsBundledBase) {
  const std::string base = resolve_model_path("meta-llama/Llama-3.1-8B", kConfigs);
  ResolvedModel r = resolve_model("meta-llama/Llama-3.1-8B-Instruct", kConfigs);
  EXPECT_EQ(r.path, base);
  EXPECT_EQ(r.note,
            "model \"meta-llama/Llama-3.1-8B-Instruct\" taken as meta-llama/Llama-3.1-8B (same architecture and counts; "
            "the -Instruct checkpoint is not bundled)");
  // A release tail after -Instruct, any case, org-less names through the bundled aliases.
  r = resolve_model("Qwen/Qwen3-235B-A22B-Instruct-2507", kConfigs);
  EXPECT_EQ(r.path, resolve_model_path("Qwen/Qwen3-235B-A22B", kConfigs));
  EXPECT_NE(r.note.find("the -Instruct-2507 checkpoint is not bundled"), std::string::npos) << r.note;
  r = resolve_model("moonshotai/Kimi-K2-Instruct-0905", kConfigs);  // the bundled -Instruct is the nearer one
  EXPECT_EQ(r.path, resolve_model_path("moonshotai/Kimi-K2-Instruct", kConfigs));
  r = resolve_model("gemma-2-9b-it", kConfigs);
  EXPECT_EQ(r.path, resolve_model_path("google/gemma-2-9b", kConfigs));
  EXPECT_NE(r.note.find("taken as google/gemma-2-9b"), std::string::npos) << r.note;
  // The exact bundled id wins, without a note.
  r = resolve_model("meta-llama/Llama-3.2-1B-Instruct", kConfigs);
  EXPECT_NE(r.path.find("Llama-3.2-1B-Instruct"), std::string::npos);
  EXPECT_EQ(r.note, "");
  // Not a fine-tuning tail: a -v0.N release (another vocabulary), a base that is not bundled.
  EXPECT_NE(error_of("mistralai/Mistral-7B-Instruct-v0.3").find("is neither a readable path nor a bundled model"),
            std::string::npos);
  const std::string e = error_of("Qwen/Qwen3-Next-80B-A3B-Instruct");
  EXPECT_NE(e.find("did you mean: "), std::string::npos) << e;
  EXPECT_NE(e.find("Qwen/Qwen3-Next-80B-A3B-Thinking"), std::string::npos) << e;
}

TEST(Names, ExactConfigInTheHuggingFaceCacheWins) {
  const fs::path hub = fs::temp_directory_path() / ("llmcost_names_test_" + std::to_string(::getpid()));
  const fs::path snap = hub / "models--meta-llama--Llama-3.1-8B-Instruct" / "snapshots" / "abc";
  fs::create_directories(snap);
  fs::copy_file(resolve_model_path("meta-llama/Llama-3.1-8B", kConfigs), snap / "config.json");
  const char* old = std::getenv("HF_HUB_CACHE");
  const std::string saved = old ? old : "";
  ::setenv("HF_HUB_CACHE", hub.c_str(), 1);
  ResolvedModel r = resolve_model("meta-llama/Llama-3.1-8B-Instruct", kConfigs);
  if (old) ::setenv("HF_HUB_CACHE", saved.c_str(), 1); else ::unsetenv("HF_HUB_CACHE");
  fs::remove_all(hub);
  EXPECT_EQ(r.path, (snap / "config.json").string());
  EXPECT_EQ(r.note, "");
}

TEST(Names, UnknownModelSuggestsClosestBundled) {
  std::string e = error_of("meta-llama/Llama-3.1-9B");
  EXPECT_NE(e.find("model \"meta-llama/Llama-3.1-9B\" is neither a readable path nor a bundled model; did you mean: "
                   "meta-llama/Llama-3.1-8B"),
            std::string::npos)
      << e;
  e = error_of("Llama-3.1-9B");  // org-less: through the alias, shown by the id
  EXPECT_NE(e.find("did you mean: meta-llama/Llama-3.1-8B"), std::string::npos) << e;
  e = error_of("qqqqqqqqqqqq");
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
  EXPECT_NE(e.find("run `llmcost models` for the list"), std::string::npos) << e;
}

}  // namespace
}  // namespace llmcost
