// Gemma 4 (gemma4_text: global and sliding layers of their own shapes, k_eq_v, MoE beside a dense
// MLP, per-layer embeddings, KV shared across layers) and Llama-Nemotron NAS (nemotron_nas: a
// different block per layer from block_configs) counted by hand on tiny configs; Gemma 4's KV cache
// and cost walk with shared layers; the real configs in tests/data/models-2026 held against the
// figures derived from the reference code and the published totals.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "llmcost/cost_model.h"
#include "llmcost/families.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"
#include "models_2026.h"

namespace llmcost {
namespace {

using models_2026::error_of;
using models_2026::load;

const Op* find_op(const Layer& L, OpKind k) {
  for (const Op& op : L.ops)
    if (op.kind == k) return &op;
  return nullptr;
}

// ---------------------------------------------------------------- Gemma 4

// d 32, 6 layers [s, s, f, s, s, f], vocab 100; sliding: 4 heads, 2 KV heads x 8, window 16;
// full: global_head_dim 16, attention_k_eq_v with 2 global KV heads; MLP 48 (96 on KV-shared
// layers: use_double_wide_mlp); MoE 4 experts top 2 of width 16 beside the MLP; PLE 4 wide over a
// 50-token table; the last 2 layers share the KV cache.
Value tiny_gemma4(const std::string& extra = "") {
  return parse_json(R"({"model_type": "gemma4", "architectures": ["Gemma4ForConditionalGeneration"],
    "vision_config": {"hidden_size": 8}, "text_config": {"model_type": "gemma4_text",
    "hidden_size": 32, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "global_head_dim": 16, "num_global_key_value_heads": 2, "attention_k_eq_v": true,
    "vocab_size": 100, "intermediate_size": 48, "sliding_window": 16,
    "layer_types": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention",
                    "sliding_attention", "full_attention"],
    "enable_moe_block": true, "num_experts": 4, "top_k_experts": 2, "moe_intermediate_size": 16,
    "hidden_size_per_layer_input": 4, "vocab_size_per_layer_input": 50,
    "num_kv_shared_layers": 2, "use_double_wide_mlp": true, "dtype": "bfloat16")" + extra + "}}",
                    "tiny_gemma4.json");
}

