// Recurrent (linear-attention / state-space) layers: the Qwen3-Next hybrid family on tiny configs
// counted by hand, the constant per-sequence state, its FLOPs and bytes in the one cost walk, and
// MTP layers reported apart from the total.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "llmcost/cost_model.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

// d 64, 4 layers (3 linear + 1 full), vocab 100, 4 heads x head_dim 16 (2 KV heads), DeltaNet 2 key
// heads x 8, 4 value heads x 8, kernel 4, 8 experts (top 2) of width 32, shared expert 48.
Value tiny_next(const std::string& extra = "") {
  return parse_json(R"({"model_type": "qwen3_next", "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 100,
    "intermediate_size": 96, "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48,
    "num_experts": 8, "num_experts_per_tok": 2, "full_attention_interval": 4,
    "linear_num_key_heads": 2, "linear_key_head_dim": 8, "linear_num_value_heads": 4,
    "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4, "torch_dtype": "bfloat16")" + extra + "}",
                    "tiny.json");
}

// Per layer, by hand (modeling_qwen3_next.py):
//   DeltaNet: key_dim 16, value_dim 32, conv_dim 2*16+32 = 64.
//     in_proj_qkvz (2*16+2*32) x 64 = 6144; in_proj_ba (2*4) x 64 = 512; conv1d 64*1*4 = 256;
//     dt_bias 4, A_log 4; norm 8; out_proj 64*32 = 2048.                          -> 8976
//   gated attention: q_proj 2*4*16 x 64 = 8192; k,v 2*16 x 64 = 2048 each; o 64*64 = 4096;
//     q_norm, k_norm 16 each.                                                     -> 16416
//   norms 2 x 64 = 128.
//   MoE: router 8*64 = 512; experts 8 x 3*64*32 = 49152; shared 3*64*48 = 9216 + gate 64. -> 58944
// Layers: 3 x (8976 + 128 + 58944) + (16416 + 128 + 58944) = 204144 + 75488 = 279632.
// Embedding 6400, lm_head 6400, final norm 64: total 292496.
// Active: routed experts 2 of 8 per layer: minus 4 x 6 x 6144 = 147456 -> 145040.
TEST(Qwen3Next, TinyConfigCountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny_next(), "tiny.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 292496);
  EXPECT_EQ(p.active, 145040);
  // Layer kinds: every 4th layer is full attention.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ir.layers[i].ops[1].kind, i == 3 ? OpKind::Attention : OpKind::Recurrent) << i;
  EXPECT_TRUE(ir.layers[3].ops[1].attn.output_gate);
  // MTP (vLLM default of 1 layer for qwen3_next): fc 64 x 128 = 8192, 3 norms 192, a full-attention
  // MoE layer 75488 -> 83872, none of it a stored copy of the embedding or lm_head.
  EXPECT_EQ(ir.n_mtp_layers, 1);
  EXPECT_EQ(p.mtp, 83872);
  EXPECT_EQ(p.mtp_shared_copies, 0);
}

TEST(Qwen3Next, LayerTypesAndMoeLayersFollowTheConfig) {
  ModelIR ir = build_model_ir(tiny_next(R"(, "layer_types": ["full_attention", "linear_attention", "linear_attention",
      "full_attention"], "decoder_sparse_step": 2, "mlp_only_layers": [3], "num_nextn_predict_layers": 0)"),
                              "tiny.json");
  EXPECT_EQ(ir.layers[0].ops[1].kind, OpKind::Attention);
  EXPECT_EQ(ir.layers[1].ops[1].kind, OpKind::Recurrent);
  // MoE where (i + 1) % 2 == 0 and i not in mlp_only_layers: layer 1 only.
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  EXPECT_FALSE(ir.layers[2].is_moe);
  EXPECT_FALSE(ir.layers[3].is_moe);
  EXPECT_EQ(ir.n_mtp_layers, 0);
  try {
    build_model_ir(tiny_next(R"(, "layer_types": ["full_attention", "mamba", "linear_attention", "full_attention"])"), "t.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/layer_types/1"), std::string::npos) << e.what();
  }
}

