// 2026 hybrid families counted by hand on tiny configs, and the real configs in
// tests/data/models-2026 held against the figures derived from their reference code:
// kimi_linear (Kimi-Linear / Kimi-K3: KDA + gated NoPE MLA, latent MoE, Attention Residuals) and
// mimo_v2_flash (full and sliding-window layers of their own shapes, sinks, MoE, MTP); the flat
// Step-3.7-Flash configs refused.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "llmcost/families.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
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

// ------------------------------------------------------------------------------------ kimi_linear

// A Kimi-K3-shaped wrapper: d 32, 4 layers (1-based KDA 1, 2; MLA 3, 4), vocab 50. KDA 2 heads x
// head_dim 8 (P = 16), kernel 4, full-rank output gate. MLA 2 heads, q_lora 16, kv_lora 8, nope 8,
// rope 4, v 8, output gate. Layer 0 dense (intermediate 40), layers 1-3 MoE: 4 experts top 2 of
// width 12 in a latent of 16 (with its norm), 2 shared experts (24 wide). Attention Residuals.
std::string tiny_kimi_text(const std::string& extra = "") {
  return R"({"model_type": "kimi_linear", "architectures": ["KimiLinearForCausalLM"], "hidden_size": 32,
    "num_hidden_layers": 4, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 50,
    "intermediate_size": 40, "hidden_act": "situ", "q_lora_rank": 16, "kv_lora_rank": 8,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "mla_use_nope": true,
    "mla_use_output_gate": true, "num_experts": 4, "num_experts_per_token": 2, "num_shared_experts": 2,
    "moe_intermediate_size": 12, "routed_expert_hidden_size": 16, "latent_moe_use_norm": true,
    "first_k_dense_replace": 1, "moe_layer_freq": 1, "attn_res_block_size": 2, "rms_norm_eps": 1e-5,
    "dtype": "bfloat16", "linear_attn_config": {"kda_layers": [1, 2], "full_attn_layers": [3, 4],
      "num_heads": 2, "head_dim": 8, "short_conv_kernel_size": 4, "use_full_rank_gate": true,
      "gate_lower_bound": -5.0})" +
         extra + "}";
}

Value tiny_k3(const std::string& extra = "") {
  return parse_json(R"({"model_type": "kimi_k3", "architectures": ["KimiK3ForConditionalGeneration"],
    "text_config": )" + tiny_kimi_text(extra) + R"(, "vision_config": {"vt_hidden_size": 16}})",
                    "tiny_k3.json");
}

