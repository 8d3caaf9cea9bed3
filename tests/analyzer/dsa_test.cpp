// DeepSeek Sparse Attention (deepseek_v32, glm_moe_dsa): the lightning indexer's weights, counted
// as the reference builds them (deepseek-ai inference/model.py Indexer; transformers
// GlmMoeDsaIndexer): wq_b [index_n_heads * index_head_dim, q_lora_rank], wk [index_head_dim,
// hidden], k_norm LayerNorm weight + bias [index_head_dim], weights_proj [index_n_heads, hidden].
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "llmcost/cost_model.h"
#include "llmcost/families.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/error.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

Value parse(const std::string& json) { return parse_json(json, "test.json"); }
// `v` with the keys in `drop` removed and `key` set to `x` (null: left out).
Value edit(const Value& v, std::set<std::string> drop, const std::string& key = "", const Value& x = Value::null()) {
  drop.insert(key);
  Value out = Value::object();
  for (const auto& [k, val] : v.members())
    if (!drop.count(k)) out.set(k, val);
  if (!key.empty() && !x.is_null()) out.set(key, x);
  return out;
}
Value with(const Value& v, const std::string& key, const Value& x) { return edit(v, {}, key, x); }
Value file(const std::string& name) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), name);
}
ParamCounts count(const Value& v) { return count_params(build_model_ir(v, "test.json")); }
// The same config read as the plain DeepSeek-V3 decoder: no indexer keys.
Value as_v3(const Value& v) {
  return edit(v, {"index_topk", "index_n_heads", "index_head_dim", "indexer_types"}, "model_type",
              Value::string("deepseek_v3"));
}

// hidden 64, 4 heads, q_lora 24, kv_lora 32, qk_nope 16, qk_rope 8, v_head 16, d_ff 128,
// 4 routed experts of 32 (top 2), 1 shared, vocab 1000, 3 layers (1 dense), 1 MTP module.
// Indexer: 2 heads of 16, top 4.
const char* kTinyDsa = R"({
  "model_type": "deepseek_v32", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4,
  "kv_lora_rank": 32, "q_lora_rank": 24, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8,
  "v_head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 4,
  "num_experts_per_tok": 2, "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "num_hidden_layers": 3, "vocab_size": 1000, "num_nextn_predict_layers": 1,
  "index_topk": 4, "index_n_heads": 2, "index_head_dim": 16})";

TEST(DsaFamily, TinyIndexerCountedByHand) {
  // Attention without the indexer (q LoRA): q_a_proj 64*24 = 1,536, q_a_layernorm 24,
  //   q_b_proj 24*(4*24) = 2,304, kv_a_proj_with_mqa 64*(32+8) = 2,560, kv_a_layernorm 32,
  //   kv_b_proj 32*(4*(16+16)) = 4,096, o_proj (4*16)*64 = 4,096 -> 14,648
  // Indexer: wq_b 24*(2*16) = 768, wk 64*16 = 1,024, k_norm 16 + 16, weights_proj 64*2 = 128 -> 1,952
  // dense layer: 14,648 + 1,952 + MLP 3*64*128 = 24,576 + norms 128 = 41,304
  // MoE layer:   14,648 + 1,952 + router 4*64 + bias 4 = 260 + experts 4*3*64*32 = 24,576
  //              + shared 3*64*32 = 6,144 + norms 128 = 47,708
  // embed 64,000 + final norm 64 + lm_head 64,000
  ParamCounts c = count(parse(kTinyDsa));
  EXPECT_EQ(c.total, 64000 + 41304 + 2 * 47708 + 64 + 64000);
  EXPECT_EQ(c.total - count(as_v3(parse(kTinyDsa))).total, 3 * 1952);
  // The MTP module is a MoE layer (index 3) with its own indexer, plus enorm 64, hnorm 64,
  // eh_proj 64*128 = 8,192, embed copy 64,000, head norm 64, head copy 64,000.
  EXPECT_EQ(c.mtp, 47708 + 64 + 64 + 8192 + 64000 + 64 + 64000);
  // glm_moe_dsa reads the same decoder.
  EXPECT_EQ(count(with(parse(kTinyDsa), "model_type", Value::string("glm_moe_dsa"))).total, c.total);
}

TEST(DsaFamily, IndexerKeysNeedEachOtherAndAQLatent) {
  EXPECT_THROW(count(edit(parse(kTinyDsa), {"index_head_dim"})), ConfigError);
  EXPECT_THROW(count(edit(parse(kTinyDsa), {"q_lora_rank"})), ConfigError);
  EXPECT_THROW(count(with(parse(kTinyDsa), "index_head_dim", Value::integer(4))), ConfigError);  // < qk_rope 8
}

