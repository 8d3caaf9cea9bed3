// libFuzzer driver for the GGUF header reader: any bytes written to a file on tmpfs (the reader
// takes a path and reads it incrementally), read as a GGUF header and summarized. Only
// llmcost::Error may escape; the reader's caps keep every allocation bounded by the input.
// Built and run by tests/fuzz/CMakeLists.txt and scripts/fuzz.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "llmcost/checkpoint.h"
#include "fuzz_file.h"
#include "llmcost/error.h"
#include "llmcost/gguf_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = llmcost_fuzz::write_scratch(data, size, ".gguf");
  try {
    llmcost::GgufHeader h = llmcost::read_gguf_header(path);
    // Invariants of an accepted header: every tensor inside the file, the summary adds up.
    uint64_t bytes = 0;
    for (const auto& t : h.tensors) {
      if (h.data_offset + t.offset + t.bytes > h.file_bytes) __builtin_trap();
      if (t.offset % h.alignment != 0) __builtin_trap();
      bytes += t.bytes;
    }
    llmcost::CheckpointSummary s = llmcost::summarize_checkpoint(h);
    if (s.all.bytes != bytes || s.all.tensors != static_cast<int64_t>(h.tensors.size())) __builtin_trap();
  } catch (const llmcost::Error&) {
    // Expected for bad input: the CLI prints it as one line.
  }
  return 0;
}
