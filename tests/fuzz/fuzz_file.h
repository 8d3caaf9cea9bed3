// For fuzz drivers of readers that take a path: the input bytes written to one scratch file per
// process on tmpfs ($LLMCOST_FUZZ_TMP, default /dev/shm), named with the reader's extension.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace llmcost_fuzz {

// Writes data to the scratch file and returns its path; traps when the directory is not writable.
inline const std::string& write_scratch(const uint8_t* data, size_t size, const char* ext) {
  static const std::string path = [ext] {
    const char* dir = std::getenv("LLMCOST_FUZZ_TMP");
    return std::string(dir ? dir : "/dev/shm") + "/llmcost-fuzz-" + std::to_string(getpid()) + ext;
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace llmcost_fuzz
