// Config parsing and loading: YAML == JSON, model lookup, and every bad-input error naming
// the file, the JSON pointer and what was expected (library level; the CLI is tested in tests/cli).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "llmcost/config_reader.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace fs = std::filesystem;

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;
const std::string kData = LLMCOST_TEST_DATA;

// A scratch directory per test binary run, removed at the end.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("llmcost_config_test_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// The error message of loading `path`, or "" when it loads.
std::string load_error(const std::string& path) {
  try {
    ModelIR ir = load_model(path, kConfigDir);
    count_params(ir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Loads a config given as text under `name`; returns the error line.
std::string error_of(const TempDir& d, const std::string& name, const std::string& text) {
  return load_error(d.write(name, text));
}

const char* kTiny = R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
  "num_key_value_heads": 2, "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 1000})";

// ---------------------------------------------------------------- YAML

// configs/examples/hypothetical-moe.yaml and tests/data/hypothetical-moe.json say the same.
//   embed, lm_head 65536*2048 = 134,217,728 each
//   attention per layer: q 2048*2048 = 4,194,304; k, v 2048*512 = 1,048,576 each; o 4,194,304
//     -> 10,485,760; q/k norms 2*128 = 256; two norms 4,096
//   layer 0 (dense): + mlp 3*2048*6144 = 37,748,736 -> 48,238,848
//   layers 1..23 (MoE): + router 32*2048 = 65,536 + experts 32*3*2048*768 = 150,994,944 -> 161,550,592
//   total = 2*134,217,728 + 48,238,848 + 23*161,550,592 + 2,048 = 4,032,339,968
//   active = total - 23 * 28 unused experts * 4,718,592 = 993,566,720
TEST(YamlModel, ExampleMatchesEquivalentJson) {
  ParamCounts y = count_params(load_model(kConfigDir + "/examples/hypothetical-moe.yaml", kConfigDir));
  ParamCounts j = count_params(load_model(kData + "/hypothetical-moe.json", kConfigDir));
  EXPECT_EQ(y.total, 4032339968);
  EXPECT_EQ(y.active, 993566720);
  EXPECT_EQ(y.total, j.total);
  EXPECT_EQ(y.active, j.active);
  EXPECT_EQ(y.active_compute, j.active_compute);
  EXPECT_EQ(y.breakdown, j.breakdown);
}

TEST(YamlModel, EveryBundledJsonRoundTripsThroughYamlFlowSyntax) {
  // JSON is (nearly) a YAML subset: each bundled config read as YAML gives the same counts.
  TempDir d;
  for (const auto& m : list_bundled_models(kConfigDir)) {
    SCOPED_TRACE(m.stem);
    std::string text = read_text_file(m.path);
    ParamCounts j = count_params(build_model_ir(parse_json(text, m.path), m.path));
    ParamCounts y = count_params(build_model_ir(parse_yaml(text, m.stem + ".yaml"), m.stem + ".yaml"));
    EXPECT_EQ(j.total, y.total);
    EXPECT_EQ(j.active, y.active);
    EXPECT_EQ(j.mtp, y.mtp);
  }
}

TEST(YamlModel, ScalarTyping) {
  Value v = parse_yaml("a: 12\nb: 1.5e3\nc: \"12\"\nd: true\ne: ~\nf: hello\ng: -7\n", "t.yaml");
  EXPECT_TRUE(v.find("a")->is_int());
  EXPECT_EQ(v.find("a")->as_int(), 12);
  EXPECT_EQ(v.find("b")->type(), Value::Type::Float);
  EXPECT_DOUBLE_EQ(v.find("b")->as_double(), 1500.0);
  EXPECT_TRUE(v.find("c")->is_string());  // quoted stays a string
  EXPECT_TRUE(v.find("d")->is_bool());
  EXPECT_TRUE(v.find("e")->is_null());
  EXPECT_TRUE(v.find("f")->is_string());
  EXPECT_EQ(v.find("g")->as_int(), -7);
}

TEST(ValueTree, DuplicateKeysLastWinsInFirstPosition) {
  // Small and large objects take different paths in Value::object_from; same semantics.
  for (int n : {3, 40}) {
    std::string json = "{";
    for (int i = 0; i < n; ++i) json += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
    json += "\"k1\": 100, \"z\": 5}";
    for (const Value& v : {parse_json(json, "d.json"), parse_yaml(json, "d.yaml")}) {
      ASSERT_EQ(v.members().size(), static_cast<size_t>(n + 1));
      EXPECT_EQ(v.members()[1].first, "k1");
      EXPECT_EQ(v.find("k1")->as_int(), 100);
      EXPECT_EQ(v.members().back().first, "z");
    }
  }
}

// ---------------------------------------------------------------- lookup

TEST(ModelLookup, StemHfIdAliasPathAndDirectory) {
  const int64_t mixtral = 46702792704;
  for (const char* spec : {"mistralai__Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b",
                           "Mixtral-8x7B-v0.1", "MIXTRAL-8X7B"})
    EXPECT_EQ(count_params(load_model(spec, kConfigDir)).total, mixtral) << spec;
  TempDir d;
  d.write("mixdir/config.json", read_text_file(kConfigDir + "/models/mistralai__Mixtral-8x7B-v0.1.json"));
  ModelIR ir = load_model(d.path() + "/mixdir", kConfigDir);
  EXPECT_EQ(count_params(ir).total, mixtral);
  EXPECT_EQ(ir.name, "mixdir");  // a config.json is named after its directory
}

TEST(ModelLookup, UnknownNameSuggestsCloseModels) {
  std::string e = load_error("mixtral");
  EXPECT_NE(e.find("mistralai/Mixtral-8x7B-v0.1"), std::string::npos) << e;
  e = load_error("no-such-model-anywhere");
  EXPECT_NE(e.find("llmcost models"), std::string::npos) << e;
}

// ---------------------------------------------------------------- bad input

TEST(BadConfig, MalformedJson) {
  TempDir d;
  std::string e = error_of(d, "trunc.json", R"({"model_type": "llama", "hidden_size": 64,)");
  EXPECT_NE(e.find("trunc.json: / is not valid JSON: parse error at line 1"), std::string::npos) << e;
  e = error_of(d, "empty.json", "");
  EXPECT_NE(e.find("empty.json: / is not valid JSON"), std::string::npos) << e;
  e = error_of(d, "array.json", "[1, 2]");
  EXPECT_NE(e.find("array.json: / must be an object, got an array"), std::string::npos) << e;
}

TEST(BadConfig, MissingRequiredField) {
  TempDir d;
  std::string e = error_of(d, "missing.json", R"({"model_type": "llama", "num_attention_heads": 4,
      "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 1000})");
  EXPECT_NE(e.find("missing.json: /hidden_size is required (an integer) but is missing"), std::string::npos) << e;
}

TEST(BadConfig, WrongType) {
  TempDir d;
  Value v = parse_json(kTiny, "x");
  v.set("hidden_size", Value::string("64"));
  std::string e;
  try {
    build_model_ir(v, "wrong.json");
  } catch (const ConfigError& ex) {
    e = ex.what();
    EXPECT_EQ(ex.file(), "wrong.json");
    EXPECT_EQ(ex.pointer(), "/hidden_size");
  }
  EXPECT_EQ(e, "wrong.json: /hidden_size must be an integer, got \"64\"");
  v = parse_json(kTiny, "x");
  v.set("tie_word_embeddings", Value::string("yes"));
  EXPECT_THROW(
      {
        try {
          build_model_ir(v, "wrong.json");
        } catch (const ConfigError& ex) {
          EXPECT_STREQ(ex.what(), "wrong.json: /tie_word_embeddings must be true or false, got \"yes\"");
          throw;
        }
      },
      ConfigError);
}

TEST(BadConfig, NegativeOrZeroSize) {
  TempDir d;
  Value v = parse_json(kTiny, "x");
  std::string e = error_of(d, "neg.json", std::string(kTiny).replace(std::string(kTiny).find("\"hidden_size\": 64"), 17,
                                                                      "\"hidden_size\": -64"));
  EXPECT_NE(e.find("neg.json: /hidden_size must be a positive integer, got -64"), std::string::npos) << e;
  e = error_of(d, "zero.json", std::string(kTiny).replace(std::string(kTiny).find("\"intermediate_size\": 128"), 24,
                                                          "\"intermediate_size\": 0"));
  EXPECT_NE(e.find("zero.json: /intermediate_size must be a positive integer, got 0"), std::string::npos) << e;
  e = error_of(d, "frac.json", std::string(kTiny).replace(std::string(kTiny).find("\"vocab_size\": 1000"), 18,
                                                          "\"vocab_size\": 1000.5"));
  EXPECT_NE(e.find("frac.json: /vocab_size must be an integer, got 1000.5"), std::string::npos) << e;
}

TEST(BadConfig, TopKGreaterThanExperts) {
  TempDir d;
  std::string text = std::string(kTiny);
  text.replace(text.find("\"llama\""), 7, "\"mixtral\", \"num_local_experts\": 8, \"num_experts_per_tok\": 9");
  std::string e = error_of(d, "topk.json", text);
  EXPECT_NE(e.find("topk.json: /num_experts_per_tok must be <= num_local_experts (8), got 9"), std::string::npos) << e;
}

TEST(BadConfig, KvHeadsMustDivideHeads) {
  TempDir d;
  std::string text = std::string(kTiny);
  text.replace(text.find("\"num_key_value_heads\": 2"), 24, "\"num_key_value_heads\": 3");
  std::string e = error_of(d, "kv.json", text);
  EXPECT_NE(e.find("kv.json: /num_key_value_heads must divide num_attention_heads (4), got 3"), std::string::npos) << e;
}

TEST(BadConfig, UnknownArchitectureListsSupported) {
  TempDir d;
  std::string e = error_of(d, "bert.json", R"({"model_type": "bert", "architectures": ["BertModel"]})");
  EXPECT_NE(e.find("bert.json: /model_type \"bert\" is not a supported architecture"), std::string::npos) << e;
  for (const auto& a : supported_architectures()) EXPECT_NE(e.find(a), std::string::npos) << a;
  e = error_of(d, "none.json", R"({"hidden_size": 64})");
  EXPECT_NE(e.find("none.json: /model_type is required"), std::string::npos) << e;
  EXPECT_NE(e.find("supported: "), std::string::npos) << e;
}

TEST(BadConfig, ErrorsInsideTextConfigCarryTheNestedPointer) {
  TempDir d;
  std::string e = error_of(d, "mm.json", R"({"model_type": "llama4", "text_config": {"model_type": "llama4_text",
      "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100,
      "intermediate_size": 32, "num_local_experts": 0, "num_experts_per_tok": 1}})");
  EXPECT_NE(e.find("mm.json: /text_config/num_local_experts must be an integer in [1, 1048576], got 0"),
            std::string::npos)
      << e;
}

TEST(BadConfig, BadLayerLists) {
  TempDir d;
  std::string text = std::string(kTiny);
  text.replace(text.find("\"llama\""), 7, R"("qwen3_moe", "num_experts": 4, "num_experts_per_tok": 2, "mlp_only_layers": [0, 7])");
  std::string e = error_of(d, "layers.json", text);
  EXPECT_NE(e.find("layers.json: /mlp_only_layers/1 must be a layer index below num_hidden_layers (2), got 7"),
            std::string::npos)
      << e;
  text = std::string(kTiny);
  text.replace(text.find("\"llama\""), 7, R"("llama", "layer_types": ["full_attention"])");
  e = error_of(d, "types.json", text);
  EXPECT_NE(e.find("types.json: /layer_types must have num_hidden_layers (2) entries, got 1"), std::string::npos) << e;
}

TEST(BadConfig, SizesThatOverflowNameTheFile) {
  TempDir d;
  std::string e = error_of(d, "huge.json", R"({"model_type": "llama", "hidden_size": 4294967296,
      "num_attention_heads": 1, "intermediate_size": 4294967296, "num_hidden_layers": 100000,
      "vocab_size": 4294967296})");
  EXPECT_EQ(e.rfind("huge.json", 0) == 0 || e.find("/huge.json:") != std::string::npos, true) << e;
  EXPECT_NE(e.find("overflows 64-bit"), std::string::npos) << e;
  e = error_of(d, "huge2.json", R"({"model_type": "llama", "hidden_size": 2000000000, "num_attention_heads": 1,
      "intermediate_size": 2000000000, "num_hidden_layers": 100000, "vocab_size": 100})");
  EXPECT_NE(e.find("/huge2.json:"), std::string::npos) << e;
}

