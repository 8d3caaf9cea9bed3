// libFuzzer driver for the hardware and scenario loaders: any bytes, parsed as YAML (JSON is
// YAML), read as a hardware spec (first byte even) or a scenario (odd); a spec's effective rates
// are derived. Only llmcost::Error may escape. Built and run by tests/fuzz/CMakeLists.txt and
// scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmcost/error.h"
#include "llmcost/hardware.h"
#include "llmcost/plan.h"
#include "llmcost/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool scenario = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const llmcost::Value doc = llmcost::parse_yaml(text, "fuzz.yaml");
    if (scenario) {
      llmcost::parse_scenario(doc, "fuzz.yaml");
    } else {
      const llmcost::HardwareSpec hw = llmcost::parse_hardware(doc, "fuzz.yaml");
      llmcost::effective_rates(hw);
    }
  } catch (const llmcost::Error&) {
    // Expected for bad input: the CLI prints it as one line.
  }
  return 0;
}