// By hand (vLLM kimi_linear.py + the K3 KDA module, see kimi_linear.cpp):
//   KDA: q,k,v_proj 3 x 16x32 = 1536; q,k,v_conv1d 3 x 16x1x4 = 192; f_a_proj 8x32 = 256;
//     f_b_proj 16x8 = 128; A_log 2; dt_bias 16; b_proj 2x32 = 64; g_proj 16x32 = 512; o_norm 8;
//     o_proj 32x16 = 512.                                                          -> 3226
//   MLA: q_a_proj 16x32 = 512; q_a_layernorm 16; q_b_proj 2x(8+4) x 16 = 384;
//     kv_a_proj_with_mqa (8+4)x32 = 384; kv_a_layernorm 8; kv_b_proj 2x(8+8) x 8 = 256;
//     o_proj 32x16 = 512; g_proj 16x32 = 512.                                       -> 2584
//   per layer: input/post_attention_layernorm 64; self_attention_res / mlp_res norm 32 + proj 32
//     each = 128.                                                                   -> 192
//   dense MLP (layer 0): 3 x 32x40 = 3840.
//   MoE: gate 4x32 = 128 + e_score_correction_bias 4; routed_expert_down_proj 16x32 = 512,
//     routed_expert_norm 16, routed_expert_up_proj 32x16 = 512; experts 4 x 3 x 16x12 = 2304;
//     shared_experts 3 x 32x24 = 2304.                                              -> 5780
//   layers: (3226 + 192 + 3840) + (3226 + 192 + 5780) + 2 x (2584 + 192 + 5780)
//         = 7258 + 9198 + 17112 = 33568.
//   embed_tokens 50x32 = 1600, lm_head 1600, norm 32, output_attn_res norm 32 + proj 32: 3296.
//   total 36864; active: 2 of 4 experts in 3 MoE layers, minus 3 x 2 x 576 = 3456 -> 33408.
TEST(KimiLinear, TinyK3CountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny_k3(), "tiny_k3.json");
  EXPECT_EQ(ir.architecture, "kimi_linear");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 36864);
  EXPECT_EQ(p.active, 33408);
  EXPECT_EQ(p.mtp, 0);
  // Layer kinds from the 1-based kda_layers.
  EXPECT_EQ(find_op(ir.layers[0], OpKind::Recurrent)->rec.type, RecurrentType::KimiDelta);
  EXPECT_NE(find_op(ir.layers[1], OpKind::Recurrent), nullptr);
  EXPECT_EQ(find_op(ir.layers[2], OpKind::Recurrent), nullptr);
  const Op* mla = find_op(ir.layers[3], OpKind::Attention);
  ASSERT_NE(mla, nullptr);
  EXPECT_EQ(mla->attn.type, AttentionType::MLA);
  EXPECT_FALSE(mla->attn.use_rope);  // NoPE
  EXPECT_TRUE(mla->attn.output_gate);
  EXPECT_EQ(find_role(*mla, TensorRole::AttnOutGate)->checkpoint_name, "model.layers.3.self_attn.g_proj.weight");
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  // Checkpoint names as the K3 checkpoint has them (under language_model. in the wrapper).
  const Op* kda = find_op(ir.layers[0], OpKind::Recurrent);
  EXPECT_EQ(find_role(*kda, TensorRole::RecALog)->checkpoint_name, "model.layers.0.self_attn.A_log");
  EXPECT_EQ(kda->tensors[3].checkpoint_name, "model.layers.0.self_attn.q_conv1d.weight");
  bool latent = false, res = false;
  for (const Op& op : ir.layers[1].ops)
    for (const Tensor& t : op.tensors) {
      latent = latent || t.checkpoint_name == "model.layers.1.block_sparse_moe.routed_expert_down_proj.weight";
      res = res || t.checkpoint_name == "model.layers.1.mlp_res_proj.weight";
      if (op.kind == OpKind::RoutedExperts && t.role == TensorRole::FfnGate) {
        EXPECT_EQ(expert_checkpoint_name(t, 3), "model.layers.1.block_sparse_moe.experts.3.w1.weight");
        EXPECT_EQ(t.shape, (std::vector<int64_t>{12, 16}));  // [moe_intermediate_size, latent]
      }
    }
  EXPECT_TRUE(latent);
  EXPECT_TRUE(res);
  // The wrapper and the bare text_config are the same model.
  Value bare = parse_json(tiny_kimi_text(), "bare.json");
  EXPECT_EQ(count_params(build_model_ir(bare, "bare.json")).total, 36864);
}

// State per sequence of one KDA layer: conv 3 x 16 channels x (4 - 1) x 2 bytes (bf16) = 288;
// recurrent 2 heads x 8 x 8 x 4 bytes (float32, vLLM kda_state_dtype) = 512 -> 800; two layers 1600.
// KV per token: two MLA layers x (kv_lora 8 + rope 4) x 2 bytes = 48.
TEST(KimiLinear, KdaStateAndMlaCacheByHand) {
  ModelIR ir = build_model_ir(tiny_k3(), "tiny_k3.json");
  const RecurrentSpec& rs = find_op(ir.layers[0], OpKind::Recurrent)->rec;
  EXPECT_EQ(rs.conv_dim, 48);
  EXPECT_EQ(recurrent_conv_state_bytes(rs), 288);
  EXPECT_EQ(recurrent_ssm_state_bytes(rs), 512);
  KvCache kv = kv_cache(ir, 1000, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 48);
  EXPECT_EQ(kv.n_recurrent_layers, 2);
  EXPECT_EQ(kv.state_bytes_per_sequence, 1600);
  EXPECT_EQ(kv.bytes_at_context, 48 * 1000 + 1600);
}