TEST(BadConfig, UnreadablePathsAndDirectories) {
  TempDir d;
  std::string e = load_error(d.path() + "/nope/config.json");
  EXPECT_NE(e.find("nope/config.json: cannot read file (No such file or directory)"), std::string::npos) << e;
  fs::create_directories(d.path() + "/emptydir");
  e = load_error(d.path() + "/emptydir");
  EXPECT_NE(e.find("emptydir: directory has no config.json"), std::string::npos) << e;
  try {
    read_text_file(d.path());
    ADD_FAILURE() << "reading a directory should fail";
  } catch (const Error& ex) {
    EXPECT_NE(std::string(ex.what()).find("it is a directory"), std::string::npos) << ex.what();
  }
}

TEST(BadConfig, EndlessFileIsNotRead) {
  std::string e = load_error("/dev/zero");
  EXPECT_NE(e.find("/dev/zero: cannot read file (it is a character device, not a regular file)"), std::string::npos) << e;
}

TEST(BadConfig, BadYaml) {
  TempDir d;
  std::string e = error_of(d, "bad.yaml", "model_type: llama\nhidden_size: [1, 2\n");
  EXPECT_NE(e.find("bad.yaml: / is not valid YAML: line "), std::string::npos) << e;
  e = error_of(d, "type.yaml", "model_type: llama\nhidden_size: sixty-four\n");
  EXPECT_NE(e.find("type.yaml: /hidden_size must be an integer, got \"sixty-four\""), std::string::npos) << e;
  e = error_of(d, "deep.yaml", std::string(5000, '['));
  EXPECT_NE(e.find("deep.yaml: / is not valid YAML"), std::string::npos) << e;
  // Billion laughs: ten levels of ten aliases each.
  std::string laughs = "a: &a [1,1,1,1,1,1,1,1,1,1]\n";
  std::string prev = "a";
  for (int i = 0; i < 10; ++i) {
    std::string name = "b" + std::to_string(i);
    laughs += name + ": &" + name + " [";
    for (int k = 0; k < 10; ++k) laughs += (k ? ",*" : "*") + prev;
    laughs += "]\n";
    prev = name;
  }
  e = error_of(d, "laughs.yaml", laughs);
  EXPECT_NE(e.find("laughs.yaml: / expands to more than"), std::string::npos) << e;
}

