// Writes the generated part of the fuzz seed corpus: safetensors files of every dtype family
// (scalar, empty, fp8, integer, metadata) with the project's own writer, and GGUF files (metadata
// of every value type, nested arrays, block-quantized tensors) with the tests' byte builder.
// Usage: fuzz_seeds OUT_DIR (writes OUT_DIR/safetensors/*.safetensors and OUT_DIR/gguf/*.gguf). Run files are checked in (tests/fuzz/seeds/run-*.json,
// written by `llmcost run --format json`).
#include <cstdio>
#include <filesystem>
#include <string>

#include "analyzer/checkpoint_bytes.h"
#include "llmcost/error.h"
#include "llmcost/safetensors.h"

namespace fs = std::filesystem;
using namespace llmcost;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  try {
    fs::create_directories(out / "safetensors");
    write_safetensors((out / "safetensors" / "dtypes.safetensors").string(),
                      {tensor_from_f32("model.embed_tokens.weight", TensorDtype::BF16, {4, 2}, {1, -2, 3, -4, 0.5f, 6, 7, 8}),
                       tensor_from_f32("model.norm.weight", TensorDtype::F32, {2}, {1, 1}),
                       tensor_from_f32("lm_head.weight", TensorDtype::F16, {4, 2}, {0, 1, 2, 3, 4, 5, 6, 7}),
                       tensor_from_f32("scale", TensorDtype::F64, {}, {0.25f})},
                      {{"format", "pt"}});
    write_safetensors((out / "safetensors" / "fp8.safetensors").string(),
                      {tensor_from_f32("w", TensorDtype::F8_E4M3, {2, 3}, {1, 2, 3, -1, -2, 448}),
                       tensor_from_f32("w_scale_inv", TensorDtype::F32, {1, 1}, {0.5f}),
                       TensorData{"e5m2", TensorDtype::F8_E5M2, {3}, {0x3c, 0x40, 0x42}},  // 1, 2, 3
                       tensor_from_f32("empty", TensorDtype::F32, {0, 3}, {})});
    TensorData ids{"ids", TensorDtype::I32, {2}, {1, 0, 0, 0, 2, 0, 0, 0}};
    write_safetensors((out / "safetensors" / "ints.safetensors").string(), {ids});

    fs::create_directories(out / "gguf");
    llmcost_test::GgufBytes g;
    g.header(3, 3, 6)
        .kv_str("general.architecture", "llama")
        .kv_u32("general.alignment", 32)
        .kv_f32("llama.rope.freq_base", 10000.0f)
        .kv_str_array("tokenizer.ggml.tokens", {"a", "bc", ""})
        .kv_i32_array("tokenizer.ggml.token_type", {1, 2, 3});
    g.str("nested").u32(9).u32(9).u64(2).u32(10).u64(1).pod(uint64_t{7}).u32(8).u64(1).str("x");  // [[u64], [string]]
    g.tensor("token_embd.weight", {256, 2}, 12, 0).tensor("blk.0.attn_q.weight", {32, 4}, 8, 288)
        .tensor("output_norm.weight", {8}, 0, 448).data(480);
    llmcost_test::write_file((out / "gguf" / "tiny.gguf").string(), g.b);
    llmcost_test::GgufBytes v2;
    v2.header(2, 1, 1).kv_str("general.name", "v2").tensor("w", {4, 2}, 30, 0).data(16);
    llmcost_test::write_file((out / "gguf" / "v2.gguf").string(), v2.b);

  } catch (const Error& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
