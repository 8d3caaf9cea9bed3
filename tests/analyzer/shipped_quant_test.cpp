// As-shipped weight bytes: each method's quantization description read into per-tensor stored
// formats, with the bytes of a tiny llama worked out by hand (shapes chosen off the 128 grid so
// that scale blocks round), plus the one-line errors of malformed descriptions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "llmcost/cost_model.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"
#include "llmcost/plan.h"
#include "llmcost/value.h"
#include "llmcost/shipped_quant.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;
const std::string kConfigDir = LLMCOST_CONFIG_DIR;

// One decoder layer, d_model 160, 2 heads of 80 (1 KV head), d_ff 320, vocab 1000, untied:
//   q, o [160, 160]; k, v [80, 160]; gate, up [320, 160]; down [160, 320]
//   embed_tokens and lm_head [1000, 160] bf16: 2 x 320,000; 3 norms [160] bf16: 960.
constexpr int64_t kUnquantized = 2 * 320000 + 960;  // 640,960 B outside the linear layers
std::string tiny_llama(const std::string& quant_json) {
  return R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 160,
    "intermediate_size": 320, "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1,
    "vocab_size": 1000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "tie_word_embeddings": false,
    "torch_dtype": "bfloat16")" +
         (quant_json.empty() ? std::string() : ", \"quantization_config\": " + quant_json) + "}";
}

class ShippedQuant : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("llmcost_shipped_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream((dir_ / name).string(), std::ios::binary) << text;
    return (dir_ / name).string();
  }
  ModelIR load(const std::string& quant_json, const std::string& name = "config.json") const {
    return load_model(write(name, tiny_llama(quant_json)), kConfigDir);
  }
  int64_t shipped(const std::string& quant_json) const {
    auto b = weight_bytes_as_shipped(load(quant_json));
    EXPECT_TRUE(b.has_value());
    return b.value_or(-1);
  }
  std::string error_of(const std::string& quant_json) const {
    try {
      load(quant_json);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for " << quant_json;
    return "";
  }
  fs::path dir_;
};

// The compute dtype the cost walk gives an op of the model as shipped.
std::string compute_of(const ModelIR& ir, const std::string& op_name) {
  CostModel cm(ir, QuantScheme::Auto, QuantPolicy{}, KvDtype::BF16);
  for (const auto& k : cm.ops())
    if (k.name == op_name) return k.compute_dtype;
  ADD_FAILURE() << "no op " << op_name;
  return "";
}

// fp8 block 128x128 (e4m3 + fp32 weight_scale_inv per block, ceil on both axes):
//   q, o: 25,600 + 2 x 2 x 4 = 25,616; k, v: 12,800 + 1 x 2 x 4 = 12,808
//   gate, up: 51,200 + 3 x 2 x 4 = 51,224; down: 51,200 + 2 x 3 x 4 = 51,224  -> 230,520
TEST_F(ShippedQuant, Fp8BlockRoundsScaleBlocks) {
  const int64_t linear = 2 * 25616 + 2 * 12808 + 3 * 51224;
  EXPECT_EQ(linear, 230520);
  EXPECT_EQ(shipped(R"({"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]})"),
            kUnquantized + linear);
  // down_proj not converted: bf16 102,400 instead of 51,224.
  EXPECT_EQ(shipped(R"({"quant_method": "fp8", "weight_block_size": [128, 128], "modules_to_not_convert": ["model.layers.0.mlp.down_proj"]})"),
            kUnquantized + linear - 51224 + 102400);
  // Static activations store an fp32 input_scale per linear: + 7 x 4.
  EXPECT_EQ(shipped(R"({"quant_method": "fp8", "weight_block_size": [128, 128], "activation_scheme": "static"})"),
            kUnquantized + linear + 28);
  ModelIR ir = load(R"({"quant_method": "fp8", "weight_block_size": [128, 128]})");
  EXPECT_EQ(compute_of(ir, "model.layers.0.self_attn"), "fp8");
  EXPECT_EQ(compute_of(ir, "lm_head"), "bf16");
  EXPECT_EQ(weight_format_description(ir, QuantScheme::Auto, QuantPolicy{}), "as shipped: fp8 block-128");
  // The same bytes as the what-if fp8_block128 scheme with the default policy (same tensors covered).
  EXPECT_EQ(weight_bytes(ir, QuantScheme::Auto, QuantPolicy{}), weight_bytes(ir, QuantScheme::FP8Block128, QuantPolicy{}));
}

