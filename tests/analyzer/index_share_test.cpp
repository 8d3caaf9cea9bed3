// GLM-5.2 IndexCache (glm_moe_dsa indexer_types): a "shared" layer builds no lightning indexer
// (transformers modular_glm_moe_dsa.py GlmMoeDsaAttention: `self.indexer = None if self.skip_topk`),
// caches no indexer keys, and attends the index_topk positions the last "full" layer before it
// picked. Counted here by hand on a tiny config and checked on GLM-5.2's config.json.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

Value parse(const std::string& json) { return parse_json(json, "test.json"); }
Value with(const Value& v, const std::string& key, const Value& x) {
  Value out = Value::object();
  for (const auto& [k, val] : v.members())
    if (k != key) out.set(k, val);
  if (!x.is_null()) out.set(key, x);
  return out;
}
Value strings(std::initializer_list<const char*> xs) {
  Value a = Value::array();
  for (const char* x : xs) a.push(Value::string(x));
  return a;
}
Value file(const std::string& name) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), name);
}
ModelIR ir_of(const Value& v) { return build_model_ir(v, "test.json"); }
ParamCounts count(const Value& v) { return count_params(ir_of(v)); }

// hidden 64, 4 heads, q_lora 24, kv_lora 32, qk_nope 16, qk_rope 8, v_head 16, d_ff 128, 4 routed
// experts of 32 (top 2), 1 shared, vocab 1000, 4 layers (layer 0 dense), 1 MTP layer. Indexer: 2
// heads of 16, top 4, full on layers 0 and 2, shared on 1 and 3.
const char* kTinyGlm = R"({
  "model_type": "glm_moe_dsa", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4,
  "kv_lora_rank": 32, "q_lora_rank": 24, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8,
  "v_head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 4,
  "num_experts_per_tok": 2, "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "num_hidden_layers": 4, "vocab_size": 1000, "num_nextn_predict_layers": 1,
  "index_topk": 4, "index_n_heads": 2, "index_head_dim": 16,
  "indexer_types": ["full", "shared", "full", "shared"]})";

TEST(IndexShare, TinySharedLayersCountedByHand) {
  // Attention without the indexer: q_a_proj 64*24 = 1,536, q_a_layernorm 24, q_b_proj 24*(4*24) =
  //   2,304, kv_a_proj_with_mqa 64*(32+8) = 2,560, kv_a_layernorm 32, kv_b_proj 32*(4*(16+16)) =
  //   4,096, o_proj (4*16)*64 = 4,096 -> 14,648
  // Indexer: wq_b 24*(2*16) = 768, wk 64*16 = 1,024, k_norm 16 + 16, weights_proj 64*2 = 128 -> 1,952
  // layer 0 (dense, full):   14,648 + 1,952 + MLP 3*64*128 = 24,576 + norms 2*64 = 41,304
  // MoE layer without the indexer: 14,648 + router 4*64 + bias 4 = 260 + experts 4*3*64*32 = 24,576
  //   + shared 3*64*32 = 6,144 + norms 128 = 45,756; layer 2 (full) adds the indexer: 47,708
  // layers 1 and 3 (shared): 45,756 each; embed 64,000 + final norm 64 + lm_head 64,000
  ModelIR ir = ir_of(parse(kTinyGlm));
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 64000 + 41304 + 45756 + 47708 + 45756 + 64 + 64000);
  // The MTP layer (index 4) is a MoE layer with its own indexer, plus enorm 64, hnorm 64, eh_proj
  // 64*128 = 8,192 and shared_head.norm 64; GLM's MTP layer stores no embedding / head copies.
  EXPECT_EQ(c.mtp, 47708 + 64 + 64 + 8192 + 64);
  EXPECT_EQ(c.mtp_shared_copies, 0);
  // A shared layer keeps the top-k and names the layer whose indexer picked it.
  const AttentionSpec& s1 = ir.layers[1].ops[1].attn;
  EXPECT_EQ(s1.index_topk, 4);
  EXPECT_EQ(s1.index_n_heads, 0);
  EXPECT_EQ(s1.index_source_layer, 0);
  EXPECT_EQ(ir.layers[3].ops[1].attn.index_source_layer, 2);
  EXPECT_EQ(ir.layers[2].ops[1].attn.index_source_layer, -1);
  EXPECT_EQ(ir.layers[2].ops[1].attn.index_n_heads, 2);
  for (const Tensor& t : ir.layers[1].ops[1].tensors)
    EXPECT_EQ(t.checkpoint_name.find("indexer"), std::string::npos) << t.checkpoint_name;
}

TEST(IndexShare, TinyCacheAndFlopsFollowTheSchedule) {
  ModelIR ir = ir_of(parse(kTinyGlm));
  // Cache per token: latent (32+8) x 2 bytes = 80 every layer; indexer key 16 fp8 + one fp32 scale
  // = 20 on the 2 full layers only -> 4*80 + 2*20 = 360.
  KvCache kv = kv_cache(ir, 10, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 360);
  EXPECT_EQ(kv.indexer_bytes_per_token, 40);
  EXPECT_EQ(kv.bytes_at_context, 3600);
  // Decode at context 10: every layer attends its 4 picked latents: 4 x (2*4*(32+8) + 2*4*32 = 576);
  // the full layers also score 10 positions x (2*2*16 + 2*2 = 68): 2*(2,304 + 680) + 2*2,304 = 10,576.
  EXPECT_EQ(decode_flops_per_token(ir, 10).attention, 10576);
}

