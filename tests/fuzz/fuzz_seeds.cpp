// Writes the generated part of the fuzz seed corpus with the project's own writer: safetensors
// files of every dtype family (scalar, empty, fp8, integer, metadata). Usage: fuzz_seeds OUT_DIR
// (writes OUT_DIR/safetensors/*.safetensors). Run files are checked in (tests/fuzz/seeds/run-*.json,
// written by `llmcost run --format json`).
#include <cstdio>
#include <filesystem>
#include <string>

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

  } catch (const Error& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
