// FLOPs per token (decode) and per prefill: matmuls, attention, MLA absorbed form, windows, causal half.
#include <gtest/gtest.h>

#include "llmcost/flops.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;
ModelIR model(const std::string& spec) { return load_model(spec, kConfigDir); }

// Llama-3.1-8B: matmul weights per layer q, o 4096^2 x 2 + k, v 1024 x 4096 x 2 + 3 x 14336 x 4096
// = 218,103,808; x 32 + lm_head 128256 x 4096 = 7,504,658,432; x 2 FLOPs = 15,009,316,864.
// Attention at C = 4096: 32 layers x 4 x 32 heads x 128 x 4096 = 2,147,483,648.
TEST(Flops, Llama31_8B_Decode) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  DecodeFlops f = decode_flops_per_token(ir, 4096);
  EXPECT_EQ(f.context, 4096);
  EXPECT_EQ(f.matmul, 2 * (32LL * 218103808 + 128256LL * 4096));
  EXPECT_EQ(f.matmul, 15009316864LL);
  EXPECT_EQ(f.attention, 32LL * 4 * 32 * 128 * 4096);
  EXPECT_EQ(f.total, f.matmul + f.attention);
  // Matmul FLOPs are 2 x active_compute less the (non-multiplied) norm weights.
  ParamCounts p = count_params(ir);
  EXPECT_EQ(f.matmul, 2 * (p.active_compute - p.at(ParamGroup::Norm)));
}

// DeepSeek-V3 MLA absorbed: per layer per position 2 x 128 x (512 + 64) + 2 x 128 x 512 = 278,528;
// x 61 layers x 4096 = 69,591,891,968.
TEST(Flops, DeepSeekV3MlaAbsorbed) {
  DecodeFlops f = decode_flops_per_token(model("deepseek-ai/DeepSeek-V3"), 4096);
  EXPECT_EQ(f.attention, 61LL * (2 * 128 * (512 + 64) + 2 * 128 * 512) * 4096);
  EXPECT_EQ(f.attention, 69591891968LL);
}

// Mixtral: only top_k = 2 of 8 experts multiply per token; 3 x 14336 x 4096 per expert.
TEST(Flops, MixtralCountsTopKExperts) {
  ModelIR ir = model("mistralai/Mixtral-8x7B-v0.1");
  for (const auto& op : ir.layers[0].ops)
    if (op.kind == OpKind::RoutedExperts) {
      EXPECT_EQ(op_matmul_flops_per_token(op), 2LL * 2 * 3 * 14336 * 4096);
    }
}

// Mistral-7B sliding window 4096: at 32,768 the attention costs what it does at 4096.
TEST(Flops, MistralWindowCapsAttention) {
  ModelIR ir = model("mistralai/Mistral-7B-v0.1");
  EXPECT_EQ(decode_flops_per_token(ir, 32768).attention, 32LL * 4 * 32 * 128 * 4096);
  EXPECT_EQ(decode_flops_per_token(ir, 32768).attention, decode_flops_per_token(ir, 4096).attention);
}

TEST(Flops, CausalPairs) {
  AttentionSpec full;
  EXPECT_EQ(prefill_attended_pairs(full, 4), 1 + 2 + 3 + 4);
  EXPECT_EQ(prefill_attended_pairs(full, 1000), 1000LL * 1001 / 2);
  AttentionSpec win;
  win.sliding_window = 2;
  EXPECT_EQ(prefill_attended_pairs(win, 5), 1 + 2 + 2 + 2 + 2);
  AttentionSpec chunk;
  chunk.chunk_size = 3;
  EXPECT_EQ(prefill_attended_pairs(chunk, 7), (1 + 2 + 3) * 2 + 1);
  EXPECT_EQ(prefill_attended_pairs(full, 0), 0);
}

// Prefill of 1000 tokens on Llama-3.1-8B: 1000 x 15,009,316,864 matmul FLOPs, attention
// 32 layers x 4 x 32 x 128 x (1000 x 1001 / 2) = 262,406,144,000, the causal half.
TEST(Flops, Llama31_8B_Prefill) {
  PrefillFlops f = prefill_flops(model("meta-llama/Llama-3.1-8B"), 1000);
  EXPECT_EQ(f.tokens, 1000);
  EXPECT_EQ(f.matmul, 1000LL * 15009316864LL);
  EXPECT_EQ(f.attention, 32LL * 4 * 32 * 128 * (1000LL * 1001 / 2));
  EXPECT_EQ(f.total, f.matmul + f.attention);
}

// A prefill is the sum of its decode steps: token i attends to i positions (window-capped).
TEST(Flops, PrefillEqualsSumOfDecodeSteps) {
  for (const char* m : {"openai/gpt-oss-20b", "meta-llama/Llama-4-Scout-17B-16E-Instruct", "deepseek-ai/DeepSeek-V2-Lite-Chat"}) {
    SCOPED_TRACE(m);
    ModelIR ir = model(m);
    const int64_t S = 300;
    int64_t attn = 0;
    for (int64_t c = 1; c <= S; ++c) attn += decode_flops_per_token(ir, c).attention;
    EXPECT_EQ(prefill_flops(ir, S).attention, attn);
  }
}

TEST(Flops, BadInputs) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  EXPECT_THROW(decode_flops_per_token(ir, 0), Error);
  EXPECT_THROW(prefill_flops(ir, 0), Error);
  // 2^40 tokens of prefill overflows int64 FLOPs: an error, not a wrapped number.
  EXPECT_THROW(prefill_flops(ir, 1LL << 40), Error);
}

}  // namespace
}  // namespace llmcost