// Kimi-Linear-48B-style options: low-rank output gate g_a_proj 8x32 = 256 + g_b_proj 16x8 = 128
// (384 where g_proj was 512: -128 per KDA layer); no MLA gate (-512 per MLA layer); no latent
// (experts at d = 32: 4 x 3 x 32x12 = 4608, +2304 and -1040 of latent tensors per MoE layer); no
// Attention Residuals (-128 per layer, -64 at the output). silu.
// 36864 - 2 x 128 - 2 x 512 + 3 x (2304 - 1040) - 4 x 128 - 64 = 36864 - 256 - 1024 + 3792 - 576 = 38800.
TEST(KimiLinear, KimiLinearOptionsOff) {
  std::string t = tiny_kimi_text();
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("use_full_rank_gate": true)", R"("use_full_rank_gate": false)"},
           {R"("mla_use_output_gate": true)", R"("mla_use_output_gate": false)"},
           {R"("routed_expert_hidden_size": 16)", R"("routed_expert_hidden_size": null)"},
           {R"("attn_res_block_size": 2)", R"("attn_res_block_size": null)"},
           {R"("hidden_act": "situ")", R"("hidden_act": "silu")"}}) {
    const size_t at = t.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
  }
  ModelIR ir = build_model_ir(parse_json(t, "kl.json"), "kl.json");
  EXPECT_EQ(count_params(ir).total, 38800);
  EXPECT_NE(find_role(*find_op(ir.layers[0], OpKind::Recurrent), TensorRole::RecGateA), nullptr);
}

TEST(KimiLinear, RefusesWhatItCannotCountInOneLine) {
  // The reference asserts NoPE MLA.
  std::string e = error_of(tiny_k3(R"(, "mla_use_nope": false)"));
  EXPECT_NE(e.find("/text_config/mla_use_nope"), std::string::npos) << e;
  // MTP layers: nothing builds them.
  e = error_of(tiny_k3(R"(, "num_nextn_predict_layers": 1)"));
  EXPECT_NE(e.find("/text_config/num_nextn_predict_layers"), std::string::npos) << e;
  // full_attn_layers must be the complement of kda_layers.
  Value v = parse_json(R"({"model_type": "kimi_linear", "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 2, "vocab_size": 50, "intermediate_size": 40, "kv_lora_rank": 8,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "mla_use_nope": true,
    "linear_attn_config": {"kda_layers": [1], "full_attn_layers": [1], "num_heads": 2, "head_dim": 8,
      "short_conv_kernel_size": 4}})",
                       "t.json");
  e = error_of(v);
  EXPECT_NE(e.find("/linear_attn_config/full_attn_layers"), std::string::npos) << e;
  EXPECT_NE(e.find("layer 1 is in both"), std::string::npos) << e;
  e = error_of(tiny_k3(R"(, "hidden_act": "gelu")"));
  EXPECT_NE(e.find("/text_config/hidden_act"), std::string::npos) << e;
}

// Kimi-K3 (moonshotai/Kimi-K3 config.json), by hand from the same formulas at d 7168, 69 KDA layers
// (H 96, D 128, P 12288, full-rank gate) and 24 MLA layers (96 heads, q_lora 1536, kv_lora 512,
// nope 128, rope 64, v 128, gated), layer 0 dense (33792), 92 latent-MoE layers (896 experts top 16,
// I 3072 in a latent of 3584 with its norm, 2 shared), Attention Residuals, vocab 163840:
//   KDA 443,740,384; MLA 232,196,096; MoE 29,784,936,832 per layer; norms + AttnRes 43,008 per layer;
//   dense MLP 726,663,168; embed + lm_head 2,348,810,240; norm + output AttnRes 21,504.
//   total 2,779,484,476,000; active (16 of 896 experts) 105,364,017,760.
// Checked against the published checkpoint: model.safetensors.index.json total_size is
// 1,560,860,324,864 bytes over 497,220 tensors. The text model as stored (routed experts MXFP4:
// 0.5 byte per weight + a 1-byte scale per 32; conv weights, A_log padded to 128, dt_bias and o_norm
// F32; the rest BF16) is 1,559,965,442,048 bytes in 2,460 + 494,592 tensors; the other 168 tensors
// and 894,882,816 bytes are the vision tower and projector (about 0.45B BF16 parameters, not counted
// here). The total also agrees with the "2.8T-parameter" of the public K3 ports.
TEST(KimiLinear, KimiK3RealConfig) {
  ModelIR ir = build_model_ir(load("moonshotai__Kimi-K3.json"), "moonshotai__Kimi-K3.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 2779484476000);
  EXPECT_EQ(p.active, 105364017760);
  EXPECT_EQ(p.mtp, 0);
  int kda = 0, mla = 0;
  for (const Layer& L : ir.layers) (find_op(L, OpKind::Recurrent) ? kda : mla)++;
  EXPECT_EQ(kda, 69);
  EXPECT_EQ(mla, 24);
  // Layers 91 and 92 (1-based 92, 93) are both MLA.
  EXPECT_EQ(find_op(ir.layers[91], OpKind::Recurrent), nullptr);
  EXPECT_EQ(find_op(ir.layers[92], OpKind::Recurrent), nullptr);
  // KV per token: 24 x (512 + 64) x 2 = 27,648 bytes. KDA state per sequence, 69 layers x
  // (conv 36864 x 3 x 2 = 221,184 + state 96 x 128 x 128 x 4 = 6,291,456) = 449,372,160 bytes.
  KvCache kv = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 27648);
  EXPECT_EQ(kv.state_bytes_per_sequence, 449372160);
  EXPECT_EQ(kv.bytes_at_context, int64_t{27648} * 32768 + 449372160);
}

