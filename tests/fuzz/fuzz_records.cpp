// libFuzzer driver for the run-file and CI-record readers: any bytes, parsed as JSON, read as a
// run file (first byte even) or a CI record (odd: our baseline, run JSON or Google Benchmark
// JSON). What is accepted must survive its writer and be read back, and a record checked against
// itself has no regression. Only llmcost::Error may escape. Built and run by
// tests/fuzz/CMakeLists.txt and scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmcost/ci_gate.h"
#include "llmcost/error.h"
#include "llmcost/run_record.h"
#include "llmcost/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool ci_record = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string written;
  try {
    const llmcost::Value doc = llmcost::parse_json(text, "fuzz.json");
    if (ci_record) {
      const llmcost::ci::Record r = llmcost::ci::parse_record(doc, "fuzz.json");
      if (!llmcost::ci::check(r, r, {}).clean()) __builtin_trap();  // a record regresses against itself
      written = llmcost::ci::record_json(r);
    } else {
      written = llmcost::run_record_to_json(llmcost::run_record_from_json(doc, "fuzz.json"));
    }
  } catch (const llmcost::Error&) {
    return 0;  // expected for bad input: the CLI prints it as one line
  }
  // Accepted input: our own writer's output must read back.
  try {
    const llmcost::Value again = llmcost::parse_json(written, "written.json");
    if (ci_record) llmcost::ci::parse_record(again, "written.json");
    else llmcost::run_record_from_json(again, "written.json");
  } catch (const llmcost::Error&) {
    __builtin_trap();
  }
  return 0;
}