TEST(DsaFamily, DeepseekV32IsV3PlusOneIndexerPerLayer) {
  // DeepSeek-V3.2: index_n_heads 64, index_head_dim 128, q_lora_rank 1536, hidden 7168:
  //   wq_b 1536*8192 = 12,582,912 + wk 7168*128 = 917,504 + k_norm 128 + 128 = 256
  //   + weights_proj 7168*64 = 458,752 = 13,959,424 per layer, 61 layers (+ 1 in the MTP module).
  Value v = file("deepseek-ai__DeepSeek-V3.2.json");
  ParamCounts c = count(v), v3 = count(as_v3(v));
  EXPECT_EQ(c.total - v3.total, 61 * int64_t{13959424});
  EXPECT_EQ(c.mtp - v3.mtp, int64_t{13959424});
  EXPECT_EQ(v3.total, int64_t{671026419200});  // DeepSeek-V3's own total
  EXPECT_EQ(c.total, int64_t{671877944064});
}

TEST(DsaFamily, Glm5IsTheDsaDecoder) {
  // GLM-5: index_n_heads 32, index_head_dim 128, q_lora_rank 2048, hidden 6144:
  //   wq_b 2048*4096 = 8,388,608 + wk 6144*128 = 786,432 + k_norm 256 + weights_proj 6144*32 = 196,608
  //   = 9,371,904 per layer, 78 layers.
  Value v = file("zai-org__GLM-5.json");
  ParamCounts c = count(v);
  EXPECT_EQ(c.total - count(as_v3(v)).total, 78 * int64_t{9371904});
  EXPECT_EQ(c.total, int64_t{743911218432});
}

// Cost of the tiny model (3 layers, MLA kv_lora 32 + rope 8, 4 heads; indexer 2 heads of 16, top 4).
//   MLA core attention per position: 2*4*(32+8) + 2*4*32 = 576 FLOPs
//   indexer scoring per position: 2*2*16 + 2*2 = 68 FLOPs
//   cache per token per layer: latent (32+8)*2 bytes (bf16) = 80 + indexer key 16 (fp8) + 4 (fp32 scale) = 20
TEST(DsaCost, TopKCapsAttendedPositionsNotTheCache) {
  AttentionSpec a;
  a.index_topk = 4;
  EXPECT_EQ(attended_positions(a, 10), 4);
  EXPECT_EQ(attended_positions(a, 3), 3);
  EXPECT_EQ(kv_cached_tokens(a, 10), 10);
  // Causal prefill of 10 tokens: 1+2+3+4 then 6 tokens x 4 = 34 pairs (55 without the cap).
  EXPECT_EQ(prefill_attended_pairs(a, 10), 34);
  a.sliding_window = 3;  // both caps: the smaller one
  EXPECT_EQ(prefill_attended_pairs(a, 10), 1 + 2 + 3 + 7 * 3);
  a.sliding_window = 0;
  a.index_n_heads = 64;
  a.index_head_dim = 128;
  EXPECT_EQ(indexer_key_bytes_per_token(a), 132);  // DeepSeek-V3.2: 128 fp8 + one fp32 scale
  EXPECT_EQ(prefill_indexed_pairs(a, 10), 55);
}

TEST(DsaCost, HandWorkedDecodePrefillAndKv) {
  ModelIR ir = build_model_ir(parse(kTinyDsa), "test.json");
  // Decode at context 10: 4 positions attended x 576 + 10 scored x 68 = 2,984 per layer.
  EXPECT_EQ(decode_flops_per_token(ir, 10).attention, 3 * 2984);
  // Prefill of 10 tokens: 34 pairs x 576 = 19,584 + 55 scored pairs x 68 = 3,740 -> 23,324 per layer.
  EXPECT_EQ(prefill_flops(ir, 10).attention, 3 * 23324);
  // KV: every position stays cached (latent + indexer key): 100 bytes per token per layer.
  KvCache kv = kv_cache(ir, 10, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 3 * 100);
  EXPECT_EQ(kv.indexer_bytes_per_token, 3 * 20);
  EXPECT_EQ(kv.bytes_at_context, 3 * 100 * 10);
  // The cost walk agrees: decode reads the 4 attended latents (80 each) and all 10 indexer keys
  // (20 each) = 520 bytes per layer; prefill writes 10 of each = 1,000 per layer.
  CostModel cm(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16);
  StepCost d = cm.decode(1, 10, RoutingModel{});
  EXPECT_DOUBLE_EQ(d.kv_bytes, 3 * 520.0);
  StepCost p = cm.prefill(1, 10, RoutingModel{});
  EXPECT_DOUBLE_EQ(p.kv_bytes, 3 * 1000.0);
  double attn = 0;
  for (const OpCost& c : d.ops) attn += c.attention_flops;
  EXPECT_DOUBLE_EQ(attn, 3 * 2984.0);
}

}  // namespace
}  // namespace llmcost