TEST(BadConfig, DeepJsonNesting) {
  TempDir d;
  std::string e = error_of(d, "deep.json", std::string(100000, '['));
  EXPECT_NE(e.find("deep.json: / is nested deeper than 64 levels"), std::string::npos) << e;
}

TEST(BadConfig, EveryErrorIsOneLine) {
  TempDir d;
  for (const char* text : {"{", "[]", "{\"model_type\": 5}", "{\"model_type\": \"llama\"}",
                           "{\"model_type\": \"llama\", \"hidden_size\": \"\\n\"}"}) {
    std::string e = error_of(d, "one.json", text);
    EXPECT_FALSE(e.empty()) << text;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

// ---------------------------------------------------------------- ConfigReader

TEST(ConfigReaderTest, PointersEscapeSlashAndTilde) {
  Value v = parse_json(R"({"a/b": {"c~d": "x"}})", "p.json");
  ConfigReader r(v, "p.json");
  auto child = r.child("a/b");
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->pointer(), "/a~1b");
  EXPECT_EQ(child->pointer_of("c~d"), "/a~1b/c~0d");
  try {
    child->req_int("c~d");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "p.json: /a~1b/c~0d must be an integer, got \"x\"");
  }
}

TEST(ConfigReaderTest, IntegralFloatsAcceptedNullIsAbsent) {
  Value v = parse_json(R"({"a": 4096.0, "b": null, "c": 1e300, "d": 9223372036854775808})", "p.json");
  ConfigReader r(v, "p.json");
  EXPECT_EQ(r.req_int("a"), 4096);
  EXPECT_FALSE(r.has("b"));
  EXPECT_EQ(r.int_or("b", 7), 7);
  EXPECT_THROW(r.req_int("c"), ConfigError);
  EXPECT_THROW(r.req_int("d"), ConfigError);  // above int64: parsed as a float, rejected
}

}  // namespace
}  // namespace llmcost