// Kimi-Linear-48B-A3B-Instruct (its config.json, inline): d 2304, 27 layers (20 KDA of 32 heads x 128
// with the low-rank output gate, 7 MLA without q LoRA and without output gate), layer 0 dense
// (9216), 26 MoE layers of 256 experts (1024 wide, top 8, 1 shared), vocab 163840. By hand:
//   KDA 3 x 4096x2304 + 3 x 4096x4 + 128x2304 + 4096x128 + 32 + 4096 + 32x2304 + 128x2304
//       + 4096x128 + 128 + 2304x4096 = 39,514,272;
//   MLA q_proj 32x192 x 2304 + kv_a (512+64) x 2304 + 512 + kv_b 32x256 x 512 + o 2304x4096
//       = 29,114,880;
//   MoE 256 x 2304 + 256 + 256 x 3 x 2304x1024 + shared 3 x 2304x1024 = 1,819,607,296;
//   20 x KDA + 7 x MLA + 27 x 4608 + dense 3 x 2304x9216 + 26 x MoE + 2 x 163840x2304 + 2304
//   = 49,122,681,728; active (8 of 256) 3,484,459,904. The model card's "48B total, 3B activated"
//   is rounded (no exact published count found); the checkpoint has no MTP layer.
TEST(KimiLinear, KimiLinear48BConfig) {
  Value v = parse_json(R"({"architectures": ["KimiLinearForCausalLM"], "model_type": "kimi_linear",
    "hidden_size": 2304, "intermediate_size": 9216, "num_attention_heads": 32, "num_key_value_heads": 32,
    "num_hidden_layers": 27, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "vocab_size": 163840,
    "hidden_act": "silu", "kv_lora_rank": 512, "q_lora_rank": null, "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64, "v_head_dim": 128, "mla_use_nope": true,
    "linear_attn_config": {"head_dim": 128, "num_heads": 32, "short_conv_kernel_size": 4,
      "kda_layers": [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23, 25, 26],
      "full_attn_layers": [4, 8, 12, 16, 20, 24, 27]},
    "num_experts": 256, "num_experts_per_token": 8, "num_shared_experts": 1, "moe_intermediate_size": 1024,
    "moe_router_activation_func": "sigmoid", "moe_renormalize": true, "routed_scaling_factor": 2.446,
    "use_grouped_topk": true, "num_expert_group": 1, "topk_group": 1, "first_k_dense_replace": 1,
    "moe_layer_freq": 1, "num_nextn_predict_layers": 0, "torch_dtype": "bfloat16"})",
                       "kimi_linear_48b.json");
  ParamCounts p = count_params(build_model_ir(v, "kimi_linear_48b.json"));
  EXPECT_EQ(p.total, 49122681728);
  EXPECT_EQ(p.active, 3484459904);
}

// ---------------------------------------------------------------------------------- mimo_v2_flash

