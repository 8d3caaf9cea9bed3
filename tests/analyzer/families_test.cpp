// Family builders on tiny hand-checked configs: every config option that changes the weights,
// with the arithmetic written out, plus full-size configs of the families that have no
// bundled reference (gemma, gemma3_text, olmo2, olmoe, phimoe, qwen2_moe) against published totals.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "llmcost/analysis.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

Value parse(const std::string& json) { return parse_json(json, "test.json"); }

// A copy of object `v` with `key` set to `x` (or removed when x is absent).
Value with(const Value& v, const std::string& key, const Value& x) {
  Value out = v;
  out.set(key, x);
  return out;
}
Value with(const Value& v, const std::string& key, const std::string& json) { return with(v, key, parse(json)); }
Value without(const Value& v, const std::string& key) {
  Value out = Value::object();
  for (const auto& kv : v.members())
    if (kv.first != key) out.set(kv.first, kv.second);
  return out;
}

ModelIR ir_of(const Value& v) { return build_model_ir(v, "test.json"); }
ParamCounts count(const Value& v) { return count_params(ir_of(v)); }

int64_t bsum(const ParamCounts& c) {
  int64_t s = 0;
  for (auto x : c.breakdown) s += x;
  return s;
}

// Tiny llama: d=64, 4 heads, 2 KV heads, head_dim 16, d_ff 128, vocab 1000, 2 layers.
//   embed 1000*64 = 64,000; lm_head 64,000; final norm 64
//   per layer: q 64*64=4,096  k 64*32=2,048  v 2,048  o 4,096 -> attention 12,288
//              mlp 3*64*128 = 24,576; two norms 128 -> 36,992
//   total = 64,000 + 2*36,992 + 64 + 64,000 = 202,048
const char* kTinyLlama = R"({
  "model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
  "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 1000, "rms_norm_eps": 1e-5,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16"})";
constexpr int64_t kTinyTotal = 202048;

TEST(LlamaFamily, TinyBaseline) {
  ParamCounts c = count(parse(kTinyLlama));
  EXPECT_EQ(c.total, kTinyTotal);
  EXPECT_EQ(c.active, kTinyTotal);
  EXPECT_EQ(c.active_compute, kTinyTotal - 64000);  // the embedding is only gathered
  EXPECT_EQ(c.at(ParamGroup::Embedding), 64000);
  EXPECT_EQ(c.at(ParamGroup::LmHead), 64000);
  EXPECT_EQ(c.at(ParamGroup::Attention), 2 * 12288);
  EXPECT_EQ(c.at(ParamGroup::Mlp), 2 * 24576);
  EXPECT_EQ(c.at(ParamGroup::Norm), 2 * 128 + 64);
  EXPECT_EQ(bsum(c), c.total);
  EXPECT_EQ(c.mtp, 0);
}

TEST(LlamaFamily, AttentionAndMlpBias) {
  Value v = parse(kTinyLlama);
  // attention_bias: q 64 + k 32 + v 32 + o 64 = 192 per layer.
  EXPECT_EQ(count(with(v, "attention_bias", Value::boolean(true))).total, kTinyTotal + 2 * 192);
  // mlp_bias: gate 128 + up 128 + down 64 = 320 per layer.
  EXPECT_EQ(count(with(v, "mlp_bias", Value::boolean(true))).total, kTinyTotal + 2 * 320);
}

TEST(LlamaFamily, TiedEmbeddings) {
  ParamCounts c = count(with(parse(kTinyLlama), "tie_word_embeddings", Value::boolean(true)));
  EXPECT_EQ(c.total, kTinyTotal - 64000);  // one table, stored once
  EXPECT_EQ(c.at(ParamGroup::LmHead), 0);
  // The tied head is still multiplied every token: active_compute = all of it.
  EXPECT_EQ(c.active_compute, kTinyTotal - 64000);
  EXPECT_EQ(bsum(c), c.total);
}

TEST(LlamaFamily, HeadDimDifferentFromHiddenOverHeads) {
  // head_dim 32: q 64*128=8,192  k 64*64=4,096  v 4,096  o 8,192 = 24,576 (+12,288 per layer).
  ParamCounts c = count(with(parse(kTinyLlama), "head_dim", Value::integer(32)));
  EXPECT_EQ(c.total, kTinyTotal + 2 * 12288);
}

TEST(LlamaFamily, TransformersFiveStyleConfig) {
  // rope_parameters instead of rope_theta, dtype instead of torch_dtype, layer_types.
  Value v = without(parse(kTinyLlama), "torch_dtype");
  v = with(v, "dtype", Value::string("bfloat16"));
  v = with(v, "rope_parameters", R"({"rope_type": "default", "rope_theta": 500000.0})");
  v = with(v, "layer_types", R"(["full_attention", "full_attention"])");
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, kTinyTotal);
  EXPECT_EQ(ir.torch_dtype, "bfloat16");
  EXPECT_DOUBLE_EQ(ir.layers[0].ops[1].attn.rope_theta, 500000.0);
}

