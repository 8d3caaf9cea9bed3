// Quantization schemes: names, policies and exact bytes of single tensors, arithmetic written out.
#include <gtest/gtest.h>

#include "llmcost/quant.h"

namespace llmcost {
namespace {

Tensor linear(int64_t out, int64_t in, ParamGroup g = ParamGroup::Attention) {
  return make_tensor(TensorRole::AttnQ, "q_proj.weight", {out, in}, TensorUse::Matmul, g);
}

int64_t bytes(const Tensor& t, QuantScheme s) { return tensor_bytes(t, s, QuantPolicy{}); }

TEST(Quant, NamesRoundTrip) {
  ASSERT_EQ(all_quant_schemes().size(), 21u);
  for (QuantScheme s : all_quant_schemes()) {
    auto back = parse_quant_scheme(quant_scheme_name(s));
    ASSERT_TRUE(back.has_value()) << quant_scheme_name(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(parse_quant_scheme("Q4_K_M"), QuantScheme::Q4_K_M);
  EXPECT_EQ(parse_quant_scheme("fp8_block128"), QuantScheme::FP8Block128);
  EXPECT_FALSE(parse_quant_scheme("int3").has_value());
  EXPECT_FALSE(parse_quant_scheme("").has_value());
}

// A 4096 x 4096 linear: N = 16,777,216 weights, 4096 rows of 4096.
TEST(Quant, Square4096EveryScheme) {
  const Tensor t = linear(4096, 4096);
  const int64_t N = 4096LL * 4096;
  EXPECT_EQ(bytes(t, QuantScheme::FP32), 4 * N);
  EXPECT_EQ(bytes(t, QuantScheme::BF16), 2 * N);
  EXPECT_EQ(bytes(t, QuantScheme::FP16), 2 * N);
  EXPECT_EQ(bytes(t, QuantScheme::FP8), N + 4);                        // one fp32 scale
  EXPECT_EQ(bytes(t, QuantScheme::FP8Block128), N + 4 * 32 * 32);      // 32 x 32 blocks of 128 x 128
  EXPECT_EQ(bytes(t, QuantScheme::INT8), N + 2 * 4096);                // fp16 scale per row
  EXPECT_EQ(bytes(t, QuantScheme::INT4_G128), N / 2 + 2 * 4096 * 32);  // 8,650,752
  EXPECT_EQ(bytes(t, QuantScheme::INT4_G128), 8650752);
  EXPECT_EQ(bytes(t, QuantScheme::AWQ_G128), N / 2 + 2 * 131072 + 131072 / 2);  // + 4-bit zero per group
  EXPECT_EQ(bytes(t, QuantScheme::NF4), N / 2 + 4 * (N / 64));                  // fp32 absmax per 64
  EXPECT_EQ(bytes(t, QuantScheme::NF4_DQ), N / 2 + N / 64 + 4 * (N / 64 / 256));  // 8,654,848
  EXPECT_EQ(bytes(t, QuantScheme::NF4_DQ), 8654848);
  EXPECT_EQ(bytes(t, QuantScheme::MXFP4), 4096 * 128 * 17);      // 32-blocks: 16 B + 1 B scale
  EXPECT_EQ(bytes(t, QuantScheme::NVFP4), 4096 * 256 * 9 + 4);   // 16-blocks: 8 B + 1 B; fp32 per tensor
  EXPECT_EQ(bytes(t, QuantScheme::Q8_0), 4096 * 128 * 34);       // 17,825,792
  EXPECT_EQ(bytes(t, QuantScheme::Q6_K), 4096 * 16 * 210);       // 13,762,560
  EXPECT_EQ(bytes(t, QuantScheme::Q5_K), 4096 * 16 * 176);
  EXPECT_EQ(bytes(t, QuantScheme::Q4_K), 4096 * 16 * 144);
  EXPECT_EQ(bytes(t, QuantScheme::Q4_0), 4096 * 128 * 18);
  EXPECT_EQ(bytes(t, QuantScheme::Q3_K), 4096 * 16 * 110);
  EXPECT_EQ(bytes(t, QuantScheme::Q2_K), 4096 * 16 * 84);
}

// Bits per weight of the GGUF block formats (the block table in analyzer/cost/quant.cpp, from
// ggml-common.h): bytes x 8 / elements.
TEST(Quant, GgufBitsPerWeightMatchDesignTable) {
  const Tensor t = linear(256, 4096);
  const double n = 256.0 * 4096;
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q8_0) * 8 / n, 8.5);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q4_0) * 8 / n, 4.5);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q4_K) * 8 / n, 4.5);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q5_K) * 8 / n, 5.5);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q6_K) * 8 / n, 6.5625);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q3_K) * 8 / n, 3.4375);
  EXPECT_DOUBLE_EQ(bytes(t, QuantScheme::Q2_K) * 8 / n, 2.625);
}