// By hand (modeling_gemma4.py):
//   sliding self_attn: q 32 x 4*8 = 1024, k 32 x 2*8 = 512, v 512, o 1024, q_norm 8, k_norm 8 -> 3088
//   full self_attn (k_eq_v, no v_proj): q 32 x 4*16 = 2048, k 32 x 2*16 = 1024, o 2048,
//     q_norm 16, k_norm 16                                                                  -> 5152
//   KV-shared layers keep only q_proj, o_proj, q_norm: sliding 1024+1024+8 = 2056; full 2048+2048+16 = 4112
//   MLP 3 x 32 x 48 = 4608; double wide (layers 4, 5) 3 x 32 x 96 = 9216
//   per layer: 8 norms x 32 = 256 (input, post_attention, pre/post_feedforward, post_feedforward_1,
//     pre/post_feedforward_2, post_per_layer_input); router proj 4 x 32 = 128 + scale 32 +
//     per_expert_scale 4 = 164; experts 4 x (2*16*32 + 32*16) = 4 x 1536 = 6144; PLE gate 4 x 32 =
//     128 + projection 32 x 4 = 128 = 256                                         -> 6820 per layer
//   layers 0, 1, 3: 3088 + 4608 + 6820 = 14516; layer 2: 5152 + 4608 + 6820 = 16580;
//   layer 4: 2056 + 9216 + 6820 = 18092; layer 5: 4112 + 9216 + 6820 = 20148;   sum 98368
//   embed_tokens 100 x 32 = 3200; embed_tokens_per_layer 50 x (6*4) = 1200, per_layer_model_projection
//   24 x 32 = 768, per_layer_projection_norm 4; final norm 32; lm_head tied.
// Total 98368 + 3200 + 1972 + 32 = 103572. Active: 2 of 4 experts: minus 6 x 2 x 1536 = 18432 -> 85140.
TEST(Gemma4, TinyConfigCountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny_gemma4(), "tiny_gemma4.json");
  EXPECT_EQ(ir.architecture, "gemma4_text");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 103572);
  EXPECT_EQ(p.active, 85140);
  EXPECT_EQ(p.mtp, 0);
  // Per-layer attention shapes and cache sharing: layer 4 reads layer 3's cache, layer 5 layer 2's.
  const Op* a2 = find_op(ir.layers[2], OpKind::Attention);
  EXPECT_EQ(a2->attn.head_dim, 16);
  EXPECT_EQ(a2->attn.n_kv_heads, 2);
  EXPECT_EQ(a2->attn.sliding_window, 0);
  EXPECT_EQ(find_role(*a2, TensorRole::AttnV), nullptr);
  const Op* a0 = find_op(ir.layers[0], OpKind::Attention);
  EXPECT_EQ(a0->attn.sliding_window, 16);
  EXPECT_DOUBLE_EQ(a0->attn.scale, 1.0);
  EXPECT_EQ(find_op(ir.layers[4], OpKind::Attention)->attn.kv_shared_from, 3);
  EXPECT_EQ(find_op(ir.layers[5], OpKind::Attention)->attn.kv_shared_from, 2);
  EXPECT_EQ(a0->attn.kv_shared_from, -1);
  // Checkpoint names under the multimodal wrapper, experts stacked as the checkpoint stores them.
  EXPECT_EQ(a0->tensors[0].checkpoint_name, "model.language_model.layers.0.self_attn.q_proj.weight");
  const Op* ex = find_op(ir.layers[0], OpKind::RoutedExperts);
  ASSERT_NE(ex, nullptr);
  EXPECT_TRUE(ex->experts_stacked);
  EXPECT_EQ(ex->tensors[0].checkpoint_name, "model.language_model.layers.0.experts.gate_up_proj");
  EXPECT_EQ(ex->tensors[0].shape, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(find_op(ir.layers[0], OpKind::Router)->tensors[0].checkpoint_name,
            "model.language_model.layers.0.router.proj.weight");
  EXPECT_EQ(ir.pre[1].tensors[0].checkpoint_name, "model.language_model.embed_tokens_per_layer.weight");
}

// A text-only config (Gemma4ForCausalLM) names its tensors model.*; without MoE, PLE, k_eq_v or
// sharing every layer is attention + MLP. hidden_size_per_layer_input null turns PLE off, as the
// reference's `if config.hidden_size_per_layer_input:`; absent, it defaults to 256.
TEST(Gemma4, TextOnlyConfigAndDefaults) {
  const std::string flat = R"({"model_type": "gemma4_text", "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "global_head_dim": 16,
    "vocab_size": 100, "intermediate_size": 48)";
  ModelIR ir = build_model_ir(parse_json(flat + R"(, "hidden_size_per_layer_input": null})", "t.json"), "t.json");
  // Layer types default to 5 sliding : 1 full, and the last layer is forced full: [s, f].
  EXPECT_EQ(find_op(ir.layers[0], OpKind::Attention)->attn.sliding_window, 512);
  EXPECT_EQ(find_op(ir.layers[1], OpKind::Attention)->attn.sliding_window, 0);
  // Layer 0: 3088 (sliding, as above); layer 1 (full, own v_proj, 2 KV heads of 16): q 2048, k 1024,
  // v 1024, o 2048, norms 32 -> 6176; MLP 4608 and 4 norms 128 each layer; embedding 3200; norm 32.
  // (3088 + 4608 + 128) + (6176 + 4608 + 128) + 3200 + 32 = 21968.
  EXPECT_EQ(count_params(ir).total, 21968);
  EXPECT_EQ(ir.layers[0].ops[1].tensors[0].checkpoint_name, "model.layers.0.self_attn.q_proj.weight");
  // Absent: PLE 256 wide over 262144 tokens: table 262144 x 512 + projection 512 x 32 + norm 256, and
  // per layer gate 256 x 32 + projection 32 x 256 + norm 32 = 16416.
  ModelIR dflt = build_model_ir(parse_json(flat + "}", "t.json"), "t.json");
  EXPECT_EQ(count_params(dflt).total, 21968 + 262144LL * 512 + 512 * 32 + 256 + 2 * 16416);
}