TEST(MistralFamily, SlidingWindowAndNoAttentionBias) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("mistral"));
  v = with(v, "sliding_window", Value::integer(4096));
  v = with(v, "attention_bias", Value::boolean(true));  // MistralAttention has no biases whatever the config says
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, kTinyTotal);
  EXPECT_EQ(summarize(ir).n_sliding_layers, 2);
  EXPECT_EQ(summarize(ir).sliding_window, 4096);
}

TEST(Qwen2Family, QkvBiasButNoOutputBias) {
  // q 64 + k 32 + v 32 = 128 per layer; o_proj has no bias.
  Value v = with(parse(kTinyLlama), "model_type", Value::string("qwen2"));
  EXPECT_EQ(count(v).total, kTinyTotal + 2 * 128);
  // Sliding windows only with use_sliding_window, and only from max_window_layers on.
  v = with(v, "sliding_window", Value::integer(128));
  EXPECT_EQ(summarize(ir_of(v)).n_sliding_layers, 0);
  v = with(v, "use_sliding_window", Value::boolean(true));
  v = with(v, "max_window_layers", Value::integer(1));
  EXPECT_EQ(summarize(ir_of(v)).n_sliding_layers, 1);
}

TEST(Qwen3Family, PerHeadQkNorm) {
  // q_norm and k_norm of head_dim 16 each: +32 per layer; attention_bias defaults false.
  Value v = with(parse(kTinyLlama), "model_type", Value::string("qwen3"));
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, kTinyTotal + 2 * 32);
  EXPECT_EQ(c.at(ParamGroup::Norm), 2 * (128 + 32) + 64);
  // Qwen3 sets head_dim explicitly (128 for 4096/32 = 128, 8B); with head_dim 32 the norms grow too.
  EXPECT_EQ(count(with(v, "head_dim", Value::integer(32))).total, kTinyTotal + 2 * 12288 + 2 * 64);
}

// Phi-3: fused qkv_proj [q + 2 kv, d] and gate_up_proj [2 d_ff, d] hold the same weights as
// llama's separate projections; attention_bias is not read (no biases); head_dim from the
// config when given (Phi3Attention: getattr(config, "head_dim", hidden // heads)).
TEST(Phi3Family, FusedProjectionsSameCountAsLlama) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("phi3"));
  v = with(v, "attention_bias", Value::boolean(true));
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, kTinyTotal);
  EXPECT_EQ(ir.layers[0].ops[1].tensors[0].role, TensorRole::AttnQkv);
  EXPECT_EQ(ir.layers[0].ops[1].tensors[0].checkpoint_name, "model.layers.0.self_attn.qkv_proj.weight");
  EXPECT_EQ(ir.layers[0].ops[1].tensors[0].out_features, 64 + 2 * 32);
  // head_dim 32: qkv 64*(128+128) = 16,384 + o 128*64 = 8,192 -> +12,288 per layer.
  EXPECT_EQ(count(with(v, "head_dim", Value::integer(32))).total, kTinyTotal + 2 * 12288);
}

// gpt2 (Conv1D, learned positions, tied head). n_embd 64, 2 layers, 4 heads, n_positions 32,
// vocab 1000, n_inner 100:
//   wte 64,000; wpe 32*64 = 2,048
//   per layer: ln_1 128; c_attn 64*192+192 = 12,480; c_proj 64*64+64 = 4,160; ln_2 128;
//              c_fc 64*100+100 = 6,500; mlp c_proj 100*64+64 = 6,464 -> 29,860
//   ln_f 128. total = 64,000 + 2,048 + 59,720 + 128 = 125,896
TEST(Gpt2Family, TinyWithInnerSize) {
  Value v = parse(R"({"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 32,
                      "vocab_size": 1000, "n_inner": 100})");
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 125896);
  EXPECT_EQ(c.active, 125896);
  EXPECT_EQ(c.active_compute, 125896 - 2048);  // the position table is gathered; wte is tied to the head
  EXPECT_EQ(bsum(c), c.total);
}

