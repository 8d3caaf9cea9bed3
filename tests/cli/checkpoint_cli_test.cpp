// `llmcost analyze` on checkpoints end to end: safetensors directories (index + shards, a config
// beside them for the cross-check), a GGUF file, a Hugging Face cache id, and hostile headers
// (one error line, exit 1, nothing on stdout).
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzer/checkpoint_bytes.h"
#include "cli/cli_fixture.h"

namespace llmcost_test {
namespace {

using nlohmann::json;

class CheckpointCli : public CliTest {};

const char* kTinyLlama = R"({"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2,
  "num_key_value_heads": 1, "intermediate_size": 16, "vocab_size": 32, "num_hidden_layers": 1,
  "tie_word_embeddings": false})";

// The tiny llama's 12 tensors (1,112 elements, by hand: see tests/analyzer/checkpoint_header_test.cpp),
// BF16, with `drop` left out and `extra` added.
std::vector<StTensor> tiny_llama_tensors(const std::string& drop, const std::vector<StTensor>& extra) {
  const std::string L = "model.layers.0.";
  std::vector<StTensor> ts = {
      {"model.embed_tokens.weight", "BF16", {32, 8}, 512}, {L + "self_attn.q_proj.weight", "BF16", {8, 8}, 128},
      {L + "self_attn.k_proj.weight", "BF16", {4, 8}, 64},  {L + "self_attn.v_proj.weight", "BF16", {4, 8}, 64},
      {L + "self_attn.o_proj.weight", "BF16", {8, 8}, 128}, {L + "mlp.gate_proj.weight", "BF16", {16, 8}, 256},
      {L + "mlp.up_proj.weight", "BF16", {16, 8}, 256},     {L + "mlp.down_proj.weight", "BF16", {8, 16}, 256},
      {L + "input_layernorm.weight", "BF16", {8}, 16},      {L + "post_attention_layernorm.weight", "BF16", {8}, 16},
      {"model.norm.weight", "BF16", {8}, 16},               {"lm_head.weight", "BF16", {32, 8}, 512}};
  std::vector<StTensor> out;
  for (auto& t : ts)
    if (t.name != drop) out.push_back(t);
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

TEST_F(CheckpointCli, ShardedDirectoryWithConfigExactAndCrossChecked) {
  fs::create_directories(dir_ / "ck");
  auto ts = tiny_llama_tensors("", {});
  std::vector<StTensor> a(ts.begin(), ts.begin() + 6), b(ts.begin() + 6, ts.end());
  write_file(path("ck/model-00001-of-00002.safetensors"), safetensors_bytes(a));
  write_file(path("ck/model-00002-of-00002.safetensors"), safetensors_bytes(b));
  std::string wm;
  for (const auto& t : a) wm += (wm.empty() ? "\"" : ",\"") + t.name + "\":\"model-00001-of-00002.safetensors\"";
  for (const auto& t : b) wm += ",\"" + t.name + "\":\"model-00002-of-00002.safetensors\"";
  write_file(path("ck/model.safetensors.index.json"), "{\"weight_map\":{" + wm + "}}");
  write_file(path("ck/config.json"), kTinyLlama);

  CliRun r = run("analyze ck --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["checkpoint"]["format"], "safetensors");
  EXPECT_EQ(j["checkpoint"]["files"].size(), 2u);
  EXPECT_EQ(j["parameters"]["exact"], true);
  EXPECT_EQ(j["parameters"]["total"], 1112);
  EXPECT_EQ(j["parameters"]["family_total"], 1112);
  EXPECT_EQ(j["stored"]["all"]["bytes"], 2224);  // BF16: 2 bytes per element
  EXPECT_EQ(j["cross_check"]["exact"], true);
  EXPECT_EQ(j["cross_check"]["matched"], 12);

  r = run("analyze ck");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("parameters: 1,112"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("every IR tensor is in the checkpoint"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no tensor data is read"), std::string::npos) << r.out;
}

TEST_F(CheckpointCli, CrossCheckListsTheMissingAndExtraTensor) {
  fs::create_directories(dir_ / "ck");
  write_file(path("ck/model.safetensors"),
             safetensors_bytes(tiny_llama_tensors("model.layers.0.mlp.up_proj.weight", {{"model.extra.weight", "F32", {3}, 12}})));
  write_file(path("ck/config.json"), kTinyLlama);
  CliRun r = run("analyze ck --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["cross_check"]["exact"], false);
  ASSERT_EQ(j["cross_check"]["missing"].size(), 1u);
  EXPECT_EQ(j["cross_check"]["missing"][0]["name"], "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(j["cross_check"]["missing"][0]["expected_shape"], json::array({16, 8}));
  ASSERT_EQ(j["cross_check"]["extra"].size(), 1u);
  EXPECT_EQ(j["cross_check"]["extra"][0]["stored_name"], "model.extra.weight");
  EXPECT_EQ(j["parameters"]["total"], 1112 - 128 + 3);  // what is stored, not what the family expects
  r = run("analyze ck/model.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.extra.weight"), std::string::npos) << r.out;
}

TEST_F(CheckpointCli, NoFamilyStillCounts) {
  fs::create_directories(dir_ / "ck");
  write_file(path("ck/model.safetensors"), safetensors_bytes({{"w", "F32", {10, 10}, 400}, {"b", "BF16", {10}, 20}}));
  write_file(path("ck/config.json"), R"({"model_type": "no_such_family_yet", "architectures": ["NoSuchForCausalLM"]})");
  CliRun r = run("analyze ck --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["parameters"]["total"], 110);
  EXPECT_TRUE(j["cross_check"].is_null());
  ASSERT_EQ(j["notes"].size(), 1u);
  EXPECT_NE(j["notes"][0].get<std::string>().find("no family cross-check"), std::string::npos);
}

TEST_F(CheckpointCli, GgufFile) {
  GgufBytes g;
  g.header(3, 2, 1).kv_str("general.architecture", "qwen3");
  g.tensor("token_embd.weight", {256, 4}, 12, 0).tensor("output_norm.weight", {256}, 0, 576).data(1600);
  write_file(path("m.gguf"), g.b);
  CliRun r = run("analyze m.gguf --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["checkpoint"]["format"], "gguf");
  EXPECT_EQ(j["checkpoint"]["architecture"], "qwen3");
  EXPECT_EQ(j["parameters"]["total"], 1024 + 256);
  EXPECT_EQ(j["stored"]["all"]["bytes"], 576 + 1024);  // 4 Q4_K blocks of 144 bytes + 256 F32
  r = run("analyze m.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Q4_K"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4.5"), std::string::npos) << r.out;  // bits per element
}

TEST_F(CheckpointCli, HostileHeadersAreOneLineAndExitOne) {
  GgufBytes g;
  g.header(3, 1, 0).tensor("t", {4}, 99, 0).data(16);
  write_file(path("bad.gguf"), g.b);
  write_file(path("bad.safetensors"), safetensors_raw("{}", 0, int64_t{1} << 60));
  for (const std::string& f : {"bad.gguf", "bad.safetensors"}) {
    CliRun r = run("analyze " + f);
    EXPECT_EQ(r.code, 1) << f;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(r.err.rfind("llmcost: error: " + f + ": ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST_F(CheckpointCli, HuggingFaceCacheIdResolvesOffline) {
  const fs::path snap = dir_ / "hub" / "models--Org--Tiny" / "snapshots" / "0123abcd";
  fs::create_directories(snap);
  fs::create_directories(dir_ / "hub" / "models--Org--Tiny" / "refs");
  write_file((dir_ / "hub" / "models--Org--Tiny" / "refs" / "main").string(), "0123abcd");
  write_file((snap / "config.json").string(), kTinyLlama);
  write_file((snap / "model.safetensors").string(), safetensors_bytes(tiny_llama_tensors("", {})));
  const char* old = std::getenv("HF_HUB_CACHE");
  std::string saved = old ? old : "";
  ::setenv("HF_HUB_CACHE", (dir_ / "hub").c_str(), 1);
  CliRun r = run("analyze Org/Tiny --format json");
  CliRun bundled = run("analyze mixtral-8x7b --format json");  // a bundled alias is untouched
  if (old) ::setenv("HF_HUB_CACHE", saved.c_str(), 1);
  else ::unsetenv("HF_HUB_CACHE");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["checkpoint"]["hf_snapshot"], snap.string());
  EXPECT_EQ(j["parameters"]["total"], 1112);
  EXPECT_EQ(j["cross_check"]["exact"], true);
  ASSERT_EQ(bundled.code, 0) << bundled.err;
  EXPECT_TRUE(json::parse(bundled.out).contains("params"));
}

}  // namespace
}  // namespace llmcost_test