// compressed-tensors W4A16 int4 pack-quantized, group 32, symmetric (Kimi-K2.5's shape):
// weight_packed int32 [out, in / 8] + weight_scale bf16 [out, in / 32] + weight_shape int64 [2]:
//   q, o: 12,800 + 1,600 + 16 = 14,416; k, v: 6,400 + 800 + 16 = 7,216
//   gate, up: 25,600 + 3,200 + 16 = 28,816; down: 160 x 40 x 4 + 160 x 10 x 2 + 16 = 28,816 -> 129,712
// Asymmetric adds weight_zero_point int32 [ceil(out / 8), groups]: q, o 20 x 5 x 4 = 400 each;
//   k, v 10 x 5 x 4 = 200 each; gate, up 40 x 5 x 4 = 800 each; down 20 x 10 x 4 = 800 -> 3,600.
// actorder "group" adds weight_g_idx int32 [in]: 6 x 640 + 1,280 = 5,120.
TEST_F(ShippedQuant, CompressedTensorsInt4PackQuantized) {
  const std::string group = R"("config_groups": {"group_0": {"targets": ["Linear"], "input_activations": null,
      "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 32, "symmetric": SYM, "actorder": ACT}}},
      "format": "pack-quantized", "ignore": ["lm_head", "re:.*never_matches.*"], "quant_method": "compressed-tensors")";
  auto cfg = [&](const char* sym, const char* act) {
    std::string g = group;
    g.replace(g.find("SYM"), 3, sym);
    g.replace(g.find("ACT"), 3, act);
    return "{" + g + "}";
  };
  const int64_t linear = 2 * 14416 + 2 * 7216 + 3 * 28816;
  EXPECT_EQ(linear, 129712);
  EXPECT_EQ(shipped(cfg("true", "null")), kUnquantized + linear);
  EXPECT_EQ(shipped(cfg("false", "null")), kUnquantized + linear + 3600);
  EXPECT_EQ(shipped(cfg("true", "\"group\"")), kUnquantized + linear + 5120);
  EXPECT_EQ(compute_of(load(cfg("true", "null")), "model.layers.0.mlp"), "bf16");
}

// compressed-tensors nvfp4-pack-quantized (W4A4): weight_packed u8 [out, in / 2] + weight_scale
// e4m3 [out, in / 16] + weight_global_scale and input_global_scale fp32:
//   q, o: 12,800 + 1,600 + 8 = 14,408; k, v: 6,400 + 800 + 8 = 7,208; gate, up, down: 25,600 + 3,200 + 8
TEST_F(ShippedQuant, CompressedTensorsNvfp4) {
  const std::string q = R"({"quant_method": "compressed-tensors", "format": "nvfp4-pack-quantized", "ignore": ["lm_head"],
      "config_groups": {"group_0": {"targets": ["Linear"],
        "weights": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16, "symmetric": true},
        "input_activations": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16, "dynamic": "local"}}}})";
  EXPECT_EQ(shipped(q), kUnquantized + 2 * 14408 + 2 * 7208 + 3 * 28808);
  EXPECT_EQ(compute_of(load(q), "model.layers.0.mlp"), "fp4");
}

// GPTQ 4-bit group 32 act-order: qweight int32 [in / 8, out] + qzeros int32 [groups, out / 8] +
// scales fp16 [groups, out] + g_idx int32 [in]:
//   q, o: 12,800 + 5 x 20 x 4 + 5 x 160 x 2 + 640 = 15,440; k, v: 6,400 + 200 + 800 + 640 = 8,040
//   gate, up: 25,600 + 800 + 3,200 + 640 = 30,240; down: 25,600 + 10 x 20 x 4 + 10 x 160 x 2 + 1,280 = 30,880
TEST_F(ShippedQuant, Gptq) {
  EXPECT_EQ(shipped(R"({"quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": true, "sym": true})"),
            kUnquantized + 2 * 15440 + 2 * 8040 + 2 * 30240 + 30880);
  EXPECT_NE(error_of(R"({"quant_method": "gptq", "bits": 3})").find("config.json: /quantization_config/bits must be 2, 4 or 8"),
            std::string::npos);
}