// d 32, 3 layers: layer 0 full attention + dense MLP, layers 1-2 sliding (window 4) + MoE; vocab 40.
// Full: 4 heads, 1 KV head, head_dim 12, v_head_dim 8. Sliding: 2 heads, 2 KV heads, head_dim 12,
// v 8, sinks. Dense MLP 24; 4 experts top 2 of width 8.
Value tiny_mimo(const std::string& extra = "") {
  return parse_json(R"({"model_type": "mimo_v2_flash", "architectures": ["MiMoV2FlashForCausalLM"],
    "hidden_size": 32, "num_hidden_layers": 3, "vocab_size": 40, "num_attention_heads": 4,
    "num_key_value_heads": 1, "head_dim": 12, "v_head_dim": 8, "swa_num_attention_heads": 2,
    "swa_num_key_value_heads": 2, "swa_head_dim": 12, "swa_v_head_dim": 8, "sliding_window_size": 4,
    "add_swa_attention_sink_bias": true, "add_full_attention_sink_bias": false,
    "hybrid_layer_pattern": [0, 1, 1], "moe_layer_freq": [0, 1, 1], "intermediate_size": 24,
    "moe_intermediate_size": 8, "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": null,
    "norm_topk_prob": true, "scoring_func": "sigmoid", "n_group": 1, "topk_group": 1,
    "routed_scaling_factor": null, "hidden_act": "silu", "layernorm_epsilon": 1e-5,
    "partial_rotary_factor": 0.334, "rope_theta": 5000000, "swa_rope_theta": 10000,
    "torch_dtype": "bfloat16")" + extra + "}",
                    "tiny_mimo.json");
}

// By hand (vLLM mimo_v2_flash.py):
//   full attention: q_proj 4x12 x 32 = 1536; k_proj 1x12 x 32 = 384; v_proj 1x8 x 32 = 256;
//     o_proj 32 x 4x8 = 1024.                                                 -> 3200
//   sliding: q 2x12 x 32 = 768; k 2x12 x 32 = 768; v 2x8 x 32 = 512; o 32 x 2x8 = 512;
//     attention_sink_bias 2.                                                  -> 2562
//   dense MLP 3 x 32x24 = 2304; MoE: gate 4x32 = 128 + e_score_correction_bias 4, experts
//   4 x 3 x 32x8 = 3072 -> 3204; two norms 64 per layer.
//   layers: (3200 + 64 + 2304) + 2 x (2562 + 64 + 3204) = 5568 + 11660 = 17228.
//   embed_tokens 1280 + lm_head 1280 + norm 32: total 19820; active: 2 of 4 experts in 2 layers,
//   minus 2 x 2 x 768 = 3072 -> 16748.
//   MTP (3 by default): enorm, hnorm, final_layernorm 96 + eh_proj 32x64 = 2048, input_layernorm and
//   pre_mlp_layernorm 64, a sliding attention 2562, a dense MLP 2304 -> 7074 each, 21222 in all.
TEST(MimoV2Flash, TinyConfigCountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny_mimo(), "tiny_mimo.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 19820);
  EXPECT_EQ(p.active, 16748);
  EXPECT_EQ(ir.n_mtp_layers, 3);
  EXPECT_EQ(p.mtp, 21222);
  EXPECT_EQ(p.mtp_shared_copies, 0);
  const Op* full = find_op(ir.layers[0], OpKind::Attention);
  const Op* swa = find_op(ir.layers[1], OpKind::Attention);
  EXPECT_EQ(full->attn.sliding_window, 0);
  EXPECT_FALSE(full->attn.sinks);
  EXPECT_EQ(swa->attn.sliding_window, 4);
  EXPECT_EQ(swa->attn.n_kv_heads, 2);
  EXPECT_EQ(swa->attn.rope_theta, 10000);
  EXPECT_EQ(find_role(*swa, TensorRole::AttnSinks)->checkpoint_name, "model.layers.1.self_attn.attention_sink_bias");
  EXPECT_EQ(ir.mtp_layers[2].ops[0].tensors[2].checkpoint_name, "model.mtp.layers.2.eh_proj.weight");
  // KV per token: full 1 x (12 + 8) x 2 = 40 bytes; sliding 2 x 20 x 2 = 80 each, capped at 4 tokens.
  KvCache kv = kv_cache(ir, 1000, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 40 + 2 * 80);
  EXPECT_EQ(kv.n_capped_layers, 2);
  EXPECT_EQ(kv.bytes_at_context, 40 * 1000 + 2 * 80 * 4);
  // An explicit MTP count wins over the default.
  EXPECT_EQ(count_params(build_model_ir(tiny_mimo(R"(, "num_nextn_predict_layers": 1)"), "t.json")).mtp, 7074);
}

