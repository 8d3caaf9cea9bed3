// KV-cache bytes: GQA, MLA latent vs expanded, sliding windows, alternating windows, chunks, dtypes.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;
ModelIR model(const std::string& spec) { return load_model(spec, kConfigDir); }

// Llama-3.1-8B: 32 layers x 2 (K,V) x 8 KV heads x 128 head_dim x 2 bytes = 131,072 B/token.
TEST(KvCache, Llama31_8B_Bf16) {
  KvCache kv = kv_cache(model("meta-llama/Llama-3.1-8B"), 4096, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 32 * 2 * 8 * 128 * 2);
  EXPECT_EQ(kv.bytes_per_token, 131072);
  EXPECT_EQ(kv.bytes_at_context, 131072LL * 4096);  // 512 MiB
  EXPECT_EQ(kv.expanded_bytes_per_token, kv.bytes_per_token);
  EXPECT_EQ(kv.n_attention_layers, 32);
  EXPECT_EQ(kv.n_capped_layers, 0);
}

// Same model, smaller element types: fp8/int8 halve, int4 quarters (element size only).
TEST(KvCache, DtypesScaleTheElementSize) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  EXPECT_EQ(kv_cache(ir, 1, KvDtype::FP8).bytes_per_token, 65536);
  EXPECT_EQ(kv_cache(ir, 1, KvDtype::INT8).bytes_per_token, 65536);
  EXPECT_EQ(kv_cache(ir, 1, KvDtype::INT4).bytes_per_token, 32768);
  EXPECT_EQ(kv_dtype_bits(KvDtype::INT4), 4);
  EXPECT_EQ(parse_kv_dtype("FP8"), KvDtype::FP8);
  EXPECT_FALSE(parse_kv_dtype("fp4").has_value());
}

// DeepSeek-V3 MLA: the cache holds the compressed latent (kv_lora_rank 512) plus the shared
// rope key (qk_rope_head_dim 64) per layer: 61 x (512 + 64) x 2 = 70,272 B/token.
// Expanded: 128 heads x (K 128 + 64, V 128) x 2 bytes = 81,920 per layer; x 61 = 4,997,120.
TEST(KvCache, DeepSeekV3MlaLatent) {
  KvCache kv = kv_cache(model("deepseek-ai/DeepSeek-V3"), 4096, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 61 * (512 + 64) * 2);
  EXPECT_EQ(kv.bytes_per_token, 70272);
  EXPECT_EQ(kv.expanded_bytes_per_token, 61 * 128 * (128 + 64 + 128) * 2);
  EXPECT_EQ(kv.expanded_bytes_per_token, 4997120);
  EXPECT_EQ(kv.bytes_at_context, 70272LL * 4096);
  // fp8 latent: 61 x 576 x 1.
  EXPECT_EQ(kv_cache(model("deepseek-ai/DeepSeek-V3"), 1, KvDtype::FP8).bytes_per_token, 61 * 576);
}

// Mistral-7B-v0.1: sliding window 4096 on every layer. Per token as Llama-3.1-8B
// (32 x 2 x 8 x 128 x 2 = 131,072); at 32,768 tokens the cache holds only the last 4096.
TEST(KvCache, MistralWindowCap) {
  ModelIR ir = model("mistralai/Mistral-7B-v0.1");
  KvCache at4k = kv_cache(ir, 4096, KvDtype::BF16);
  KvCache at32k = kv_cache(ir, 32768, KvDtype::BF16);
  EXPECT_EQ(at32k.bytes_per_token, 131072);
  EXPECT_EQ(at4k.bytes_at_context, 131072LL * 4096);
  EXPECT_EQ(at32k.bytes_at_context, 131072LL * 4096);
  EXPECT_EQ(at32k.n_capped_layers, 32);
  EXPECT_EQ(at4k.n_capped_layers, 0);
  EXPECT_EQ(kv_cache(ir, 1000, KvDtype::BF16).bytes_at_context, 131072LL * 1000);
}

