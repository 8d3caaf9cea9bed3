// deepseek_v4 (DeepSeek-V4-Flash / -Pro), counted as DeepSeek's inference/model.py builds it: see the
// weight list in analyzer/ir/families/deepseek_v4.cpp. A tiny config counted by hand, its cache and
// FLOPs by hand, and the released configs against their published totals and checkpoint listings.
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
Value file(const std::string& name) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), name);
}
ModelIR ir_of(const Value& v) { return build_model_ir(v, "test.json"); }

// hidden 16, 2 heads of 8 (rope 4), one K=V head, q_lora 6, o_groups 2 x o_lora 4, window 4,
// indexer 2 heads of 4 (top 2), 4 experts of 8 (top 2) + 1 shared, vocab 10, hc_mult 2,
// 3 layers with compress ratios 0, 4, 8 (+ 0 for the MTP block), layer 0 hash-routed.
const char* kTiny = R"({
  "model_type": "deepseek_v4", "hidden_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1,
  "head_dim": 8, "qk_rope_head_dim": 4, "q_lora_rank": 6, "o_groups": 2, "o_lora_rank": 4,
  "sliding_window": 4, "index_n_heads": 2, "index_head_dim": 4, "index_topk": 2,
  "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": 1, "moe_intermediate_size": 8,
  "num_hash_layers": 1, "scoring_func": "sqrtsoftplus", "swiglu_limit": 10.0, "hc_mult": 2,
  "num_hidden_layers": 3, "vocab_size": 10, "num_nextn_predict_layers": 1,
  "compress_ratios": [0, 4, 8, 0]})";

TEST(DeepseekV4, TinyCountedByHand) {
  // Per block: hyper-connections, mix (2+2)*2 = 8: fn 8*(2*16) = 256 + base 8 + scale 3 = 267, twice
  //   = 534; attn_norm + ffn_norm 32.
  // Attention: attn_sink 2, wq_a 6*16 = 96, q_norm 6, wq_b (2*8)*6 = 96, wkv 8*16 = 128, kv_norm 8,
  //   wo_a [2*4, 2*8/2] = 64, wo_b 16*8 = 128 -> 528.
  // Compressor, ratio 4 (overlap, coff 2): wkv 16*16 = 256, wgate 256, ape 4*16 = 64, norm 8 -> 584.
  // Indexer (ratio 4): wq_b (2*4)*6 = 48, weights_proj 2*16 = 32, its compressor (coff 2, dim 4):
  //   wkv 8*16 = 128, wgate 128, ape 4*8 = 32, norm 4 -> 372.
  // Compressor, ratio 8 (coff 1): wkv 8*16 = 128, wgate 128, ape 8*8 = 64, norm 8 -> 328.
  // MoE: gate 4*16 = 64, + tid2eid 10*2 = 20 (hash layer) or bias 4; experts 4 x 3*16*8 = 1,536;
  //   shared 384.
  // layer 0 (ratio 0, hash): 534 + 32 + 528 + 64 + 20 + 1,536 + 384 = 3,098
  // layer 1 (ratio 4):       534 + 32 + 528 + 584 + 372 + 64 + 4 + 1,536 + 384 = 4,038
  // layer 2 (ratio 8):       534 + 32 + 528 + 328 + 64 + 4 + 1,536 + 384 = 3,410
  // embed 160 + head 160 + norm 16 + hc_head (fn 2*32 = 64, base 2, scale 1) 67 = 403
  ModelIR ir = ir_of(parse(kTiny));
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 3098 + 4038 + 3410 + 403);
  // Active: 2 of 4 experts unused per layer: 3 x 2 x 384 = 2,304 fewer.
  EXPECT_EQ(c.active, c.total - 2304);
  // MTP block (layer id 3, ratio 0, bias): 534 + 32 + 528 + 64 + 4 + 1,536 + 384 = 3,082, + e_proj
  // 256 + h_proj 256 + enorm, hnorm, norm 48 + hc_head 67 = 3,709; no embed / head copies.
  EXPECT_EQ(c.mtp, 3709);
  EXPECT_EQ(c.mtp_shared_copies, 0);
  EXPECT_EQ(ir.layers[1].ops[2].attn.compress_ratio, 4);
  EXPECT_EQ(ir.layers[2].ops[2].attn.index_n_heads, 0);
  EXPECT_EQ(ir.layers[0].ops[5].tensors[1].checkpoint_name, "layers.0.ffn.gate.tid2eid");
  EXPECT_EQ(ir.mtp_layers[0].ops[0].tensors[2].checkpoint_name, "mtp.0.e_proj.weight");
}