// Qwen3.5 dense: in_proj_qkv 64 x 64 = 4096 + in_proj_z 32 x 64 = 2048 (= the fused qkvz 6144) and
// in_proj_b, in_proj_a 4 x 64 = 256 each (= the fused ba 512): the split DeltaNet has the same 8976
// parameters; the dense MLP 3 x 64 x 96 = 18432 per layer.
TEST(Qwen35, SplitProjectionsAndDenseMlp) {
  Value v = parse_json(R"({"model_type": "qwen3_5", "text_config": {"model_type": "qwen3_5_text", "hidden_size": 64,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 100,
    "intermediate_size": 96, "linear_num_key_heads": 2, "linear_key_head_dim": 8, "linear_num_value_heads": 4,
    "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4, "mtp_num_hidden_layers": 1, "mamba_ssm_dtype": "float32",
    "dtype": "bfloat16"}, "vision_config": {}})",
                       "q35.json");
  ModelIR ir = build_model_ir(v, "q35.json");
  ParamCounts p = count_params(ir);
  // 3 x (8976 + 128 + 18432) + (16416 + 128 + 18432) + 6400 + 6400 + 64 = 82608 + 34976 + 12864.
  EXPECT_EQ(p.total, 130448);
  EXPECT_EQ(p.active, p.total);
  const Op& rec = ir.layers[0].ops[1];
  ASSERT_EQ(rec.kind, OpKind::Recurrent);
  EXPECT_EQ(rec.tensors[0].checkpoint_name, "model.layers.0.linear_attn.in_proj_qkv.weight");
  EXPECT_EQ(rec.rec.state_bits, 32);      // mamba_ssm_dtype
  EXPECT_EQ(rec.rec.conv_state_bits, 16);  // the model dtype
  // MTP: fc 8192 + 3 norms 192 + full-attention dense layer (16416 + 128 + 18432) = 43360.
  EXPECT_EQ(p.mtp, 43360);
}

// State of one DeltaNet layer, one sequence: conv 64 channels x (4 - 1) x 2 bytes = 384; recurrent
// 4 heads x 8 x 8 x 2 bytes = 512 (bf16: no ssm dtype in the config) -> 896.
TEST(RecurrentState, BytesPerSequenceByHand) {
  ModelIR ir = build_model_ir(tiny_next(), "tiny.json");
  const RecurrentSpec& rs = ir.layers[0].ops[1].rec;
  EXPECT_EQ(recurrent_conv_state_bytes(rs), 384);
  EXPECT_EQ(recurrent_ssm_state_bytes(rs), 512);
  EXPECT_EQ(recurrent_state_bytes(rs), 896);
  // The KV cache of the one full-attention layer grows with the context, the state does not:
  // 2 KV heads x (16 + 16) x 2 bytes = 128 bytes per token.
  for (int64_t ctx : {1, 1000, 131072}) {
    KvCache kv = kv_cache(ir, ctx, KvDtype::BF16);
    EXPECT_EQ(kv.bytes_per_token, 128);
    EXPECT_EQ(kv.n_recurrent_layers, 3);
    EXPECT_EQ(kv.state_bytes_per_sequence, 3 * 896);
    EXPECT_EQ(kv.bytes_at_context, 128 * ctx + 3 * 896) << ctx;
  }
  // An fp8 KV cache halves the attention part only.
  EXPECT_EQ(kv_cache(ir, 1000, KvDtype::FP8).bytes_at_context, 64 * 1000 + 3 * 896);
  // A float32 state doubles the recurrent part.
  ModelIR f32 = build_model_ir(tiny_next(R"(, "mamba_ssm_cache_dtype": "float32")"), "tiny.json");
  EXPECT_EQ(recurrent_state_bytes(f32.layers[0].ops[1].rec), 384 + 1024);
  EXPECT_THROW(build_model_ir(tiny_next(R"(, "mamba_ssm_cache_dtype": "float12")"), "tiny.json"), ConfigError);
}

