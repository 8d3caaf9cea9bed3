// nemotron_h (Nemotron-H, Nemotron-3 Nano / Super / Ultra): tiny configs counted by hand from
// transformers' modeling_nemotron_h.py (and vLLM's nemotron_h_mtp.py for the MTP module), the
// Mamba-2 state and its FLOPs, and the four real configs of models-2026 with their totals derived
// by hand in the comments.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "llmcost/families.h"
#include "llmcost/flops.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

// d 32, vocab 50. Mamba-2: 4 heads x head_dim 8 (I = 32), 2 groups, d_state 4, kernel 4.
// Attention: 4 heads, 2 KV heads, head_dim 8. MLP width 64. Python's Infinity in time_step_limit.
const char* kCommon = R"("model_type": "nemotron_h", "hidden_size": 32, "vocab_size": 50, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 64, "mamba_num_heads": 4, "mamba_head_dim": 8,
    "n_groups": 2, "ssm_state_size": 4, "conv_kernel": 4, "use_conv_bias": true, "mlp_hidden_act": "relu2",
    "time_step_limit": [0.0, Infinity], "torch_dtype": "bfloat16")";

Value tiny(const std::string& extra) { return parse_json(std::string("{") + kCommon + ", " + extra + "}", "tiny.json"); }

// Per block, by hand:
//   Mamba-2: conv_dim = I + 2 G N = 32 + 16 = 48; in_proj (I + conv_dim + H) x d = 84 x 32 = 2688;
//     conv1d 48 x 1 x 4 = 192 + bias 48; dt_bias, A_log, D 3 x 4 = 12; norm (gated, over I) 32;
//     out_proj 32 x 32 = 1024.                                          -> 3996 + block norm 32 = 4028
//   attention: q 32 x 32 = 1024, k and v 16 x 32 = 512 each, o 32 x 32 = 1024 -> 3072 + 32 = 3104
//   MLP (up, down; not gated): 2 x 64 x 32 = 4096                      -> 4096 + 32 = 4128
// "M-*-": 4028 + 4128 + 3104 + 4128 = 15388; embeddings 50 x 32 = 1600, lm_head 1600, norm_f 32.
constexpr int64_t kTinyDenseTotal = 15388 + 1600 + 1600 + 32;  // 18620

TEST(NemotronH, TinyMambaAttentionMlpCountsAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny(R"("hybrid_override_pattern": "M-*-")"), "tiny.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, kTinyDenseTotal);
  EXPECT_EQ(p.active, p.total);
  EXPECT_EQ(ir.n_layers, 4);
  ASSERT_EQ(ir.layers.size(), 4u);
  // Each block is a pre-norm and ONE mixer in one sublayer: one residual add.
  const OpKind mixers[] = {OpKind::Recurrent, OpKind::Mlp, OpKind::Attention, OpKind::Mlp};
  for (int i = 0; i < 4; ++i) {
    const Layer& L = ir.layers[i];
    ASSERT_EQ(L.ops.size(), 2u) << i;
    EXPECT_EQ(L.ops[0].kind, OpKind::Norm);
    EXPECT_EQ(L.ops[1].kind, mixers[i]) << i;
    EXPECT_EQ(L.ops[0].sublayer, L.ops[1].sublayer) << i;
  }
  const Op& m = ir.layers[0].ops[1];
  EXPECT_EQ(m.rec.type, RecurrentType::Mamba2);
  EXPECT_EQ(m.rec.n_heads, 4);
  EXPECT_EQ(m.rec.n_k_heads, 2);
  EXPECT_EQ(m.rec.k_head_dim, 4);
  EXPECT_EQ(m.rec.v_head_dim, 8);
  EXPECT_EQ(m.rec.conv_dim, 48);
  EXPECT_EQ(m.tensors[0].checkpoint_name, "backbone.layers.0.mixer.in_proj.weight");
  EXPECT_EQ(m.tensors[0].shape, (std::vector<int64_t>{84, 32}));
  EXPECT_EQ(ir.pre[0].tensors[0].checkpoint_name, "backbone.embeddings.weight");
  EXPECT_EQ(ir.post[0].tensors[0].checkpoint_name, "backbone.norm_f.weight");
  const Op& mlp = ir.layers[1].ops[1];
  EXPECT_FALSE(mlp.mlp.gated);
  EXPECT_EQ(mlp.mlp.act, Activation::ReLU2);
  ASSERT_EQ(mlp.tensors.size(), 2u);
  EXPECT_EQ(mlp.tensors[0].checkpoint_name, "backbone.layers.1.mixer.up_proj.weight");
  // No rotary embedding in NemotronHAttention.
  EXPECT_FALSE(ir.layers[2].ops[1].attn.use_rope);
  EXPECT_EQ(ir.layers[2].ops[1].tensors[0].checkpoint_name, "backbone.layers.2.mixer.q_proj.weight");

  // The same layers said as layers_block_type (legacy or current names) count the same.
  for (const char* list : {R"(["mamba", "mlp", "attention", "mlp"])", R"(["linear_attention", "mlp", "full_attention", "mlp"])"}) {
    ModelIR l = build_model_ir(tiny(std::string(R"("layers_block_type": )") + list), "tiny.json");
    EXPECT_EQ(count_params(l).total, kTinyDenseTotal) << list;
  }
  // A num_hidden_layers that disagrees with the list: the list wins (as in NemotronHConfig), said in a note.
  ModelIR n = build_model_ir(tiny(R"("hybrid_override_pattern": "M-*-", "num_hidden_layers": 5)"), "tiny.json");
  EXPECT_EQ(n.n_layers, 4);
  ASSERT_EQ(n.notes.size(), 1u);
  EXPECT_NE(n.notes[0].find("num_hidden_layers (5)"), std::string::npos) << n.notes[0];
}