TEST(DeepseekV4, TinyCacheAndFlopsByHand) {
  ModelIR ir = ir_of(parse(kTiny));
  // Context 20, bf16: one cached entry is head_dim 8 x 2 bytes = 16 (K = V).
  //   layer 0: window 4 entries = 64; layer 1: 4 + 20/4 = 9 entries = 144, + 5 indexer keys x
  //   (4 fp8 + one fp32 scale) = 40; layer 2: 4 + 20/8 = 6 entries = 96.
  //   Compressor states (fp32 kv + score, [coff*ratio, coff*dim]): layer 1: 2*4*(8*16) = 1,024 + the
  //   indexer's 2*4*(8*8) = 512; layer 2: 2*4*(8*8) = 512.
  KvCache kv = kv_cache(ir, 20, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_at_context, 64 + 184 + 96 + 1536 + 512);
  EXPECT_EQ(kv.state_bytes_per_sequence, 2048);
  EXPECT_EQ(kv.bytes_per_token, 3 * 16 + 8);
  // Decode at context 20, 64 FLOPs per attended position (2*2*(8+8)): layer 0 attends 4, layer 1
  // 4 + min(5, 2) = 6 and its indexer scores 5 entries x 2*2*(4+1) = 20, layer 2 4 + 2 = 6.
  EXPECT_EQ(decode_flops_per_token(ir, 20).attention, 64 * 4 + 64 * 6 + 5 * 20 + 64 * 6);
  // Prefill of 20: window pairs 1+2+3+4 + 16*4 = 74 each layer; layer 1 adds sum min(i/4, 2) =
  // 0*3 + 1*4 + 2*13 = 30 and its indexer scores sum i/4 = 4*(1+2+3+4) + 5 = 45 pairs; layer 2 adds
  // sum i/8 = 8*1 + 5*2 = 18.
  EXPECT_EQ(prefill_flops(ir, 20).attention, 64 * (74 + 104 + 92) + 20 * 45);
}

TEST(DeepseekV4, ConfigErrorsNameTheKey) {
  auto message = [](const std::string& key, const Value& x) -> std::string {
    Value v = parse(kTiny);
    v.set(key, x);
    try {
      ir_of(v);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message("num_key_value_heads", Value::integer(2)).find("/num_key_value_heads"), std::string::npos);
  EXPECT_NE(message("scoring_func", Value::string("tanh")).find("/scoring_func"), std::string::npos);
  EXPECT_NE(message("n_shared_experts", Value::integer(2)).find("/n_shared_experts"), std::string::npos);
  Value short_list = Value::array();
  for (int i = 0; i < 3; ++i) short_list.push(Value::integer(0));
  EXPECT_NE(message("compress_ratios", short_list).find("/compress_ratios"), std::string::npos);
}

TEST(DeepseekV4, FlashAndProAgainstTheirCards) {
  // DeepSeek-V4-Flash model card: 284B total, 13B activated. Checkpoint listing (safetensors
  // headers): 43 blocks + mtp.0; experts w1/w3 [2048, 4096] logical (int8 [2048, 2048] packed fp4),
  // the tensors of analyzer/ir/families/deepseek_v4.cpp.
  ParamCounts f = count_params(ir_of(file("deepseek-ai__DeepSeek-V4-Flash.json")));
  EXPECT_EQ(f.total, int64_t{284334567511});
  EXPECT_EQ(f.active, int64_t{13801959511});
  EXPECT_EQ(f.mtp, int64_t{6610048891});
  // The NVFP4 re-export has the same architecture.
  EXPECT_EQ(count_params(ir_of(file("nvidia__DeepSeek-V4-Flash-NVFP4.json"))).total, f.total);
  // DeepSeek-V4-Pro model card: 1.6T total, 49B activated.
  ParamCounts p = count_params(ir_of(file("deepseek-ai__DeepSeek-V4-Pro.json")));
  EXPECT_NEAR(static_cast<double>(p.total), 1.6e12, 0.05e12);
  EXPECT_NEAR(static_cast<double>(p.active), 49e9, 1.5e9);
}

}  // namespace
}  // namespace llmcost