// KV cache by hand (bf16, 2 bytes): sliding layers 0, 1, 3 cache 2 heads x (8 + 8) x 2 = 64 bytes per
// token, full layer 2 caches 2 x (16 + 16) x 2 = 128; layers 4 and 5 read layers 3's and 2's cache
// and store none: 3 x 64 + 128 = 320 bytes per token (512 if they kept their own). At context 100
// the sliding layers keep their window of 16: 3 x 64 x 16 + 128 x 100 = 3072 + 12800 = 15872.
TEST(Gemma4, SharedLayersKeepNoCacheButStillAttend) {
  ModelIR ir = build_model_ir(tiny_gemma4(), "tiny_gemma4.json");
  KvCache kv = kv_cache(ir, 100, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 320);
  EXPECT_EQ(kv.bytes_at_context, 15872);
  EXPECT_EQ(kv.n_attention_layers, 4);
  EXPECT_EQ(kv.n_capped_layers, 3);
  EXPECT_EQ(kv.n_shared_layers, 2);

  // The cost walk: a shared layer's decode still reads the cache it attends (layer 4: 16 positions x
  // 64 bytes = 1024; layer 5: 100 x 128 = 12800) and still does its attention FLOPs (layer 5 as layer
  // 2: 2 x 4 heads x (16 + 16) x 100 = 25600); a prefill writes no cache for it.
  CostModel cm(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16);
  auto attn_cost = [&](const StepCost& sc, int layer) {
    for (const OpCost& c : sc.ops)
      if (c.kind == OpKind::Attention && c.layer == layer) return c;
    return OpCost{};
  };
  StepCost dec = cm.decode(1, 100, RoutingModel{}, true);
  EXPECT_DOUBLE_EQ(attn_cost(dec, 4).kv_bytes, 1024);
  EXPECT_DOUBLE_EQ(attn_cost(dec, 3).kv_bytes, 1024);
  EXPECT_DOUBLE_EQ(attn_cost(dec, 5).kv_bytes, 12800);
  EXPECT_DOUBLE_EQ(attn_cost(dec, 5).attention_flops, 25600);
  EXPECT_DOUBLE_EQ(attn_cost(dec, 2).attention_flops, 25600);
  StepCost pre = cm.prefill(1, 10, RoutingModel{}, true);
  EXPECT_DOUBLE_EQ(attn_cost(pre, 3).kv_bytes, 10 * 64);
  EXPECT_DOUBLE_EQ(attn_cost(pre, 4).kv_bytes, 0);
  EXPECT_DOUBLE_EQ(attn_cost(pre, 5).kv_bytes, 0);
  EXPECT_GT(attn_cost(pre, 5).attention_flops, 0);

  // The memory plan holds the same per-layer cache: nothing for layers 4 and 5.
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, RoutingModel{});
  EXPECT_DOUBLE_EQ(m.layer_kv_bytes_per_token[3], 64);
  EXPECT_DOUBLE_EQ(m.layer_kv_bytes_per_token[4], 0);
  EXPECT_DOUBLE_EQ(m.layer_kv_bytes_per_token[5], 0);
  EXPECT_DOUBLE_EQ(m.layer_kv_bytes_per_token[2], 128);
}