// State of the one Mamba layer, one sequence: conv 48 channels x (4 - 1) x 2 bytes (bf16) = 288;
// SSM 4 heads x d_state 4 x head_dim 8 x 4 bytes (float32: vLLM's NemotronH default when the config
// names no mamba_ssm_cache_dtype) = 512 -> 800. KV of the one attention layer: 2 KV heads x (8 + 8)
// x 2 bytes = 64 bytes per token.
TEST(NemotronH, StateAndKvCacheByHand) {
  ModelIR ir = build_model_ir(tiny(R"("hybrid_override_pattern": "M-*-")"), "tiny.json");
  const RecurrentSpec& rs = ir.layers[0].ops[1].rec;
  EXPECT_EQ(recurrent_conv_state_bytes(rs), 288);
  EXPECT_EQ(recurrent_ssm_state_bytes(rs), 512);
  for (int64_t ctx : {1000, 131072}) {
    KvCache kv = kv_cache(ir, ctx, KvDtype::BF16);
    EXPECT_EQ(kv.bytes_per_token, 64);
    EXPECT_EQ(kv.n_attention_layers, 1);
    EXPECT_EQ(kv.n_recurrent_layers, 1);
    EXPECT_EQ(kv.state_bytes_per_sequence, 800);
    EXPECT_EQ(kv.bytes_at_context, 64 * ctx + 800) << ctx;
  }
  // A bf16 SSM cache halves the SSM part: 288 + 256.
  ModelIR b = build_model_ir(tiny(R"("hybrid_override_pattern": "M-*-", "mamba_ssm_cache_dtype": "bfloat16")"), "t.json");
  EXPECT_EQ(recurrent_state_bytes(b.layers[0].ops[1].rec), 544);
}

// Mamba-2 FLOPs per token (analyzer/cost/flops.cpp): conv 2 x 48 x 4 = 384 + 5 x 4 heads x 4 x 8 = 640.
// The scan is constant per token: only the attention layer's FLOPs grow with the context.
TEST(NemotronH, MambaFlopsAreConstantPerToken) {
  ModelIR ir = build_model_ir(tiny(R"("hybrid_override_pattern": "M-*-")"), "tiny.json");
  EXPECT_EQ(recurrent_flops_per_token(ir.layers[0].ops[1].rec), 1024);
  const AttentionSpec& a = ir.layers[2].ops[1].attn;
  DecodeFlops d1 = decode_flops_per_token(ir, 1000), d2 = decode_flops_per_token(ir, 2000);
  EXPECT_EQ(d1.attention, 1024 + attention_core_flops(a, 1000));
  EXPECT_EQ(d2.attention - d1.attention, attention_core_flops(a, 2000) - attention_core_flops(a, 1000));
}