// gpt-oss-20b: 24 layers alternating sliding (window 128) and full attention (layer_types);
// 8 KV heads x head_dim 64: 2 x 8 x 64 x 2 = 2048 B per layer per token, 49,152 per token.
// At 4096 tokens: 12 full layers x 4096 x 2048 + 12 sliding x 128 x 2048 = 103,809,024.
TEST(KvCache, GptOssAlternatingWindows) {
  KvCache kv = kv_cache(model("openai/gpt-oss-20b"), 4096, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 24 * 2048);
  EXPECT_EQ(kv.bytes_at_context, 12LL * 4096 * 2048 + 12LL * 128 * 2048);
  EXPECT_EQ(kv.bytes_at_context, 103809024);
  EXPECT_EQ(kv.n_capped_layers, 12);
}

// Llama 4 Scout: 48 layers, 8 KV heads x 128 x 2 (K,V) x 2 B = 4096 B per layer per token.
// Chunked attention (8192) on the RoPE layers; every 4th layer is NoPE and global: 12 global,
// 36 chunked. At 32,768 tokens: 12 x 32768 x 4096 + 36 x 8192 x 4096 = 2,818,572,288.
TEST(KvCache, Llama4ChunkedAttention) {
  KvCache kv = kv_cache(model("meta-llama/Llama-4-Scout-17B-16E-Instruct"), 32768, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 48 * 4096);
  EXPECT_EQ(kv.n_capped_layers, 36);
  EXPECT_EQ(kv.bytes_at_context, 12LL * 32768 * 4096 + 36LL * 8192 * 4096);
  EXPECT_EQ(kv.bytes_at_context, 2818572288LL);
  // Below the chunk nothing is capped.
  EXPECT_EQ(kv_cache(model("meta-llama/Llama-4-Scout-17B-16E-Instruct"), 8192, KvDtype::BF16).bytes_at_context,
            48LL * 4096 * 8192);
}

// Gemma 2 9B: 42 layers, 8 KV heads x head_dim 256: 2 x 8 x 256 x 2 = 8192 B per layer;
// local (window 4096) and global layers alternate. At 8192: 21 x 8192 x 8192 + 21 x 4096 x 8192.
TEST(KvCache, Gemma2LocalGlobal) {
  KvCache kv = kv_cache(model("google/gemma-2-9b"), 8192, KvDtype::BF16);
  EXPECT_EQ(kv.bytes_per_token, 42 * 8192);
  EXPECT_EQ(kv.bytes_at_context, 21LL * 8192 * 8192 + 21LL * 4096 * 8192);
}