TEST(MimoV2Flash, RefusesWhatItCannotCountInOneLine) {
  std::string e = error_of(tiny_mimo(R"(, "add_full_attention_sink_bias": true)"));
  EXPECT_NE(e.find("/add_full_attention_sink_bias"), std::string::npos) << e;
  e = error_of(tiny_mimo(R"(, "n_shared_experts": 1)"));
  EXPECT_NE(e.find("/n_shared_experts"), std::string::npos) << e;
  e = error_of(parse_json(R"({"model_type": "mimo_v2_flash", "hidden_size": 32, "num_hidden_layers": 3,
    "vocab_size": 40, "num_attention_heads": 4, "head_dim": 12, "swa_num_attention_heads": 2,
    "swa_num_key_value_heads": 2, "swa_head_dim": 12, "sliding_window_size": 4, "intermediate_size": 24,
    "hybrid_layer_pattern": [0, 1]})",
                          "t.json"));
  EXPECT_NE(e.find("/hybrid_layer_pattern"), std::string::npos) << e;
}

// MiMo-V2-Flash (XiaomiMiMo/MiMo-V2-Flash config.json), by hand at d 4096, vocab 152576:
//   9 full layers (64 heads, 4 KV, 192 / 128): 89,128,960 each; 39 sliding (64 heads, 8 KV,
//   192 / 128, sinks): 94,371,904 each; layer 0 dense MLP 3 x 4096 x 16384 = 201,326,592; 47 MoE
//   layers of 256 experts x 3 x 4096 x 2048 + gate 1,048,576 + bias 256 = 6,443,499,776; norms
//   48 x 8192; embed + lm_head 1,249,902,592; final norm 4096.
//   total 308,778,780,864; active (8 of 256) 15,445,936,320: the "309B total, 15B active" of the
//   model card and of the MiMo-V2-Flash Technical Report (arXiv 2601.02780), whose speculative
//   decoding uses "three MTP layers". MTP: 3 x (enorm, hnorm, input_layernorm, pre_mlp_layernorm,
//   final_layernorm 20,480 + eh_proj 33,554,432 + sliding attention 94,371,904 + dense MLP
//   201,326,592) = 3 x 329,273,408 = 987,820,224, beside the total.
TEST(MimoV2Flash, RealConfig) {
  ModelIR ir = build_model_ir(load("XiaomiMiMo__MiMo-V2-Flash.json"), "XiaomiMiMo__MiMo-V2-Flash.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 308778780864);
  EXPECT_EQ(p.active, 15445936320);
  EXPECT_EQ(p.mtp, 987820224);
  // KV per token: 9 x 4 x 320 x 2 = 23,040 bytes of full attention; the 39 sliding layers
  // (8 x 320 x 2 = 5,120 bytes per token) cap at 128 tokens: 25,559,040 bytes per sequence.
  KvCache kv = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(kv.n_capped_layers, 39);
  EXPECT_EQ(kv.bytes_at_context, int64_t{23040} * 32768 + int64_t{39} * 5120 * 128);
}

// ------------------------------------------------------------------------------------ step3p7

// Step-3.7-Flash: the reference (transformers models/step3p7, Step3p7Config) is a vision-language
// wrapper that builds its text model from text_config, a Step3p7TextConfig (= vLLM's step3p5):
// num_attention_groups, moe_num_experts, moe_top_k, moe_layers_enum, use_head_wise_attn_gate (a
// g_proj per attention layer), attention_other_setting (other head counts on sliding layers),
// swiglu_limits. These two configs are flat, with keys the reference does not read (num_experts,
// num_experts_per_tok, num_key_value_heads, first_k_dense_replace) and without the ones that decide
// its weights, and no implementation registers Step3p7FlashForCausalLM: they are refused in one line.
TEST(Step3p7, FlatConfigsAreRefusedInOneLine) {
  for (const char* f : {"stepfun-ai__Step-3.7-Flash.json", "stepfun-ai__Step-3.7-Flash-FP8.json"}) {
    std::string e = error_of(load(f));
    EXPECT_NE(e.find("/model_type \"step3p7\" is not a supported architecture"), std::string::npos) << e;
    EXPECT_NE(e.find("Step3p7FlashForCausalLM"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace llmcost