TEST(Gemma4, ConfigsItCannotCountAreRefusedByKey) {
  // Every layer shares: no layer keeps a cache.
  EXPECT_NE(error_of(tiny_gemma4(R"(, "num_kv_shared_layers": 6)")).find("num_kv_shared_layers"), std::string::npos);
  // Layers 1..5 share, and layer 2 (full) has no earlier full layer before the sharing starts at 1.
  std::string e = error_of(tiny_gemma4(R"(, "num_kv_shared_layers": 5)"));
  EXPECT_NE(e.find("/text_config/num_kv_shared_layers"), std::string::npos) << e;
  EXPECT_NE(e.find("full_attention"), std::string::npos) << e;
  e = error_of(tiny_gemma4(R"(, "use_bidirectional_attention": "all")"));
  EXPECT_NE(e.find("/text_config/use_bidirectional_attention"), std::string::npos) << e;
  e = error_of(tiny_gemma4(R"(, "num_global_key_value_heads": 3)"));
  EXPECT_NE(e.find("num_global_key_value_heads"), std::string::npos) << e;
}

// google/gemma-4-26B-A4B, by hand from modeling_gemma4.py (d 2816, 30 layers: 25 sliding, 5 full):
//   sliding attn: q 2816 x 16*256 = 11534336, k and v 2816 x 8*256 = 5767168 each, o 11534336,
//     q/k norms 512                                                                   -> 34603520
//   full attn (k_eq_v, 2 KV heads of 512): q 2816 x 16*512 = 23068672, k 2816 x 2*512 = 2883584,
//     o 23068672, norms 1024                                                         -> 49021952
//   MLP 3 x 2816 x 2112 = 17842176; router 128 x 2816 + 2816 + 128 = 363392; experts 128 x 3 x
//     2816 x 704 = 761266176; 7 norms x 2816 = 19712
//   layers 25 x 814094976 + 5 x 828513408 = 24494941440; embedding 262144 x 2816 = 738197504;
//   final norm 2816: total 25,233,141,760 (published: 25.2B total). Active: 8 of 128 experts:
//   25233141760 - 30 x 120 x 5947392 = 3,822,530,560 (published: 3.8B active).
// KV per token (bf16): 25 x 8 x 512 x 2 + 5 x 2 x 1024 x 2 = 204800 + 20480 = 225280 bytes; at 32768:
//   25 x 8192 x 1024 + 5 x 4096 x 32768 = 209715200 + 671088640 = 880803840.
TEST(Gemma4, Gemma4_26B_A4B_RealConfig) {
  ModelIR ir = build_model_ir(load("google__gemma-4-26B-A4B.json"), "google__gemma-4-26B-A4B.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 25233141760LL);
  EXPECT_EQ(p.active, 3822530560LL);
  KvCache kv = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 225280);
  EXPECT_EQ(kv.bytes_at_context, 880803840LL);
  EXPECT_EQ(kv.n_shared_layers, 0);
}