// "ME*" with 4 routed experts (top 2) of width 16 in a latent space of 8, a shared expert of 24,
// and one MTP step of "*E". By hand:
//   MoE block: router 4 x 32 = 128 + e_score_correction_bias 4 = 132; fc1_latent_proj 8 x 32 = 256,
//     fc2_latent_proj 32 x 8 = 256; experts 4 x (16 x 8 + 8 x 16) = 4 x 256 = 1024; shared expert
//     2 x 24 x 32 = 1536; norm 32.                                                   -> 3236
//   Layers 4028 + 3236 + 3104 = 10368; + 1600 + 1600 + 32 = 13600.
//   Active: 2 of the 4 experts unused: 13600 - 2 x 256 = 13088.
//   MTP (vLLM NemotronHMultiTokenPredictor): mtp.layers.0 = enorm 32 + hnorm 32 + eh_proj 32 x 64 =
//     2048 + an attention block 3104 = 5216; mtp.layers.1 = a MoE block 3236 + final_layernorm 32 =
//     3268 -> 8484, no copy of the embedding or lm_head.
const char* kLatent = R"("hybrid_override_pattern": "ME*", "n_routed_experts": 4, "num_experts_per_tok": 2,
    "moe_intermediate_size": 16, "moe_shared_expert_intermediate_size": 24, "n_shared_experts": 1,
    "moe_latent_size": 8, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1,
    "mtp_hybrid_override_pattern": "*E")";