TEST(IndexShare, ScheduleFromFreqAndOffsetOrPattern) {
  // GlmMoeDsaConfig: without indexer_types, layer i is full when max(i - offset + 1, 0) % freq == 0.
  // freq 2, offset 1: i % 2 == 0 -> full, shared, full, shared: the list above.
  const ParamCounts listed = count(parse(kTinyGlm));
  Value v = with(parse(kTinyGlm), "indexer_types", Value::null());
  v.set("index_topk_freq", Value::integer(2));
  v.set("index_skip_topk_offset", Value::integer(1));
  EXPECT_EQ(count(v).total, listed.total);
  Value p = with(parse(kTinyGlm), "indexer_types", Value::null());
  p.set("index_topk_pattern", Value::string("FSFS"));
  EXPECT_EQ(count(p).total, listed.total);
  // No schedule keys (index_topk_freq defaults to 1): all 4 layers run an indexer, 2 x 1,952 more.
  EXPECT_EQ(count(with(parse(kTinyGlm), "indexer_types", Value::null())).total, listed.total + 2 * 1952);
}

TEST(IndexShare, BadSchedulesAreOneLineErrors) {
  auto message = [](const Value& v) -> std::string {
    try {
      count(v);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message(with(parse(kTinyGlm), "indexer_types", strings({"shared", "full", "full", "full"})));
  EXPECT_NE(m.find("/indexer_types"), std::string::npos) << m;
  EXPECT_NE(m.find("none precedes it"), std::string::npos) << m;
  m = message(with(parse(kTinyGlm), "indexer_types", strings({"full", "full", "full"})));
  EXPECT_NE(m.find("must have num_hidden_layers (4) entries"), std::string::npos) << m;
  m = message(with(parse(kTinyGlm), "indexer_types", strings({"full", "skip", "full", "full"})));
  EXPECT_NE(m.find("/indexer_types/1"), std::string::npos) << m;
  // deepseek_v32's reference runs an indexer on every layer: a "shared" entry is refused there.
  m = message(with(parse(kTinyGlm), "model_type", Value::string("deepseek_v32")));
  EXPECT_NE(m.find("/indexer_types/1"), std::string::npos) << m;
  EXPECT_NE(m.find("not part of deepseek_v32"), std::string::npos) << m;
}

TEST(IndexShare, Glm52) {
  // GLM-5.2 (config.json): 78 layers, indexer_types full on 0, 1, 2, 6, 10, ..., 74 (21 layers),
  // shared on the other 57. Indexer per full layer: wq_b 2048*(32*128) = 8,388,608 + wk 6144*128 =
  // 786,432 + k_norm 128 + 128 + weights_proj 6144*32 = 196,608 = 9,371,904.
  ModelIR ir = ir_of(file("zai-org__GLM-5.2.json"));
  ParamCounts c = count_params(ir);
  int full = 0;
  for (const Layer& L : ir.layers) full += L.ops[1].attn.index_n_heads > 0;
  EXPECT_EQ(full, 21);
  EXPECT_EQ(ir.layers[5].ops[1].attn.index_source_layer, 2);
  EXPECT_EQ(ir.layers[77].ops[1].attn.index_source_layer, 74);
  // GLM-5 (same dims, an indexer on all 78 layers) is 743,911,218,432; GLM-5.2 drops 57 indexers.
  EXPECT_EQ(c.total, int64_t{743911218432} - 57 * int64_t{9371904});
  EXPECT_EQ(c.total, int64_t{743377019904});
  // The MTP layer 78: attention 165,019,648 + q_a/kv_a layernorms 2,560 + its indexer 9,371,904
  //   + router 256*6144 = 1,572,864 + bias 256 + 256 experts x 3*6144*2048 = 9,663,676,416
  //   + shared expert 37,748,736 + norms 12,288 + enorm/hnorm/shared_head.norm 18,432
  //   + eh_proj 6144*12288 = 75,497,472 = 9,952,920,576.
  EXPECT_EQ(c.mtp, int64_t{9952920576});
  // total + mtp = 753,329,940,480: the element count of the GLM-5.2 safetensors headers, 753,329,921,024
  // real parameters (FP8 build: 751,226,191,872 fp8 + 2,103,729,152 bf16; the NVFP4 build holds the
  // same) plus the 76 x 256 = 19,456 fp32 e_score_correction_bias elements, which are parameters of
  // the reference (GlmMoeDsaTopkRouter) though stored in fp32 beside the weight scales.
  EXPECT_EQ(c.total + c.mtp, int64_t{753329921024} + 76 * 256);
  // Indexer key cache: 128 fp8 + one fp32 scale = 132 bytes per token on the 21 full layers only.
  EXPECT_EQ(kv_cache(ir, 1, KvDtype::BF16).indexer_bytes_per_token, 21 * 132);
}

}  // namespace
}  // namespace llmcost