// nvidia/Gemma-4-31B-IT-NVFP4 (the text model of google/gemma-4-31B; d 5376, 60 layers: 50 sliding,
// 10 full, dense MLP 21504):
//   sliding attn: q 5376 x 32*256 = 44040192, k, v 5376 x 16*256 = 22020096 each, o 44040192,
//     norms 512 -> 132121088; full (k_eq_v, 4 KV heads of 512): q 88080384, k 5376 x 4*512 =
//     11010048, o 88080384, norms 1024 -> 187171840; MLP 3 x 5376 x 21504 = 346816512; 4 norms 21504
//   layers 50 x 478959104 + 10 x 534009856 = 29288053760; embedding 262144 x 5376 = 1409286144;
//   norm 5376: total 30,697,345,280 (published: 30.7B dense, beside a ~550M vision encoder).
// KV per token (bf16): 50 x 16 x 512 x 2 + 10 x 4 x 1024 x 2 = 819200 + 81920 = 901120 bytes.
TEST(Gemma4, Gemma4_31B_NVFP4_RealConfig) {
  ModelIR ir = build_model_ir(load("nvidia__Gemma-4-31B-IT-NVFP4.json"), "nvidia__Gemma-4-31B-IT-NVFP4.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 30697345280LL);
  EXPECT_EQ(p.active, p.total);
  EXPECT_EQ(kv_cache(ir, 32768, KvDtype::BF16).bytes_per_token, 901120);
  // As shipped: the ignore list keeps every self_attn in bf16; the MLPs are NVFP4.
  ASSERT_TRUE(ir.shipped_quant.has_value());
  const Op* attn = find_op(ir.layers[7], OpKind::Attention);
  const Op* mlp = find_op(ir.layers[7], OpKind::Mlp);
  EXPECT_EQ(attn->tensors[0].stored.elem, StoredElem::BF16);
  EXPECT_EQ(mlp->tensors[0].stored.bits, 4);
}

// ---------------------------------------------------------------- Llama-Nemotron NAS (DeciLM)

// d 64, 4 heads of 16, vocab 100, untied, 6 layers, one block each.
Value tiny_nas(const std::string& blocks) {
  return parse_json(R"({"model_type": "nemotron-nas", "architectures": ["DeciLMForCausalLM"],
    "hidden_size": 64, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": null,
    "intermediate_size": null, "vocab_size": 100, "rms_norm_eps": 1e-5, "hidden_act": "silu",
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "block_configs": )" + blocks + "}",
                    "tiny_nas.json");
}

const char* kNasBlocks = R"([
  {"attention": {"n_heads_in_group": 2, "no_op": false, "replace_with_linear": false}, "ffn": {"ffn_mult": 6.0}},
  {"attention": {"n_heads_in_group": null, "no_op": true}, "ffn": {"ffn_mult": 1.0}},
  {"attention": {"replace_with_linear": true}, "ffn": {"replace_with_linear": true}},
  {"attention": {"n_heads_in_group": 4}, "ffn": {"no_op": true}},
  {"attention": {"no_op": true}, "ffn": {"no_op": true}},
  {"attention": {"n_heads_in_group": 1}, "ffn": {"ffn_mult": 7.5, "sparsify": null}}])";

// By hand (modeling_decilm.py; KV = 4 / n_heads_in_group, I = the multiple of 256 at or above
// int(2 x ffn_mult x 64 / 3)):
//   layer 0: input_layernorm 64 + q 64x64 4096 + k, v 64x(2x16) 2048 each + o 4096 = 12352;
//            ffn_mult 6 -> int(256) = 256: post_attention_layernorm 64 + 3 x 64 x 256 = 49216 -> 61568
//   layer 1: attention no_op (nothing); ffn_mult 1 -> int(42.67) = 42 -> 256: 49216
//   layer 2: input_layernorm + linear_attn 64x64 = 4160; post_attention_layernorm + linear_mlp = 4160 -> 8320
//   layer 3: KV 1: 64 + 4096 + 1024 + 1024 + 4096 = 10304; ffn no_op
//   layer 4: both no_op: no weights at all
//   layer 5: KV 4: 64 + 4 x 4096 = 16448; ffn_mult 7.5 -> 320 -> 512: 64 + 3 x 64 x 512 = 98368 -> 114816
// Layers 244224; embed_tokens 6400, lm_head 6400, norm 64: total 257088.
// KV cache (bf16) only where a layer attends: KV x (16 + 16) x 2 bytes: 128 + 64 + 256 = 448 per token.
TEST(NemotronNas, TinyConfigCountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny_nas(kNasBlocks), "tiny_nas.json");
  EXPECT_EQ(ir.architecture, "nemotron_nas");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 257088);
  EXPECT_EQ(p.active, 257088);
  EXPECT_TRUE(ir.layers[4].ops.empty());
  EXPECT_EQ(find_op(ir.layers[1], OpKind::Attention), nullptr);
  EXPECT_EQ(find_op(ir.layers[1], OpKind::Mlp)->mlp.d_ff, 256);
  EXPECT_EQ(find_op(ir.layers[5], OpKind::Mlp)->mlp.d_ff, 512);
  EXPECT_EQ(find_op(ir.layers[3], OpKind::Attention)->attn.n_kv_heads, 1);
  const Op* lin = find_op(ir.layers[2], OpKind::Mlp);
  EXPECT_EQ(lin->tensors[0].checkpoint_name, "model.layers.2.self_attn.linear_attn.weight");
  EXPECT_EQ(lin->tensors[0].role, TensorRole::LinearReplacement);
  KvCache kv = kv_cache(ir, 1000, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 448);
  EXPECT_EQ(kv.n_attention_layers, 3);
  EXPECT_EQ(kv.bytes_at_context, 448000);
}

