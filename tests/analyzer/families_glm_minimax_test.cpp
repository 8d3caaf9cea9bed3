// glm4_moe_lite, minimax_m2 and minimax_m3 on tiny hand-checked configs (arithmetic written out
// from the reference implementations) and on the shipped configs in tests/data/models-2026.
#include <gtest/gtest.h>

#include <string>

#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

Value parse(const std::string& json) { return parse_json(json, "test.json"); }
ParamCounts count(const Value& v) { return count_params(build_model_ir(v, "test.json")); }
ParamCounts count_file(const std::string& name) {
  const std::string path = std::string(LLMCOST_TEST_DATA) + "/models-2026/" + name;
  return count_params(build_model_ir(parse_json(read_text_file(path), path), path));
}

// glm4_moe_lite (transformers modular_glm4_moe_lite.py): DeepseekV3Attention + Glm4Moe MoE.
// d 64, 4 heads, q_lora 24, kv_lora 32, qk_nope 16, qk_rope 8, v_head 16, dense d_ff 128,
// 4 routed experts (top 2) of 32 + 1 shared, vocab 1000, 3 layers.
//   attention: q_a_proj 64*24 = 1,536; q_a_layernorm 24; q_b_proj 24*(4*24) = 2,304;
//              kv_a_proj_with_mqa 64*(32+8) = 2,560; kv_a_layernorm 32; kv_b_proj 32*(4*(16+16)) = 4,096;
//              o_proj (4*16)*64 = 4,096 -> 14,648
//   dense layer: 14,648 + mlp 3*64*128 = 24,576 + norms 128 = 39,352
//   MoE layer:   14,648 + router 4*64 + e_score_correction_bias 4 = 260 + experts 4*3*64*32 = 24,576
//                + shared 3*64*32 = 6,144 + norms 128 = 45,756
//   embed 64,000, final norm 64, lm_head 64,000
const char* kTinyGlmLite = R"({
  "model_type": "glm4_moe_lite", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4,
  "head_dim": 8, "q_lora_rank": 24, "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8,
  "v_head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 4,
  "num_experts_per_tok": 2, "n_shared_experts": 1, "first_k_dense_replace": 2, "num_hidden_layers": 3,
  "vocab_size": 1000})";

TEST(Glm4MoeLiteFamily, DefaultOneDenseLayerIgnoresFirstKDenseReplace) {
  // mlp_layer_types absent: the config class fills ["dense", "sparse", "sparse"] and ignores
  // first_k_dense_replace (2 here).
  ModelIR ir = build_model_ir(parse(kTinyGlmLite), "test.json");
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  EXPECT_TRUE(ir.layers[2].is_moe);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 64000 + 39352 + 2 * 45756 + 64 + 64000);  // 258,928
  EXPECT_EQ(c.active, c.total - 2 * 2 * 6144);                // 2 of 4 experts idle per MoE layer
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 260);
  EXPECT_EQ(c.mtp, 0);
  EXPECT_TRUE(ir.layers[1].ops[3].moe.norm_topk_prob);  // Glm4MoeLiteConfig default
}

TEST(Glm4MoeLiteFamily, MlpLayerTypesAndMtp) {
  Value v = parse(kTinyGlmLite);
  v.set("mlp_layer_types", parse(R"(["dense", "sparse", "dense"])"));
  v.set("num_nextn_predict_layers", Value::integer(1));
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 64000 + 2 * 39352 + 45756 + 64 + 64000);  // 252,524
  // MTP layer model.layers.3 (MoE): enorm 64 + hnorm 64 + eh_proj 64*128 = 8,192 + embed 64,000
  //   + shared_head.norm 64 + shared_head.head 64,000 + decoder layer 45,756 = 182,140 (not in total)
  EXPECT_EQ(c.mtp, 182140);
  v.set("mlp_layer_types", parse(R"(["dense", "sparse"])"));  // one entry short
  EXPECT_THROW(count(v), ConfigError);
  v.set("mlp_layer_types", parse(R"(["dense", "moe", "dense"])"));  // not dense/sparse
  EXPECT_THROW(count(v), ConfigError);
}