// AWQ GEMM 4-bit group 32: qweight int32 [in, out / 8] + qzeros int32 [in / 32, out / 8] + scales fp16 [in / 32, out]:
//   q, o: 160 x 20 x 4 + 5 x 20 x 4 + 5 x 160 x 2 = 14,800; k, v: 6,400 + 200 + 800 = 7,400
//   gate, up: 160 x 40 x 4 + 5 x 40 x 4 + 5 x 320 x 2 = 29,600; down: 320 x 20 x 4 + 10 x 20 x 4 + 10 x 160 x 2 = 29,600
TEST_F(ShippedQuant, Awq) {
  EXPECT_EQ(shipped(R"({"quant_method": "awq", "bits": 4, "group_size": 32, "zero_point": true, "version": "gemm"})"),
            kUnquantized + 2 * 14800 + 2 * 7400 + 3 * 29600);
  EXPECT_NE(error_of(R"({"quant_method": "awq", "bits": 4, "group_size": 32, "version": "gemv"})")
                .find("/quantization_config/version must be \"gemm\""),
            std::string::npos);
}

// bitsandbytes nf4, blocks of 64 over the flattened weight, quant_map fp32 [16]:
//   without double quant: n / 2 + 4 n / 64 + 64; q: 12,800 + 1,600 + 64 = 14,464; k: 7,264; 51,200-element: 28,864
//   double quant: n / 2 + n / 64 (u8 absmax) + 4 ceil(n / 64 / 256) + 64 + 1,024 (nested_quant_map fp32 [256]):
//   q: 12,800 + 400 + 4 x ceil(400 / 256) + 1,088 = 14,296; k: 6,400 + 200 + 4 + 1,088 = 7,692;
//   gate: 25,600 + 800 + 4 x ceil(800 / 256) + 1,088 = 27,504
TEST_F(ShippedQuant, BitsandbytesNf4) {
  EXPECT_EQ(shipped(R"({"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4"})"),
            kUnquantized + 2 * 14464 + 2 * 7264 + 3 * 28864);
  EXPECT_EQ(shipped(R"({"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4",
                        "bnb_4bit_use_double_quant": true})"),
            kUnquantized + 2 * 14296 + 2 * 7692 + 3 * 27504);
  EXPECT_NE(error_of(R"({"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "int4"})")
                .find("/quantization_config/bnb_4bit_quant_type must be \"nf4\" or \"fp4\""),
            std::string::npos);
}

// mxfp4 (gpt-oss's modules_to_not_convert): MLP in 32-element blocks of 16 B e2m1 + 1 B e8m0:
//   gate, up [320, 160]: 320 x 5 x 17 = 27,200; down [160, 320]: 160 x 10 x 17 = 27,200; attention bf16 153,600.
TEST_F(ShippedQuant, Mxfp4) {
  EXPECT_EQ(shipped(R"({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn", "lm_head"]})"),
            kUnquantized + 3 * 27200 + 153600);
}

// ModelOpt NVFP4 in an hf_quant_config.json beside X.json (it wins over X.json's own description),
// exclude_modules with globs: MLP in nvfp4 (u8 [out, in / 2] + e4m3 [out, in / 16] + weight_scale_2 +
// input_scale fp32) = 3 x 28,808; attention bf16 153,600.
TEST_F(ShippedQuant, ModeloptNvfp4BesideTheConfig) {
  write("m.hf_quant_config.json", R"({"producer": {"name": "modelopt", "version": "0.37.0"},
      "quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "group_size": 16,
                       "exclude_modules": ["lm_head", "*.self_attn*"]}})");
  ModelIR ir = load(R"({"quant_method": "fp8", "weight_block_size": [128, 128]})", "m.json");
  ASSERT_TRUE(ir.shipped_quant.has_value());
  EXPECT_EQ(ir.shipped_quant->method, "modelopt");
  EXPECT_EQ(weight_bytes_as_shipped(ir).value_or(-1), kUnquantized + 3 * 28808 + 153600);
  EXPECT_EQ(compute_of(ir, "model.layers.0.mlp"), "fp4");
  EXPECT_EQ(compute_of(ir, "model.layers.0.self_attn"), "bf16");
  // Bytes by stored format sum to the total.
  int64_t sum = 0;
  for (const auto& [name, b] : weight_bytes_by_format(ir, QuantScheme::Auto, QuantPolicy{})) sum += b;
  EXPECT_EQ(sum, kUnquantized + 3 * 28808 + 153600);
  // hf_quant_config.json beside config.json.
  write("config.json", tiny_llama(""));
  EXPECT_EQ(hf_quant_config_beside((dir_ / "config.json").string()), "");
  write("hf_quant_config.json", R"({"quantization": {"quant_algo": "FP8", "exclude_modules": ["lm_head"]}})");
  EXPECT_EQ(hf_quant_config_beside((dir_ / "config.json").string()), (dir_ / "hf_quant_config.json").string());
  // FP8 per tensor: e4m3 + weight_scale + input_scale fp32 per linear: 230,400 + 7 x 8.
  EXPECT_EQ(weight_bytes_as_shipped(load_model((dir_ / "config.json").string(), kConfigDir)).value_or(-1),
            kUnquantized + 230400 + 56);
}