TEST(NemotronNas, BlocksItCannotCountAreRefusedByPath) {
  std::string e = error_of(tiny_nas(R"([{"attention": {"n_heads_in_group": 3}, "ffn": {"ffn_mult": 1.0}}])"));
  EXPECT_NE(e.find("block_configs"), std::string::npos) << e;  // 1 block for 6 layers
  std::string six;
  for (int i = 0; i < 6; ++i)
    six += std::string(i ? "," : "") + R"({"attention": {"n_heads_in_group": 4, "window_length": 128}, "ffn": {"ffn_mult": 1.0}})";
  e = error_of(tiny_nas("[" + six + "]"));
  EXPECT_NE(e.find("/block_configs/0/attention/window_length"), std::string::npos) << e;
  six.clear();
  for (int i = 0; i < 6; ++i)
    six += std::string(i ? "," : "") + R"({"attention": {"n_heads_in_group": 3}, "ffn": {"ffn_mult": 1.0}})";
  e = error_of(tiny_nas("[" + six + "]"));
  EXPECT_NE(e.find("/block_configs/0/attention/n_heads_in_group"), std::string::npos) << e;
}

// nvidia/Llama-3_3-Nemotron-Super-49B-v1 by hand (d 8192, 64 heads of 128, vocab 128256, untied):
//   49 attention blocks (n_heads_in_group 8: 8 KV heads): q, o 8192 x 8192 = 67108864 each, k, v
//     8192 x 1024 = 8388608 each, input_layernorm 8192 -> 151003136; 31 are no_op.
//   FFN widths: ffn_mult 5.25 -> 28672 (49 layers), 2.625 -> 14336 (6), 1.3125 -> 7168 (10),
//     1.0 -> int(5461.33) -> 5632 (8), 0.5 -> int(2730.67) -> 2816 (6), 3.28125 -> 17920 (1);
//     3 x 8192 x I each: 34527510528 + 2113929216 + 1761607680 + 1107296256 + 415236096 + 440401920
//     = 40365981696, + 80 post_attention_layernorms 655360.
//   attention 49 x 151003136 = 7399153664; embed_tokens and lm_head 128256 x 8192 = 1050673152 each;
//   norm 8192. Total 49,867,145,216 (published: "49B" in the model card, about 49B compressed from 70B).
// KV: 49 layers x 8 x (128 + 128) x 2 = 200704 bytes per token; at 32768: 6,576,668,672.
TEST(NemotronNas, Super49BRealConfig) {
  ModelIR ir = build_model_ir(load("nvidia__Llama-3_3-Nemotron-Super-49B-v1.json"), "nvidia__Llama-3_3-Nemotron-Super-49B-v1.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 49867145216LL);
  KvCache kv = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 200704);
  EXPECT_EQ(kv.bytes_at_context, 6576668672LL);
  EXPECT_EQ(kv.n_attention_layers, 49);
}

}  // namespace
}  // namespace llmcost