// Gemma (v1) defaults: tied embeddings, head_dim from the config.
// google/gemma-7b config: d 3072, 28 layers, 16 heads (kv 16), head_dim 256, d_ff 24576, vocab 256000.
//   embed 256000*3072 = 786,432,000
//   per layer: q,k,v,o 4*3072*4096 = 50,331,648; mlp 3*3072*24576 = 226,492,416; norms 6,144
//              -> 276,830,208; x28 = 7,751,245,824
//   total = 786,432,000 + 7,751,245,824 + 3,072 = 8,537,680,896
// Published: model_size_dict "google/gemma-7b-it": 8537680896 (code index id 2567470270).
TEST(GemmaFamily, Gemma7bPublishedTotal) {
  Value v = parse(R"({"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "hidden_size": 3072,
    "intermediate_size": 24576, "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 256,
    "num_hidden_layers": 28, "vocab_size": 256000, "hidden_act": "gelu", "hidden_activation": null,
    "rms_norm_eps": 1e-06, "max_position_embeddings": 8192, "attention_bias": false, "torch_dtype": "bfloat16"})");
  ModelIR ir = ir_of(v);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 8537680896);
  EXPECT_TRUE(ir.tie_word_embeddings);
  EXPECT_EQ(c.at(ParamGroup::LmHead), 0);
  EXPECT_EQ(c.active_compute, c.total);  // tied: the table is multiplied by the head
}

// Gemma 3 text: per-head q/k norms, four norms per layer (sandwich), tied.
// google/gemma-3-1b config: d 1152, 26 layers, 4 heads, 1 KV head, head_dim 256, d_ff 6912,
// vocab 262144.
//   embed 262144*1152 = 301,989,888
//   per layer: q 1152*1024 = 1,179,648; k,v 1152*256 = 294,912 each; o 1,179,648 -> 2,949,120
//              q_norm + k_norm 2*256 = 512; mlp 3*1152*6912 = 23,887,872; 4 norms 4,608
//              -> 26,842,112; x26 = 697,894,912
//   total = 301,989,888 + 697,894,912 + 1,152 = 999,885,952
// Published: keras-hub gemma3_1b params=999885952 (code index id 3173084990); HF
// safetensors total for google/gemma-3-1b-it (id 59172823075).
TEST(Gemma3Family, Gemma3_1bPublishedTotal) {
  Value v = parse(R"({"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
    "hidden_size": 1152, "intermediate_size": 6912, "num_attention_heads": 4, "num_key_value_heads": 1,
    "head_dim": 256, "num_hidden_layers": 26, "vocab_size": 262144, "hidden_activation": "gelu_pytorch_tanh",
    "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "sliding_window": 512, "sliding_window_pattern": 6,
    "rope_theta": 1000000, "rope_local_base_freq": 10000, "max_position_embeddings": 32768})");
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, 999885952);
  // Every 6th layer is global: layers 5, 11, 17, 23 -> 22 sliding of 26.
  EXPECT_EQ(summarize(ir).n_sliding_layers, 22);
}

// google/gemma-3-4b-it's text_config names only what differs from Gemma3TextConfig's
// defaults (vocab 262208, 8 heads, 4 KV heads, head_dim 256, tied).
//   embed 262208*2560 = 671,252,480
//   per layer: q 2560*2048 = 5,242,880; k, v 2560*1024 = 2,621,440 each; o 5,242,880 -> 15,728,640
//              q/k norms 512; mlp 3*2560*10240 = 78,643,200; 4 norms 10,240 -> 94,382,592; x34 = 3,209,008,128
//   total = 671,252,480 + 3,209,008,128 + 2,560 = 3,880,263,168
// keras-hub gemma3_4b_text params=3,880,099,328 (code index id 3173084990) counts a 262,144-row
// table: 3,880,099,328 + 64*2560 = 3,880,263,168.
TEST(Gemma3Family, Gemma3_4bMinimalTextConfigUsesDefaults) {
  Value v = parse(R"({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
    "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                    "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                    "sliding_window": 1024},
    "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"}, "torch_dtype": "bfloat16"})");
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, 3880263168);
  EXPECT_EQ(count_params(ir).total, 3880099328 + 64 * 2560);
  ASSERT_EQ(ir.notes.size(), 2u);
  EXPECT_NE(ir.notes[1].find("vocab_size"), std::string::npos);
  EXPECT_EQ(summarize(ir).sliding_window, 1024);  // the config's value wins over the default
}

TEST(Gemma3Family, MultimodalTextConfigWithNote) {
  // A gemma3 (multimodal) config: the text_config is counted, the vision tower noted.
  Value text = parse(R"({"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 128,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 2, "vocab_size": 1000})");
  Value root = parse(R"({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
                         "vision_config": {"hidden_size": 1152}})");
  root = with(root, "text_config", text);
  ModelIR ir = ir_of(root);
  // Tiny llama attention/MLP (36,992 - 128 norms = 36,864 per layer) + q/k norms 32 + four norms
  // 256 -> 37,152 per layer; tied embedding 64,000; final norm 64.
  EXPECT_EQ(count_params(ir).total, 64000 + 2 * 37152 + 64);
  ASSERT_GE(ir.notes.size(), 1u);
  EXPECT_NE(ir.notes[0].find("vision tower"), std::string::npos);
}