// FLOPs per token of one DeltaNet layer's core: conv 2 x 64 x 4 = 512; 7 x 4 heads x 8 x 8 = 1792.
TEST(RecurrentState, FlopsAndBytesInTheCostWalk) {
  ModelIR ir = build_model_ir(tiny_next(), "tiny.json");
  EXPECT_EQ(recurrent_flops_per_token(ir.layers[0].ops[1].rec), 2304);
  RecurrentSpec m2;
  m2.type = RecurrentType::Mamba2;
  m2.n_heads = 2;
  m2.k_head_dim = 16;  // d_state
  m2.v_head_dim = 4;   // head_dim
  m2.conv_dim = 10;
  m2.conv_kernel = 4;
  EXPECT_EQ(recurrent_flops_per_token(m2), 2 * 10 * 4 + 5 * 2 * 16 * 4);

  CostModel cm(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16);
  // Decode, batch 3: each sequence's state read and written back: 3 x 2 x 896 bytes.
  StepCost d = cm.decode(3, 500, RoutingModel{});
  // Prefill, batch 2 x 10 tokens: the final state written once per sequence: 2 x 896.
  StepCost pf = cm.prefill(2, 10, RoutingModel{});
  int found = 0;
  for (size_t i = 0; i < d.ops.size(); ++i) {
    if (d.ops[i].kind != OpKind::Recurrent) continue;
    ++found;
    EXPECT_DOUBLE_EQ(d.ops[i].kv_bytes, 3 * 2 * 896.0);
    EXPECT_DOUBLE_EQ(d.ops[i].attention_flops, 3 * 2304.0);
    EXPECT_DOUBLE_EQ(pf.ops[i].kv_bytes, 2 * 896.0);
    EXPECT_DOUBLE_EQ(pf.ops[i].attention_flops, 20 * 2304.0);
  }
  EXPECT_EQ(found, 3);
  // The FLOP totals agree with the cost walk: decode per token includes the 3 layers' scan.
  DecodeFlops df = decode_flops_per_token(ir, 500);
  PrefillFlops pff = prefill_flops(ir, 10);
  double walk_attention = 0;
  for (const auto& op : d.ops) walk_attention += op.attention_flops;
  EXPECT_DOUBLE_EQ(walk_attention, 3.0 * static_cast<double>(df.attention));
  double walk_prefill = 0;
  for (const auto& op : cm.prefill(1, 10, RoutingModel{}).ops) walk_prefill += op.attention_flops;
  EXPECT_DOUBLE_EQ(walk_prefill, static_cast<double>(pff.attention));
}

TEST(Mtp, DeepSeekCopiesOfEmbeddingAndHeadAreSaidApart) {
  Value v = parse_json(R"({"model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "vocab_size": 100, "intermediate_size": 96, "moe_intermediate_size": 16, "n_routed_experts": 4, "num_experts_per_tok": 2,
    "n_shared_experts": 1, "first_k_dense_replace": 1, "q_lora_rank": 32, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 4, "v_head_dim": 8, "num_nextn_predict_layers": 1})",
                       "ds.json");
  ParamCounts p = count_params(build_model_ir(v, "ds.json"));
  EXPECT_EQ(p.mtp_shared_copies, 2 * 100 * 64);  // embed_tokens and shared_head.head of the MTP layer
  EXPECT_GT(p.mtp, p.mtp_shared_copies);
}

}  // namespace
}  // namespace llmcost

namespace llmcost {
namespace {

// Qwen3-VL / Qwen3.5 wrappers keep the language model at model.language_model.* in the checkpoint;
// the same text_config read alone is a text model at model.*; lm_head and mtp.* do not move.
TEST(WrapperPaths, QwenMultimodalCheckpointsNestTheLanguageModel) {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/models-2026/Qwen__Qwen3.5-27B.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const Value v = parse_json(ss.str(), "q.json");
  ModelIR w = build_model_ir(v, "q.json");
  EXPECT_EQ(w.pre[0].tensors[0].checkpoint_name, "model.language_model.embed_tokens.weight");
  EXPECT_EQ(w.layers[3].ops[1].tensors[0].checkpoint_name, "model.language_model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(w.post.back().tensors[0].checkpoint_name, "lm_head.weight");
  EXPECT_EQ(w.mtp_layers[0].ops[0].tensors[0].checkpoint_name.rfind("mtp.", 0), 0u);
  ModelIR t = build_model_ir(*v.find("text_config"), "t.json");
  EXPECT_EQ(t.pre[0].tensors[0].checkpoint_name, "model.embed_tokens.weight");
  EXPECT_EQ(count_params(t).total, count_params(w).total);
}

}  // namespace
}  // namespace llmcost
