// libFuzzer driver for the config loader: any bytes, read as JSON or YAML (first byte picks),
// built into a ModelIR and counted; only llmcost::Error may escape. Not part of ctest (needs
// clang); build and run with tests/fuzz/CMakeLists.txt, see its header.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmcost/families.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool yaml = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    llmcost::Value v = yaml ? llmcost::parse_yaml(text, "fuzz.yaml") : llmcost::parse_json(text, "fuzz.json");
    llmcost::ModelIR ir = llmcost::build_model_ir(v, yaml ? "fuzz.yaml" : "fuzz.json");
    llmcost::ParamCounts c = llmcost::count_params(ir);
    int64_t sum = 0;
    for (int64_t x : c.breakdown) sum += x;
    if (sum != c.total) __builtin_trap();  // accepted configs keep the breakdown invariant
  } catch (const llmcost::Error&) {
    // Expected for bad input: the CLI prints it as one line.
  }
  return 0;
}