// ModelOpt-shaped quantization_config inside config.json (quant_method modelopt), MIXED_PRECISION:
// attention FP8 (per tensor, 2 fp32 scalars), MLP W4A16_NVFP4 (no input_scale: 25,600 + 3,200 + 4).
TEST_F(ShippedQuant, ModeloptMixedInConfig) {
  ModelIR ir = load(R"({"quant_method": "modelopt", "quant_algo": "MIXED_PRECISION", "producer": {"name": "modelopt"},
      "quantized_layers": {"model.layers.0.self_attn.q_proj": {"quant_algo": "FP8"},
                           "model.layers.0.self_attn.k_proj": {"quant_algo": "FP8"},
                           "model.layers.0.mlp": {"quant_algo": "W4A16_NVFP4", "group_size": 16}},
      "ignore": ["lm_head"]})");
  // q fp8 25,608, k fp8 12,808; v, o bf16 25,600 + 51,200; MLP 3 x 28,804.
  EXPECT_EQ(weight_bytes_as_shipped(ir).value_or(-1), kUnquantized + 25608 + 12808 + 25600 + 51200 + 3 * 28804);
  EXPECT_EQ(compute_of(ir, "model.layers.0.mlp"), "bf16");
}

// Errors: one line naming the file and the JSON path; an unknown method loads, and as-shipped figures refuse.
TEST_F(ShippedQuant, Errors) {
  EXPECT_NE(error_of(R"({"quant_method": "fp8", "weight_block_size": [128]})")
                .find("config.json: /quantization_config/weight_block_size must be two positive integers, got [128]"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quant_method": "fp8", "weight_block_size": [128, 0]})").find("got [128, 0]"), std::string::npos);
  EXPECT_NE(error_of(R"({"quant_method": "compressed-tensors", "config_groups": {"g": {"targets": ["Linear"],
              "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 32}, "format": "marlin-24"}}})")
                .find("/quantization_config/config_groups/g/format compressed-tensors format \"marlin-24\" is not read"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quant_method": "compressed-tensors", "ignore": ["re:(unclosed"], "config_groups": {"g": {"targets": ["Linear"],
              "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}}})")
                .find("/quantization_config/ignore/0 must be a valid regular expression"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quant_method": "compressed-tensors", "ignore": ["re:(.*a)*x"], "config_groups": {"g": {"targets": ["Linear"],
              "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}}})")
                .find("/quantization_config/ignore/0 must be a regular expression without nested quantifiers"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quant_method": "modelopt", "quant_algo": "INT4_AWQ"})")
                .find("/quantization_config/quant_algo must be FP8, NVFP4, W4A16_NVFP4 or MIXED_PRECISION"),
            std::string::npos);
  ModelIR ir = load(R"({"quant_method": "hqq", "nbits": 4})");
  EXPECT_FALSE(weight_bytes_as_shipped(ir).has_value());
  try {
    CostModel cm(ir, QuantScheme::Auto, QuantPolicy{}, KvDtype::BF16);
    ADD_FAILURE() << "as shipped with an unread method did not refuse";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quant_method \"hqq\" is not read"), std::string::npos) << e.what();
  }
  // What-if schemes still work on it.
  EXPECT_GT(weight_bytes(ir, QuantScheme::NVFP4, QuantPolicy{}), 0);
}