// OLMo 2: no input norm; post-attention and post-feedforward norms; q_norm over
// n_heads*head_dim and k_norm over n_kv_heads*head_dim (modeling_olmo2.py).
// Tiny: per layer the llama 36,992 + q_norm 64 + k_norm 32 = 37,088 (two norms either way).
TEST(Olmo2Family, PostNormsAndFullWidthQkNorm) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("olmo2"));
  ModelIR ir = ir_of(v);
  EXPECT_EQ(count_params(ir).total, kTinyTotal + 2 * 96);
  EXPECT_EQ(ir.layers[0].ops[0].kind, OpKind::Attention);  // no pre-norm
}

// OLMo-2-1124-7B: d 4096, 32 layers, 32 heads (MHA), d_ff 11008, vocab 100352, untied.
//   embed + lm_head 2*100352*4096 = 822,083,584
//   per layer: attention 4*4096^2 = 67,108,864; q/k norms 8,192; mlp 3*4096*11008 = 135,266,304;
//              norms 8,192 -> 202,391,552; x32 = 6,476,529,664
//   total = 822,083,584 + 6,476,529,664 + 4,096 = 7,298,617,344
// Published: HF safetensors total for allenai/OLMo-2-1124-7B (code index ids 71571056092, 65859659251).
TEST(Olmo2Family, Olmo2_7bPublishedTotal) {
  Value v = parse(R"({"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "hidden_size": 4096,
    "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32, "num_hidden_layers": 32,
    "vocab_size": 100352, "rms_norm_eps": 1e-06, "attention_bias": false, "tie_word_embeddings": false,
    "rope_theta": 500000, "max_position_embeddings": 4096})");
  EXPECT_EQ(count(v).total, 7298617344);
}

// OLMoE: q_norm over hidden_size and k_norm over (hidden_size/n_heads)*n_kv_heads whatever
// head_dim is (modeling_olmoe.py); experts are d_ff = intermediate_size, no shared expert.
TEST(OlmoeFamily, QkNormSizesFollowHiddenSize) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("olmoe"));
  v = with(v, "num_experts", Value::integer(4));
  v = with(v, "num_experts_per_tok", Value::integer(2));
  v = with(v, "intermediate_size", Value::integer(32));
  // per layer: attention 12,288; q_norm 64; k_norm 16*2 = 32; router 4*64 = 256;
  //            experts 4 * 3*64*32 = 24,576; norms 128 -> 37,344
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 64000 + 2 * 37344 + 64 + 64000);
  // active: 2 of 4 experts -> minus 2*6,144 per layer.
  EXPECT_EQ(c.active, c.total - 2 * 2 * 6144);
  // head_dim 32 changes q/k/v/o (+12,288 per layer) but not the norms.
  EXPECT_EQ(count(with(v, "head_dim", Value::integer(32))).total, c.total + 2 * 12288);
}

// OLMoE-1B-7B-0924: d 2048, 16 layers, 16 heads, 64 experts top-8, d_ff 1024, vocab 50304.
//   embed + lm_head 2*50304*2048 = 206,045,184
//   per layer: attention 4*2048^2 = 16,777,216; q/k norms 4,096; router 64*2048 = 131,072;
//              experts 64*3*2048*1024 = 402,653,184; norms 4,096 -> 419,569,664; x16 = 6,713,114,624
//   total = 206,045,184 + 6,713,114,624 + 2,048 = 6,919,161,856 ("parameterCount": 6919161856
//   from the checkpoint headers, code index id 65753564317; llama.cpp bench row id 66201517270)
//   active: 8 experts = 50,331,648 per layer -> 6,919,161,856 - 16*56*3*2048*1024 = 1,282,017,280
TEST(OlmoeFamily, OlmoeOneBSevenBPublishedTotal) {
  Value v = parse(R"({"architectures": ["OlmoeForCausalLM"], "model_type": "olmoe", "hidden_size": 2048,
    "intermediate_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 16, "num_hidden_layers": 16,
    "num_experts": 64, "num_experts_per_tok": 8, "vocab_size": 50304, "rms_norm_eps": 1e-05,
    "norm_topk_prob": false, "clip_qkv": null, "tie_word_embeddings": false})");
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 6919161856);
  EXPECT_EQ(c.active, 1282017280);
}

// Mixtral: block_sparse_moe with w1/w2/w3 experts and a bias-free gate.
TEST(MixtralFamily, TinyMoe) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("mixtral"));
  v = with(v, "num_local_experts", Value::integer(4));
  v = with(v, "num_experts_per_tok", Value::integer(2));
  // per layer: attention 12,288; router 256; experts 4*24,576 = 98,304; norms 128 -> 110,976
  ModelIR ir = ir_of(v);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 64000 + 2 * 110976 + 64 + 64000);
  EXPECT_EQ(c.active, c.total - 2 * 2 * 24576);
  EXPECT_EQ(c.at(ParamGroup::ExpertsRouted), 2 * 98304);
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 256);
  EXPECT_NE(ir.layers[0].ops[3].name.find("block_sparse_moe.gate"), std::string::npos);
}