// Golden bf16 KV bytes per token (no window cap) of every bundled model, from its config:
// layers x 2 (K, V) x KV heads x head_dim x 2 bytes, or for MLA layers x (kv_lora_rank + rope) x 2.
TEST(KvCache, GoldenBytesPerTokenEveryBundledModel) {
  const std::map<std::string, int64_t> golden = {
    {"Qwen__Qwen2.5-72B-Instruct", 327680},  // 80 x 2 x 8 x 128 x 2
    {"Qwen__Qwen2.5-7B", 57344},  // 28 x 2 x 4 x 128 x 2
    {"Qwen__Qwen3-235B-A22B", 192512},  // 94 x 2 x 4 x 128 x 2
    {"Qwen__Qwen3-30B-A3B", 98304},  // 48 x 2 x 4 x 128 x 2
    {"Qwen__Qwen3-8B", 147456},  // 36 x 2 x 8 x 128 x 2
    {"deepseek-ai__DeepSeek-R1", 70272},  // 61 x (512 + 64) x 2
    {"deepseek-ai__DeepSeek-V2-Lite-Chat", 31104},  // 27 x (512 + 64) x 2
    {"deepseek-ai__DeepSeek-V2", 69120},  // 60 x (512 + 64) x 2
    {"deepseek-ai__DeepSeek-V3", 70272},  // 61 x (512 + 64) x 2
    {"google__gemma-2-9b", 344064},  // 42 x 2 x 8 x 256 x 2
    {"meta-llama__Llama-2-13b-hf", 819200},  // 40 x 2 x 40 x 128 x 2
    {"meta-llama__Llama-2-70b-hf", 327680},  // 80 x 2 x 8 x 128 x 2
    {"meta-llama__Llama-2-7b-hf", 524288},  // 32 x 2 x 32 x 128 x 2
    {"meta-llama__Llama-3.1-405B", 516096},  // 126 x 2 x 8 x 128 x 2
    {"meta-llama__Llama-3.1-70B", 327680},  // 80 x 2 x 8 x 128 x 2
    {"meta-llama__Llama-3.1-8B", 131072},  // 32 x 2 x 8 x 128 x 2
    {"meta-llama__Llama-3.2-1B-Instruct", 32768},  // 16 x 2 x 8 x 64 x 2
    {"meta-llama__Llama-4-Maverick-17B-128E-Instruct", 196608},  // 48 x 2 x 8 x 128 x 2
    {"meta-llama__Llama-4-Scout-17B-16E-Instruct", 196608},  // 48 x 2 x 8 x 128 x 2
    {"microsoft__Phi-3-mini-4k-instruct", 393216},  // 32 x 2 x 32 x 96 x 2
    {"mistralai__Mistral-7B-v0.1", 131072},  // 32 x 2 x 8 x 128 x 2
    {"mistralai__Mixtral-8x22B-v0.1", 229376},  // 56 x 2 x 8 x 128 x 2
    {"mistralai__Mixtral-8x7B-v0.1", 131072},  // 32 x 2 x 8 x 128 x 2
    {"moonshotai__Kimi-K2-Instruct", 70272},  // 61 x (512 + 64) x 2
    {"openai-community__gpt2", 36864},  // 12 x 2 x 12 x 64 x 2
    {"openai__gpt-oss-120b", 73728},  // 36 x 2 x 8 x 64 x 2
    {"openai__gpt-oss-20b", 49152},  // 24 x 2 x 8 x 64 x 2
    {"MiniMaxAI__MiniMax-M2.5", 253952},  // 62 x 2 x 8 x 128 x 2
    {"Qwen__Qwen3-30B-A3B-FP8", 98304},  // 48 x 2 x 4 x 128 x 2
    {"Qwen__Qwen3-32B-FP8", 262144},  // 64 x 2 x 8 x 128 x 2
    {"Qwen__Qwen3-32B", 262144},  // 64 x 2 x 8 x 128 x 2
    {"Qwen__Qwen3-Coder-480B-A35B-Instruct", 253952},  // 62 x 2 x 8 x 128 x 2
    {"Qwen__Qwen3-Next-80B-A3B-Thinking", 24576},  // 12 of 48 layers full attention: 12 x 2 x 2 x 256 x 2 (the rest: DeltaNet state)
    {"Qwen__Qwen3-VL-235B-A22B-Instruct", 192512},  // 94 x 2 x 4 x 128 x 2
    {"Qwen__Qwen3-VL-8B-Instruct", 147456},  // 36 x 2 x 8 x 128 x 2
    {"Qwen__Qwen3.5-122B-A10B", 24576},  // 12 full-attention layers x 2 x 2 x 256 x 2
    {"Qwen__Qwen3.5-27B", 65536},  // 16 full-attention layers x 2 x 4 x 256 x 2
    {"Qwen__Qwen3.5-35B-A3B", 20480},  // 10 full-attention layers x 2 x 2 x 256 x 2
    {"Qwen__Qwen3.5-397B-A17B", 30720},  // 15 full-attention layers x 2 x 2 x 256 x 2
    {"XiaomiMiMo__MiMo-V2-Flash", 222720},  // 9 full x 4 x (192 + 128) x 2 + 39 sliding x 8 x (192 + 128) x 2
    {"deepseek-ai__DeepSeek-V3.2", 78324},  // 61 x ((512 + 64) x 2 + indexer key 128 + 4)
    {"meta-llama__Llama-3.3-70B-Instruct", 327680},  // 80 x 2 x 8 x 128 x 2
    {"moonshotai__Kimi-K2.5", 70272},  // 61 x (512 + 64) x 2
    {"moonshotai__Kimi-K3", 27648},  // 24 MLA layers x (512 + 64) x 2 (the rest: KDA state)
    {"nvidia__GLM-5-NVFP4", 100152},  // 78 x ((512 + 64) x 2 + indexer key 128 + 4)
    {"nvidia__Llama-3.1-70B-Instruct-FP8", 327680},  // 80 x 2 x 8 x 128 x 2
    {"nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", 6144},  // 6 attention layers x 2 x 2 x 128 x 2
    {"nvidia__NVIDIA-Nemotron-3-Super-120B-A12B-FP8", 8192},  // 8 attention layers x 2 x 2 x 128 x 2
    {"nvidia__NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16", 12288},  // 12 attention layers x 2 x 2 x 128 x 2
    {"nvidia__Nemotron-H-56B-Base-8K", 40960},  // 10 attention layers x 2 x 8 x 128 x 2
    {"nvidia__Qwen3.6-35B-A3B-NVFP4", 20480},  // 10 full-attention layers x 2 x 2 x 256 x 2
    {"zai-org__GLM-4.7-Flash", 54144},  // 47 x (512 + 64) x 2
    {"zai-org__GLM-5", 100152},  // 78 x ((512 + 64) x 2 + indexer key 128 + 4)
    {"zai-org__GLM-5-FP8", 100152},  // 78 x ((512 + 64) x 2 + indexer key 128 + 4)
    {"deepseek-ai__DeepSeek-V4-Flash", 46804},  // 43 x 512 (one K=V head) x 2 + 21 ratio-4 layers x indexer key (128 + 4); no window cap
    {"deepseek-ai__DeepSeek-V4-Pro", 66424},  // 61 x 512 x 2 + 30 ratio-4 layers x (128 + 4)
    {"nvidia__DeepSeek-V4-Flash-NVFP4", 46804},  // as DeepSeek-V4-Flash
    {"google__gemma-4-26B-A4B", 225280},  // 25 sliding x 8 x (256 + 256) x 2 + 5 global x 2 x (512 + 512) x 2
    {"nvidia__Gemma-4-31B-IT-NVFP4", 901120},  // 50 sliding x 16 x (256 + 256) x 2 + 10 global x 4 x (512 + 512) x 2
    {"nvidia__Llama-3_3-Nemotron-Super-49B-v1", 200704},  // 49 of 80 blocks with attention x 2 x (64 / 8) x 128 x 2
    {"zai-org__GLM-5.2", 92628},  // 78 x (512 + 64) x 2 + 21 layers with their own indexer x (128 + 4)
  };
  const auto bundled = list_bundled_models(kConfigDir);
  EXPECT_EQ(bundled.size(), golden.size()) << "a bundled model has no golden KV row";
  for (const auto& b : bundled) {
    SCOPED_TRACE(b.stem);
    auto it = golden.find(b.stem);
    ASSERT_NE(it, golden.end());
    EXPECT_EQ(kv_cache(load_model(b.path, kConfigDir), 4096, KvDtype::BF16).bytes_per_token, it->second);
  }
}

TEST(KvCache, NegativeContextIsAnError) {
  EXPECT_THROW(kv_cache(model("meta-llama/Llama-3.1-8B"), -1, KvDtype::BF16), Error);
  EXPECT_EQ(kv_cache(model("meta-llama/Llama-3.1-8B"), 0, KvDtype::BF16).bytes_at_context, 0);
}

}  // namespace
}  // namespace llmcost