TEST(NemotronH, TinyLatentMoeAndMtpCountAsDerivedByHand) {
  ModelIR ir = build_model_ir(tiny(kLatent), "tiny.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 13600);
  EXPECT_EQ(p.active, 13088);
  EXPECT_EQ(ir.n_mtp_layers, 1);
  ASSERT_EQ(ir.mtp_layers.size(), 2u);
  EXPECT_EQ(p.mtp, 8484);
  EXPECT_EQ(p.mtp_shared_copies, 0);

  const Layer& moe = ir.layers[1];
  EXPECT_TRUE(moe.is_moe);
  for (const Op& op : moe.ops) EXPECT_EQ(op.sublayer, moe.ops[0].sublayer) << op.name;
  const Op& router = moe.ops[1];
  ASSERT_EQ(router.kind, OpKind::Router);
  EXPECT_EQ(router.moe.scoring, ScoringFunc::Sigmoid);
  EXPECT_TRUE(router.moe.correction_bias);
  EXPECT_DOUBLE_EQ(router.moe.routed_scaling_factor, 2.5);
  const Tensor* in = find_role(router, TensorRole::MoeLatentIn);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->checkpoint_name, "backbone.layers.1.mixer.fc1_latent_proj.weight");
  EXPECT_EQ(in->shape, (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(find_role(router, TensorRole::RouterCorrectionBias)->checkpoint_name,
            "backbone.layers.1.mixer.gate.e_score_correction_bias");
  const Op& ex = moe.ops[2];
  ASSERT_EQ(ex.kind, OpKind::RoutedExperts);
  EXPECT_EQ(ex.tensors[0].checkpoint_name, "backbone.layers.1.mixer.experts.{e}.up_proj.weight");
  EXPECT_EQ(ex.tensors[0].shape, (std::vector<int64_t>{16, 8}));  // on the latent, not d
  EXPECT_EQ(moe.ops[3].tensors[0].checkpoint_name, "backbone.layers.1.mixer.shared_experts.up_proj.weight");
  EXPECT_EQ(ir.mtp_layers[0].ops[0].tensors[2].checkpoint_name, "mtp.layers.0.eh_proj.weight");
  EXPECT_EQ(ir.mtp_layers[1].ops.back().tensors[0].checkpoint_name, "mtp.layers.1.final_layernorm.weight");

  // Without moe_latent_size (Nemotron-3 Nano) the experts run on d: 4 x (16 x 32 + 32 x 16) = 4096,
  // no latent projections: MoE block 132 + 4096 + 1536 + 32 = 5796; total 4028 + 5796 + 3104 + 3232.
  std::string plain = kLatent;
  plain.replace(plain.find(R"("moe_latent_size": 8,)"), std::string(R"("moe_latent_size": 8,)").size(), "");
  ParamCounts q = count_params(build_model_ir(tiny(plain), "tiny.json"));
  EXPECT_EQ(q.total, 16160);
  EXPECT_EQ(q.active, 16160 - 2 * 1024);
}

std::string error_of(const std::string& extra) {
  try {
    build_model_ir(tiny(extra), "tiny.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(NemotronH, RefusesWhatItCannotCountInOneLine) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("hybrid_override_pattern": "M-X")", "/hybrid_override_pattern"},
      {R"("layers_block_type": ["mamba", "sliding_attention"])", "/layers_block_type/1"},
      {R"("num_hidden_layers": 2)", "/hybrid_override_pattern"},  // no layer kinds at all
      {R"("hybrid_override_pattern": "*", "attention_bias": true)", "/attention_bias"},
      {R"("hybrid_override_pattern": "E", "n_shared_experts": 2)", "/n_shared_experts"},
      {R"("hybrid_override_pattern": "E", "num_nextn_predict_layers": 2)", "/num_nextn_predict_layers"},
      {R"("hybrid_override_pattern": "E", "num_nextn_predict_layers": 1, "mtp_hybrid_override_pattern": "M")",
       "/mtp_hybrid_override_pattern"},
  };
  for (const auto& [extra, path] : cases) {
    const std::string e = error_of(extra);
    EXPECT_NE(e.find(path), std::string::npos) << extra << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

// ---------------------------------------------------------------- the models-2026 configs

const std::string kDir = std::string(LLMCOST_TEST_DATA) + "/models-2026/";

ModelIR load(const std::string& name) {
  std::ifstream in(kDir + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return build_model_ir(parse_json(ss.str(), name), name);
}

// Nemotron-H-56B-Base-8K: d 8192, 54 M + 10 * + 54 -, vocab 131072.
//   Mamba: I = 256 x 64 = 16384, conv_dim = 16384 + 2 x 8 x 256 = 20480; in_proj (16384 + 20480 +
//     256) x 8192 = 304,087,040; conv 81,920 + bias 20,480; 3 x 256 = 768; norm 16,384; out_proj
//     134,217,728; block norm 8,192 -> 438,432,512 x 54 = 23,675,355,648.
//   Attention: q and o 8192 x 8192 = 67,108,864 each, k and v 1024 x 8192 = 8,388,608 each, + 8,192
//     -> 151,003,136 x 10 = 1,510,031,360.
//   MLP: 2 x 32768 x 8192 + 8,192 = 536,879,104 x 54 = 28,991,471,616.
//   Embeddings and lm_head 2 x 1,073,741,824, norm_f 8,192 -> 56,324,350,464 (the "56B").
//   State: conv 20480 x 3 x 2 = 122,880 + SSM 256 x 256 x 64 x 4 (float32) = 16,777,216 per layer,
//   x 54 = 912,605,184 bytes a sequence; KV 10 x 8 x 2 x 128 x 2 = 40,960 bytes a token.
TEST(NemotronH, Nemotron56BCountsAsDerivedByHand) {
  ModelIR ir = load("nvidia__Nemotron-H-56B-Base-8K.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 56324350464);
  EXPECT_EQ(p.active, p.total);
  EXPECT_EQ(ir.n_mtp_layers, 0);
  KvCache kv = kv_cache(ir, 131072, KvDtype::BF16);
  EXPECT_EQ(kv.state_bytes_per_sequence, 912605184);
  EXPECT_EQ(kv.bytes_per_token, 40960);
  EXPECT_EQ(kv.bytes_at_context, int64_t{40960} * 131072 + 912605184);
  // At 128k a sequence costs about a tenth of a model with the same attention in all 118 layers
  // (118 x 4096 bytes a token).
  EXPECT_LT(static_cast<double>(kv.bytes_at_context), 0.11 * 118.0 * 4096.0 * 131072.0);
}

// Nemotron-3-Nano-30B-A3B: d 2688, 23 M + 6 * + 23 E.
//   Mamba: I = 64 x 64 = 4096, conv_dim 4096 + 2 x 8 x 128 = 6144; in_proj 10304 x 2688 = 27,697,152;
//     conv 24,576 + 6,144; 192; norm 4,096; out_proj 11,010,048; + 2,688 -> 38,744,896 x 23 = 891,132,608.
//   Attention: q and o 4096 x 2688 = 11,010,048 each, k and v 256 x 2688 = 688,128 each, + 2,688
//     -> 23,399,040 x 6 = 140,394,240.
//   MoE: router 128 x 2688 + 128 = 344,192; experts 128 x 2 x 1856 x 2688 = 1,277,165,568; shared
//     2 x 3712 x 2688 = 19,955,712; + 2,688 -> 1,297,468,160 x 23 = 29,841,767,680.
//   + 2 x 352,321,536 + 2,688 -> 31,577,940,288 (model card: 31.6B total).
//   Active: minus 23 x 122 x 9,977,856 = 27,997,863,936 -> 3,580,076,352; without the embedding
//   table 3,227,754,816 (model card: 3.2B active, 3.6B with embeddings).
//   State: conv 6144 x 3 x 2 = 36,864 + SSM 64 x 128 x 64 x 4 = 2,097,152, x 23 = 49,082,368.
TEST(NemotronH, Nemotron3NanoCountsAsDerivedByHand) {
  ModelIR ir = load("nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 31577940288);
  EXPECT_EQ(p.active, 3580076352);
  EXPECT_EQ(p.active_compute, 3227754816);
  KvCache kv = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(kv.state_bytes_per_sequence, 49082368);
  EXPECT_EQ(kv.bytes_per_token, 6 * 2 * 2 * 128 * 2);
}

// Nemotron-3-Super-120B-A12B: d 4096, 40 M + 8 * + 40 E, latent MoE (1024), MTP "*E".
//   Mamba: I = 8192, conv_dim 10240; in_proj 18560 x 4096 = 76,021,760; conv 40,960 + 10,240; 384;
//     norm 8,192; out_proj 33,554,432; + 4,096 -> 109,640,064 x 40 = 4,385,602,560.
//   Attention: q and o 16,777,216 each, k and v 1,048,576 each, + 4,096 -> 35,655,680 x 8 = 285,245,440.
//   MoE: router 512 x 4096 + 512 = 2,097,664; fc1/fc2_latent_proj 2 x 1024 x 4096 = 8,388,608;
//     experts 512 x 2 x 2688 x 1024 = 2,818,572,288; shared 2 x 5376 x 4096 = 44,040,192; + 4,096
//     -> 2,873,102,848 x 40 = 114,924,113,920.
//   + 2 x 536,870,912 + 4,096 -> 120,668,707,840 (model card: 120B total, 12B active).
//   Active: minus 40 x 490 x 5,505,024 = 107,898,470,400 -> 12,770,237,440.
//   MTP: enorm + hnorm 8,192, eh_proj 33,554,432, attention block 35,655,680, MoE block 2,873,102,848,
//     final_layernorm 4,096 -> 2,942,325,248 (checkpoint total with MTP: 123,611,033,088).
TEST(NemotronH, Nemotron3SuperCountsAsDerivedByHand) {
  ModelIR ir = load("nvidia__NVIDIA-Nemotron-3-Super-120B-A12B-FP8.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(p.total, 120668707840);
  EXPECT_EQ(p.active, 12770237440);
  EXPECT_EQ(p.mtp, 2942325248);
  EXPECT_EQ(p.mtp_shared_copies, 0);
  // conv 10240 x 3 x 2 = 61,440 + SSM 128 x 128 x 64 x 4 = 4,194,304, x 40.
  EXPECT_EQ(kv_cache(ir, 32768, KvDtype::BF16).state_bytes_per_sequence, 170229760);
}

// Nemotron-3-Ultra-550B-A55B: layers_block_type (no num_hidden_layers): 48 mamba + 12 attention +
// 48 moe, d 8192, latent 2048.
//   Mamba: I = 16384, conv_dim 18432; in_proj 35072 x 8192 = 287,309,824; conv 73,728 + 18,432; 768;
//     norm 16,384; out_proj 134,217,728; + 8,192 -> 421,645,056 x 48 = 20,238,962,688.
//   Attention: q and o 67,108,864 each, k and v 2,097,152 each, + 8,192 -> 138,420,224 x 12 =
//     1,661,042,688.
//   MoE: router 4,194,304 + 512; latent 2 x 2048 x 8192 = 33,554,432; experts 512 x 2 x 5120 x 2048 =
//     10,737,418,240; shared 2 x 10240 x 8192 = 167,772,160; + 8,192 -> 10,942,947,840 x 48 =
//     525,261,496,320.
//   + 2 x 1,073,741,824 + 8,192 -> 549,308,993,536 (the "550B").
//   Active: minus 48 x 490 x 20,971,520 = 493,250,150,400 -> 56,058,843,136 (55B without embeddings).
//   MTP: 16,384 + 134,217,728 + 138,420,224 + 10,942,947,840 + 8,192 = 11,215,610,368.
TEST(NemotronH, Nemotron3UltraCountsAsDerivedByHand) {
  ModelIR ir = load("nvidia__NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16.json");
  ParamCounts p = count_params(ir);
  EXPECT_EQ(ir.n_layers, 108);
  EXPECT_EQ(p.total, 549308993536);
  EXPECT_EQ(p.active, 56058843136);
  EXPECT_EQ(p.mtp, 11215610368);
  // conv 18432 x 3 x 2 = 110,592 + SSM 256 x 128 x 64 x 4 = 8,388,608, x 48.
  EXPECT_EQ(kv_cache(ir, 32768, KvDtype::BF16).state_bytes_per_sequence, 407961600);
}

}  // namespace
}  // namespace llmcost