// Qwen2-MoE: decoder_sparse_step, mlp_only_layers, a shared expert and its sigmoid gate.
TEST(Qwen2MoeFamily, SparseStepMlpOnlyLayersSharedExpertGate) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("qwen2_moe"));
  v = with(v, "num_hidden_layers", Value::integer(4));
  v = with(v, "num_experts", Value::integer(4));
  v = with(v, "num_experts_per_tok", Value::integer(2));
  v = with(v, "moe_intermediate_size", Value::integer(32));
  v = with(v, "shared_expert_intermediate_size", Value::integer(64));
  v = with(v, "decoder_sparse_step", Value::integer(2));  // layers 1 and 3 are MoE ((i+1) % 2 == 0)
  v = with(v, "mlp_only_layers", "[3]");                  // ... but 3 is forced dense
  ModelIR ir = ir_of(v);
  ASSERT_EQ(ir.layers.size(), 4u);
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  EXPECT_FALSE(ir.layers[2].is_moe);
  EXPECT_FALSE(ir.layers[3].is_moe);
  // dense layer: attention 12,288 + qkv bias 128 + mlp 24,576 + norms 128 = 37,120
  // MoE layer:   attention 12,416 + norms 128 + router 256 + experts 4*3*64*32 = 24,576
  //              + shared expert 3*64*64 = 12,288 + shared_expert_gate 64 -> 49,728
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 64000 + 3 * 37120 + 49728 + 64 + 64000);
  EXPECT_EQ(c.active, c.total - 2 * 6144);  // 2 of 4 experts unused in one layer
  EXPECT_EQ(c.at(ParamGroup::ExpertsShared), 12288 + 64);
}

// Qwen1.5-MoE-A2.7B: d 2048, 24 layers, 16 heads, 60 experts top-4 of 1408, shared expert 5632.
//   embed + lm_head 2*151936*2048 = 622,329,856
//   per layer: attention 4*2048^2 + qkv bias 3*2048 = 16,783,360; router 60*2048 = 122,880;
//              experts 60*3*2048*1408 = 519,045,120; shared 3*2048*5632 = 34,603,008 + gate 2,048;
//              norms 4,096 -> 570,560,512; x24 = 13,693,452,288
//   total = 622,329,856 + 13,693,452,288 + 2,048 = 14,315,784,192 (keras-hub qwen1.5_moe preset
//   params=14315784192, code index id 583820047)
TEST(Qwen2MoeFamily, Qwen15MoePublishedTotal) {
  Value v = parse(R"({"architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "hidden_size": 2048,
    "intermediate_size": 5632, "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
    "num_attention_heads": 16, "num_key_value_heads": 16, "num_hidden_layers": 24, "num_experts": 60,
    "num_experts_per_tok": 4, "decoder_sparse_step": 1, "vocab_size": 151936, "rms_norm_eps": 1e-06,
    "tie_word_embeddings": false, "use_sliding_window": false, "sliding_window": 32768, "max_window_layers": 21})");
  EXPECT_EQ(count(v).total, 14315784192);
}

// Qwen3-MoE: moe_intermediate_size experts, per-head q/k norms, no shared expert.
TEST(Qwen3MoeFamily, TinyWithMlpOnlyLayer) {
  Value v = with(parse(kTinyLlama), "model_type", Value::string("qwen3_moe"));
  v = with(v, "num_experts", Value::integer(8));
  v = with(v, "num_experts_per_tok", Value::integer(2));
  v = with(v, "moe_intermediate_size", Value::integer(16));
  v = with(v, "mlp_only_layers", "[0]");
  // layer 0 dense: 12,288 + q/k norms 32 + mlp 24,576 + norms 128 = 37,024
  // layer 1 MoE:   12,288 + 32 + router 8*64 = 512 + experts 8*3*64*16 = 24,576 + 128 = 37,536
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 64000 + 37024 + 37536 + 64 + 64000);
  EXPECT_EQ(c.active, c.total - 6 * 3072);
}