// gpt-oss width 2880 = 22.5 x 128 = 11.25 x 256 = 90 x 32: partial groups are stored whole,
// and llama.cpp falls back to a 32-block type for the K-quants.
TEST(Quant, RowsNotMultipleOfTheGroup) {
  const Tensor t = linear(2880, 2880);
  EXPECT_EQ(bytes(t, QuantScheme::INT4_G128), 2880 * (1440 + 2 * 23));           // ceil(2880/128) = 23 groups
  EXPECT_EQ(bytes(t, QuantScheme::FP8Block128), 2880LL * 2880 + 4 * 23 * 23);    // 23 x 23 blocks
  EXPECT_EQ(bytes(t, QuantScheme::Q4_K), 2880 * 90 * 22);  // Q4_K -> Q5_0 (22 B per 32)
  EXPECT_EQ(stored_format(t, QuantScheme::Q4_K, QuantPolicy{}), "q5_0");
  EXPECT_EQ(bytes(t, QuantScheme::Q6_K), 2880 * 90 * 34);  // Q6_K -> Q8_0
  EXPECT_EQ(bytes(t, QuantScheme::Q5_K), 2880 * 90 * 24);  // Q5_K -> Q5_1
  EXPECT_EQ(bytes(t, QuantScheme::Q3_K), 2880 * 90 * 18);  // Q3_K -> IQ4_NL
  // A row of 100 fits no block: f16.
  EXPECT_EQ(bytes(linear(8, 100), QuantScheme::Q4_0), 8 * 100 * 2);
  EXPECT_EQ(stored_format(linear(8, 100), QuantScheme::Q4_0, QuantPolicy{}), "f16");
  // NF4 blocks run over the flattened tensor: 3 x 50 = 150 elements -> 75 B + 3 blocks x 4 B.
  EXPECT_EQ(bytes(linear(3, 50), QuantScheme::NF4), 75 + 12);
}

TEST(Quant, PolicyDecidesWhatIsQuantized) {
  const Tensor emb = make_tensor(TensorRole::TokenEmbedding, "weight", {1000, 64}, TensorUse::Gather, ParamGroup::Embedding);
  const Tensor norm = make_tensor(TensorRole::Norm, "weight", {64}, TensorUse::Vector, ParamGroup::Norm);
  const Tensor router = linear(8, 64, ParamGroup::Router);
  const Tensor expert = linear(128, 64, ParamGroup::ExpertsRouted);
  const Tensor attn = linear(64, 64, ParamGroup::Attention);
  const QuantPolicy def;
  // Default: embeddings, norms and routers stay bf16; linear weights take the scheme.
  EXPECT_EQ(tensor_bytes(emb, QuantScheme::INT8, def), 1000 * 64 * 2);
  EXPECT_EQ(tensor_bytes(norm, QuantScheme::INT8, def), 128);
  EXPECT_EQ(tensor_bytes(router, QuantScheme::INT8, def), 8 * 64 * 2);
  EXPECT_EQ(tensor_bytes(expert, QuantScheme::INT8, def), 128 * 64 + 2 * 128);
  // fp32 is a plain dtype: applies to everything, norms included.
  EXPECT_EQ(tensor_bytes(norm, QuantScheme::FP32, def), 256);
  EXPECT_EQ(tensor_bytes(emb, QuantScheme::FP32, def), 1000 * 64 * 4);
  // "experts": attention stays bf16.
  QuantPolicy ex = *parse_quant_policy("experts");
  EXPECT_EQ(tensor_bytes(attn, QuantScheme::MXFP4, ex), 64 * 64 * 2);
  EXPECT_EQ(tensor_bytes(expert, QuantScheme::MXFP4, ex), 128 * 2 * 17);
  // "all": the embedding table is quantized along its rows (1000 rows of 64 = 2 blocks of 32).
  QuantPolicy all = *parse_quant_policy("all");
  EXPECT_EQ(tensor_bytes(emb, QuantScheme::Q8_0, all), 1000 * 2 * 34);
  EXPECT_EQ(tensor_bytes(norm, QuantScheme::Q8_0, all), 128);  // vectors never
  // Comma lists and names.
  QuantPolicy al = *parse_quant_policy("attention,lm_head");
  EXPECT_TRUE(al.attention);
  EXPECT_TRUE(al.lm_head);
  EXPECT_FALSE(al.mlp);
  EXPECT_EQ(quant_policy_name(al), "attention,lm_head");
  EXPECT_EQ(quant_policy_name(def), "default");
  EXPECT_EQ(quant_policy_name(ex), "experts");
  EXPECT_FALSE(parse_quant_policy("attention,bogus").has_value());
  EXPECT_FALSE(parse_quant_policy("").has_value());
}

TEST(Quant, TiedTensorStoresNothingButIsRead) {
  Tensor head = make_tensor(TensorRole::LmHead, "weight", {1000, 64}, TensorUse::Matmul, ParamGroup::Embedding);
  head.tied = true;
  EXPECT_EQ(tensor_bytes(head, QuantScheme::BF16, QuantPolicy{}), 0);
  EXPECT_EQ(tensor_read_bytes(head, QuantScheme::BF16, QuantPolicy{}), 1000 * 64 * 2);
}

