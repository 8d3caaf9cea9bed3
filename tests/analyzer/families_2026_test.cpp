// 2025-26 configs from ../shared/models-2026 (copies in tests/data/models-2026): JSON with
// Python's non-finite literals, and wrapper configs whose text_config holds the language model.
// Each wrapped total is derived by hand from the reference modeling file and must equal the total
// of the same text_config read as a standalone config (the model counted exactly once).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"
#include "models_2026.h"

namespace llmcost {
namespace {

using models_2026::error_of;
using models_2026::load;

bool has_note(const ModelIR& ir, const std::string& part) {
  for (const auto& n : ir.notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

// The wrapped config and its text_config alone give the same counts.
void expect_counted_once(const Value& wrapped, int64_t total) {
  ModelIR ir = build_model_ir(wrapped, "wrapped.json");
  EXPECT_TRUE(has_note(ir, "vision tower is not")) << "no note that the vision tower is left out";
  ParamCounts w = count_params(ir);
  EXPECT_EQ(w.total, total);
  const Value* tc = wrapped.find("text_config");
  ASSERT_NE(tc, nullptr);
  ParamCounts u = count_params(build_model_ir(*tc, "unwrapped.json"));
  EXPECT_EQ(u.total, w.total);
  EXPECT_EQ(u.active, w.active);
}

TEST(JsonNonFinite, PythonLiteralsAreNonFiniteNumbers) {
  Value v = parse_json(R"([0.0, Infinity, -Infinity, NaN, "NaN Infinity", 0.000000, -0.000000, /* NaN */ 1.5])", "t.json");
  const auto& a = v.items();
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(a[0].as_double(), 0.0);
  EXPECT_TRUE(std::isinf(a[1].as_double()) && a[1].as_double() > 0);
  EXPECT_TRUE(std::isinf(a[2].as_double()) && a[2].as_double() < 0);
  EXPECT_TRUE(std::isnan(a[3].as_double()));
  EXPECT_EQ(a[4].as_string(), "NaN Infinity");
  EXPECT_EQ(a[5].as_double(), 0.0);  // spelled like the stand-in for Infinity, but written so
  EXPECT_EQ(a[6].as_double(), 0.0);
  EXPECT_EQ(a[7].as_double(), 1.5);
  // Other bare words are still not JSON, and errors keep their columns.
  EXPECT_THROW(parse_json("[Inf]", "t.json"), ConfigError);
  EXPECT_THROW(parse_json("[Infinityx]", "t.json"), ConfigError);
  try {
    parse_json("[Infinity, x]", "t.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("column 12"), std::string::npos) << e.what();
  }
}

TEST(JsonNonFinite, NemotronHConfigWithInfinityAnalyzes) {
  // "time_step_limit": [0.0, Infinity] made the whole file "not valid JSON"; the family
  // (nemotron_h_test.cpp derives this total by hand) now reads it.
  Value v = load("nvidia__Nemotron-H-56B-Base-8K.json");
  EXPECT_EQ(error_of(v), "");
  EXPECT_EQ(count_params(build_model_ir(v, "test.json")).total, 56324350464);
}

TEST(JsonNonFinite, RequiredFiniteValueIsRefusedByName) {
  Value v = parse_json(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 1000,
    "rope_theta": Infinity})",
                       "t.json");
  std::string e = error_of(v);
  EXPECT_NE(e.find("/rope_theta"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

// Qwen3-VL-8B-Instruct, text model (modeling_qwen3_vl.py Qwen3VLTextModel = qwen3's decoder):
// d=4096, 36 layers, 32 heads, 8 KV heads, head_dim 128, d_ff 12288, vocab 151936, untied.
//   per layer: q 4096*4096 = 16,777,216; k, v 4096*1024 = 4,194,304 each; o 16,777,216;
//              q_norm, k_norm 128 each; mlp 3*4096*12288 = 150,994,944; two norms 8,192
//              -> 192,946,432
//   36 * 192,946,432 = 6,946,071,552; embed + lm_head 2*151936*4096 = 1,244,659,712; norm 4,096
//   total = 8,190,735,360 (= Qwen3-8B's)
TEST(Qwen3VlTextFamily, Qwen3Vl8bCountedOnceUnwrapped) {
  Value v = load("Qwen__Qwen3-VL-8B-Instruct.json");
  expect_counted_once(v, 8190735360LL);
  EXPECT_EQ(build_model_ir(v, "w.json").architecture, "qwen3_vl_text");
}

// Qwen3-VL-235B-A22B-Instruct, text model (modeling_qwen3_vl_moe.py Qwen3VLMoeTextModel):
// d=4096, 94 layers (all MoE: decoder_sparse_step 1, mlp_only_layers []), 64 heads, 4 KV heads,
// head_dim 128, 128 experts of d_ff 1536, top 8, no shared expert, vocab 151936, untied.
//   attention: q 4096*8192 = 33,554,432; k, v 4096*512 = 2,097,152 each; o 33,554,432;
//              q/k norms 256 -> 71,303,424
//   router 128*4096 = 524,288; experts (stacked gate_up [128,4096,3072] + down [128,1536,4096])
//   128*3*4096*1536 = 2,415,919,104; two norms 8,192 -> per layer 2,487,755,008
//   94 * 2,487,755,008 = 233,848,970,752; + 1,244,659,712 embed/head + 4,096 norm
//   total = 235,093,634,560
//   active: 94 * (71,303,424 + 524,288 + 8*3*4096*1536 + 8,192) + 1,244,663,808 = 22,190,763,520
TEST(Qwen3VlMoeTextFamily, Qwen3Vl235bCountedOnceUnwrappedStackedExperts) {
  Value v = load("Qwen__Qwen3-VL-235B-A22B-Instruct.json");
  expect_counted_once(v, 235093634560LL);
  ModelIR ir = build_model_ir(v, "w.json");
  EXPECT_EQ(ir.architecture, "qwen3_vl_moe_text");
  EXPECT_EQ(count_params(ir).active, 22190763520LL);
  int stacked = 0;
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops)
      if (op.kind == OpKind::RoutedExperts) {
        EXPECT_TRUE(op.experts_stacked);
        ++stacked;
      }
  EXPECT_EQ(stacked, 94);
}

// Kimi-K2.5 (kimi_k25 wrapping a kimi_k2 text_config whose architectures[0] is
// DeepseekV3ForCausalLM; modeling_deepseek.py): d=7168, 61 layers (first_k_dense_replace 1),
// 64 heads, q_lora 1536, kv_lora 512, qk_nope 128, qk_rope 64, v_head 128, 384 experts + 1
// shared of d_ff 2048, dense d_ff 18432, vocab 163840, untied, num_nextn_predict_layers 0.
//   MLA: q_a 7168*1536 = 11,010,048; q_a_norm 1,536; q_b 1536*64*192 = 18,874,368;
//        kv_a 7168*576 = 4,128,768; kv_a_norm 512; kv_b 512*64*256 = 8,388,608;
//        o 8192*7168 = 58,720,256 -> 101,124,096; two norms 14,336
//   dense MLP (layer 0): 3*7168*18432 = 396,361,728
//   MoE (60 layers): router 384*7168 + 384 bias = 2,752,896; experts 384*3*7168*2048 =
//        16,911,433,728; shared 3*7168*2048 = 44,040,192 -> 16,958,226,816
//   61*(101,124,096 + 14,336) + 396,361,728 + 60*16,958,226,816 + 2*163840*7168 + 7,168
//   total = 1,026,408,232,448 (= Kimi-K2's)
TEST(DeepseekV3Family, KimiK25TextModelCountedOnceUnwrapped) {
  Value v = load("moonshotai__Kimi-K2.5.json");
  expect_counted_once(v, 1026408232448LL);
  EXPECT_EQ(build_model_ir(v, "w.json").architecture, "deepseek_v3");
}

TEST(Registry, UnknownInnerModelTypeAndClassIsOneLine) {
  Value v = parse_json(R"({"model_type": "wrap", "architectures": ["WrapForX"],
    "text_config": {"model_type": "inner", "architectures": ["InnerForCausalLM"]}})",
                       "t.json");
  std::string e = error_of(v);
  EXPECT_NE(e.find("\"inner\" is not a supported architecture"), std::string::npos) << e;
  EXPECT_NE(e.find("WrapForX"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

}  // namespace
}  // namespace llmcost
