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

#include "llmcost/error.h"
#include "llmcost/safetensors.h"

namespace {

std::string scratch_path() {
  const char* dir = std::getenv("LLMCOST_FUZZ_TMP");
  return std::string(dir ? dir : "/dev/shm") + "/llmcost-fuzz-" + std::to_string(getpid()) + ".safetensors";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();  // the scratch directory must be writable
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
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