// No quantization: as shipped is the config's dtype (fp32 here: 4 bytes per parameter).
TEST_F(ShippedQuant, UnquantizedIsTheConfigDtype) {
  std::string cfg = tiny_llama("");
  cfg.replace(cfg.find("bfloat16"), 8, "float32");
  ModelIR ir = load_model(write("config.json", cfg), kConfigDir);
  EXPECT_FALSE(weight_bytes_as_shipped(ir).has_value());
  EXPECT_EQ(weight_bytes(ir, QuantScheme::Auto, QuantPolicy{}), weight_bytes(ir, QuantScheme::FP32, QuantPolicy{}));
  EXPECT_EQ(compute_of(ir, "model.layers.0.mlp"), "fp32");
  EXPECT_EQ(weight_format_description(ir, QuantScheme::Auto, QuantPolicy{}), "as shipped: fp32 (unquantized; config dtype float32)");
}

// DeepSeek-V3's fp8 checkpoint: main model 673,150,582,112 B (memory_test) and its MTP layer with
// eh_proj kept in bf16: together 688,574,809,152 B, 11.9 MB under the checkpoint index's total_size
// (688,586,727,753 B).
TEST(ShippedQuantBundled, DeepSeekV3WithMtp) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigDir);
  EXPECT_EQ(weight_bytes(ir, QuantScheme::Auto, QuantPolicy{}) + mtp_weight_bytes(ir, QuantScheme::Auto, QuantPolicy{}),
            688574809152LL);
}

// Wrapped (text_config) models: the quantization describes the checkpoint's names
// ("model.language_model.layers.N..."), which the IR's causal-LM names still match.
TEST_F(ShippedQuant, WrappedNamesAndTextConfigQuantization) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/Qwen__Qwen3-VL-8B-Instruct.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  write("vl.hf_quant_config.json", R"({"quantization": {"quant_algo": "NVFP4", "group_size": 16,
      "exclude_modules": ["lm_head", "model.language_model.layers.0.self_attn*", "model.visual*"]}})");
  ModelIR ir = load_model(write("vl.json", text), kConfigDir);
  const Op& a0 = ir.layers[0].ops[1];
  const Op& a1 = ir.layers[1].ops[1];
  ASSERT_EQ(a0.kind, OpKind::Attention);
  EXPECT_EQ(a0.tensors[0].stored.elem, StoredElem::BF16);
  EXPECT_EQ(a1.tensors[0].stored.elem, StoredElem::E2M1);
  // Kimi-K2.5 keeps its compressed-tensors description in text_config: a routed expert's
  // gate_proj [2048, 7168] in int4 group 32 = 2048 x 896 x 4 + 2048 x 224 x 2 (bf16) + 16 = 8,257,552 B;
  // attention stays bf16 (ignored by "re:.*self_attn.*").
  ModelIR kimi = load_model(std::string(LLMCOST_TEST_DATA) + "/models-2026/moonshotai__Kimi-K2.5.json", kConfigDir);
  bool saw_expert = false, saw_attn = false;
  for (const auto& op : kimi.layers[3].ops) {
    if (op.kind == OpKind::RoutedExperts) {
      const Tensor* g = find_role(op, TensorRole::FfnGate);
      ASSERT_NE(g, nullptr);
      EXPECT_EQ(tensor_bytes(*g, QuantScheme::Auto, QuantPolicy{}), 8257552);
      saw_expert = true;
    }
    if (op.kind == OpKind::Attention) {
      for (const auto& t : op.tensors) EXPECT_EQ(t.stored.elem, StoredElem::BF16) << t.checkpoint_name;
      saw_attn = true;
    }
  }
  EXPECT_TRUE(saw_expert && saw_attn);
}

// A scenario without `quant` plans the models as shipped.
TEST(ShippedQuantBundled, ScenarioDefaultsToAuto) {
  Scenario s = parse_scenario(parse_yaml("name: t\nmodels: [meta-llama/Llama-3.1-8B]\nhardware: [h200]\n"
                                          "workload: {concurrency: 8, prompt_tokens: 128, output_tokens: 32}\n",
                                          "s.yaml"),
                               "s.yaml");
  ASSERT_EQ(s.quants.size(), 1u);
  EXPECT_EQ(s.quants[0], QuantScheme::Auto);
}