// PhiMoE: LayerNorms with bias, attention_bias, lm_head_bias.
// Phi-3.5-MoE-instruct: d 4096, 32 layers, 32 heads, 8 KV heads, 16 experts top-2 of 6400,
// vocab 32064, attention_bias and lm_head_bias true.
//   embed 32064*4096 = 131,334,144; lm_head 131,334,144 + bias 32,064; final LayerNorm 8,192
//   per layer: q,o 4096*4096+4096 = 16,781,312 each; k,v 4096*1024+1024 = 4,195,328 each
//              -> 41,953,280; 2 LayerNorms 16,384; router 16*4096 = 65,536;
//              experts 16*3*4096*6400 = 1,258,291,200 -> 1,300,326,400; x32 = 41,610,444,800
//   total = 41,873,153,344 (model card: 41.9B total); active: 2 experts -> 6,640,999,744 (card: 6.6B)
TEST(PhimoeFamily, Phi35MoeMatchesCard) {
  Value v = parse(R"({"architectures": ["PhiMoEForCausalLM"], "model_type": "phimoe", "hidden_size": 4096,
    "intermediate_size": 6400, "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 32,
    "num_local_experts": 16, "num_experts_per_tok": 2, "vocab_size": 32064, "rms_norm_eps": 1e-05,
    "attention_bias": true, "lm_head_bias": true, "tie_word_embeddings": false, "sliding_window": 131072})");
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 41873153344);
  EXPECT_EQ(c.active, 6640999744);
  EXPECT_EQ(bsum(c), c.total);
  EXPECT_EQ(c.at(ParamGroup::LmHead), 131334144 + 32064);
}

// DeepSeek-V2 style MLA without q LoRA. Tiny: d 64, 4 heads, kv_lora_rank 32, qk_nope 16,
// qk_rope 8, v_head 16, d_ff 128, 4 routed experts (top 2) of 32, 1 shared, vocab 1000, 3 layers.
//   attention: q_proj 64*(4*24) = 6,144; kv_a_proj_with_mqa 64*(32+8) = 2,560; kv_a_layernorm 32;
//              kv_b_proj 32*(4*(16+16)) = 4,096; o_proj (4*16)*64 = 4,096 -> 16,928
//   dense MLP 3*64*128 = 24,576; MoE: router 256, experts 4*3*64*32 = 24,576, shared 6,144
const char* kTinyDeepseek = R"({
  "model_type": "deepseek_v2", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4,
  "head_dim": 999, "kv_lora_rank": 32, "q_lora_rank": null, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8,
  "v_head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 4,
  "num_experts_per_tok": 2, "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "num_hidden_layers": 3, "vocab_size": 1000, "topk_method": "greedy"})";

TEST(DeepseekFamily, MlaWithoutQLoraFirstDenseAndSharedExpert) {
  ModelIR ir = ir_of(parse(kTinyDeepseek));  // head_dim (999) is ignored: MLA has its own dims
  ParamCounts c = count_params(ir);
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  EXPECT_TRUE(ir.layers[2].is_moe);
  // dense layer: 16,928 + 24,576 + norms 128 = 41,632
  // MoE layer:   16,928 + 256 + 24,576 + 6,144 + 128 = 48,032
  EXPECT_EQ(c.total, 64000 + 41632 + 2 * 48032 + 64 + 64000);
  EXPECT_EQ(c.active, c.total - 2 * 2 * 6144);
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 256);  // greedy: no e_score_correction_bias
  EXPECT_EQ(summarize(ir).attention, "MLA");
}

TEST(DeepseekFamily, MoeLayerFreq) {
  // moe_layer_freq 2 with first_k_dense_replace 1: MoE where i >= 1 and i % 2 == 0 -> layer 2 only.
  ModelIR ir = ir_of(with(parse(kTinyDeepseek), "moe_layer_freq", Value::integer(2)));
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_FALSE(ir.layers[1].is_moe);
  EXPECT_TRUE(ir.layers[2].is_moe);
}

TEST(DeepseekFamily, V3QLoraCorrectionBiasAndMtp) {
  Value v = with(parse(kTinyDeepseek), "model_type", Value::string("deepseek_v3"));
  v = without(v, "topk_method");  // v3 default: noaux_tc, sigmoid scoring, e_score_correction_bias
  v = with(v, "q_lora_rank", Value::integer(24));
  v = with(v, "num_nextn_predict_layers", Value::integer(1));
  // attention with q LoRA: q_a_proj 64*24 = 1,536 + q_a_layernorm 24 + q_b_proj 24*96 = 2,304
  //   instead of q_proj 6,144 -> 16,928 - 6,144 + 3,864 = 14,648
  // router gains e_score_correction_bias [4]: 260
  // dense layer 14,648 + 24,576 + 128 = 39,352; MoE layer 14,648 + 260 + 24,576 + 6,144 + 128 = 45,756
  ParamCounts c = count(v);
  EXPECT_EQ(c.total, 64000 + 39352 + 2 * 45756 + 64 + 64000);
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 260);
  // MTP (not in total): enorm 64 + hnorm 64 + eh_proj 64*128 = 8,192 + embed 64,000 +
  //   shared_head.norm 64 + shared_head.head 64,000 + one MoE decoder layer 45,756 = 182,140
  EXPECT_EQ(c.mtp, 182140);
  EXPECT_EQ(bsum(c), c.total);
}