// llama.cpp Q4_K_M: attn_v and ffn_down get Q6_K on use_more_bits layers
// (i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2); for n = 32: layers 0-3, 28-31 and 6, 9, ..., 27.
TEST(Quant, Q4KMixFollowsLlamaCpp) {
  const Tensor v = make_tensor(TensorRole::AttnV, "v_proj.weight", {1024, 4096}, TensorUse::Matmul, ParamGroup::Attention);
  const Tensor q = make_tensor(TensorRole::AttnQ, "q_proj.weight", {4096, 4096}, TensorUse::Matmul, ParamGroup::Attention);
  const Tensor down = make_tensor(TensorRole::FfnDown, "down_proj.weight", {4096, 14336}, TensorUse::Matmul, ParamGroup::Mlp);
  const Tensor up = make_tensor(TensorRole::FfnUp, "up_proj.weight", {14336, 4096}, TensorUse::Matmul, ParamGroup::Mlp);
  auto site = [](int layer, OpKind k) {
    TensorSite s;
    s.layer = layer;
    s.n_layers = 32;
    s.d_model = 4096;
    s.op_kind = k;
    return s;
  };
  const QuantPolicy p;
  int bumped = 0;
  for (int i = 0; i < 32; ++i)
    if (stored_format(v, QuantScheme::Q4_K_M, p, site(i, OpKind::Attention)) == "q6_k") ++bumped;
  EXPECT_EQ(bumped, 16);  // 4 + 4 + 8
  EXPECT_EQ(tensor_bytes(v, QuantScheme::Q4_K_M, p, site(0, OpKind::Attention)), 1024 * 16 * 210);
  EXPECT_EQ(tensor_bytes(v, QuantScheme::Q4_K_M, p, site(4, OpKind::Attention)), 1024 * 16 * 144);
  EXPECT_EQ(tensor_bytes(v, QuantScheme::Q4_K_M, p, site(6, OpKind::Attention)), 1024 * 16 * 210);
  EXPECT_EQ(tensor_bytes(q, QuantScheme::Q4_K_M, p, site(0, OpKind::Attention)), 4096 * 16 * 144);
  EXPECT_EQ(tensor_bytes(down, QuantScheme::Q4_K_M, p, site(31, OpKind::Mlp)), 4096 * 56 * 210);
  EXPECT_EQ(tensor_bytes(down, QuantScheme::Q4_K_M, p, site(5, OpKind::Mlp)), 4096 * 56 * 144);
  EXPECT_EQ(tensor_bytes(up, QuantScheme::Q4_K_M, p, site(0, OpKind::Mlp)), 14336 * 16 * 144);
  // Q5_K_M: base Q5_K, same bumps.
  EXPECT_EQ(tensor_bytes(up, QuantScheme::Q5_K_M, p, site(0, OpKind::Mlp)), 14336 * 16 * 176);
  EXPECT_EQ(tensor_bytes(down, QuantScheme::Q5_K_M, p, site(0, OpKind::Mlp)), 4096 * 56 * 210);
  // 8 experts (Mixtral): attn_v is Q8_0 everywhere.
  TensorSite mx = site(5, OpKind::Attention);
  mx.n_experts = 8;
  EXPECT_EQ(stored_format(v, QuantScheme::Q4_K_M, p, mx), "q8_0");
  // Fused qkv (Phi-3 "qkv_proj", gpt2 "c_attn"): Q5_K under q4_k_m, Q6_K under q5_k_m, every layer.
  const Tensor qkv = make_tensor(TensorRole::AttnQkv, "qkv_proj.weight", {9216, 3072}, TensorUse::Matmul, ParamGroup::Attention);
  EXPECT_EQ(stored_format(qkv, QuantScheme::Q4_K_M, p, site(4, OpKind::Attention)), "q5_k");
  EXPECT_EQ(stored_format(qkv, QuantScheme::Q5_K_M, p, site(4, OpKind::Attention)), "q6_k");
  // output.weight: Q6_K.
  const Tensor head = make_tensor(TensorRole::LmHead, "weight", {128256, 4096}, TensorUse::Matmul, ParamGroup::LmHead);
  EXPECT_EQ(stored_format(head, QuantScheme::Q4_K_M, *parse_quant_policy("all"), site(-1, OpKind::LmHead)), "q6_k");
  // ffn_down is known by its role, not its shape: with d_ff == d_model (gpt-oss, 2880 x 2880) the
  // down projection still gets the use_more_bits bump and the up projection does not.
  const Tensor sq_down = make_tensor(TensorRole::FfnDown, "down_proj", {4096, 4096}, TensorUse::Matmul, ParamGroup::ExpertsRouted);
  const Tensor sq_up = make_tensor(TensorRole::FfnUp, "up_proj", {4096, 4096}, TensorUse::Matmul, ParamGroup::ExpertsRouted);
  EXPECT_EQ(stored_format(sq_down, QuantScheme::Q4_K_M, p, site(0, OpKind::RoutedExperts)), "q6_k");
  EXPECT_EQ(stored_format(sq_up, QuantScheme::Q4_K_M, p, site(0, OpKind::RoutedExperts)), "q4_k");
}

}  // namespace
}  // namespace llmcost