// zai-org/GLM-4.7-Flash: d 2048, 20 heads, q_lora 768, kv_lora 512, qk_nope 192, qk_rope 64,
// v_head 256, 47 layers (first dense), dense d_ff 10240, 64 experts of 1536 + 1 shared, vocab 154880.
//   attention: q_a 2048*768 = 1,572,864; q_a_ln 768; q_b 768*(20*256) = 3,932,160;
//     kv_a 2048*576 = 1,179,648; kv_a_ln 512; kv_b 512*(20*448) = 4,587,520; o 5120*2048 = 10,485,760
//     -> 21,759,232; norms 4,096
//   dense layer: + mlp 3*2048*10240 = 62,914,560 -> 84,677,888
//   MoE layer: + router 64*2048 + 64 = 131,136 + experts 64*9,437,184 = 603,979,776
//     + shared 9,437,184 -> 635,311,424
//   total = 84,677,888 + 46*635,311,424 + 2*154880*2048 (embed, lm_head) + 2,048 = 29,943,393,920
//   (the copy here has no num_nextn_predict_layers, so no MTP is counted)
TEST(Glm4MoeLiteFamily, Glm47FlashShippedConfig) {
  ParamCounts c = count_file("zai-org__GLM-4.7-Flash.json");
  EXPECT_EQ(c.total, 29943393920LL);
  EXPECT_EQ(c.mtp, 0);
}

// minimax_m2 (transformers modeling_minimax_m2.py): bias-free GQA (attention_bias is not read),
// q_norm [n_heads*head_dim], k_norm [n_kv_heads*head_dim]; MoE block: gate [E, d],
// e_score_correction_bias [E], experts w1/w3/w2 of intermediate_size.
// d 64, 4 heads, 2 KV heads, head_dim 16, 4 experts (top 2) of 32, vocab 1000, 2 layers.
//   attention: q 64*64 = 4,096; k, v 64*32 = 2,048 each; o 4,096; q_norm 64; k_norm 32 -> 12,384
//   router 4*64 + 4 = 260; experts 4*3*64*32 = 24,576; norms 128 -> layer 37,348
//   total = 64,000 + 2*37,348 + 64 + 64,000 = 202,760; active = total - 2*2*6,144 = 178,184
const char* kTinyMinimaxM2 = R"({
  "model_type": "minimax_m2", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
  "head_dim": 16, "intermediate_size": 32, "num_local_experts": 4, "num_experts_per_tok": 2,
  "num_hidden_layers": 2, "vocab_size": 1000, "attention_bias": true, "use_mtp": true,
  "num_mtp_modules": 3})";

TEST(MinimaxM2Family, FullWidthQkNormCorrectionBiasNoMtp) {
  ModelIR ir = build_model_ir(parse(kTinyMinimaxM2), "test.json");
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 202760);
  EXPECT_EQ(c.active, 178184);
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 260);
  EXPECT_EQ(c.mtp, 0);
  ASSERT_EQ(ir.notes.size(), 1u);
  EXPECT_NE(ir.notes[0].find("MTP"), std::string::npos);
  bool found = false;
  for (const auto& op : ir.layers[0].ops)
    for (const auto& t : op.tensors)
      if (t.role == TensorRole::RouterCorrectionBias) {
        EXPECT_EQ(t.checkpoint_name, "model.layers.0.block_sparse_moe.e_score_correction_bias");
        EXPECT_EQ(op.moe.scoring, ScoringFunc::Sigmoid);
        EXPECT_TRUE(op.moe.norm_topk_prob);
        found = true;
      }
  EXPECT_TRUE(found);
}

// MiniMaxAI/MiniMax-M2.5: d 3072, 48 heads, 8 KV heads, head_dim 128, 256 experts of 1536, 62 layers,
// vocab 200064.
//   attention: q 3072*6144 = 18,874,368; k, v 3072*1024 = 3,145,728 each; o 18,874,368;
//     q_norm 6,144; k_norm 1,024 -> 44,047,360
//   router 256*3072 + 256 = 786,688; experts 256*3*3072*1536 = 3,623,878,656; norms 6,144
//   layer 3,668,718,848; total = 62*3,668,718,848 + 2*200064*3072 + 3,072 = 228,689,764,864
TEST(MinimaxM2Family, MiniMaxM25ShippedConfig) {
  ParamCounts c = count_file("MiniMaxAI__MiniMax-M2.5.json");
  EXPECT_EQ(c.total, 228689764864LL);
  EXPECT_EQ(c.mtp, 0);
}

TEST(MinimaxM3Family, RefusedNamingSparseAttention) {
  try {
    count_file("MiniMaxAI__MiniMax-M3.json");
    FAIL() << "minimax_m3 should be refused";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sparse_attention_config"), std::string::npos) << what;
    EXPECT_NE(what.find("not supported"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace llmcost