// gpt-oss: attention biases and sinks, router bias, stacked experts with biases.
// Tiny: d 64, 4 heads, 2 KV heads, head_dim 16, 4 experts top 2 of d_ff 32, vocab 1000, 2 layers.
//   attention: q 64*64+64 = 4,160; k, v 64*32+32 = 2,080 each; o 64*64+64 = 4,160; sinks 4 -> 12,484
//   router 4*64 + 4 = 260; one expert: gate_up 64*64 + 64 + down 32*64 + 64 = 6,272; norms 128
//   layer: 12,484 + 260 + 4*6,272 + 128 = 37,960
//   total = 64,000 + 2*37,960 + 64 + 64,000 = 203,984; active = total - 2*2*6,272 = 178,896
TEST(GptOssFamily, SinksRouterBiasExpertBiases) {
  Value v = parse(R"({"model_type": "gpt_oss", "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 32, "num_local_experts": 4,
    "experts_per_token": 2, "num_hidden_layers": 2, "vocab_size": 1000, "sliding_window": 128,
    "layer_types": ["sliding_attention", "full_attention"]})");
  ModelIR ir = ir_of(v);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 203984);
  EXPECT_EQ(c.active, 178896);
  EXPECT_EQ(c.active_compute, 178896 - 64000);
  EXPECT_EQ(c.at(ParamGroup::Router), 2 * 260);
  EXPECT_EQ(summarize(ir).n_sliding_layers, 1);
}

// Llama 4 text model inside a multimodal config: interleaved MoE layers with a shared
// expert, dense layers of intermediate_size_mlp, parameter-free L2 q/k norm.
// Tiny: d 64, 4 heads, 2 KV, head_dim 16, experts 4 (top 1) of 32, dense d_ff 128, 4 layers.
//   attention 12,288; norms 128
//   MoE layer: router 4*64 = 256; experts 4*3*64*32 = 24,576; shared 6,144 -> 43,392
//   dense layer: mlp 24,576 -> 36,992
TEST(Llama4Family, InterleavedMoeSharedExpertAndNote) {
  Value text = parse(R"({"model_type": "llama4_text", "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 32, "intermediate_size_mlp": 128,
    "num_local_experts": 4, "num_experts_per_tok": 1, "num_hidden_layers": 4, "vocab_size": 1000,
    "interleave_moe_layer_step": 2, "use_qk_norm": true})");
  Value root = with(parse(R"({"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
                              "vision_config": {"hidden_size": 1408}})"), "text_config", text);
  ModelIR ir = ir_of(root);
  // interleave step 2: layers 1 and 3 are MoE.
  EXPECT_FALSE(ir.layers[0].is_moe);
  EXPECT_TRUE(ir.layers[1].is_moe);
  EXPECT_FALSE(ir.layers[2].is_moe);
  EXPECT_TRUE(ir.layers[3].is_moe);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 64000 + 2 * 36992 + 2 * 43392 + 64 + 64000);
  EXPECT_EQ(c.active, c.total - 2 * 3 * 6144);
  EXPECT_EQ(c.at(ParamGroup::ExpertsShared), 2 * 6144);
  ASSERT_FALSE(ir.notes.empty());
  EXPECT_NE(ir.notes[0].find("vision tower"), std::string::npos);

  // An explicit moe_layers list wins over the step.
  ModelIR ir2 = ir_of(with(root, "text_config", with(text, "moe_layers", "[0]")));
  EXPECT_TRUE(ir2.layers[0].is_moe);
  EXPECT_FALSE(ir2.layers[1].is_moe);
  EXPECT_FALSE(ir2.layers[3].is_moe);
}

TEST(Dispatch, UnknownModelTypeResolvedThroughArchitectures) {
  // kimi_k2 configs say DeepseekV3ForCausalLM.
  Value v = with(parse(kTinyDeepseek), "model_type", Value::string("kimi_k2"));
  v = with(v, "architectures", R"(["DeepseekV3ForCausalLM"])");
  ModelIR ir = ir_of(v);
  EXPECT_EQ(ir.architecture, "deepseek_v3");
  EXPECT_EQ(ir.model_type, "kimi_k2");
  ASSERT_EQ(ir.notes.size(), 1u);
  EXPECT_NE(ir.notes[0].find("DeepseekV3ForCausalLM"), std::string::npos);
}

TEST(Dispatch, SupportedArchitecturesCoverTheIssueList) {
  auto s = supported_architectures();
  for (const char* a : {"gpt2", "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
                        "gemma2", "gemma3_text", "phi3", "phimoe", "deepseek_v2", "deepseek_v3", "gpt_oss", "llama4",
                        "olmo2", "olmoe"})
    EXPECT_NE(std::find(s.begin(), s.end(), a), s.end()) << a;
}