// The one pattern matcher: exact names and their parents, dot-free suffixes, fnmatch globs across
// dots, and re: regexes anchored at the start.
TEST(ModulePatterns, Matching) {
  ModulePatterns p({"lm_head", "gate", "model.layers.0.mlp.experts", "*.self_attn*", "re:.*shared_experts.*"}, "f.json", "/x");
  EXPECT_TRUE(p.matches("lm_head"));
  EXPECT_TRUE(p.matches("model.layers.3.mlp.gate"));
  EXPECT_FALSE(p.matches("model.layers.3.mlp.gate_proj"));
  EXPECT_TRUE(p.matches("model.layers.0.mlp.experts.7.up_proj"));
  EXPECT_FALSE(p.matches("model.layers.1.mlp.experts.7.up_proj"));
  EXPECT_TRUE(p.matches("model.layers.9.self_attn.q_proj"));
  EXPECT_TRUE(p.matches("model.layers.9.mlp.shared_experts.down_proj"));
  EXPECT_FALSE(p.matches("model.layers.9.mlp.down_proj"));
}

// The fast paths ("X*" prefixes, ".*A(x|y)B.*" substrings) agree with a regex engine / glob on
// the same names, including names where they must not match.
TEST(ModulePatterns, FastPathsAgreeWithTheRegexEngine) {
  ModulePatterns p({"mtp.layers.0*", "re:.*mlp\\.(gate|up|gate_up|down)_proj.*", "re:.*vision_tower.*"}, "f.json", "/x");
  ModulePatterns slow({"re:^mtp\\.layers\\.0.*", "re:.*mlp\\.(gate|up|gate_up|down)_pro[j].*", "re:.*vision_towe[r].*"}, "f.json", "/x");
  for (const char* m : {"mtp.layers.0.mlp.experts.3.up_proj", "mtp.layers.01", "mtp.layers.1.self_attn", "model.mtp.layers.0",
                        "model.layers.2.mlp.gate_up_proj", "model.layers.2.mlp.gate_proj", "model.layers.2.mlp.down_proj",
                        "model.layers.2.mlp.experts.1.down_proj", "model.layers.2.mlpXgate_proj", "model.layers.2.mlp.gate",
                        "vision_tower.blocks.0", "model.vision_tower_x", "model.layers.0.self_attn.q_proj"})
    EXPECT_EQ(p.matches(m), slow.matches(m)) << m;
  EXPECT_TRUE(p.matches("model.layers.2.mlp.gate_up_proj"));
  EXPECT_FALSE(p.matches("model.layers.2.mlpXgate_proj"));  // "\\." is a dot, not any character
}

// The what-if schemes written as stored formats keep their bytes: [333, 4100] worked by hand.
TEST(StoredFormat, SchemeBytesByHand) {
  // NVFP4: 4100 -> 257 blocks of 16 (8 B e2m1 + 1 B e4m3) per row + fp32 per tensor.
  EXPECT_EQ(matrix_bytes(333, 4100, QuantScheme::NVFP4), 333 * 257 * 9 + 4);
  // MXFP4: 129 blocks of 32 (16 B + 1 B) per row.
  EXPECT_EQ(matrix_bytes(333, 4100, QuantScheme::MXFP4), 333 * 129 * 17);
  // fp8 block 128: 333 x 4100 + fp32 x ceil(333/128) = 3 x ceil(4100/128) = 33.
  EXPECT_EQ(matrix_bytes(333, 4100, QuantScheme::FP8Block128), 333 * 4100 + 4 * 3 * 33);
  // awq_g128: 333 x 2050 nibble bytes + fp16 x 333 x 33 groups + ceil(333 x 33 / 2) zero bytes.
  EXPECT_EQ(matrix_bytes(333, 4100, QuantScheme::AWQ_G128), 333 * 2050 + 2 * 333 * 33 + (333 * 33 + 1) / 2);
  // nf4_dq over 1,365,300 elements: 682,650 + 21,333 u8 absmax + 4 x ceil(21,333 / 256) = 84.
  EXPECT_EQ(matrix_bytes(333, 4100, QuantScheme::NF4_DQ), 682650 + 21333 + 4 * 84);
  EXPECT_EQ(parse_quant_scheme("AUTO"), QuantScheme::Auto);
  EXPECT_EQ(std::string(quant_scheme_name(QuantScheme::Auto)), "auto");
}

}  // namespace
}  // namespace llmcost
