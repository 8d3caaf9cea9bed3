// libFuzzer driver for the safetensors reader: any bytes written to a file on tmpfs (the reader
// maps files; it has no in-memory entry point), opened as a checkpoint, every tensor looked up
// and every small float tensor converted to fp32 with its own shape. Only llmcost::Error may
// escape. Built and run by tests/fuzz/CMakeLists.txt and scripts/fuzz.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_file.h"
#include "llmcost/error.h"
#include "llmcost/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = llmcost_fuzz::write_scratch(data, size, ".safetensors");
  try {
    llmcost::SafetensorsCheckpoint ck(path);
    for (const std::string& name : ck.names()) {
      const llmcost::TensorInfo& t = ck.at(name);
      if (ck.data(t) == nullptr && t.size_bytes() > 0) __builtin_trap();
      if (llmcost::is_float_dtype(t.dtype) && t.numel() <= (int64_t{1} << 16)) {
        std::vector<float> v = ck.load_f32(name, t.shape);
        if (static_cast<int64_t>(v.size()) != t.numel()) __builtin_trap();
      }
    }
  } catch (const llmcost::Error&) {
    // Expected for bad input: the CLI prints it as one line.
  }
  return 0;
}