// Every bundled model: each tensor has a role fitting its op, one tensor per (role, bias) in an
// op, and a checkpoint name of its own (per-expert names carry "{e}" exactly when the op stores
// one module per expert). Weight loading, quantization and the runner rely on these.
TEST(TensorRoles, EveryBundledModelHasUniqueRolesAndCheckpointNames) {
  const std::string dir = LLMCOST_CONFIG_DIR;
  auto fits = [](OpKind k, TensorRole r) {
    switch (r) {
      case TensorRole::TokenEmbedding: return k == OpKind::TokenEmbedding || k == OpKind::Norm;  // MTP copies
      case TensorRole::PositionEmbedding: return k == OpKind::PositionEmbedding;
      case TensorRole::LmHead: return k == OpKind::LmHead || k == OpKind::Norm;  // MTP shared head
      case TensorRole::Norm: return k == OpKind::Norm;
      case TensorRole::FfnGate:
      case TensorRole::FfnUp:
      case TensorRole::FfnGateUp:
      case TensorRole::FfnDown: return k == OpKind::Mlp || k == OpKind::RoutedExperts || k == OpKind::SharedExperts;
      case TensorRole::FfnOutGate: return k == OpKind::SharedExperts;
      case TensorRole::Router:
      case TensorRole::RouterCorrectionBias: return k == OpKind::Router;
      case TensorRole::MtpEmbedNorm:
      case TensorRole::MtpHiddenNorm:
      case TensorRole::MtpProj:
      case TensorRole::MtpHeadNorm:
      case TensorRole::MtpEProj:
      case TensorRole::MtpHProj:
      case TensorRole::HcFn:  // DeepSeek-V4 hyper-connections: a mixing op between sublayers
      case TensorRole::HcBase:
      case TensorRole::HcScale: return k == OpKind::Norm;
      case TensorRole::RouterInputScale:
      case TensorRole::RouterExpertScale:
      case TensorRole::RouterHashTable: return k == OpKind::Router;
      case TensorRole::RecInProj:
      case TensorRole::RecInProjBA:
      case TensorRole::RecQ:
      case TensorRole::RecK:
      case TensorRole::RecV:
      case TensorRole::RecConv:
      case TensorRole::RecConvQ:
      case TensorRole::RecConvK:
      case TensorRole::RecConvV:
      case TensorRole::RecGate:
      case TensorRole::RecGateA:
      case TensorRole::RecGateB:
      case TensorRole::RecBeta:
      case TensorRole::RecDecay:
      case TensorRole::RecDecayA:
      case TensorRole::RecDecayB:
      case TensorRole::RecDtBias:
      case TensorRole::RecALog:
      case TensorRole::RecD:
      case TensorRole::RecNorm:
      case TensorRole::RecOutProj: return k == OpKind::Recurrent;
      case TensorRole::AttnResProj: return k == OpKind::Norm;  // with the residual scorer's norm
      case TensorRole::MoeLatentIn:
      case TensorRole::MoeLatentOut: return k == OpKind::Router || k == OpKind::Norm;
      default: return k == OpKind::Attention;  // Attn*, Mla*
    }
  };
  int models = 0;
  for (const auto& b : list_bundled_models(dir)) {
    ModelIR ir = load_model(b.stem, dir);
    ++models;
    std::set<std::string> names;
    auto check = [&](const Op& op) {
      std::set<std::pair<TensorRole, bool>> seen;
      for (const Tensor& t : op.tensors) {
        EXPECT_TRUE(fits(op.kind, t.role)) << b.stem << " " << t.checkpoint_name << " " << tensor_role_name(t.role);
        EXPECT_TRUE(seen.insert({t.role, t.bias}).second) << b.stem << " " << t.checkpoint_name;
        // Under the op's module path; or, for parameters held directly by a parent module (DeepSeek-V4
        // hyper-connections layers.3.hc_attn_fn / _base / _scale), named with the op's name as stem.
        EXPECT_TRUE(t.checkpoint_name.rfind(op.name + ".", 0) == 0 || t.checkpoint_name.rfind(op.name + "_", 0) == 0)
            << b.stem << " " << t.checkpoint_name << " (op " << op.name << ")";
        const bool per_expert = op.kind == OpKind::RoutedExperts && !op.experts_stacked;
        EXPECT_EQ(t.checkpoint_name.find("{e}") != std::string::npos, per_expert) << b.stem << " " << t.checkpoint_name;
        if (!t.tied) {
          EXPECT_TRUE(names.insert(t.checkpoint_name).second) << b.stem << " " << t.checkpoint_name;
        }
      }
    };
    for (const Op& op : ir.pre) check(op);
    for (const auto& layers : {ir.layers, ir.mtp_layers})
      for (const Layer& L : layers)
        for (const Op& op : L.ops) check(op);
    for (const Op& op : ir.post) check(op);
  }
  EXPECT_GE(models, 20);
}

}  // namespace
}  // namespace llmcost
